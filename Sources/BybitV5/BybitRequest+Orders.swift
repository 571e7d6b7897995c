public import CascadeCore

/// Order endpoints (reference §5.5): signed POSTs with byte-stable JSON bodies, and signed order queries.
/// Cascade trades USDT perpetuals, so these always send `"category":"linear"`.
extension BybitRequest {
    /// `POST /v5/order/create`.
    ///
    /// Body keys, in order: `category, symbol, side, orderType, qty, price, timeInForce, positionIdx, orderLinkId,
    /// reduceOnly, closeOnTrigger, triggerPrice, triggerDirection, triggerBy, takeProfit, stopLoss, tpTriggerBy,
    /// slTriggerBy, tpslMode` (absent ones omitted), e.g.
    /// `{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"50000","timeInForce":"PostOnly"}`.
    /// The acknowledgement only means "accepted": the final state comes from the `order` stream.
    public static func createOrder(_ order: BybitOrderParameters) throws(BybitRequestError) -> BybitRequest {
        try order.validate()
        var json = BybitJSONWriter()
        order.write(into: &json, category: .linear)
        return BybitRequest(post: "/v5/order/create", body: json.finished(), operation: .create,
                            ordersWithoutLinkId: order.orderLinkId?.isEmpty ?? true ? 1 : 0)
    }

    /// `POST /v5/order/create` from individual parameters (see ``BybitOrderParameters``).
    public static func createOrder(
        instrument: Instrument, side: Side, orderType: BybitOrderType, qty: Quantity, price: Price? = nil,
        timeInForce: BybitTimeInForce? = nil, orderLinkId: String? = nil, positionIndex: BybitPositionIndex? = nil,
        reduceOnly: Bool? = nil, closeOnTrigger: Bool? = nil, trigger: BybitOrderParameters.Trigger? = nil,
        takeProfit: Price? = nil, stopLoss: Price? = nil, takeProfitTriggerBy: BybitTriggerBy? = nil,
        stopLossTriggerBy: BybitTriggerBy? = nil, tpslMode: BybitTPSLMode? = nil
    ) throws(BybitRequestError) -> BybitRequest {
        try createOrder(BybitOrderParameters(
            instrument: instrument, side: side, orderType: orderType, qty: qty, price: price,
            timeInForce: timeInForce, orderLinkId: orderLinkId, positionIndex: positionIndex, reduceOnly: reduceOnly,
            closeOnTrigger: closeOnTrigger, trigger: trigger, takeProfit: takeProfit, stopLoss: stopLoss,
            takeProfitTriggerBy: takeProfitTriggerBy, stopLossTriggerBy: stopLossTriggerBy, tpslMode: tpslMode))
    }

    /// `POST /v5/order/create-batch`: `{"category":"linear","request":[{…},…]}`, each item as in
    /// ``createOrder(_:)`` without `category`. Per-item results come back in `retExtInfo.list`.
    /// - Throws: ``BybitRequestError/outOfRange(parameter:value:allowed:)`` for an empty batch or more than 20 orders.
    public static func createBatch(_ orders: [BybitOrderParameters]) throws(BybitRequestError) -> BybitRequest {
        guard (1...20).contains(orders.count) else {
            throw .outOfRange(parameter: "request", value: orders.count, allowed: 1...20)
        }
        var items: [String] = []
        for order in orders {
            try order.validate()
            var item = BybitJSONWriter()
            order.write(into: &item, category: nil)
            items.append(item.finished())
        }
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        json.raw("request", "[" + items.joined(separator: ",") + "]")
        return BybitRequest(post: "/v5/order/create-batch", body: json.finished(), operation: .create,
                            ordersWithoutLinkId: orders.count(where: { $0.orderLinkId?.isEmpty ?? true }), weight: orders.count)
    }

    /// `POST /v5/order/amend`: changes quantity, price, trigger or TP/SL of an open order.
    ///
    /// Body keys, in order: `category, symbol, orderId|orderLinkId, qty, price, triggerPrice, takeProfit, stopLoss,
    /// tpTriggerBy, slTriggerBy, triggerBy`. A TP/SL of `Price.zero` is sent as zero, which cancels it.
    public static func amendOrder(instrument: Instrument, order: BybitOrderReference, qty: Quantity? = nil,
                                  price: Price? = nil, triggerPrice: Price? = nil, takeProfit: Price? = nil,
                                  stopLoss: Price? = nil, takeProfitTriggerBy: BybitTriggerBy? = nil,
                                  stopLossTriggerBy: BybitTriggerBy? = nil,
                                  triggerBy: BybitTriggerBy? = nil) throws(BybitRequestError) -> BybitRequest {
        guard qty != nil || price != nil || triggerPrice != nil || takeProfit != nil || stopLoss != nil else {
            throw .nothingToAmend
        }
        if let qty, qty.units <= 0 { throw .invalidQuantity }
        if let price, price.units <= 0 { throw .nonPositivePrice(parameter: "price") }
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        json.string("symbol", instrument.symbol)
        try write(order, into: &json)
        json.string("qty", qty.map(instrument.format))
        json.string("price", price.map(instrument.format))
        json.string("triggerPrice", triggerPrice.map(instrument.format))
        json.string("takeProfit", takeProfit.map(instrument.format))
        json.string("stopLoss", stopLoss.map(instrument.format))
        json.string("tpTriggerBy", takeProfitTriggerBy?.rawValue)
        json.string("slTriggerBy", stopLossTriggerBy?.rawValue)
        json.string("triggerBy", triggerBy?.rawValue)
        return BybitRequest(post: "/v5/order/amend", body: json.finished(), operation: .amend)
    }

    /// `POST /v5/order/cancel`: `{"category":"linear","symbol":…,"orderId"|"orderLinkId":…}`.
    public static func cancelOrder(symbol: String, order: BybitOrderReference) throws(BybitRequestError) -> BybitRequest {
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        json.string("symbol", symbol)
        try write(order, into: &json)
        return BybitRequest(post: "/v5/order/cancel", body: json.finished(), operation: .cancel)
    }

    /// Which symbols an order request covers (Bybit's priority: symbol > baseCoin > settleCoin).
    public enum Scope: Hashable, Sendable {
        /// One symbol.
        case symbol(String)
        /// Every symbol of a base coin.
        case baseCoin(String)
        /// Every symbol settled in a coin.
        case settleCoin(String)
    }

    /// `POST /v5/order/cancel-all`. Without `orderFilter` it cancels every kind, conditional and TP/SL included.
    public static func cancelAll(_ scope: Scope, orderFilter: BybitOrderFilter? = nil,
                                 stopOrderType: String? = nil) -> BybitRequest {
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        switch scope {
        case let .symbol(symbol): json.string("symbol", symbol)
        case let .baseCoin(coin): json.string("baseCoin", coin)
        case let .settleCoin(coin): json.string("settleCoin", coin)
        }
        json.string("orderFilter", orderFilter?.rawValue)
        json.string("stopOrderType", stopOrderType)
        return BybitRequest(post: "/v5/order/cancel-all", body: json.finished(), operation: .cancelAll)
    }

    /// `GET /v5/order/realtime`: open orders (newest first), or recent closed ones with `openOnly: 1`.
    /// - Parameter limit: 1…50 (default 20).
    public static func realtimeOrders(scope: Scope, order: BybitOrderReference? = nil,
                                      openOnly: Int? = nil, orderFilter: BybitOrderFilter? = nil,
                                      limit: Int? = nil, cursor: String? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", BybitCategory.linear.rawValue)
        add(scope, to: &q)
        try add(order, to: &q)
        q.add("openOnly", openOnly)
        q.add("orderFilter", orderFilter?.rawValue)
        try q.add("limit", limit, in: 1...50)
        q.add("cursor", cursor)
        return BybitRequest(get: "/v5/order/realtime", query: q.items, isSigned: true)
    }

    /// `GET /v5/order/history`: closed and open orders over a time range (at most 7 days per query at Bybit).
    /// - Parameter limit: 1…50 (default 20).
    public static func orderHistory(scope: Scope? = nil, order: BybitOrderReference? = nil,
                                    orderStatus: BybitOrderStatus? = nil, orderFilter: BybitOrderFilter? = nil,
                                    startTime: ExchangeTime? = nil, endTime: ExchangeTime? = nil, limit: Int? = nil,
                                    cursor: String? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", BybitCategory.linear.rawValue)
        if let scope { add(scope, to: &q) }
        try add(order, to: &q)
        q.add("orderStatus", orderStatus?.rawValue)
        q.add("orderFilter", orderFilter?.rawValue)
        q.add("startTime", startTime.map { String($0.milliseconds) })
        q.add("endTime", endTime.map { String($0.milliseconds) })
        try q.add("limit", limit, in: 1...50)
        q.add("cursor", cursor)
        return BybitRequest(get: "/v5/order/history", query: q.items, isSigned: true)
    }

    /// `POST /v5/order/disconnected-cancel-all`: sets the DCP window after which Bybit cancels all orders of a
    /// client whose private connection dropped (the connection must subscribe to `dcp` for it to fire).
    /// - Parameters:
    ///   - timeWindowSeconds: 3…300.
    ///   - product: `OPTIONS` (Bybit's default), `DERIVATIVES` or `SPOT`; Cascade wants `DERIVATIVES`.
    public static func disconnectedCancelAll(timeWindowSeconds: Int,
                                             product: String? = "DERIVATIVES") throws(BybitRequestError) -> BybitRequest {
        guard (3...300).contains(timeWindowSeconds) else {
            throw .outOfRange(parameter: "timeWindow", value: timeWindowSeconds, allowed: 3...300)
        }
        var json = BybitJSONWriter()
        json.string("product", product)
        json.int("timeWindow", timeWindowSeconds)
        return BybitRequest(post: "/v5/order/disconnected-cancel-all", body: json.finished(), operation: .other)
    }

    static func write(_ order: BybitOrderReference, into json: inout BybitJSONWriter) throws(BybitRequestError) {
        switch order {
        case let .orderId(id): json.string("orderId", id)
        case let .orderLinkId(id):
            try BybitOrderParameters.validate(orderLinkId: id)
            json.string("orderLinkId", id)
        }
    }

    static func add(_ order: BybitOrderReference?, to q: inout BybitQuery) throws(BybitRequestError) {
        switch order {
        case let .orderId(id)?: q.add("orderId", id)
        case let .orderLinkId(id)?:
            try BybitOrderParameters.validate(orderLinkId: id)
            q.add("orderLinkId", id)
        case nil: break
        }
    }

    static func add(_ scope: Scope, to q: inout BybitQuery) {
        switch scope {
        case let .symbol(symbol): q.add("symbol", symbol)
        case let .baseCoin(coin): q.add("baseCoin", coin)
        case let .settleCoin(coin): q.add("settleCoin", coin)
        }
    }
}
