import CascadeCore
import Foundation

/// Positive values of the last `horizon` of receive time, ranked on a log grid: a value's percentile rank against
/// them in O(log B) (a Fenwick tree over B ≈ 9,300 buckets of 0.5 % from 1e-8 to 1e12 USDT), insertion and eviction
/// O(log B). A sorted array was exact but shifted the whole week of liquidations per event (microseconds each during
/// a cascade); ranks are now exact up to values sharing a 0.5 % bucket, which count as ties.
public struct RollingRank: Sendable, Codable, Equatable {
    public let horizon: Int64
    private var fifoTimes: [Int64] = []
    private var fifoBuckets: [Int32] = []
    private var head = 0
    /// Fenwick tree of counts per bucket (1-based).
    private var tree: [Int32]
    public private(set) var count = 0

    static let growth = log(1.005)
    static let buckets = Int(log(Double(Int64.max)) / growth) + 2

    public init(horizon: Duration) {
        self.horizon = horizon.wholeNanoseconds
        tree = Array(repeating: 0, count: Self.buckets + 1)
    }

    /// Bucket of a value (values ≤ 1 share bucket 0).
    public static func bucket(_ value: Int64) -> Int { value <= 1 ? 0 : min(buckets - 1, Int(log(Double(value)) / growth) + 1) }

    private mutating func update(_ bucket: Int, _ delta: Int32) {
        var i = bucket + 1
        while i < tree.count {
            tree[i] += delta
            i += i & -i
        }
    }

    /// Values in buckets below `bucket`.
    private func below(_ bucket: Int) -> Int {
        var i = bucket, sum = 0
        while i > 0 {
            sum += Int(tree[i])
            i -= i & -i
        }
        return sum
    }

    /// Drops values older than `t − horizon`.
    public mutating func advance(to t: Int64) {
        while head < fifoTimes.count && fifoTimes[head] <= t - horizon {
            update(Int(fifoBuckets[head]), -1)
            count -= 1
            head += 1
        }
        if head > 1024 && head * 2 > fifoTimes.count {
            fifoTimes.removeFirst(head)
            fifoBuckets.removeFirst(head)
            head = 0
        }
    }

    /// Mid-rank of `value` among the held values, (below + same bucket / 2) / n; nil when empty.
    public func rank(of value: Int64) -> Double? {
        guard count > 0 else { return nil }
        let b = Self.bucket(value)
        let lower = below(b)
        let same = below(b + 1) - lower
        return (Double(lower) + Double(same) / 2) / Double(count)
    }

    /// Adds `value` at `t`.
    public mutating func add(_ value: Int64, at t: Int64) {
        advance(to: t)
        let b = Self.bucket(value)
        fifoTimes.append(t)
        fifoBuckets.append(Int32(b))
        update(b, 1)
        count += 1
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
        let s = floorDivide(t, Self.second)
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

    /// Forgets the bar in progress and the last close: after an interruption the first return would span the gap.
    public mutating func reset() {
        current = nil
        previousClose = nil
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
