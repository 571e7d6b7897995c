public import CascadeCore

/// An order id assigned by the simulated exchange (sequential, so runs are reproducible).
public struct SimOrderID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }
    public var description: String { "sim-\(value)" }
}

/// Time in force, as Bybit has it (PostOnly is a time in force there).
public enum SimTimeInForce: String, Sendable, Hashable {
    case goodTillCancel = "GTC"
    case immediateOrCancel = "IOC"
    case fillOrKill = "FOK"
    case postOnly = "PostOnly"
}

/// What a client asks of the exchange.
public enum SimCommand: Sendable, Hashable {
    /// A limit order (`price` set) or a market order (`price` nil: an IOC limit inside the protection band).
    /// `reduceOnly` orders are capped to the position; `positionIndex` must be 0 (one-way mode).
    case place(clientID: String, side: Side, price: Price?, qty: Quantity, timeInForce: SimTimeInForce,
               reduceOnly: Bool = false, positionIndex: Int = 0)
    /// A conditional (stop) order: untriggered until the `triggerBy` price crosses `trigger` in `direction`,
    /// then placed as a normal order (`price` nil: market). `closeOnTrigger` makes it reduce-only.
    case placeConditional(clientID: String, side: Side, price: Price?, qty: Quantity, timeInForce: SimTimeInForce,
                          trigger: Price, direction: SimTriggerDirection, triggerBy: SimTriggerPrice,
                          closeOnTrigger: Bool = false)
    /// Position take-profit / stop-loss (`/v5/position/trading-stop`). Per leg: nil leaves it as it is, a price
    /// of 0 removes it, a positive price replaces it. `qty` nil is Full mode (the whole position at trigger time);
    /// a quantity is Partial mode.
    case tradingStop(takeProfit: Price?, stopLoss: Price?, triggerBy: SimTriggerPrice, qty: Quantity?)
    case cancel(SimOrderID)
    /// New quantity and/or price. Quantity down keeps queue priority; a price change or quantity up loses it.
    case amend(SimOrderID, qty: Quantity?, price: Price?)
}

/// Which way the trigger price must move (Bybit `triggerDirection`: 1 rise, 2 fall).
public enum SimTriggerDirection: Int, Sendable, Hashable {
    /// Triggers when the price rises to or above the trigger.
    case rise = 1
    /// Triggers when the price falls to or below the trigger.
    case fall = 2
}

/// The price a trigger watches (Bybit `triggerBy`).
public enum SimTriggerPrice: String, Sendable, Hashable {
    case lastPrice = "LastPrice"
    case markPrice = "MarkPrice"
    case indexPrice = "IndexPrice"
}

/// Why an order ended without (fully) filling.
public enum SimCancelReason: String, Sendable, Hashable {
    /// Bybit: `EC_PostOnlyWillTakeLiquidity` — accepted, then cancelled at arrival because it would cross.
    case postOnlyWouldTakeLiquidity = "EC_PostOnlyWillTakeLiquidity"
    /// The unfilled rest of an IOC or market order.
    case immediateOrCancelRemainder = "EC_CancelForNoFullFill"
    /// A FOK order that could not fill completely at arrival.
    case fillOrKillNotFilled = "EC_FOKCancel"
    case byUser = "CancelByUser"
    /// A reduce-only order (or its excess) that no longer reduces anything.
    case reduceOnly = "CancelByReduceOnly"
    /// Every open order of the account, cancelled before its positions are liquidated.
    case cancelAllBeforeLiquidation = "CancelAllBeforeLiq"
    /// A position take-profit / stop-loss leg removed: the position closed, or a trading-stop replaced or cleared it.
    case tradingStopCleared = "CancelByTpSlTsClear"
}

/// Why a command was refused (no order exists afterwards).
public enum SimRejectReason: String, Error, Sendable, Hashable {
    case unknownOrder = "order not exists or too late to cancel"
    case nonPositiveQuantity = "qty must be positive"
    case nonPositivePrice = "price must be positive"
    case noMarketPrice = "no book to price a market order"
    case nothingToAmend = "nothing to amend"
    /// Amending an untriggered conditional order (trigger price, quantity) is not simulated.
    case conditionalAmendNotSimulated = "amending a conditional order is not simulated"
    /// Instrument rules (only when the instrument's rules are known).
    case priceNotOnTick = "price is not a multiple of tickSize"
    case quantityNotOnStep = "qty is not a multiple of qtyStep"
    case quantityBelowMinimum = "qty below minOrderQty"
    case quantityAboveMaximum = "qty above maxOrderQty"
    case notionalBelowMinimum = "order value below minNotionalValue"
    /// A reduce-only order that would open or grow the position.
    case reduceOnlyWouldIncrease = "reduce-only rule not satisfied"
    /// `positionIdx` other than 0 in one-way mode.
    case positionIndexMismatch = "position idx not match position mode"
    /// More than 10 active conditional orders for the symbol.
    case tooManyConditionalOrders = "too many conditional orders"
    /// A trigger already reached when placed (rise: trigger must be above the watched price; fall: below).
    case triggerPriceWrongSide = "expect Rising, but trigger price is at or below the current price"
    /// The falling counterpart of ``triggerPriceWrongSide`` (Bybit 110093).
    case triggerPriceWrongSideFalling = "expect Falling, but trigger price is at or above the current price"
    /// Trading-stop without a position.
    case noPosition = "can not set tp/sl/ts for zero position"
    /// The order's cost (the initial margin it adds, with fees to open and close) exceeds the available balance.
    case insufficientAvailableBalance = "ab not enough for new order"
    /// Set-leverage to the leverage the symbol already has.
    case leverageNotModified = "leverage not modified"
    /// Set-leverage outside 1...maxLeverage.
    case leverageOutOfRange = "leverage out of range"
    /// Set-leverage whose extra initial margin exceeds the available balance.
    case leverageInsufficientMargin = "available margin is insufficient"

    /// The Bybit retCode the simulator's REST layer answers with.
    public var retCode: Int {
        switch self {
        case .unknownOrder: 110001
        case .notionalBelowMinimum: 110094
        case .reduceOnlyWouldIncrease: 110017
        case .tooManyConditionalOrders: 110009
        case .triggerPriceWrongSide: 110092
        case .triggerPriceWrongSideFalling: 110093
        case .noPosition: 10001
        case .insufficientAvailableBalance: 110007
        case .leverageNotModified: 110043
        case .leverageInsufficientMargin: 110044
        case .leverageOutOfRange: 10001
        default: 10001
        }
    }
}

/// What kind of execution a fill is (Bybit `execType`).
public enum SimExecType: String, Sendable, Hashable {
    /// A match of our order in the market.
    case trade = "Trade"
    /// The liquidation engine taking over our position at its bankruptcy price.
    case bustTrade = "BustTrade"
}

/// One execution of one of our orders.
public struct SimFill: Sendable, Hashable {
    public var orderID: SimOrderID
    public var clientID: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var isMaker: Bool
    public var value: USDT
    public var fee: USDT
    /// Exchange time of the fill (the print or the arrival of the aggressive order).
    public var exchangeTime: ExchangeTime
    public var execType: SimExecType
    /// True for the liquidation engine's takeover of our position.
    public var isLiquidation: Bool { execType == .bustTrade }

    public init(orderID: SimOrderID, clientID: String, side: Side, price: Price, qty: Quantity, isMaker: Bool,
                value: USDT, fee: USDT, exchangeTime: ExchangeTime, execType: SimExecType = .trade) {
        self.orderID = orderID
        self.clientID = clientID
        self.side = side
        self.price = price
        self.qty = qty
        self.isMaker = isMaker
        self.value = value
        self.fee = fee
        self.exchangeTime = exchangeTime
        self.execType = execType
    }
}

/// What the exchange reports, stamped with exchange time, in the order it happened.
public enum SimReport: Sendable, Hashable {
    case accepted(SimOrderID, clientID: String, at: ExchangeTime)
    case rejected(clientID: String, SimRejectReason, at: ExchangeTime)
    case filled(SimFill)
    /// Cancelled with `filledQty` already executed (a cancel racing a fill reports both).
    case cancelled(SimOrderID, SimCancelReason, filledQty: Quantity, at: ExchangeTime)
    case amended(SimOrderID, lostPriority: Bool, at: ExchangeTime)
    /// Funding settled on our position (`execType=Funding`): `paid` > 0 left the wallet, < 0 arrived.
    case funding(paid: USDT, rate: Rate, mark: Price, at: ExchangeTime)
    /// A funding time passed but the data cannot price it (e.g. no mark price): not simulated, not guessed.
    case fundingNotSimulated(reason: String, at: ExchangeTime)
    /// A conditional order's trigger fired (`Untriggered` → `Triggered`); the order is placed next.
    case triggered(SimOrderID, price: Price, at: ExchangeTime)
    /// A reduce-only order's open quantity was cut to the position (`CancelByReduceOnly` on the excess).
    case reducedToPosition(SimOrderID, remaining: Quantity, at: ExchangeTime)
    case commandRejected(SimCommand, SimRejectReason, at: ExchangeTime)
    /// Our position was liquidated: `qty` closed at `bankruptcyPrice` (after the `BustTrade` fill that did it).
    case liquidated(side: PositionSide, qty: Quantity, bankruptcyPrice: Price, at: ExchangeTime)
}

/// A report of one symbol of a ``SimPortfolio`` (order ids are per symbol).
public struct SimSymbolReport: Sendable, Hashable {
    public var symbol: SymbolID
    public var report: SimReport
    public init(symbol: SymbolID, report: SimReport) {
        self.symbol = symbol
        self.report = report
    }
}
