public import CascadeCore

/// A delay in exchange time: from a client sending a command to the exchange processing it (entry), or from the
/// exchange processing something to the client hearing of it (acknowledgement).
///
/// An order sent in reaction to a market event arrives at (exchange `ts` of the last event the sender had
/// seen) + latency — never receive time + latency: recorders' clocks are seconds off the exchange's.
public enum SimLatency: Sendable, Hashable {
    case constant(milliseconds: Int64)
    /// Drawn from measured samples (ms) with a seeded generator: same seed, same draws.
    case sampled(millisecondsSamples: [Int64], seed: UInt64)

    /// One draw in milliseconds: the constant, or a sample picked by `random`, never below `floor` (an empty
    /// sample list draws `floor`). Entry latency uses floor 1: an order can never arrive at the instant of the
    /// event it reacts to.
    func draw(_ random: inout SimRandom, floor: Int64) -> Int64 {
        switch self {
        case let .constant(ms): max(ms, floor)
        case let .sampled(samples, _):
            samples.isEmpty ? floor : max(samples[Int(random.next() % UInt64(samples.count))], floor)
        }
    }

    /// A generator for this latency's draws: seeded by `.sampled`'s seed (a constant draws nothing).
    var random: SimRandom {
        if case let .sampled(_, seed) = self { return SimRandom(seed: seed) }
        return SimRandom(seed: 0)
    }
}

/// Maker and taker fee rates (Bybit linear defaults: 0.02% and 0.055%), applied to the exec value.
public struct SimFees: Sendable, Hashable {
    public var maker: Rate
    public var taker: Rate
    public init(maker: Rate, taker: Rate) {
        self.maker = maker
        self.taker = taker
    }
    /// 0.0002 / 0.00055.
    public static let bybitDefault = SimFees(maker: Rate(units: 2_000_000), taker: Rate(units: 5_500_000))
}

/// How the queue ahead of a resting order advances.
public enum SimQueueModel: Sendable, Hashable {
    /// Conservative (default): only trades at our price advance the queue. A displayed size that shrinks
    /// without a trade is assumed to be cancellations *behind* us.
    case tradesOnly
    /// Trades, plus a share of unexplained size decreases at our price: with `ahead` in front and `behind`
    /// after us, a decrease of d advances us by d × ahead / (ahead + behind) — cancellations spread
    /// uniformly over the queue (the probabilistic split hftbacktest uses, made deterministic).
    case proportionalCancels
}

/// Settings of one simulated symbol.
public struct SimConfiguration: Sendable {
    public var instrument: Instrument
    public var entryLatency: SimLatency = .constant(milliseconds: 10)
    /// Delay from the exchange processing something to the client hearing of it on the private stream (order,
    /// execution, position and wallet reports), drawn per report by ``SimulatedExchange/acknowledgementDelay()``
    /// from its own seeded stream. The 5 ms default is a setting, not a measurement; may be 0.
    public var acknowledgementLatency: SimLatency = .constant(milliseconds: 5)
    public var fees: SimFees = .bybitDefault
    public var queue: SimQueueModel = .tradesOnly
    /// Market orders are IOC limits this far (in basis points) through the best opposite price.
    public var marketProtectionBasisPoints: Int64 = 100

    public init(instrument: Instrument) { self.instrument = instrument }
}

/// SplitMix64, for seeded latency draws (kept local so the engine has no test-support dependency).
struct SimRandom: Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
