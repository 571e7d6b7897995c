public import CascadeCore

/// One execution (fill, funding payment, settlement) from the private `execution` / `execution.fast` streams
/// (§3.4) and `GET /v5/execution/list`.
///
/// `execFee` is negative when the account receives money (a maker rebate, or funding received). The
/// `execution.fast` stream sends only ids, price, quantity, side, time and `seq`; its ``execType`` is
/// ``BybitExecType/trade`` (the only type that stream carries) and the money fields are `nil`.
public struct BybitExecution: Hashable, Sendable {
    /// `category`.
    public var category: String
    /// `symbol`.
    public var symbol: String
    /// The symbol's id in the decoder's instrument table.
    public var symbolID: SymbolID
    /// `execId`: unique per execution.
    public var execId: String
    /// `orderId`.
    public var orderId: String
    /// `orderLinkId` (`""` for orders without one; always `""` for maker fills on `execution.fast`).
    public var orderLinkId: String
    /// `side` of the order that executed.
    public var side: Side
    /// `execPrice`.
    public var execPrice: Price
    /// `execQty`.
    public var execQty: Quantity
    /// `execValue` = `execPrice × execQty` in USDT.
    public var execValue: USDT?
    /// `execFee` in the fee currency (USDT for linear); negative for rebates and funding received.
    public var execFee: USDT?
    /// `feeRate` (negative for a rebate rate).
    public var feeRate: Rate?
    /// `execType`.
    public var execType: BybitExecType
    /// `isMaker`.
    public var isMaker: Bool
    /// `execTime`.
    public var execTime: ExchangeTime
    /// `seq`: links fills to position updates; unique per `seq + symbol`.
    public var seq: Int64?
    /// Informational fields Bybit sent that could not be read (an undocumented value, more decimals than the
    /// type holds): they are `nil` here. Empty normally; a consumer counts these and alerts.
    public var unreadFields: [String] = []
    /// `closedSize`: the part of the fill that closed a position.
    public var closedSize: Quantity?
    /// `execPnl`: realised PnL of the closing part.
    public var execPnl: USDT?
    /// `orderPrice`.
    public var orderPrice: Price?
    /// `orderQty`.
    public var orderQty: Quantity?
    /// `leavesQty` of the order after this fill.
    public var leavesQty: Quantity?
    /// `markPrice` at execution.
    public var markPrice: Price?
    /// `orderType` as sent (`Market`, `Limit`, `UNKNOWN` for funding).
    public var orderType: String
    /// `stopOrderType`.
    public var stopOrderType: String
    /// `createType`.
    public var createType: String
    /// `feeCurrency` (`""` when absent).
    public var feeCurrency: String
    /// A value as given.
    public init(category: String = "linear", symbol: String, symbolID: SymbolID, execId: String, orderId: String, orderLinkId: String, side: Side, execPrice: Price, execQty: Quantity, execValue: USDT? = nil, execFee: USDT? = nil, feeRate: Rate? = nil, execType: BybitExecType, isMaker: Bool, execTime: ExchangeTime, seq: Int64? = nil, closedSize: Quantity? = nil, execPnl: USDT? = nil, orderPrice: Price? = nil, orderQty: Quantity? = nil, leavesQty: Quantity? = nil, markPrice: Price? = nil, orderType: String = "UNKNOWN", stopOrderType: String = "UNKNOWN", createType: String = "CreateByUser", feeCurrency: String = "USDT") {
        self.category = category
        self.symbol = symbol
        self.symbolID = symbolID
        self.execId = execId
        self.orderId = orderId
        self.orderLinkId = orderLinkId
        self.side = side
        self.execPrice = execPrice
        self.execQty = execQty
        self.execValue = execValue
        self.execFee = execFee
        self.feeRate = feeRate
        self.execType = execType
        self.isMaker = isMaker
        self.execTime = execTime
        self.seq = seq
        self.closedSize = closedSize
        self.execPnl = execPnl
        self.orderPrice = orderPrice
        self.orderQty = orderQty
        self.leavesQty = leavesQty
        self.markPrice = markPrice
        self.orderType = orderType
        self.stopOrderType = stopOrderType
        self.createType = createType
        self.feeCurrency = feeCurrency
    }

}

/// The execution object as sent (see ``BybitOrderWire`` for why values stay text here).
struct BybitExecutionWire: Decodable, Sendable {
    var category: String?
    var symbol: String?
    var execId: String?
    var orderId: String?
    var orderLinkId: String?
    var side: String?
    var execPrice: String?
    var execQty: String?
    var execValue: String?
    var execFee: String?
    var feeRate: String?
    var execType: String?
    var isMaker: Bool?
    var execTime: String?
    var seq: Int64?
    var closedSize: String?
    var execPnl: String?
    var orderPrice: String?
    var orderQty: String?
    var leavesQty: String?
    var markPrice: String?
    var orderType: String?
    var stopOrderType: String?
    var createType: String?
    var feeCurrency: String?

    /// - Parameter defaultExecType: the type to assume when `execType` is absent (`Trade` for `execution.fast`);
    ///   `nil` makes it required.
    func execution(path: String, instruments: inout InstrumentTable,
                   defaultExecType: BybitExecType?) throws(BybitDecodeError) -> BybitExecution {
        let f = BybitFieldReader(path: path), g = f.informational
        let symbol = try f.requiredString(symbol, "symbol")
        let id = instruments.id(for: symbol)
        let i = instruments[id]
        let type: BybitExecType
        if let execType, !execType.isEmpty {
            type = BybitExecType(rawValue: execType)
        } else {
            type = try f.required(defaultExecType, "execType")
        }
        var out = BybitExecution(
            category: category ?? "",
            symbol: symbol,
            symbolID: id,
            execId: try f.requiredString(execId, "execId"),
            orderId: try f.requiredString(orderId, "orderId"),
            orderLinkId: orderLinkId ?? "",
            side: try f.side(side, "side"),
            execPrice: try f.required(f.price(execPrice, "execPrice", i), "execPrice"),
            execQty: try f.required(f.quantity(execQty, "execQty", i), "execQty"),
            execValue: try g.usdt(execValue, "execValue"),
            execFee: try f.usdt(execFee, "execFee"),
            feeRate: try g.rate(feeRate, "feeRate"),
            execType: type,
            isMaker: try f.required(isMaker, "isMaker"),
            execTime: try f.required(f.time(execTime, "execTime"), "execTime"),
            seq: seq,
            closedSize: try g.quantity(closedSize, "closedSize", i),
            execPnl: try g.usdt(execPnl, "execPnl"),
            orderPrice: try g.price(orderPrice, "orderPrice", i),
            orderQty: try g.quantity(orderQty, "orderQty", i),
            leavesQty: try g.quantity(leavesQty, "leavesQty", i),
            markPrice: try g.price(markPrice, "markPrice", i),
            orderType: orderType ?? "",
            stopOrderType: stopOrderType ?? "",
            createType: createType ?? "",
            feeCurrency: feeCurrency ?? "")
        out.unreadFields = f.unread.names
        return out
    }
}
