import CascadeCore
import Foundation

/// The values of the last `horizon` of receive time, kept sorted: the percentile rank of a new value against them in
/// O(log n), insertion and eviction O(n) memmove (liquidations are rare next to book updates).
public struct RollingRank: Sendable, Codable, Equatable {
    public let horizon: Int64
    private var fifoTimes: [Int64] = []
    private var fifoValues: [Int64] = []
    private var head = 0
    private var sorted: [Int64] = []

    public init(horizon: Duration) { self.horizon = horizon.wholeNanoseconds }

    /// Values held.
    public var count: Int { sorted.count }

    /// Drops values older than `t − horizon`.
    public mutating func advance(to t: Int64) {
        while head < fifoTimes.count && fifoTimes[head] <= t - horizon {
            sorted.remove(at: MinuteBins.lowerBound(sorted, fifoValues[head]))
            head += 1
        }
        if head > 1024 && head * 2 > fifoTimes.count {
            fifoTimes.removeFirst(head)
            fifoValues.removeFirst(head)
            head = 0
        }
    }

    /// Mid-rank of `value` among the held values: (below + equal / 2) / n; nil when empty.
    public func rank(of value: Int64) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let below = MinuteBins.lowerBound(sorted, value)
        var above = below
        while above < sorted.count && sorted[above] == value { above += 1 }
        return (Double(below) + Double(above - below) / 2) / Double(sorted.count)
    }

    /// Adds `value` at `t`.
    public mutating func add(_ value: Int64, at t: Int64) {
        advance(to: t)
        fifoTimes.append(t)
        fifoValues.append(value)
        sorted.insert(value, at: MinuteBins.lowerBound(sorted, value))
    }
}

/// One-second OHLC bars from trades, closed when receive time passes the second, and the per-bar volatility terms
/// in fixed point (1e-16 of squared log price) so window sums are exact integers.
public struct SecondBars: Sendable, Codable, Equatable {
    static let second: Int64 = 1_000_000_000
    static let scale = 1e16
    private var current: Int64?
    private var open: Int64 = 0, high: Int64 = 0, low: Int64 = 0, close: Int64 = 0
    private var previousClose: Int64?
    /// Squared log return close-to-close (consecutive bars with trades).
    public private(set) var squaredReturns: WindowedSums
    /// ln(H/L)² per bar.
    public private(set) var parkinson: WindowedSums
    /// 0.5·ln(H/L)² − (2·ln2 − 1)·ln(C/O)² per bar.
    public private(set) var garmanKlass: WindowedSums

    public init(windows: [Duration]) {
        squaredReturns = WindowedSums(windows: windows)
        parkinson = WindowedSums(windows: windows)
        garmanKlass = WindowedSums(windows: windows)
    }

    /// A trade price (units) received at `t`.
    public mutating func add(price: Int64, at t: Int64) {
        advance(to: t)
        let s = MinuteBins.floorDiv(t, Self.second)
        if current == s {
            high = max(high, price)
            low = min(low, price)
            close = price
        } else {
            current = s
            open = price
            high = price
            low = price
            close = price
        }
    }

    /// Closes the bar whose second ended by `t` (stamped at its end) and moves the windows to `t`.
    public mutating func advance(to t: Int64) {
        if let s = current, t >= (s + 1) * Self.second {
            let end = (s + 1) * Self.second
            let hl = log(Double(high) / Double(low))
            let co = log(Double(close) / Double(open))
            if let prev = previousClose {
                let r = log(Double(close) / Double(prev))
                squaredReturns.add(Self.fixed(r * r), at: end)
            } else {
                squaredReturns.add(0, weight: 0, at: end)
            }
            parkinson.add(Self.fixed(hl * hl), at: end)
            garmanKlass.add(Self.fixed(0.5 * hl * hl - (2 * log(2.0) - 1) * co * co), at: end)
            previousClose = close
            current = nil
        }
        squaredReturns.advance(to: t)
        parkinson.advance(to: t)
        garmanKlass.advance(to: t)
    }

    static func fixed(_ x: Double) -> Int64 { Int64((x * scale).rounded()) }
}
