public import CascadeCore

/// One episode being traded: its layers, protection and exits. A value, journaled whole with every decision that
/// changes it.
public struct Ladder: Sendable, Hashable, Codable {
    /// The run's ladder number (the `episode` field of its orderLinkIds).
    public var number: UInt64
    /// The detector's episode id.
    public var episodeID: String
    public var symbol: String
    /// The entries' side (buy against liquidated longs).
    public var side: Side
    /// The position stop every entry carries (tpslMode=Full).
    public var stopPrice: Price
    public var opened: ExchangeTime
    public var decisions = 1
    /// Twice the mid at the last decision (exact).
    public var lastDecisionMid2: Int64
    /// Entry notional placed so far (at limit prices).
    public var placedNotional = USDT.zero
    public var nextLayer: UInt64 = 0
    public var entries: [String] = []
    public var takeProfit: String?
    public var takeProfitAttempts: UInt64 = 0
    public var exits: [String] = []
    public var protects: [String] = []
    /// Unfilled entries are cancelled at this time.
    public var entryDeadline: ExchangeTime
    /// Set by the first fill: the position is closed at market at this time.
    public var exitDeadline: ExchangeTime?
    /// Time-exit orders sent (their orderLinkId attempt numbers).
    public var exitSends: UInt64 = 0
    /// Of those, the ones that reached the book (not refused on the call).
    public var exitAttempts: UInt64 = 0
    /// A refused time exit is sent again at this time (spaced, never in a burst).
    public var exitRetryAt: ExchangeTime?
    /// When the stop must have been seen on the position (after a fill or a re-protection).
    public var protectCheckAt: ExchangeTime?
    /// Entries were cancelled (TTL, episode end, exit, risk): none is added again.
    public var entriesClosed = false
    /// A re-protection (trading stop) was sent for the current unprotected stretch.
    public var reprotectSent = false
    /// A fill happened and no position report has shown the stop since.
    public var unprotectedSince: ExchangeTime?
    /// The position is flat and every order of the ladder is finished.
    public var closed = false
    /// The ladder ever had a fill.
    public var filled = false
    /// When the engine stopped waiting for fills an entry's cancel announced (``TradingEngine/awaitedFillMilliseconds``).
    public var fillWaitEnded: ExchangeTime?

    public init(number: UInt64, episodeID: String, symbol: String, side: Side, stopPrice: Price, opened: ExchangeTime,
                lastDecisionMid2: Int64, entryDeadline: ExchangeTime) {
        self.number = number
        self.episodeID = episodeID
        self.symbol = symbol
        self.side = side
        self.stopPrice = stopPrice
        self.opened = opened
        self.lastDecisionMid2 = lastDecisionMid2
        self.entryDeadline = entryDeadline
    }

    /// A position report showed the stop (or the position is flat): nothing to confirm or re-protect.
    mutating func confirmProtection() {
        unprotectedSince = nil
        protectCheckAt = nil
        reprotectSent = false
    }

    /// Every order of the ladder.
    public var orderIDs: [String] { entries + (takeProfit.map { [$0] } ?? []) + exits + protects }
}

/// The engine's risk memory: the risk engine's, plus the daily-loss and drawdown marks.
public struct RiskState: Sendable, Hashable, Codable {
    public var memory = RiskEngine.Memory()
    /// Start of the UTC day the loss is counted from (ms), and equity then.
    public var day: Int64?
    public var dayStartEquity: USDT?
    public var peakEquity: USDT?
    /// Why the mode is what it is.
    public var reason: String?
    public init() {}
}
