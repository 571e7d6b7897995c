public import CascadeCore

/// The parameters of one linear order for `POST /v5/order/create` or one item of `create-batch`.
///
/// Prices and quantities are integer units of ``instrument``; they are printed with `Instrument.format`, so the
/// body carries Bybit's decimals when the instrument's rules are known and trimmed text otherwise.
public struct BybitOrderParameters: Hashable, Sendable {
    /// A conditional order's trigger.
    public struct Trigger: Hashable, Sendable {
        /// `triggerPrice`.
        public var price: Price
        /// `triggerDirection`: whether the price must rise or fall to it.
        public var direction: BybitTriggerDirection
        /// `triggerBy`; Bybit's default (`LastPrice`) when `nil`.
        public var by: BybitTriggerBy?
        /// A trigger as given.
        public init(price: Price, direction: BybitTriggerDirection, by: BybitTriggerBy? = nil) {
            self.price = price
            self.direction = direction
            self.by = by
        }
    }

    /// The instrument (symbol and scale).
    public var instrument: Instrument
    /// `side`.
    public var side: Side
    /// `orderType`.
    public var orderType: BybitOrderType
    /// `qty` in base coin.
    public var qty: Quantity
    /// `price`; required for `Limit`, ignored by Bybit for `Market`.
    public var price: Price?
    /// `timeInForce`; Bybit's default (`GTC`, `IOC` for Market) when `nil`.
    public var timeInForce: BybitTimeInForce?
    /// `orderLinkId`: the client's id (≤ 36 characters of `[A-Za-z0-9_-]`, unique).
    public var orderLinkId: String?
    /// `positionIdx`; required in hedge mode.
    public var positionIndex: BybitPositionIndex?
    /// `reduceOnly`.
    public var reduceOnly: Bool?
    /// `closeOnTrigger`.
    public var closeOnTrigger: Bool?
    /// Makes the order conditional.
    public var trigger: Trigger?
    /// `takeProfit` price.
    public var takeProfit: Price?
    /// `stopLoss` price.
    public var stopLoss: Price?
    /// `tpTriggerBy`.
    public var takeProfitTriggerBy: BybitTriggerBy?
    /// `slTriggerBy`.
    public var stopLossTriggerBy: BybitTriggerBy?
    /// `tpslMode`.
    public var tpslMode: BybitTPSLMode?

    /// An order as given; only the first four parameters are required.
    public init(instrument: Instrument, side: Side, orderType: BybitOrderType, qty: Quantity, price: Price? = nil,
                timeInForce: BybitTimeInForce? = nil, orderLinkId: String? = nil,
                positionIndex: BybitPositionIndex? = nil, reduceOnly: Bool? = nil, closeOnTrigger: Bool? = nil,
                trigger: Trigger? = nil, takeProfit: Price? = nil, stopLoss: Price? = nil,
                takeProfitTriggerBy: BybitTriggerBy? = nil, stopLossTriggerBy: BybitTriggerBy? = nil,
                tpslMode: BybitTPSLMode? = nil) {
        self.instrument = instrument
        self.side = side
        self.orderType = orderType
        self.qty = qty
        self.price = price
        self.timeInForce = timeInForce
        self.orderLinkId = orderLinkId
        self.positionIndex = positionIndex
        self.reduceOnly = reduceOnly
        self.closeOnTrigger = closeOnTrigger
        self.trigger = trigger
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.takeProfitTriggerBy = takeProfitTriggerBy
        self.stopLossTriggerBy = stopLossTriggerBy
        self.tpslMode = tpslMode
    }

    /// Checks what Bybit would certainly reject, before anything is signed or sent.
    package func validate() throws(BybitRequestError) {
        if qty.units < 0 || (qty.units == 0 && !(reduceOnly == true && closeOnTrigger == true)) {
            throw .invalidQuantity
        }
        if orderType == .limit {
            guard let price else { throw .missingPrice }
            if price.units <= 0 { throw .nonPositivePrice(parameter: "price") }
        }
        if let orderLinkId { try Self.validate(orderLinkId: orderLinkId) }
        if let trigger, trigger.price.units <= 0 { throw .nonPositivePrice(parameter: "triggerPrice") }
        if let takeProfit, takeProfit.units <= 0 { throw .nonPositivePrice(parameter: "takeProfit") }
        if let stopLoss, stopLoss.units <= 0 { throw .nonPositivePrice(parameter: "stopLoss") }
    }

    /// `orderLinkId` rules: 1–36 characters of `[A-Za-z0-9_-]`.
    static func validate(orderLinkId: String) throws(BybitRequestError) {
        let bytes = orderLinkId.utf8     // read in place (no array: this runs for every order)
        let ok = (1...36).contains(bytes.count) && bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == 0x2d || b == 0x5f
        }
        if !ok { throw .invalidOrderLinkId(orderLinkId) }
    }

    /// Writes the order's members in the fixed order the signature depends on (category first when given).
    func write(into json: inout BybitJSONWriter, category: BybitCategory?) {
        // Closures over `instrument`: `instrument.format` as a value captured a copy of the instrument at each use.
        json.string("category", category?.rawValue)
        json.string("symbol", instrument.symbol)
        json.string("side", side == .buy ? "Buy" : "Sell")
        json.string("orderType", orderType.rawValue)
        json.string("qty", instrument.format(qty))
        json.string("price", price.map { instrument.format($0) })
        json.string("timeInForce", timeInForce?.rawValue)
        json.int("positionIdx", positionIndex?.rawValue)
        json.string("orderLinkId", orderLinkId)
        json.bool("reduceOnly", reduceOnly)
        json.bool("closeOnTrigger", closeOnTrigger)
        json.string("triggerPrice", trigger.map { instrument.format($0.price) })
        json.int("triggerDirection", trigger?.direction.rawValue)
        json.string("triggerBy", trigger?.by?.rawValue)
        json.string("takeProfit", takeProfit.map { instrument.format($0) })
        json.string("stopLoss", stopLoss.map { instrument.format($0) })
        json.string("tpTriggerBy", takeProfitTriggerBy?.rawValue)
        json.string("slTriggerBy", stopLossTriggerBy?.rawValue)
        json.string("tpslMode", tpslMode?.rawValue)
    }
}
