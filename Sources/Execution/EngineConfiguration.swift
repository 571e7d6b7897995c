public import CascadeCore

/// Everything the trading engine is told: the ladder, its protection and exits, risk limits and breakers.
/// Durations are milliseconds of exchange time; money is exact USDT. Defaults are deliberately small.
public struct EngineConfiguration: Sendable, Hashable {
    /// The process's tag in every orderLinkId (1–4 letters or digits; two nodes on one account never share one).
    public var node = "bt"
    /// Which detector episodes are traded (`all`: Bybit's allLiquidation; `throttled`: the older sampled feed).
    public var liquidationSource: LiquidationSource = .all
    /// Symbols traded (nil: every symbol with trading rules).
    public var symbols: Set<String>?

    // Ladder
    /// δ per layer, whole bps from the mid at decision time.
    public var offsetsBps: [Int] = [20, 40, 70]
    public var layerNotional = USDT(units: Int64(10_000_000_000))        // 100 USDT
    /// Unfilled entries are cancelled this long after they were placed.
    public var entryTTLMilliseconds: Int64 = 30_000
    /// Unfilled entries are also cancelled when the detector ends the episode.
    public var cancelEntriesAtEpisodeEnd = true
    /// Decisions per episode: 1 places the ladder once; more re-plans on later liquidations of the same episode
    /// when the mid moved `reevaluateMoveBps` further, under the episode notional cap.
    public var maxDecisionsPerEpisode = 1
    public var reevaluateMoveBps = 20

    // Protection and exits
    /// The position stop (tpslMode=Full, market) sits this far beyond the deepest layer.
    public var stopBps = 100
    /// What the stop watches. Mark or index price is refused at start when the data carries no tickers.
    public var stopTrigger: TriggerSource = .lastPrice
    /// The take-profit limit sits this far beyond the average entry.
    public var takeProfitBps = 30
    /// The position is closed at market this long after its first fill.
    public var maxHoldMilliseconds: Int64 = 60_000
    /// A time exit is an IOC limit this far through the touch (Bybit's market order with a slippage tolerance).
    public var timeExitSlippageBps = 50
    /// Time-exit attempts (that reached the book) before the engine halts with an alarm.
    public var timeExitMaxAttempts = 3
    /// A refused time exit is sent again after this long.
    public var exitRetryMilliseconds: Int64 = 1_000
    /// A position report must show the stop within this long of a fill or a re-protection; otherwise the stop is set
    /// again, then the position is closed.
    public var protectionConfirmMilliseconds: Int64 = 2_000

    // Risk
    public var limits = RiskLimits()
    /// Loss since the start of the UTC day (fees and funding included, at mark) that switches to REDUCING.
    public var dailyLoss = RiskLimit(absolute: USDT(units: Int64(20_000_000_000)), equityBps: 200)
    /// Fall from peak equity that switches to HALTED.
    public var maxDrawdown = RiskLimit(absolute: USDT(units: Int64(50_000_000_000)), equityBps: 500)
    public var breakers = BreakerSettings()

    // Memory
    /// An ended ladder's orders, and counted execution ids, are forgotten this long after (exchange time), so a node
    /// that runs for months holds a window of them. Beyond the reconciliation's lookback (at most 7 days); a fill
    /// older than the window (a backfill from a cursor left behind) is refused with an alarm, never counted twice.
    /// Not a file key.
    public var retainEndedMilliseconds: Int64 = 8 * 86_400_000

    public init() {}
}

/// Conditions under which no new entry is placed (each denial names its breaker).
public struct BreakerSettings: Sendable, Hashable {
    /// The book must have been updated within this long of the decision.
    public var maxBookAgeMilliseconds: Int64 = 5_000
    /// |mark − last| / last, bps (nil: not checked).
    public var maxMarkLastDivergenceBps: Int? = 50
    /// The liquidation that opened the episode must be this fresh at decision time.
    public var maxLiquidationLagMilliseconds: Int64 = 5_000
    /// Post-only rejects among the last `postOnlyWindow` resolved entries (rejected, or filled/cancelled otherwise),
    /// as a share in bps, at or above which entries stop.
    public var postOnlyWindow = 20
    public var maxPostOnlyRejectBps = 5_000
    /// Bybit's `adlRankIndicator` at or above which no entry is added.
    public var maxAdlRank = 4
    /// No entry this close to a funding time (either side).
    public var fundingNoTradeMilliseconds: Int64 = 60_000
    public init() {}
}
