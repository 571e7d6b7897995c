public import BybitV5
public import CascadeCore
public import Features
public import MarketData

/// Frames → decoder → ``MarketData/FeedState`` → ``Features/FeatureEngine``, in receive order: the pipeline
/// `cascade features`, `cascade detect`, the leakage check and the feature benchmark run. Push-based: it is handed
/// one frame at a time and can never read ahead.
public struct FeatureReplay: Sendable {
    public private(set) var decoder: BybitPublicDecoder
    public private(set) var feed: FeedState
    public var engine: FeatureEngine
    /// Episodes, with mid moves where a book covers them.
    public private(set) var episodes: EpisodeLog
    /// Whether ``episodes`` is kept (`cascade detect`, the leakage check). Trading does not read it: the backtest,
    /// paper and live lanes turn it off, so a node that runs for months does not keep every episode it saw.
    public var keepsEpisodes = true
    /// Frames that did not decode (counted per reason; each is a lost frame of its stream).
    public private(set) var decodeErrors: [String: Int] = [:]
    public private(set) var frames = 0
    /// Receive time of the latest frame.
    public private(set) var lastTime: Int64?
    /// The clock of restored state: frames received at or before it are already in the state.
    public private(set) var restoredAt: Int64?
    /// Frames skipped because they were received at or before ``restoredAt`` (the data overlaps the saved state).
    public private(set) var framesBeforeState = 0

    public init(configuration: FeatureConfiguration = FeatureConfiguration(), instruments: InstrumentTable = InstrumentTable()) {
        decoder = BybitPublicDecoder(instruments: instruments)
        feed = FeedState()
        engine = FeatureEngine(configuration: configuration)
        episodes = EpisodeLog()
    }

    /// Restores engine state saved by ``Features/FeatureEngine/savedState()``.
    public init(restoring state: [UInt8], configuration: FeatureConfiguration = FeatureConfiguration(),
                instruments: InstrumentTable = InstrumentTable()) throws(FeatureStateError) {
        self.init(configuration: configuration, instruments: instruments)
        engine = try FeatureEngine(restoring: state, configuration: configuration, instruments: instruments)
        restoredAt = engine.now
    }

    /// What one frame did: its decoded input (nil: not a market frame), what it changed about the feed's trust, and
    /// the detector's changes it caused (already in ``episodes``).
    public struct Ingested: Sendable {
        public var input: FeedInput?
        public var change: FeedState.Change = .steady
        public var detector: [DetectorChange] = []
    }

    /// One frame received at `t`. `detectorsFirst`: a liquidation frame updates only its detector now, and the rest of
    /// the feature state when ``completeDeferred()`` (or any later call) runs: the trading lanes send what an episode
    /// start decides first (see ``Features/FeatureEngine/apply(_:at:feed:instruments:detectorsFirst:)``).
    @discardableResult
    public mutating func ingest(_ frame: UnsafeBufferPointer<UInt8>, at t: LocalTime, detectorsFirst: Bool = false) -> Ingested {
        // Data the saved state already holds would be counted twice, and stamped at the state's clock.
        if let restoredAt, t.nanoseconds <= restoredAt {
            framesBeforeState += 1
            return Ingested()
        }
        frames += 1
        let time = max(t.nanoseconds, lastTime ?? .min)
        lastTime = time
        guard let input = decoder.feedInput(frame, localTime: t) else { return Ingested() }
        if case let .lost(_, reason) = input { decodeErrors[reason, default: 0] += 1 }
        let change = feed.apply(input)
        engine.apply(input, at: time, feed: feed, instruments: decoder.instruments, detectorsFirst: detectorsFirst)
        if case let .event(.book(update)) = input {
            // The mid of the book the features read (the deepest synced one); nil while no book is in sync.
            let book = feed.deepestBook(update.symbol, syncedOnly: true)
            if keepsEpisodes, book == nil || book?.depth == update.depth {
                episodes.recordMid(book?.doubledMid, symbol: decoder.instruments[update.symbol].symbol, at: time)
            }
        }
        let changes = engine.drainDetectorChanges()
        if keepsEpisodes { episodes.absorb(changes, now: time) }
        return Ingested(input: input, change: change, detector: changes)
    }

    /// ``ingest(_:at:detectorsFirst:)`` for a byte array.
    @discardableResult
    public mutating func ingest(_ frame: [UInt8], at t: LocalTime, detectorsFirst: Bool = false) -> Ingested {
        frame.withUnsafeBufferPointer { ingest($0, at: t, detectorsFirst: detectorsFirst) }
    }

    /// The feature work a `detectorsFirst` ingest left (no-op when none).
    public mutating func completeDeferred() { engine.completeDeferred() }

    /// Moves the clock to `t` without a frame (closes episodes whose deadline passed).
    @discardableResult
    public mutating func advance(to t: Int64) -> [DetectorChange] {
        let time = max(t, lastTime ?? .min)
        engine.advance(to: time)
        let changes = engine.drainDetectorChanges()
        guard keepsEpisodes else { return changes }
        episodes.absorb(changes, now: time)
        // Episodes still open are logged as they stand now, not as they started.
        for detector in engine.allDetectors { if let open = detector.open { episodes.refresh(open) } }
        return changes
    }

    /// Every symbol's vector as of `t`.
    public mutating func vectors(at t: Int64) -> [FeatureVector] {
        engine.resolveSymbols(in: decoder.instruments)     // a restored symbol the table learned since the last frame
        let vectors = engine.symbolNames.compactMap { engine.vector(for: $0, at: t, feed: feed) }
        let changes = engine.drainDetectorChanges()
        if keepsEpisodes { episodes.absorb(changes, now: t) }
        return vectors
    }
}

/// Detector episodes collected from the engine's changes, with the mid-price moves around them when the data has a
/// book. The moves look forward in time: a statistic of the data, never a feature.
public struct EpisodeLog: Sendable {
    /// The horizons after an episode's end at which the mid is read.
    public static let horizons: [Int64] = [1, 5, 30, 60]

    public struct Entry: Sendable {
        public var episode: CascadeEpisode
        /// Order the detector was created in (ties of start times across detectors keep it).
        public var detectorOrder: Int
        public var midAtStart: Int64??
        public var midAtEnd: Int64??
        /// Mid (×2, price units) at end + each of ``EpisodeLog/horizons`` seconds; nil until that time passed.
        public var midAfter: [Int64??]
    }

    public private(set) var entries: [Entry] = []
    private var index: [String: Int] = [:]
    /// Entries with a mid probe still in the future.
    private var pending: [Int] = []
    private var detectorOrder: [String: Int] = [:]
    /// Recent (time, doubled mid or nil when the book is out of sync) per symbol: 10 minutes.
    private var mids: [String: [(Int64, Int64?)]] = [:]
    /// Whether any book was seen (mid moves are reported only then).
    public private(set) var sawBook = false

    public init() {}

    mutating func recordMid(_ mid: Int64?, symbol: String, at t: Int64) {
        sawBook = true
        // Mutated in place (no copy of the series per book frame); trimmed to 10 minutes in bulk.
        mids[symbol, default: []].appendIfChanged((t, mid))
        if let count = mids[symbol]?.count, count > 4_096, let series = mids[symbol],
           let cut = series.firstIndex(where: { $0.0 > t - 600_000_000_000 }), cut > 1 {
            mids[symbol]?.removeFirst(cut - 1)
        }
        if !pending.isEmpty { fillProbes(symbol: symbol, now: t) }
    }

    /// The doubled mid of `symbol` as of `t` (the last change at or before it); `.some(nil)` when the book was out
    /// of sync then, nil when no book covers `t`.
    func mid(_ symbol: String, at t: Int64) -> Int64?? {
        guard let series = mids[symbol], let first = series.first, first.0 <= t else { return nil }
        var lo = 0, hi = series.count
        while lo < hi {
            let m = (lo + hi) / 2
            if series[m].0 <= t { lo = m + 1 } else { hi = m }
        }
        return .some(series[lo - 1].1)
    }

    mutating func refresh(_ episode: CascadeEpisode) {
        if let i = index[episode.id] { entries[i].episode = episode }
    }

    mutating func absorb(_ changes: [DetectorChange], now: Int64) {
        for change in changes {
            switch change {
            case let .started(episode):
                let key = episode.symbol + "|" + episode.source.rawValue
                let order = detectorOrder[key] ?? detectorOrder.count
                detectorOrder[key] = order
                index[episode.id] = entries.count
                entries.append(Entry(episode: episode, detectorOrder: order, midAtStart: mid(episode.symbol, at: episode.start),
                                     midAtEnd: nil, midAfter: Array(repeating: nil, count: Self.horizons.count)))
            case let .ended(episode):
                // An episode that started before a restore from saved state ends here: it is logged from its end.
                let i = index[episode.id] ?? {
                    let key = episode.symbol + "|" + episode.source.rawValue
                    let order = detectorOrder[key] ?? detectorOrder.count
                    detectorOrder[key] = order
                    entries.append(Entry(episode: episode, detectorOrder: order, midAtStart: nil, midAtEnd: nil,
                                         midAfter: Array(repeating: nil, count: Self.horizons.count)))
                    index[episode.id] = entries.count - 1
                    return entries.count - 1
                }()
                entries[i].episode = episode
                if let end = episode.end { entries[i].midAtEnd = mid(episode.symbol, at: end) }
                if sawBook { pending.append(i) }
            }
        }
        if !changes.isEmpty { for symbol in Set(changes.map(\.symbol)).sorted() { fillProbes(symbol: symbol, now: now) } }
    }

    private mutating func fillProbes(symbol: String, now: Int64) {
        guard !pending.isEmpty else { return }
        var waiting: [Int] = []
        for i in pending {
            guard entries[i].episode.symbol == symbol, let end = entries[i].episode.end else {
                waiting.append(i)
                continue
            }
            for (k, h) in Self.horizons.enumerated() where entries[i].midAfter[k] == nil {
                let probe = end + h * 1_000_000_000
                guard probe <= now else { break }
                entries[i].midAfter[k] = mid(symbol, at: probe) ?? .some(nil)
            }
            if entries[i].midAfter.contains(where: { $0 == nil }) { waiting.append(i) }
        }
        pending = waiting
    }

    /// Episodes in start order (ties: detector creation order), still-open ones last in their place.
    public var sorted: [Entry] {
        entries.enumerated().sorted { a, b in
            (a.element.episode.start, a.element.detectorOrder, a.offset) < (b.element.episode.start, b.element.detectorOrder, b.offset)
        }.map(\.element)
    }
}

extension DetectorChange {
    var symbol: String {
        switch self {
        case let .started(e), let .ended(e): e.symbol
        }
    }
}

extension Array where Element == (Int64, Int64?) {
    mutating func appendIfChanged(_ point: (Int64, Int64?)) {
        if last?.1 != point.1 || isEmpty { append(point) }
    }
}
