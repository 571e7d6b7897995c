public import CascadeCore

/// One order as Bybit reports it on the private `order` stream (§3.3) and in `GET /v5/order/realtime|history`.
///
/// Prices and quantities are at the symbol's scale (from the decoder's ``CascadeCore/InstrumentTable``), money at
/// 1e-8 USDT. Fields Bybit leaves as `""` when not applicable are `nil`; trigger, take-profit and stop-loss prices
/// are also `nil` when Bybit writes `"0"`/`"0.00"` (no real one is zero). `avgPrice` keeps Bybit's `"0"` as
/// zero (sent by REST lists before any fill): check ``cumExecQty`` before using it.
public struct BybitOrder: Hashable, Sendable {
    /// `category` (`linear`).
    public var category: String
    /// `symbol`.
    public var symbol: String
    /// The symbol's id in the decoder's instrument table.
    public var symbolID: SymbolID
    /// `orderId`: Bybit's id.
    public var orderId: String
    /// `orderLinkId`: the client's id (`""` when none was given).
    public var orderLinkId: String
    /// `parentOrderLinkId`: for a partial TP/SL order, the client id of the order whose fill made it (`""`: none).
    public var parentOrderLinkId: String
    /// `side`.
    public var side: Side
    /// `orderType`.
    public var orderType: BybitOrderType
    /// `timeInForce`.
    public var timeInForce: BybitTimeInForce
    /// `orderStatus`.
    public var orderStatus: BybitOrderStatus
    /// `cancelType` (`CancelByUser`, `CancelByReduceOnly`, …, `UNKNOWN`); `""` when absent.
    public var cancelType: String
    /// `rejectReason` (`EC_NoError`, `EC_PostOnlyWillTakeLiquidity`, …); `""` when absent.
    public var rejectReason: String
    /// `createType` (`CreateByUser`, `CreateByStopOrder`, …); `""` when absent.
    public var createType: String
    /// `stopOrderType` (`TakeProfit`, `StopLoss`, …; `UNKNOWN` or `""` for plain orders).
    public var stopOrderType: String
    /// `price` (for Market orders, the slippage-protected limit Bybit derived).
    public var price: Price?
    /// `qty`.
    public var qty: Quantity
    /// `leavesQty`: quantity still resting.
    public var leavesQty: Quantity?
    /// `leavesValue`.
    public var leavesValue: USDT?
    /// `cumExecQty`: quantity filled so far.
    public var cumExecQty: Quantity
    /// `cumExecValue`: filled value so far.
    public var cumExecValue: USDT?
    /// `cumExecFee` (deprecated for linear in favour of ``cumFeeDetail``).
    public var cumExecFee: USDT?
    /// `cumFeeDetail`: fees so far per coin (`{"USDT": "0.0235"}`).
    public var cumFeeDetail: [String: BybitCoinAmount]
    /// `avgPrice`: average fill price; `nil` when Bybit sends `""`.
    public var avgPrice: Price?
    /// `closedPnl`.
    public var closedPnl: USDT?
    /// `reduceOnly` (`false` when absent).
    public var reduceOnly: Bool
    /// `closeOnTrigger` (`false` when absent).
    public var closeOnTrigger: Bool
    /// `positionIdx`.
    public var positionIndex: BybitPositionIndex?
    /// `triggerPrice` of a conditional order.
    public var triggerPrice: Price?
    /// `triggerDirection` (`nil` for `0`).
    public var triggerDirection: BybitTriggerDirection?
    /// `triggerBy` (`LastPrice`, …, `UNKNOWN`); `""` when absent.
    public var triggerBy: String
    /// `takeProfit`.
    public var takeProfit: Price?
    /// `stopLoss`.
    public var stopLoss: Price?
    /// `tpslMode` (`Full`, `Partial`, `""`).
    public var tpslMode: String
    /// `tpTriggerBy` / `slTriggerBy` (`LastPrice`, …, `UNKNOWN`); `""` when absent.
    public var tpTriggerBy: String
    public var slTriggerBy: String
    /// `tpLimitPrice` / `slLimitPrice`: the limit of a TP/SL that closes with a limit order.
    public var tpLimitPrice: Price?
    public var slLimitPrice: Price?
    /// `createdTime`.
    public var createdTime: ExchangeTime
    /// `updatedTime`.
    public var updatedTime: ExchangeTime
    /// Informational fields Bybit sent that could not be read (an undocumented value, more decimals than the
    /// type holds): they are `nil` here. Empty normally; a consumer counts these and alerts.
    public var unreadFields: [String] = []

    /// The fee paid so far in USDT: the `USDT` entry of ``cumFeeDetail``, else ``cumExecFee``.
    public var cumFeeUSDT: USDT? { cumFeeDetail["USDT"]?.usdt ?? cumExecFee }

    /// True when a PostOnly order was cancelled because it would have taken liquidity.
    public var isPostOnlyRejection: Bool { rejectReason == "EC_PostOnlyWillTakeLiquidity" }

    /// An order as given (every field; the encoder writes what Bybit writes for absent ones).
    public init(category: String = "linear", symbol: String, symbolID: SymbolID, orderId: String, orderLinkId: String,
                parentOrderLinkId: String = "", side: Side, orderType: BybitOrderType, timeInForce: BybitTimeInForce,
                orderStatus: BybitOrderStatus, cancelType: String = "UNKNOWN", rejectReason: String = "EC_NoError",
                createType: String = "CreateByUser", stopOrderType: String = "UNKNOWN", price: Price?, qty: Quantity,
                leavesQty: Quantity?, leavesValue: USDT?, cumExecQty: Quantity, cumExecValue: USDT?, cumExecFee: USDT?,
                cumFeeDetail: [String: BybitCoinAmount] = [:], avgPrice: Price?, closedPnl: USDT?, reduceOnly: Bool,
                closeOnTrigger: Bool, positionIndex: BybitPositionIndex? = .oneWay, triggerPrice: Price? = nil,
                triggerDirection: BybitTriggerDirection? = nil, triggerBy: String = "UNKNOWN", takeProfit: Price? = nil,
                stopLoss: Price? = nil, tpslMode: String = "", tpTriggerBy: String = "UNKNOWN", slTriggerBy: String = "UNKNOWN",
                tpLimitPrice: Price? = nil, slLimitPrice: Price? = nil, createdTime: ExchangeTime, updatedTime: ExchangeTime) {
        self.category = category
        self.symbol = symbol
        self.symbolID = symbolID
        self.orderId = orderId
        self.orderLinkId = orderLinkId
        self.parentOrderLinkId = parentOrderLinkId
        self.side = side
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.orderStatus = orderStatus
        self.cancelType = cancelType
        self.rejectReason = rejectReason
        self.createType = createType
        self.stopOrderType = stopOrderType
        self.price = price
        self.qty = qty
        self.leavesQty = leavesQty
        self.leavesValue = leavesValue
        self.cumExecQty = cumExecQty
        self.cumExecValue = cumExecValue
        self.cumExecFee = cumExecFee
        self.cumFeeDetail = cumFeeDetail
        self.avgPrice = avgPrice
        self.closedPnl = closedPnl
        self.reduceOnly = reduceOnly
        self.closeOnTrigger = closeOnTrigger
        self.positionIndex = positionIndex
        self.triggerPrice = triggerPrice
        self.triggerDirection = triggerDirection
        self.triggerBy = triggerBy
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.tpslMode = tpslMode
        self.tpTriggerBy = tpTriggerBy
        self.slTriggerBy = slTriggerBy
        self.tpLimitPrice = tpLimitPrice
        self.slLimitPrice = slLimitPrice
        self.createdTime = createdTime
        self.updatedTime = updatedTime
    }
}

/// The order object as sent: every value still text, so absence and type are checked by `Codable` and
/// decimal conversion happens with the symbol's instrument.
struct BybitOrderWire: Decodable, Sendable {
    var category: String?
    var symbol: String?
    var orderId: String?
    var orderLinkId: String?
    var parentOrderLinkId: String?
    var side: String?
    var orderType: String?
    var timeInForce: String?
    var orderStatus: String?
    var cancelType: String?
    var rejectReason: String?
    var createType: String?
    var stopOrderType: String?
    var price: String?
    var qty: String?
    var leavesQty: String?
    var leavesValue: String?
    var cumExecQty: String?
    var cumExecValue: String?
    var cumExecFee: String?
    var cumFeeDetail: [String: String]?
    var avgPrice: String?
    var closedPnl: String?
    var reduceOnly: Bool?
    var closeOnTrigger: Bool?
    var positionIdx: Int?
    var triggerPrice: String?
    var triggerDirection: Int?
    var triggerBy: String?
    var takeProfit: String?
    var stopLoss: String?
    var tpslMode: String?
    var tpTriggerBy: String?
    var slTriggerBy: String?
    var tpLimitPrice: String?
    var slLimitPrice: String?
    var createdTime: String?
    var updatedTime: String?

    func order(path: String, instruments: inout InstrumentTable) throws(BybitDecodeError) -> BybitOrder {
        let f = BybitFieldReader(path: path), g = f.informational
        let symbol = try f.requiredString(symbol, "symbol")
        let id = instruments.id(for: symbol)
        let i = instruments[id]
        var fees: [String: BybitCoinAmount] = [:]
        // Sorted so that the first failing coin is the same on every run.
        for (coin, text) in (cumFeeDetail ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let amount = try g.coinAmount(text, "cumFeeDetail.\(coin)") { fees[coin] = amount }
        }
        var out = BybitOrder(
            category: category ?? "",
            symbol: symbol,
            symbolID: id,
            orderId: try f.requiredString(orderId, "orderId"),
            orderLinkId: orderLinkId ?? "",
            parentOrderLinkId: parentOrderLinkId ?? "",
            side: try f.side(side, "side"),
            orderType: try f.required(f.closed(orderType, "orderType", as: BybitOrderType.self), "orderType"),
            timeInForce: try f.required(f.closed(timeInForce, "timeInForce", as: BybitTimeInForce.self), "timeInForce"),
            orderStatus: try f.required(f.closed(orderStatus, "orderStatus", as: BybitOrderStatus.self), "orderStatus"),
            cancelType: cancelType ?? "",
            rejectReason: rejectReason ?? "",
            createType: createType ?? "",
            stopOrderType: stopOrderType ?? "",
            price: try f.price(price, "price", i),
            qty: try f.required(f.quantity(qty, "qty", i), "qty"),
            leavesQty: try g.quantity(leavesQty, "leavesQty", i),
            leavesValue: try g.usdt(leavesValue, "leavesValue"),
            cumExecQty: try f.required(f.quantity(cumExecQty, "cumExecQty", i), "cumExecQty"),
            cumExecValue: try g.usdt(cumExecValue, "cumExecValue"),
            cumExecFee: try g.usdt(cumExecFee, "cumExecFee"),
            cumFeeDetail: fees,
            avgPrice: try g.price(avgPrice, "avgPrice", i),
            closedPnl: try g.usdt(closedPnl, "closedPnl"),
            reduceOnly: reduceOnly ?? false,
            closeOnTrigger: closeOnTrigger ?? false,
            positionIndex: try g.closed(positionIdx, "positionIdx", as: BybitPositionIndex.self),
            triggerPrice: try f.optionalTriggerPrice(triggerPrice, "triggerPrice", i),
            triggerDirection: triggerDirection == 0 ? nil
                : try g.closed(triggerDirection, "triggerDirection", as: BybitTriggerDirection.self),
            triggerBy: triggerBy ?? "",
            takeProfit: try g.optionalTriggerPrice(takeProfit, "takeProfit", i),
            stopLoss: try g.optionalTriggerPrice(stopLoss, "stopLoss", i),
            tpslMode: tpslMode ?? "",
            tpTriggerBy: tpTriggerBy ?? "",
            slTriggerBy: slTriggerBy ?? "",
            tpLimitPrice: try g.optionalTriggerPrice(tpLimitPrice, "tpLimitPrice", i),
            slLimitPrice: try g.optionalTriggerPrice(slLimitPrice, "slLimitPrice", i),
            createdTime: try f.required(f.time(createdTime, "createdTime"), "createdTime"),
            updatedTime: try f.required(f.time(updatedTime, "updatedTime"), "updatedTime"))
        out.unreadFields = f.unread.names
        return out
    }
}

extension BybitOrder {
    /// How far along an order's state is, compared in order: its status's rank (a status never goes back), the
    /// quantity executed, then the update time. Two messages of one order are ordered by this, not by time alone (two
    /// updates can share a millisecond).
    public struct Progress: Comparable, Sendable {
        let rank: Int
        let executed: Quantity
        let updated: ExchangeTime

        public static func < (a: Self, b: Self) -> Bool { (a.rank, a.executed, a.updated) < (b.rank, b.executed, b.updated) }
    }

    public var progress: Progress { Progress(rank: orderStatus.progressRank, executed: cumExecQty, updated: updatedTime) }
}
