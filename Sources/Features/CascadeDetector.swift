public import CascadeCore

/// The configurable rule of ``CascadeDetector`` (docs/detector.md; defaults are the documented ones).
public struct DetectorRule: Sendable, Codable, Hashable {
    /// Trailing window of liquidated notional per side.
    public var windowNanoseconds: Int64 = 60_000_000_000
    /// Baseline length in one-minute bins (7 days).
    public var baselineMinutes = 10_080
    /// Baseline bins needed before the detector is armed (24 h).
    public var minimumHistoryMinutes = 1_440
    /// Nearest-rank percentile of the baseline bins that the window must exceed.
    public var percentile = 99
    /// The side's share of both sides' window notional must be ≥ numerator/denominator.
    public var dominanceNumerator: Int64 = 3
    public var dominanceDenominator: Int64 = 5
    /// An episode ends this long after its side's last event.
    public var quietNanoseconds: Int64 = 30_000_000_000
    /// An episode ends at most this long after its start.
    public var maxDurationNanoseconds: Int64 = 300_000_000_000
    /// A longer silence between two frames is a gap in the recording: the minutes inside it are missing, not zeros.
    public var maxSilenceNanoseconds: Int64 = 3_600_000_000_000

    public init() {}
}

/// Why an episode ended.
public enum EpisodeEnd: String, Sendable, Codable, Hashable {
    case quiet, maxDuration, sideFlip
    /// The liquidation stream was interrupted (disconnect, lost frame) while the episode was open: what happened
    /// next was not observed, so it is not called quiet.
    case interrupted
}

/// One liquidation cascade as the detector saw it (times are receive times, ns).
public struct CascadeEpisode: Sendable, Codable, Hashable {
    /// `{symbol}-{source}-{side}-{start ns}`: the same data gives the same id, across restarts too.
    public var id: String
    public var symbol: String
    public var source: LiquidationSource
    /// The liquidated side (`long`: longs were liquidated, forced selling).
    public var side: PositionSide
    public var start: Int64
    public var peakTime: Int64
    public var end: Int64?
    public var endReason: EpisodeEnd?
    /// Liquidated notional of its side from the start's window through its end (USDT units of 1e-8).
    public var notional: Int64
    public var events: Int
    /// Largest 60 s window notional of its side at its frames.
    public var peakNotional: Int64
    /// The baseline percentile the start exceeded.
    public var threshold: Int64
    /// Time of its side's last event.
    public var lastEvent: Int64

    public init(id: String, symbol: String, source: LiquidationSource, side: PositionSide, start: Int64, peakTime: Int64,
                end: Int64? = nil, endReason: EpisodeEnd? = nil, notional: Int64, events: Int, peakNotional: Int64, threshold: Int64,
                lastEvent: Int64) {
        self.id = id
        self.symbol = symbol
        self.source = source
        self.side = side
        self.start = start
        self.peakTime = peakTime
        self.end = end
        self.endReason = endReason
        self.notional = notional
        self.events = events
        self.peakNotional = peakNotional
        self.threshold = threshold
        self.lastEvent = lastEvent
    }

    /// Age at `t` (ns), nil once ended before `t`.
    public func isOpen(at t: Int64) -> Bool { end.map { t < $0 } ?? true }
}

/// What a detector input changed.
public enum DetectorChange: Sendable, Hashable {
    case started(CascadeEpisode)
    case ended(CascadeEpisode)
}

/// The cascade detector of one (symbol, liquidation source): liquidated notional over a trailing window against
/// the rolling percentile of the previous days' one-minute bins, with an episode lifecycle. The rule is written in
/// docs/detector.md and implemented again in Python for the golden test; change both or neither.
///
/// It sees only what was received: every time is a receive time, and an episode's end is stamped at its deadline
/// (last event + quiet, or start + max duration), so it never depends on when the next input arrived.
public struct CascadeDetector: Sendable, Codable, Equatable {
    public let symbol: String
    public let source: LiquidationSource
    public let rule: DetectorRule
    private var bins: [MinuteBins]
    private var windows: [WindowSum]
    /// The open episode, if any.
    public private(set) var open: CascadeEpisode?
    /// Time of the latest input.
    public private(set) var now: Int64 = .min
    /// Receive time of the latest frame.
    public private(set) var lastFrame: Int64?
    /// Set by ``stopObserving(at:)``: when observation stopped. The minutes after it are settled at the next frame,
    /// when the length of the absence is known.
    private var stoppedAt: Int64?

    public init(symbol: String, source: LiquidationSource, rule: DetectorRule = DetectorRule()) {
        self.symbol = symbol
        self.source = source
        self.rule = rule
        // Two instances, not one copied: a copy would share the reserved buffers until its first write copied them.
        bins = [MinuteBins(capacity: rule.baselineMinutes, lag: 1), MinuteBins(capacity: rule.baselineMinutes, lag: 1)]
        let window = WindowSum(length: .nanoseconds(rule.windowNanoseconds))
        windows = [window, window]
        trackThresholds()
    }

    /// Restored as saved (the synthesized form), then the baselines keep their threshold's neighbourhood again.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbol = try c.decode(String.self, forKey: .symbol)
        source = try c.decode(LiquidationSource.self, forKey: .source)
        rule = try c.decode(DetectorRule.self, forKey: .rule)
        bins = try c.decode([MinuteBins].self, forKey: .bins)
        windows = try c.decode([WindowSum].self, forKey: .windows)
        open = try c.decodeIfPresent(CascadeEpisode.self, forKey: .open)
        now = try c.decode(Int64.self, forKey: .now)
        lastFrame = try c.decodeIfPresent(Int64.self, forKey: .lastFrame)
        stoppedAt = try c.decodeIfPresent(Int64.self, forKey: .stoppedAt)
        guard bins.count == 2, windows.count == 2 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a detector has two sides"))
        }
        trackThresholds()
    }

    /// The threshold is read on a cascade's first frame, before the node sends: its neighbourhood is kept in cache-sized
    /// copies (``MinuteBins/track(percentile:)``).
    private mutating func trackThresholds() {
        bins[0].track(percentile: rule.percentile)
        bins[1].track(percentile: rule.percentile)
    }

    /// Whether the baseline held enough history to judge at the latest frame.
    public var isArmed: Bool { bins[0].count >= rule.minimumHistoryMinutes }

    /// The threshold of `side` now (nil when not armed).
    public func threshold(_ side: PositionSide) -> Int64? {
        isArmed ? bins[Self.index(side)].percentile(rule.percentile) : nil
    }

    /// Window notional of `side` as of the latest input.
    public func windowNotional(_ side: PositionSide) -> Int64 { windows[Self.index(side)].sum }

    /// Marks the liquidation stream unobserved from `t` (a disconnect or a lost frame): an episode still open ends
    /// here as `interrupted`; minutes from this one on are missing (settled at the next frame, so a disconnect inside
    /// a silence longer than `maxSilence` leaves the whole silence missing, as without the mark).
    /// `observedUntil` is when observation really ended if earlier (a crash noticed only at the reconnect).
    public mutating func stopObserving(at t: Int64, observedUntil: Int64? = nil) -> [DetectorChange] {
        var changes = advance(to: t)
        if var episode = open {
            episode.end = now
            episode.endReason = .interrupted
            open = nil
            changes.append(.ended(episode))
        }
        let stop = min(observedUntil ?? now, now)
        stoppedAt = min(stoppedAt ?? stop, stop)
        return changes
    }

    /// Moves the values the latest minute boundary staged into the baselines' sorted blocks (see
    /// ``MinuteBins/settle()``): the work a cascade's first frame leaves for after the node has sent its orders.
    public mutating func settle() {
        bins[0].settle()
        bins[1].settle()
    }

    /// Closes an open episode whose deadline passed by `t` and moves the windows to `t`.
    public mutating func advance(to t: Int64) -> [DetectorChange] {
        let t = max(t, now)
        now = t
        var changes: [DetectorChange] = []
        if var episode = open {
            let quietEnd = episode.lastEvent + rule.quietNanoseconds
            let maxEnd = episode.start + rule.maxDurationNanoseconds
            let deadline = min(quietEnd, maxEnd)
            if t >= deadline {
                episode.end = deadline
                episode.endReason = quietEnd <= maxEnd ? .quiet : .maxDuration
                open = nil
                changes.append(.ended(episode))
            }
        }
        // Bins move only with frames (see `ingest`): a silence must be judged before its minutes are filled.
        for i in 0..<2 { windows[i].advance(to: t) }
        return changes
    }

    /// One frame of liquidations received at `t` (all of this detector's symbol and source). `staging`: the bins a
    /// minute boundary counts and drops are read staged and moved into the baselines at ``settle()`` (after the node has
    /// sent what the frame decided); otherwise they move in before the threshold is read, as they always did.
    public mutating func ingest(_ events: [Liquidation], at t: Int64, staging: Bool = false) -> [DetectorChange] {
        guard !events.isEmpty else { return advance(to: t) }
        let silence = lastFrame.map { t - $0 > rule.maxSilenceNanoseconds } ?? false
        var changes = advance(to: t)
        let t = now
        let minuteStart = floorDivide(t, MinuteBins.minute) * MinuteBins.minute
        // docs/detector.md: across a silence, bins a+1 … b−1 are missing (bin a, the previous frame's, counts);
        // after an interruption, every minute from the one it fell in.
        var until: Int64?
        if silence, let last = lastFrame { until = (floorDivide(last, MinuteBins.minute) + 1) * MinuteBins.minute }
        if let stop = stoppedAt { until = min(until ?? stop, stop) }
        for i in 0..<2 {
            bins[i].advance(to: t, observedUntil: until, staging: staging)
            if lastFrame == nil {
                bins[i].observe(since: minuteStart)                       // the first frame's minute counts
            } else if stoppedAt != nil {
                bins[i].restart(since: minuteStart + MinuteBins.minute)   // the minute of the return does not
            }
        }
        stoppedAt = nil
        lastFrame = t
        var frameNotional = PerSide<Int64>(0)
        var frameEvents = PerSide<Int>(0)
        for event in events {
            let i = Self.index(event.liquidatedSide)
            let notional = Int64(event.notional.units)
            bins[i].add(notional, at: t)
            windows[i].add(notional, at: t)
            frameNotional[i] += notional
            frameEvents[i] += 1
        }
        var triggers = PerSide(false)
        var thresholds = PerSide<Int64>(0)
        if isArmed {
            let total = windows[0].sum + windows[1].sum
            for i in 0..<2 where frameEvents[i] > 0 {
                guard let p = bins[i].percentile(rule.percentile) else { continue }
                thresholds[i] = p
                let w = windows[i].sum
                triggers[i] = w > p && rule.dominanceDenominator * w >= rule.dominanceNumerator * total
            }
        }
        if var episode = open {
            let i = Self.index(episode.side)
            if frameEvents[i] > 0 {
                episode.lastEvent = t
                episode.notional += frameNotional[i]
                episode.events += frameEvents[i]
                let w = windows[i].sum
                if w > episode.peakNotional {
                    episode.peakNotional = w
                    episode.peakTime = t
                }
            }
            if triggers[1 - i] {
                episode.end = t
                episode.endReason = .sideFlip
                changes.append(.ended(episode))
                let started = start(side: 1 - i, at: t, threshold: thresholds[1 - i])
                open = started
                changes.append(.started(started))
            } else {
                open = episode
            }
        } else if let i = triggers[0] ? 0 : triggers[1] ? 1 : nil {
            let started = start(side: i, at: t, threshold: thresholds[i])
            open = started
            changes.append(.started(started))
        }
        return changes
    }

    private func start(side i: Int, at t: Int64, threshold: Int64) -> CascadeEpisode {
        let side: PositionSide = i == 0 ? .long : .short
        let w = windows[i].sum
        return CascadeEpisode(
            id: Self.episodeID(symbol: symbol, source: source, side: side, time: t), symbol: symbol, source: source, side: side, start: t,
            peakTime: t, end: nil, endReason: nil, notional: w, events: Int(windows[i].count), peakNotional: w,
            threshold: threshold, lastEvent: t)
    }

    /// `"\(symbol)-\(source)-\(side)-\(time)"`, written in place and made a string once: appends to a reserved string
    /// cost about as much as the rest of the cascade frame's detector work. Sized from its parts (a time has at most
    /// 20 characters), so no name can outgrow it.
    package static func episodeID(symbol: String, source: LiquidationSource, side: PositionSide, time: Int64) -> String {
        let sourceName = source.rawValue, sideName = side.description
        return TextWriter.text(capacity: symbol.utf8.count + sourceName.utf8.count + sideName.utf8.count + 23) { w in
            w.put(string: symbol); w.put("-"); w.put(string: sourceName); w.put("-"); w.put(string: sideName); w.put("-"); w.put(time)
        }
    }

    @inline(__always) static func index(_ side: PositionSide) -> Int { side == .long ? 0 : 1 }
}

/// One value per liquidated side (0 long, 1 short), without the heap allocation of a two-element array: the detector
/// runs once per liquidation frame.
struct PerSide<Value> {
    private var long: Value
    private var short: Value

    init(_ value: Value) {
        long = value
        short = value
    }

    subscript(_ i: Int) -> Value {
        get { i == 0 ? long : short }
        set { if i == 0 { long = newValue } else { short = newValue } }
    }
}
