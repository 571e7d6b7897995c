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
        if dead > 4096 && dead * 2 > times.count {
            times.removeFirst(dead)
            values.removeFirst(dead)
            weights.removeFirst(dead)
            for i in starts.indices { starts[i] -= dead }
        }
    }

    /// Sum of values in window `i` (as of the last ``advance(to:)``/``add(_:weight:at:)``).
    public func sum(_ i: Int) -> Int64 { valueSums[i] }
    /// Sum of weights in window `i`.
    public func weight(_ i: Int) -> Int64 { weightSums[i] }
    /// Entries in window `i`.
    public func entries(_ i: Int) -> Int { times.count - starts[i] }
    /// Time of the latest entry, if any is still in the longest window.
    public var lastEntryTime: Int64? { times.count > (starts.last ?? 0) ? times.last : nil }
}
