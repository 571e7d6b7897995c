import BybitV5
import CascadeCore
import MarketData
import Recording

/// Recorded frames in, market state out: the replay half of `cascade sim`.
///
/// Reads the recordings merged in receive-time order (each file's receive clock first moved onto the exchange's),
/// decodes each frame once into a ``CascadeCore/FeedInput`` and applies it to one ``MarketData/FeedState`` (books,
/// tickers, lost frames, session boundaries) in place. What the venue and the subscribers need comes out of each
/// step; nothing here knows about accounts or connections.
struct ReplayDriver {
    /// One replayed frame.
    struct Step {
        var bytes: [UInt8]
        var localTime: LocalTime
        var input: FeedInput?
        /// What the frame changed about the feed's trust (gaps start or end).
        var change: FeedState.Change
        /// The public topic subscribers receive the frame on (nil for control and local frames).
        var topic: String?
    }

    let paths: [String]
    let options: ReplayOptions
    var replayer: Replayer?
    var decoder: BybitPublicDecoder
    var feed = FeedState()
    /// Each file's estimated receive − exchange offset (ns), removed before merging; nil: no timestamps.
    var clockOffsets: [Int64?] = []
    var lookahead: (bytes: [UInt8], localTime: LocalTime)?
    var framesReplayed = 0
    /// Exchange time (ms, as recorded) of the latest replayed event of any kind: what a client deciding now had seen.
    var exchangeClock: Int64 = 0
    var lastReceiveTime: LocalTime?
    /// Raw `data` of the last `_cascade.instruments` frame (or of the file the user named).
    var instrumentsJSON: [UInt8]?
    /// The last trades per symbol, for `/v5/market/recent-trade` (a bounded ring, never copied per frame).
    var recentTrades: [SymbolID: TradeRing] = [:]
    /// Topic names by the decoder's topic index (built once per topic, not per frame).
    var topicNames: [Int: String] = [:]

    /// The `data` of the first `_cascade.instruments` frame in the files (nil: none, or unreadable files).
    static func firstInstrumentsSnapshot(paths: [String]) -> [UInt8]? {
        guard var replayer = try? Replayer(paths: paths, options: ReplayOptions()) else { return nil }
        var decoder = BybitPublicDecoder()
        while let frame = try? replayer.next() {
            guard BybitTopic.name(in: frame.bytes) == "_cascade.instruments" else { continue }
            var data: [UInt8]?
            frame.bytes.withUnsafeBufferPointer { buffer in
                if case let .local(_, d)? = try? decoder.decode(buffer, localTime: frame.localTime) { data = d }
            }
            return data
        }
        return nil
    }

    init(paths: [String], options: ReplayOptions, instrumentsJSON: [UInt8]?) {
        self.paths = paths
        self.options = options
        decoder = BybitPublicDecoder()
        self.instrumentsJSON = instrumentsJSON
        if let instrumentsJSON { _ = decoder.installInstruments(instrumentsJSON) }
    }

    /// The deepest book each symbol's recordings carry (the simulator matches on it), registering the symbols.
    mutating func matchingDepths(topics: [String]) -> [SymbolID: Int] {
        var depths: [SymbolID: Int] = [:]
        // In name order: symbols are registered (their ids given) here, the same way on every run.
        for name in topics.sorted() {
            guard case let .orderBook(depth, symbol)? = BybitTopic(name) else { continue }
            let id = decoder.instruments.id(for: symbol)
            depths[id] = max(depths[id] ?? 0, depth)
        }
        return depths
    }

    /// The next recorded frame, opening the files on first use.
    mutating func nextFrame() throws -> (bytes: [UInt8], localTime: LocalTime)? {
        if let frame = lookahead {
            lookahead = nil
            return frame
        }
        if replayer == nil {
            // Each file's receive clock is moved onto the exchange's before merging (files may come from different
            // machines; our 2024 captures' clock is ~1.5 s off Bybit's).
            var aligned = options
            clockOffsets = try ClockOffset.perSource(paths: paths)
            aligned.clockCorrections = clockOffsets.map { $0 ?? 0 }
            replayer = try Replayer(paths: paths, options: aligned)
        }
        guard let frame = try replayer!.next() else { return nil }
        return (frame.bytes, frame.localTime)
    }

    /// Receive time of the next frame, without replaying it.
    mutating func peekLocalTime() throws -> LocalTime? {
        if lookahead == nil { lookahead = try nextFrame() }
        return lookahead?.localTime
    }

    /// Replays the next frame: decoded, applied to the feed state, its topic named for subscribers.
    mutating func next() throws -> Step? {
        guard let frame = try nextFrame() else { return nil }
        framesReplayed += 1
        lastReceiveTime = frame.localTime
        let input = decoder.feedInput(frame.bytes, localTime: frame.localTime)
        var topic: String?
        var change = FeedState.Change.steady
        switch input {
        case let .event(event)?:
            if let time = event.exchangeTime { exchangeClock = max(exchangeClock, time.milliseconds) }
            change = feed.apply(event)
            if case let .trades(list) = event, let symbol = list.first?.symbol {
                recentTrades[symbol, default: TradeRing()].append(contentsOf: list)
            }
            let index = decoder.lastTopicIndex
            if let name = topicNames[index] {
                topic = name
            } else {
                let name = decoder.topic(at: index).name
                topicNames[index] = name
                topic = name
            }
        case let other?:
            change = feed.apply(other)
        case nil:
            // An instruments snapshot: the decoder installed it; the raw data answers instruments-info.
            if let name = BybitTopic.name(in: frame.bytes), name == "_cascade.instruments" {
                frame.bytes.withUnsafeBufferPointer { buffer in
                    if case let .local(_, data)? = try? decoder.decode(buffer, localTime: frame.localTime) { instrumentsJSON = data }
                }
            }
        }
        return Step(bytes: frame.bytes, localTime: frame.localTime, input: input, change: change, topic: topic)
    }
}

/// The last `capacity` trades of a symbol.
struct TradeRing {
    static let capacity = 1_000
    private var storage: [Trade] = []
    private var start = 0

    mutating func append(contentsOf trades: [Trade]) {
        for trade in trades {
            if storage.count < Self.capacity {
                storage.append(trade)
            } else {
                storage[start] = trade
                start = (start + 1) % Self.capacity
            }
        }
    }

    /// The most recent `n`, newest first.
    func newest(_ n: Int) -> [Trade] {
        let count = storage.count
        return (0..<min(n, count)).map { storage[(start + count - 1 - $0) % count] }
    }
}
