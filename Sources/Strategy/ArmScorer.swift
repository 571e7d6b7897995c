public import CascadeCore

/// What an arm scorer sees when a ladder is decided: the episode's symbol and side, the exact mid, the time, and the
/// offsets the configuration allows.
public struct ArmContext: Sendable, Hashable {
    public var symbol: String
    /// The liquidated side (`long`: forced selling, the ladder buys).
    public var liquidated: PositionSide
    /// Twice the mid at decision time (exact).
    public var doubledMid: Int64
    public var time: ExchangeTime
    /// The offsets δ (bps) the configuration allows, in layer order.
    public var configuredOffsets: [Int]

    public init(symbol: String, liquidated: PositionSide, doubledMid: Int64, time: ExchangeTime, configuredOffsets: [Int]) {
        self.symbol = symbol
        self.liquidated = liquidated
        self.doubledMid = doubledMid
        self.time = time
        self.configuredOffsets = configuredOffsets
    }
}

/// Chooses the ladder's arms (offsets δ in bps) for a decision. The engine journals what was chosen, so a scorer
/// never needs to be replayed. The rule scorer takes the configured offsets; a model scorer (expected PnL per δ and
/// horizon, with Thompson sampling among them) plugs in here without touching the engine.
public protocol ArmScorer: Sendable {
    func arms(_ context: ArmContext) -> [Int]
}

/// The configured offsets, every time.
public struct RuleArmScorer: ArmScorer {
    public init() {}
    public func arms(_ context: ArmContext) -> [Int] { context.configuredOffsets }
}
