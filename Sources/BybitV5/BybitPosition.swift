public import CascadeCore

/// One position from the private `position` stream (§3.5) or `GET /v5/position/list`.
///
/// The entry price is `entryPrice` on the stream and `avgPrice` in the REST list; both land in ``entryPrice``.
/// ``side`` is `nil` for a flat position (Bybit sends `""`; older V5 answers sent `"None"`, accepted too).
/// Bybit publishes a position message on every create/amend/cancel even when nothing changed.
public struct BybitPosition: Hashable, Sendable {
    /// `category`.
    public var category: String
    /// `symbol`.
    public var symbol: String
    /// The symbol's id in the decoder's instrument table.
    public var symbolID: SymbolID
    /// `side`: `Buy` → long, `Sell` → short, `""` → `nil` (flat).
    public var side: PositionSide?
    /// `size` (unsigned; the direction is ``side``).
    public var size: Quantity
    /// `positionIdx`.
    public var positionIndex: BybitPositionIndex?
    /// `entryPrice` (stream) / `avgPrice` (REST).
    public var entryPrice: Price?
    /// `positionValue`.
    public var positionValue: USDT?
    /// `leverage` (a ratio, e.g. `10`).
    public var leverage: Rate?
    /// `markPrice`.
    public var markPrice: Price?
    /// `liqPrice` (`nil` when Bybit sends `""`).
    public var liqPrice: Price?
    /// `bustPrice`.
    public var bustPrice: Price?
    /// `breakEvenPrice`.
    public var breakEvenPrice: Price?
    /// `takeProfit` (`nil` for none).
    public var takeProfit: Price?
    /// `stopLoss` (`nil` for none).
    public var stopLoss: Price?
    /// `trailingStop` distance (`nil` for none).
    public var trailingStop: Price?
    /// `unrealisedPnl`.
    public var unrealisedPnl: USDT?
    /// `curRealisedPnl`: realised PnL of the current holding.
    public var curRealisedPnl: USDT?
    /// `cumRealisedPnl`: cumulative realised PnL of the symbol.
    public var cumRealisedPnl: USDT?
    /// `positionIM`.
    public var positionIM: USDT?
    /// `positionMM`.
    public var positionMM: USDT?
    /// `tradeMode`: `0` cross margin, `1` isolated.
    public var tradeMode: Int?
    /// `positionStatus`.
    public var positionStatus: BybitPositionStatus?
    /// `adlRankIndicator`.
    public var adlRankIndicator: Int?
    /// `isReduceOnly`.
    public var isReduceOnly: Bool
    /// `createdTime`.
    public var createdTime: ExchangeTime?
    /// `updatedTime`.
    public var updatedTime: ExchangeTime?
    /// `seq`: matches the `seq` of the execution that produced this state.
    public var seq: Int64?
    /// Informational fields Bybit sent that could not be read (an undocumented value, more decimals than the
    /// type holds): they are `nil` here. Empty normally; a consumer counts these and alerts.
    public var unreadFields: [String] = []

    /// A value as given.
    public init(category: String = "linear", symbol: String, symbolID: SymbolID, side: PositionSide? = nil, size: Quantity, positionIndex: BybitPositionIndex? = nil, entryPrice: Price? = nil, positionValue: USDT? = nil, leverage: Rate? = nil, markPrice: Price? = nil, liqPrice: Price? = nil, bustPrice: Price? = nil, breakEvenPrice: Price? = nil, takeProfit: Price? = nil, stopLoss: Price? = nil, trailingStop: Price? = nil, unrealisedPnl: USDT? = nil, curRealisedPnl: USDT? = nil, cumRealisedPnl: USDT? = nil, positionIM: USDT? = nil, positionMM: USDT? = nil, tradeMode: Int? = nil, positionStatus: BybitPositionStatus? = nil, adlRankIndicator: Int? = nil, isReduceOnly: Bool = false, createdTime: ExchangeTime? = nil, updatedTime: ExchangeTime? = nil, seq: Int64? = nil) {
        self.category = category
        self.symbol = symbol
        self.symbolID = symbolID
        self.side = side
        self.size = size
        self.positionIndex = positionIndex
        self.entryPrice = entryPrice
        self.positionValue = positionValue
        self.leverage = leverage
        self.markPrice = markPrice
        self.liqPrice = liqPrice
        self.bustPrice = bustPrice
        self.breakEvenPrice = breakEvenPrice
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.trailingStop = trailingStop
        self.unrealisedPnl = unrealisedPnl
        self.curRealisedPnl = curRealisedPnl
        self.cumRealisedPnl = cumRealisedPnl
        self.positionIM = positionIM
        self.positionMM = positionMM
        self.tradeMode = tradeMode
        self.positionStatus = positionStatus
        self.adlRankIndicator = adlRankIndicator
        self.isReduceOnly = isReduceOnly
        self.createdTime = createdTime
        self.updatedTime = updatedTime
        self.seq = seq
    }

    /// The size with a sign: positive long, negative short, zero flat.
    public var signedSize: Quantity {
        side == .short ? Quantity(units: -size.units) : size
    }
}

/// The position object as sent (see ``BybitOrderWire`` for why values stay text here).
struct BybitPositionWire: Decodable, Sendable {
    var category: String?
    var symbol: String?
    var side: String?
    var size: String?
    var positionIdx: Int?
    var entryPrice: String?
    var avgPrice: String?
    var positionValue: String?
    var leverage: String?
    var markPrice: String?
    var liqPrice: String?
    var bustPrice: String?
    var breakEvenPrice: String?
    var takeProfit: String?
    var stopLoss: String?
    var trailingStop: String?
    var unrealisedPnl: String?
    var curRealisedPnl: String?
    var cumRealisedPnl: String?
    var positionIM: String?
    var positionMM: String?
    var tradeMode: Int?
    var positionStatus: String?
    var adlRankIndicator: Int?
    var isReduceOnly: Bool?
    var createdTime: String?
    var updatedTime: String?
    var seq: Int64?

    func position(path: String, instruments: inout InstrumentTable) throws(BybitDecodeError) -> BybitPosition {
        let f = BybitFieldReader(path: path), g = f.informational
        let symbol = try f.requiredString(symbol, "symbol")
        let id = instruments.id(for: symbol)
        let i = instruments[id]
        let positionSide: PositionSide?
        switch try f.required(side, "side") {
        case "Buy": positionSide = .long
        case "Sell": positionSide = .short
        case "", "None": positionSide = nil
        case let other: throw .invalidValue(field: f.name("side"), value: other)
        }
        let entryField = entryPrice != nil ? "entryPrice" : "avgPrice"
        var out = BybitPosition(
            category: category ?? "",
            symbol: symbol,
            symbolID: id,
            side: positionSide,
            size: try f.required(f.quantity(size, "size", i), "size"),
            positionIndex: try g.closed(positionIdx, "positionIdx", as: BybitPositionIndex.self),
            entryPrice: try g.price(entryPrice ?? avgPrice, entryField, i),
            positionValue: try g.usdt(positionValue, "positionValue"),
            leverage: try g.rate(leverage, "leverage"),
            markPrice: try g.price(markPrice, "markPrice", i),
            liqPrice: try g.price(liqPrice, "liqPrice", i),
            bustPrice: try g.price(bustPrice, "bustPrice", i),
            breakEvenPrice: try g.price(breakEvenPrice, "breakEvenPrice", i),
            takeProfit: try g.optionalTriggerPrice(takeProfit, "takeProfit", i),
            stopLoss: try g.optionalTriggerPrice(stopLoss, "stopLoss", i),
            trailingStop: try g.optionalTriggerPrice(trailingStop, "trailingStop", i),
            unrealisedPnl: try g.usdt(unrealisedPnl, "unrealisedPnl"),
            curRealisedPnl: try g.usdt(curRealisedPnl, "curRealisedPnl"),
            cumRealisedPnl: try g.usdt(cumRealisedPnl, "cumRealisedPnl"),
            positionIM: try g.usdt(positionIM, "positionIM"),
            positionMM: try g.usdt(positionMM, "positionMM"),
            tradeMode: tradeMode,
            positionStatus: try g.closed(positionStatus, "positionStatus", as: BybitPositionStatus.self),
            adlRankIndicator: adlRankIndicator,
            isReduceOnly: isReduceOnly ?? false,
            createdTime: try g.time(createdTime, "createdTime"),
            updatedTime: try g.time(updatedTime, "updatedTime"),
            seq: seq)
        out.unreadFields = f.unread.names
        return out
    }
}
