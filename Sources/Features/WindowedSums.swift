import CascadeCore
/// Integer sums of one stream over several trailing windows of receive time, in one shared buffer.
///
/// An entry at time `e` belongs to the window of length `w` at time `t` when `t − w < e ≤ t`. Sums are integers, so
/// the value at `t` does not depend on when earlier entries were evicted: a query at `t` answers the same whatever
/// queries came before it, which is what the leakage check (truncation invariance) relies on. Amortised O(1) per
/// entry: each entry is appended once and passed once per window.
public struct WindowedSums: Sendable, Codable, Equatable {
    /// Window lengths in nanoseconds, ascending.
    public let windows: [Int64]
    private var times: [Int64] = []
    private var values: [Int64] = []
    private var weights: [Int64] = []
    /// Per window: index of its first entry.
    private var starts: [Int]
    private var valueSums: [Int64]
    private var weightSums: [Int64]
    /// Time of the latest entry or advance: entries never go back in time (a receive clock that steps back is
    /// clamped to it, so windows stay ordered).
    public private(set) var now: Int64 = .min

    /// Windows of the given lengths (any order; stored ascending).
    public init(windows: [Duration]) {
        self.windows = windows.map(\.wholeNanoseconds).sorted()
        starts = Array(repeating: 0, count: windows.count)
        valueSums = Array(repeating: 0, count: windows.count)
        weightSums = Array(repeating: 0, count: windows.count)
    }

    /// Decoded as saved (the synthesized form), and refused when its parallel arrays disagree in length or a window
    /// starts past its entries: a damaged saved state is a typed error at restore, not an index out of range later.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        windows = try c.decode([Int64].self, forKey: .windows)
        times = try c.decode([Int64].self, forKey: .times)
        values = try c.decode([Int64].self, forKey: .values)
        weights = try c.decode([Int64].self, forKey: .weights)
        starts = try c.decode([Int].self, forKey: .starts)
        valueSums = try c.decode([Int64].self, forKey: .valueSums)
        weightSums = try c.decode([Int64].self, forKey: .weightSums)
        now = try c.decode(Int64.self, forKey: .now)
        guard values.count == times.count, weights.count == times.count, starts.count == windows.count,
              valueSums.count == windows.count, weightSums.count == windows.count,
              starts.allSatisfy({ (0...times.count).contains($0) }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "windowed sums of unequal lengths"))
        }
    }

    private enum CodingKeys: String, CodingKey {
        case windows, times, values, weights, starts, valueSums, weightSums, now
    }

    /// Adds `value` (and `weight`, e.g. a count of trades) at time `t`.
    public mutating func add(_ value: Int64, weight: Int64 = 1, at t: Int64) {
        advance(to: t)
        times.append(now)
        values.append(value)
        weights.append(weight)
        for i in valueSums.indices {
            valueSums[i] &+= value
            weightSums[i] &+= weight
        }
    }

    /// Evicts what left each window by time `t`.
    public mutating func advance(to t: Int64) {
        guard t > now else { return }
        now = t
        for i in windows.indices {
            let edge = t - windows[i]
            var s = starts[i]
            while s < times.count && times[s] <= edge {
                valueSums[i] &-= values[s]
                weightSums[i] &-= weights[s]
                s += 1
            }
            starts[i] = s
        }
        // The longest window (the last) starts earliest: entries before its start are dead in every window,
        // dropped in bulk so eviction stays amortised O(1).
        let dead = starts.last ?? times.count
        if Self.dropsDead(dead, of: times.count) {
            times.removeFirst(dead)
            values.removeFirst(dead)
            weights.removeFirst(dead)
            for i in starts.indices { starts[i] -= dead }
        }
    }

    /// Whether `dead` entries of `count` are dropped in bulk (``WindowSum`` drops by the same rule: their saved forms
    /// are the same).
    static func dropsDead(_ dead: Int, of count: Int) -> Bool { dead > 4096 && dead * 2 > count }

    /// Sum of values in window `i` (as of the last ``advance(to:)``/``add(_:weight:at:)``).
    public func sum(_ i: Int) -> Int64 { valueSums[i] }
    /// Sum of weights in window `i`.
    public func weight(_ i: Int) -> Int64 { weightSums[i] }
    /// Entries in window `i`.
    public func entries(_ i: Int) -> Int { times.count - starts[i] }
    /// Time of the latest entry, if any is still in the longest window.
    public var lastEntryTime: Int64? { times.count > (starts.last ?? 0) ? times.last : nil }
}

extension WindowedSums {
    /// One window of unit weights, from its parts (``WindowSum``'s saved form).
    init(window: Int64, times: [Int64], values: [Int64], start: Int, sum: Int64, now: Int64) {
        self.init(windows: [.nanoseconds(window)])
        self.times = times
        self.values = values
        weights = Array(repeating: 1, count: times.count)
        starts = [start]
        valueSums = [sum]
        weightSums = [Int64(times.count - start)]
        self.now = now
    }

    /// The parts of one window of unit weights (nil when the sums have other windows or weights).
    var singleWindow: (window: Int64, times: [Int64], values: [Int64], start: Int, sum: Int64, now: Int64)? {
        guard windows.count == 1, weights.allSatisfy({ $0 == 1 }), weightSums[0] == Int64(times.count - starts[0]) else { return nil }
        return (windows[0], times, values, starts[0], valueSums[0], now)
    }
}

/// The sum and count of the values of one time window: ``WindowedSums`` with one window and unit weights (the cascade
/// detector's), its entries in one buffer and its sums and first entry's time inline, so a cascade's first frame
/// touches this value and the buffer's end it appends to (its first entry only when one leaves), not seven arrays.
/// Saved in ``WindowedSums``' form, byte for byte: a saved detector reads back either way.
public struct WindowSum: Sendable, Equatable, Codable {
    struct Entry: Sendable, Equatable {
        var time: Int64
        var value: Int64
    }

    /// The window's length (ns).
    public let length: Int64
    private var entries: [Entry] = []
    /// Index of the window's first entry (those before it are dropped in bulk, as ``WindowedSums`` drops them).
    private var start = 0
    /// Sum of the values in the window (as of the last ``advance(to:)``/``add(_:at:)``).
    public private(set) var sum: Int64 = 0
    /// Time of the latest entry or advance (a receive clock that steps back is clamped to it).
    public private(set) var now: Int64 = .min
    /// Time of the window's first entry (`.max` when empty): an advance that evicts nothing returns without reading the
    /// buffer (on a cascade's first frame the other side's window is then not touched at all, unless an entry leaves
    /// it). Derived from the saved parts: not saved.
    private var firstTime: Int64 = .max

    public init(length: Duration) { self.length = length.wholeNanoseconds }

    /// Entries in the window.
    public var count: Int64 { Int64(entries.count - start) }

    public mutating func add(_ value: Int64, at t: Int64) {
        advance(to: t)
        entries.append(Entry(time: now, value: value))
        // The entry just added is the window's first when it was empty (`.min` marks a bulk drop due: kept).
        if firstTime != .min && start == entries.count - 1 { firstTime = now }
        sum &+= value
    }

    /// Evicts what left the window by time `t`.
    public mutating func advance(to t: Int64) {
        guard t > now else { return }
        now = t
        let edge = t - length
        // Nothing leaves: the bulk drop's condition was false after the last eviction and only weakens as entries are
        // added (a restored form where it holds sets `firstTime` to `.min`, so its first advance takes this path).
        guard firstTime <= edge else { return }
        var s = start
        while s < entries.count && entries[s].time <= edge {
            sum &-= entries[s].value
            s += 1
        }
        start = s
        // As ``WindowedSums/advance(to:)``: dead entries dropped in bulk, so eviction stays amortised O(1) and the saved
        // form is the same.
        if WindowedSums.dropsDead(s, of: entries.count) {
            entries.removeFirst(s)
            start = 0
        }
        firstTime = start < entries.count ? entries[start].time : .max
    }

    public init(from decoder: any Decoder) throws {
        guard let parts = try WindowedSums(from: decoder).singleWindow else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a window sum has one window and unit weights"))
        }
        length = parts.window
        // Room to grow, as a buffer built by appends has: at its exact size the first append after a restore would
        // copy every entry kept (up to some 8,000) on a cascade's first frame.
        entries.reserveCapacity(2 * parts.times.count + 16)
        for (time, value) in zip(parts.times, parts.values) { entries.append(Entry(time: time, value: value)) }
        start = parts.start
        sum = parts.sum
        now = parts.now
        firstTime = WindowedSums.dropsDead(start, of: entries.count) ? .min : start < entries.count ? entries[start].time : .max
    }

    public func encode(to encoder: any Encoder) throws {
        try WindowedSums(window: length, times: entries.map(\.time), values: entries.map(\.value), start: start, sum: sum, now: now)
            .encode(to: encoder)
    }
}
