public import CascadeCore

/// A delay in exchange time: from a client sending a command to the venue processing it (entry), or from the venue
/// processing something to the client hearing of it (acknowledgement).
public enum LatencyModel: Sendable, Hashable {
    case constant(milliseconds: Int64)
    /// Drawn from measured samples (ms) with a seeded generator: same seed, same draws.
    case sampled(millisecondsSamples: [Int64], seed: UInt64)

    /// One draw in milliseconds, never below `floor` (an empty sample list draws `floor`).
    public func draw(_ random: inout SeededRandom, floor: Int64) -> Int64 {
        switch self {
        case let .constant(ms): max(ms, floor)
        case let .sampled(samples, _):
            samples.isEmpty ? floor : max(samples[Int(random.next() % UInt64(samples.count))], floor)
        }
    }

    /// The generator of this model's draws (seeded by `.sampled`'s seed; a constant draws nothing).
    public var random: SeededRandom {
        if case let .sampled(_, seed) = self { return SeededRandom(seed: seed) }
        return SeededRandom(seed: 0)
    }
}

/// Maker and taker fee rates, applied to the exec value (Bybit linear VIP 0: 0.02% and 0.055%).
public struct FeeSchedule: Sendable, Hashable {
    public var maker: Rate
    public var taker: Rate
    public init(maker: Rate, taker: Rate) {
        self.maker = maker
        self.taker = taker
    }
    /// 0.0002 / 0.00055.
    public static let bybitDefault = FeeSchedule(maker: Rate(units: 2_000_000), taker: Rate(units: 5_500_000))

    public func rate(_ liquidity: Liquidity) -> Rate { liquidity == .maker ? maker : taker }
}

/// Everything a ``SimulatedExchange`` is configured with. Defaults are settings, not measurements.
public struct VenueSettings: Sendable {
    /// Client → venue. A command decided at `decidedAt` arrives at `decidedAt` + a draw (at least 1 ms).
    public var entryLatency: LatencyModel = .constant(milliseconds: 10)
    /// Venue → client on the private stream (the simulator's facade applies it; 5 ms by default, may be 0).
    public var acknowledgementLatency: LatencyModel = .constant(milliseconds: 5)
    public var fees: FeeSchedule = .bybitDefault
    public var queue: QueueModelChoice = .tradesOnly
    public var fill: FillModelChoice = .strictCross
    /// Market orders are immediate-or-cancel limits this far (basis points) through the best opposite price.
    public var marketProtectionBasisPoints: Int64 = 100
    /// Leverage of a symbol until set (Bybit's default: 10).
    public var defaultLeverage = Rate(units: 100_000_000_000)
    /// Maintenance margin rate of every position (0.005: Bybit's lowest BTCUSDT risk tier). A setting: Bybit takes it
    /// from per-symbol risk-limit tiers, which recordings lack.
    public var maintenanceMarginRate = Rate(units: 50_000_000)
    /// The book depth matching uses per symbol, chosen up front (the deepest the recording carries). A symbol not
    /// listed matches on the first depth it shows (and says so in ``SimulatedExchange/depthChoices``).
    public var matchingDepths: [SymbolID: Int] = [:]
    /// Bybit allows at most 10 active conditional orders per symbol (position TP/SL not counted).
    public var maxConditionalOrders = 10
    /// Closed orders each symbol remembers, with their client ids (the rest are forgotten, so a node running for
    /// months holds a window): a cancel of a forgotten order is `unknownOrder` rather than `orderClosed` (Bybit says
    /// 110001 to both), and its orderLinkId may be used again (Bybit refuses a reused one; the engine never reuses).
    public var closedOrdersRemembered = 10_000

    public init() {}
}
