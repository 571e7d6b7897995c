public import CascadeCore
public import Execution

/// One fill of the account, attributed to its ladder.
public struct BacktestFill: Sendable, Hashable {
    public var time: ExchangeTime
    public var symbol: String
    public var ladder: UInt64?
    public var episode: String?
    /// E/T/X/P for our orders, `stopLoss`/`takeProfit` for the venue's position legs, `takeover` for the venue's.
    public var role: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var liquidity: Liquidity
    public var fee: USDT
    /// The fill's price PnL when it closed part of the position (no fees).
    public var closedPnl: USDT
    /// Entry fills: the mid 1, 5, 30 and 60 s later against the fill price, in the fill's favour, hundredths of a bp
    /// (the mid at the first market event at or after each horizon; nil when the data ended first).
    public var markouts: [Int64?] = []
}

/// One ladder traded, from its first decision to flat.
public struct BacktestTrade: Sendable, Hashable {
    public var ladder: UInt64
    public var episode: String
    public var symbol: String
    public var side: Side
    public var opened: ExchangeTime
    public var layersPlaced: Int
    public var layersFilled: Int
    public var entryQty = Quantity.zero
    public var entryValue = USDT.zero
    public var exitQty = Quantity.zero
    public var exitValue = USDT.zero
    public var firstFill: ExchangeTime?
    public var lastFill: ExchangeTime?
    /// What closed the position (the role of the last closing fill), nil while open or never filled.
    public var exitReason: String?
    public var pricePnl = USDT.zero
    public var fees = USDT.zero
    public var funding = USDT.zero
    public var net: USDT { pricePnl - fees - funding }
}

/// One entry order of a ladder, from the decision to its end.
public struct BacktestLayer: Sendable, Hashable {
    public var linkID: String
    public var ladder: UInt64
    public var symbol: String
    public var side: Side
    public var price: Price
    /// δ from the mid of its decision, bps (rounded to the nearest whole bp).
    public var offsetBps: Int
    public var decidedAt: ExchangeTime
    public var acceptedAt: ExchangeTime?
    /// Displayed quantity ahead of it when the venue accepted it (nil: the venue did not say).
    public var queueAhead: Quantity?
    public var firstFill: ExchangeTime?
    public var filledQty = Quantity.zero
    /// `filled`, `partial` (cancelled with fills), `postOnlyRejected`, `rejected`, `cancelled` or `open`.
    public var outcome = "open"
}

/// Rows a long session has already handed out (``BacktestRunner/Session/takeSettled(holdMilliseconds:)``): only
/// their totals stay, so the summary still counts them.
public struct SettledRows: Sendable, Hashable {
    public var fills = 0
    public var makerFills = 0
    public var fees = USDT.zero
    public var pricePnl = USDT.zero
    public var ladders = 0
    public var laddersFilled = 0
    public var wins = 0
    public var losses = 0
    public var funding = USDT.zero
    public var decisionCounts: [String: Int] = [:]
    public init() {}

    /// Counts rows into the totals (the summary adds the rows still held the same way).
    mutating func add(fills list: [BacktestFill]) {
        for f in list {
            fills += 1
            if f.liquidity == .maker { makerFills += 1 }
            fees = fees + f.fee
            pricePnl = pricePnl + f.closedPnl
        }
    }

    mutating func add(trades list: [BacktestTrade]) {
        for t in list {
            ladders += 1
            funding = funding + t.funding
            if t.entryQty.units > 0 {
                laddersFilled += 1
                if t.net.units > 0 { wins += 1 } else { losses += 1 }
            }
        }
    }

    mutating func add(decisions list: [DecisionLogEntry]) {
        for d in list { decisionCounts["\(d.action).\(d.reason)", default: 0] += 1 }
    }
}

/// Everything a backtest produced.
public struct BacktestResult: Sendable {
    /// Rows handed out before the end (a paper session writes them as they settle); the lists below hold the rest.
    public var settled = SettledRows()
    /// Fills in the whole session, handed out or not.
    public var fillCount: Int { settled.fills + fills.count }
    public var fills: [BacktestFill] = []
    public var trades: [BacktestTrade] = []
    public var decisions: [DecisionLogEntry] = []
    public var layers: [BacktestLayer] = []
    public var frames = 0
    public var firstTime: ExchangeTime?
    public var lastTime: ExchangeTime?
    public var episodesDetected = 0
    public var commandsSent = 0
    public var refusedOnCall = 0
    /// Creates and amends the sequential sender refused unsent: their turn came at or after `live.sendDeadlineMs`.
    public var refusedUnsent = 0
    /// Commands withdrawn unsent (``CascadeCore/SenderLaneRouter``): entry creates whose cancel was decided while they
    /// waited for their turn, and those cancels.
    public var withdrawnUnsent = 0
    /// Calls the sequential sender held for their endpoint's rate-limit window to end (``OrderRateBudget``).
    public var rateLimitWaits = 0
    /// Commands decided and still queued for the sender when the data ended (also in ``commandsInFlightAtEnd``).
    /// Every committed command is sent, refused unsent, withdrawn unsent, or one of these.
    public var commandsQueuedAtEnd = 0
    public var notices: [String: Int] = [:]
    public var journalEntries = 0
    public var journalTransactions = 0
    public var run: UInt64 = 0
    public var engine: TradingEngine.Snapshot?
    /// The engine's wallet and positions against the simulated venue's at the end (they must agree to the unit).
    public var venueWallet = USDT.zero
    public var engineWallet = USDT.zero
    public var venuePositions: [String: Int64] = [:]
    public var enginePositions: [String: Int64] = [:]
    /// Equity at the last marks (nil: an open position without a mark).
    public var finalEquity: USDT?
    public var deposit = USDT.zero
    public var clockOffsetsMs: [Int64?] = []
    public var decodeErrors: [String: Int] = [:]
    public var mode = "normal"
    /// The engine's last alarms (at most 100) and how many it raised (every one is in the journal).
    public var alarms: [String] = []
    public var alarmsRaised = 0
    /// Commands that had not reached the venue when the data ended (never processed).
    public var commandsInFlightAtEnd = 0
    /// Timer ticks that did not move the next wakeup (a stuck deadline; 0 in a correct run).
    public var stuckTicks = 0
    /// The longest time the venue reported a position without a stop (ms; 0: every position carried one at once).
    public var longestUnprotectedMs: Int64 = 0
    /// Quiescent points (nothing in flight, nothing to deliver) at which the engine's positions and wallet were
    /// compared with the venue's, and how many differed (must be 0: both use the same exact ledger rules).
    public var quiescentChecks = 0
    public var quiescentMismatches = 0
    /// The instruments as the recording defined them (what a journal replay needs).
    public var instruments = InstrumentTable()
}

/// Why a backtest did not run.
public struct BacktestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
