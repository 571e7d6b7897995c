/// What a venue reports, venue-neutral: order life cycle, fills, position and wallet state, funding and takeovers.
///
/// Every report carries the exchange time at which it happened at the venue (not when it was heard of). Simulation
/// emits these natively; a venue adapter decodes the venue's messages into them. Only ``Event/filled(_:)`` and
/// ``Event/takeover(_:)`` change a position; ``Event/funding(_:)`` changes only the wallet; an
/// ``Event/unclassified(_:)`` execution changes nothing and calls for reconciliation.
public struct ExecutionReport: Hashable, Sendable, Codable {
    /// The symbol it is about; nil for account-wide reports (the wallet).
    public var symbol: SymbolID?
    /// When it happened at the venue.
    public var time: ExchangeTime
    public var event: Event

    public init(symbol: SymbolID?, time: ExchangeTime, event: Event) {
        self.symbol = symbol
        self.time = time
        self.event = event
    }

    public enum Event: Hashable, Sendable, Codable {
        /// The order is open at the venue (resting, or waiting for its trigger).
        case accepted(OrderAccepted)
        /// The venue refused the order at arrival: it never rested.
        case rejected(OrderRejected)
        /// A conditional order's trigger fired; it works as a normal order from here.
        case triggered(OrderTriggered)
        /// Price, quantity or trigger changed (by the client's amend, or by the venue cutting a reduce-only order).
        case amended(OrderAmended)
        /// A cancel, amend, trading stop or leverage change refused when it reached the venue.
        case commandRejected(CommandRejected)
        case filled(Fill)
        case cancelled(OrderCancelled)
        case position(PositionReport)
        case wallet(WalletReport)
        case funding(FundingPayment)
        case takeover(Takeover)
        case unclassified(UnclassifiedExecution)
        /// Simulation only: the market data cannot support matching (a gap, a resync, an invalid book); resting
        /// orders stay but cannot fill until ``matchingResumed``.
        case matchingSuspended(reason: String)
        case matchingResumed
        /// Simulation only: a funding time passed but the data cannot price it (no mark price, no rate).
        case fundingNotSimulated(reason: String)

        /// The execution id of an execution (a fill, a takeover, a funding payment, an unknown type); nil otherwise.
        public var executionID: ExecutionID? {
            switch self {
            case let .filled(f): f.executionID
            case let .takeover(t): t.executionID
            case let .funding(f): f.executionID
            case let .unclassified(u): u.executionID
            default: nil
            }
        }

        /// True for the simulation's notices about its data: no venue would send them, and they change no order,
        /// position or wallet.
        public var isNotice: Bool {
            switch self {
            case .matchingSuspended, .matchingResumed, .fundingNotSimulated: true
            default: false
            }
        }
    }
}

/// Who created an order (Bybit `createType`).
public enum OrderOrigin: Hashable, Sendable, Codable {
    case client
    /// A position take-profit or stop-loss leg, full or partial.
    case takeProfit
    case stopLoss
    case partialTakeProfit
    case partialStopLoss
    /// The liquidation engine.
    case liquidation
    case autoDeleveraging
    case other(String)

    /// A TP/SL order made by the venue: a position leg or a partial TP/SL.
    public var isTakeProfitOrStopLoss: Bool {
        switch self {
        case .takeProfit, .stopLoss, .partialTakeProfit, .partialStopLoss: true
        default: false
        }
    }
}

/// An order open at the venue.
public struct OrderAccepted: Hashable, Sendable, Codable {
    public var venueID: VenueOrderID
    public var clientID: ClientOrderID?
    public var spec: OrderSpec
    public var origin: OrderOrigin
    /// For a TP/SL order made from a fill of another order (partial mode): that order.
    public var parent: VenueOrderID?
    /// Others' displayed quantity ahead of the order at its price on arrival; nil when unknown (beyond the visible
    /// book, a conditional order, or a venue that does not tell). Simulation only.
    public var queueAhead: Quantity?

    public init(venueID: VenueOrderID, clientID: ClientOrderID?, spec: OrderSpec, origin: OrderOrigin = .client,
                parent: VenueOrderID? = nil, queueAhead: Quantity? = nil) {
        self.venueID = venueID
        self.clientID = clientID
        self.spec = spec
        self.origin = origin
        self.parent = parent
        self.queueAhead = queueAhead
    }
}

/// An order refused at arrival.
public struct OrderRejected: Hashable, Sendable, Codable {
    public var venueID: VenueOrderID?
    public var clientID: ClientOrderID?
    public var rejection: Rejection
    public init(venueID: VenueOrderID?, clientID: ClientOrderID?, rejection: Rejection) {
        self.venueID = venueID
        self.clientID = clientID
        self.rejection = rejection
    }
}

/// A conditional order whose trigger fired; it works with `qty` from here (a Full-mode TP/SL leg: the position at
/// that instant). `price` is the order's trigger price: Bybit does not say which price fired it, so neither does the
/// simulator (a strategy must not see more in a backtest than live); nil when the venue's message omits it.
public struct OrderTriggered: Hashable, Sendable, Codable {
    public var venueID: VenueOrderID
    public var clientID: ClientOrderID?
    public var price: Price?
    public var qty: Quantity
    public init(venueID: VenueOrderID, clientID: ClientOrderID?, price: Price?, qty: Quantity) {
        self.venueID = venueID
        self.clientID = clientID
        self.price = price
        self.qty = qty
    }
}

/// An open order's new terms.
public struct OrderAmended: Hashable, Sendable, Codable {
    /// What changed it.
    public enum Cause: Hashable, Sendable, Codable {
        case client
        /// The venue cut a reduce-only order to what still reduces the position.
        case reduceOnlyCap
    }
    public var venueID: VenueOrderID
    public var clientID: ClientOrderID?
    public var price: Price?
    /// Total quantity, filled part included.
    public var qty: Quantity
    public var triggerPrice: Price?
    public var cause: Cause
    /// True when the order went to the back of its price level (a new price or a larger quantity).
    public var lostPriority: Bool
    public init(venueID: VenueOrderID, clientID: ClientOrderID?, price: Price?, qty: Quantity, triggerPrice: Price? = nil,
                cause: Cause = .client, lostPriority: Bool = false) {
        self.venueID = venueID
        self.clientID = clientID
        self.price = price
        self.qty = qty
        self.triggerPrice = triggerPrice
        self.cause = cause
        self.lostPriority = lostPriority
    }
}

/// A command refused at the venue after it was sent (a cancel that found the order filled, say).
public struct CommandRejected: Hashable, Sendable, Codable {
    public var action: VenueCommand.Action
    /// The order the command was about, when the venue knows it.
    public var venueID: VenueOrderID?
    public var clientID: ClientOrderID?
    public var rejection: Rejection
    public init(action: VenueCommand.Action, venueID: VenueOrderID? = nil, clientID: ClientOrderID? = nil, rejection: Rejection) {
        self.action = action
        self.venueID = venueID
        self.clientID = clientID
        self.rejection = rejection
    }
}

/// Maker or taker side of a fill.
public enum Liquidity: Hashable, Sendable, Codable {
    case maker
    case taker
}

/// One execution of one of our orders against the market.
public struct Fill: Hashable, Sendable, Codable {
    public var venueID: VenueOrderID
    public var clientID: ClientOrderID?
    public var executionID: ExecutionID
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var liquidity: Liquidity
    /// What the account paid (negative: a rebate), in USDT. Nil, like ``feeRate`` and ``leavesQty``, when the
    /// venue's message did not say (Bybit's `execution.fast`): the full execution message says it later, and nothing
    /// may read a zero fee or a finished order into the silence.
    public var fee: USDT?
    public var feeRate: Rate?
    /// The order's quantity still open after this fill.
    public var leavesQty: Quantity?
    /// The part of `qty` that closed a position (Bybit `closedSize`); nil when the venue did not say.
    public var closedQty: Quantity?
    /// The closing part's price PnL, without fees or funding (Bybit `execPnl`); nil when the venue did not say.
    public var closedPnl: USDT?
    /// The closing part's PnL after the fees to open and close it and the funding it carried (what Bybit's order
    /// `closedPnl` and `/v5/position/closed-pnl` add up); simulation only, nil from a venue's execution stream.
    public var closedPnlAfterCosts: USDT?
    public var markPrice: Price?
    /// The venue's sequence of executions: a position report with this `seq` or later includes this fill.
    public var seq: Int64?

    public init(venueID: VenueOrderID, clientID: ClientOrderID?, executionID: ExecutionID, side: Side, price: Price, qty: Quantity,
                liquidity: Liquidity, fee: USDT?, feeRate: Rate?, leavesQty: Quantity?, closedQty: Quantity? = nil,
                closedPnl: USDT? = nil, closedPnlAfterCosts: USDT? = nil, markPrice: Price? = nil, seq: Int64? = nil) {
        self.seq = seq
        self.venueID = venueID
        self.clientID = clientID
        self.executionID = executionID
        self.side = side
        self.price = price
        self.qty = qty
        self.liquidity = liquidity
        self.fee = fee
        self.feeRate = feeRate
        self.leavesQty = leavesQty
        self.closedQty = closedQty
        self.closedPnl = closedPnl
        self.closedPnlAfterCosts = closedPnlAfterCosts
        self.markPrice = markPrice
    }
}

/// An order that ended; `filledQty` may be positive (a cancel after partial fills).
public struct OrderCancelled: Hashable, Sendable, Codable {
    public var venueID: VenueOrderID
    public var clientID: ClientOrderID?
    public var cancellation: Cancellation
    public var filledQty: Quantity
    /// True for a conditional order cancelled before its trigger fired (Bybit `Deactivated`).
    public var wasUntriggered: Bool
    public init(venueID: VenueOrderID, clientID: ClientOrderID?, cancellation: Cancellation, filledQty: Quantity,
                wasUntriggered: Bool = false) {
        self.venueID = venueID
        self.clientID = clientID
        self.cancellation = cancellation
        self.filledQty = filledQty
        self.wasUntriggered = wasUntriggered
    }
}

/// Where the venue's risk process has a position.
public enum PositionStatus: Hashable, Sendable, Codable {
    case normal
    case liquidation
    case autoDeleveraging
}

/// The position of one symbol as the venue states it. `size` is signed: positive long, negative short.
public struct PositionReport: Hashable, Sendable, Codable {
    public var size: Quantity
    public var averagePrice: Price?
    public var markPrice: Price?
    public var liquidationPrice: Price?
    public var bankruptcyPrice: Price?
    public var leverage: Rate?
    public var positionValue: USDT?
    public var unrealisedPnl: USDT?
    /// Realised PnL since the position was last opened from flat: fees and funding included.
    public var currentRealisedPnl: USDT?
    /// Realised PnL of the symbol since the account began: fees and funding included.
    public var cumulativeRealisedPnl: USDT?
    public var initialMargin: USDT?
    public var maintenanceMargin: USDT?
    public var takeProfit: Price?
    public var stopLoss: Price?
    public var status: PositionStatus
    /// The venue's auto-deleveraging rank (0: none; Bybit 1–5).
    public var adlRankIndicator: Int
    /// Orders the position after executions: an execution with `seq` ≤ this one is included in it.
    public var seq: Int64?
    /// When the position was first opened (nil when never).
    public var createdTime: ExchangeTime?

    public init(size: Quantity, averagePrice: Price? = nil, markPrice: Price? = nil, liquidationPrice: Price? = nil,
                bankruptcyPrice: Price? = nil, leverage: Rate? = nil, positionValue: USDT? = nil, unrealisedPnl: USDT? = nil,
                currentRealisedPnl: USDT? = nil, cumulativeRealisedPnl: USDT? = nil, initialMargin: USDT? = nil,
                maintenanceMargin: USDT? = nil, takeProfit: Price? = nil, stopLoss: Price? = nil, status: PositionStatus = .normal,
                adlRankIndicator: Int = 0, seq: Int64? = nil, createdTime: ExchangeTime? = nil) {
        self.size = size
        self.averagePrice = averagePrice
        self.markPrice = markPrice
        self.liquidationPrice = liquidationPrice
        self.bankruptcyPrice = bankruptcyPrice
        self.leverage = leverage
        self.positionValue = positionValue
        self.unrealisedPnl = unrealisedPnl
        self.currentRealisedPnl = currentRealisedPnl
        self.cumulativeRealisedPnl = cumulativeRealisedPnl
        self.initialMargin = initialMargin
        self.maintenanceMargin = maintenanceMargin
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.status = status
        self.adlRankIndicator = adlRankIndicator
        self.seq = seq
        self.createdTime = createdTime
    }
}

/// The account's margin state (Bybit's unified account: totals in USD, the settle coin's own figures when known).
public struct WalletReport: Hashable, Sendable, Codable {
    public var walletBalance: USDT
    /// Wallet balance plus unrealised PnL.
    public var equity: USDT
    public var availableBalance: USDT
    public var unrealisedPnl: USDT
    /// Initial margin of positions and orders together.
    public var initialMargin: USDT
    /// The orders' part of it, when the venue says (Bybit: per coin).
    public var orderInitialMargin: USDT?
    public var maintenanceMargin: USDT
    /// Realised PnL since the account began, fees and funding included, when the venue says (Bybit: per coin).
    public var cumulativeRealisedPnl: USDT?

    public init(walletBalance: USDT, equity: USDT, availableBalance: USDT, unrealisedPnl: USDT, initialMargin: USDT,
                orderInitialMargin: USDT?, maintenanceMargin: USDT, cumulativeRealisedPnl: USDT?) {
        self.walletBalance = walletBalance
        self.equity = equity
        self.availableBalance = availableBalance
        self.unrealisedPnl = unrealisedPnl
        self.initialMargin = initialMargin
        self.orderInitialMargin = orderInitialMargin
        self.maintenanceMargin = maintenanceMargin
        self.cumulativeRealisedPnl = cumulativeRealisedPnl
    }
}

/// A funding settlement on the position: changes the wallet only, never the position.
public struct FundingPayment: Hashable, Sendable, Codable {
    public var executionID: ExecutionID
    /// The signed position size that was charged (positive long).
    public var positionSize: Quantity
    public var markPrice: Price
    public var rate: Rate
    /// What the account paid (negative: received).
    public var amount: USDT
    public var seq: Int64?
    public init(executionID: ExecutionID, positionSize: Quantity, markPrice: Price, rate: Rate, amount: USDT, seq: Int64? = nil) {
        self.seq = seq
        self.executionID = executionID
        self.positionSize = positionSize
        self.markPrice = markPrice
        self.rate = rate
        self.amount = amount
    }
}

/// A position change the venue made without an order of ours: liquidation takeover, auto-deleveraging, delivery,
/// settlement, a moved position.
public struct Takeover: Hashable, Sendable, Codable {
    public var kind: ExecutionKind
    public var executionID: ExecutionID
    /// The venue's order for it.
    public var venueID: VenueOrderID
    /// The side traded for us (a long taken over is sold).
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var fee: USDT
    public var closedQty: Quantity?
    public var closedPnl: USDT?
    public var seq: Int64?
    public init(kind: ExecutionKind, executionID: ExecutionID, venueID: VenueOrderID, side: Side, price: Price, qty: Quantity,
                fee: USDT, closedQty: Quantity? = nil, closedPnl: USDT? = nil, seq: Int64? = nil) {
        self.seq = seq
        self.kind = kind
        self.executionID = executionID
        self.venueID = venueID
        self.side = side
        self.price = price
        self.qty = qty
        self.fee = fee
        self.closedQty = closedQty
        self.closedPnl = closedPnl
    }
}

/// An execution of a kind this code does not know: reported, never applied.
public struct UnclassifiedExecution: Hashable, Sendable, Codable {
    public var executionID: ExecutionID
    /// The venue's type, as sent.
    public var rawType: String
    public var venueID: VenueOrderID?
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public init(executionID: ExecutionID, rawType: String, venueID: VenueOrderID?, side: Side, price: Price, qty: Quantity) {
        self.executionID = executionID
        self.rawType = rawType
        self.venueID = venueID
        self.side = side
        self.price = price
        self.qty = qty
    }
}
