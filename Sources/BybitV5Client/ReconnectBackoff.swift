/// Bounded exponential backoff with jitter for reconnecting forever.
///
/// Delay `n` (1-based) is `min(maximum, initial × multiplier^(n-1))`, scaled by a random factor in
/// `[1 − jitter, 1 + jitter]` so that many clients do not reconnect in lockstep. A connection that stayed up
/// for `resetAfter` resets the sequence.
public struct ReconnectBackoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Fraction of the delay, 0…1.
    public var jitter: Double
    public var resetAfter: Duration

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30), multiplier: Double = 2,
                jitter: Double = 0.2, resetAfter: Duration = .seconds(60)) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = min(max(jitter, 0), 1)
        self.resetAfter = resetAfter
    }

    /// The delay before reconnect attempt `failures` (1 = first retry), with `unit` in [0, 1) drawn by the caller.
    public func delay(afterFailures failures: Int, unit: Double) -> Duration {
        let base = initial.seconds * pow2(multiplier, max(failures - 1, 0))
        let capped = min(base, maximum.seconds)
        let factor = 1 + jitter * (2 * unit - 1)
        return .nanoseconds(Int64(max(0, capped * factor) * 1e9))
    }

    private func pow2(_ base: Double, _ exponent: Int) -> Double {
        var r = 1.0
        for _ in 0..<min(exponent, 64) { r *= base }
        return r
    }
}

extension Duration {
    /// The duration in seconds as a `Double` (timing only; never money).
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
    /// Whole nanoseconds (fractions below a nanosecond dropped).
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
    /// Whole milliseconds (fractions below a millisecond dropped).
    var milliseconds: Int64 { nanoseconds / 1_000_000 }
}
