public import CascadeCore

/// Position, account and execution endpoints (reference §5.5): signed, `category=linear`.
extension BybitRequest {
    /// Which positions `position/list` returns: one symbol (even when flat) or every non-flat one of a settle coin.
    public enum PositionScope: Hashable, Sendable {
        /// One symbol.
        case symbol(String)
        /// Every non-flat position settled in this coin.
        case settleCoin(String)
    }

    /// `GET /v5/position/list`. Entry price is `avgPrice` here (the stream calls it `entryPrice`).
    /// - Parameter limit: 1…200 (default 20).
    public static func positionList(_ scope: PositionScope, limit: Int? = nil,
                                    cursor: String? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", BybitCategory.linear.rawValue)
        switch scope {
        case let .symbol(symbol): q.add("symbol", symbol)
        case let .settleCoin(coin): q.add("settleCoin", coin)
        }
        try q.add("limit", limit, in: 1...200)
        q.add("cursor", cursor)
        return BybitRequest(get: "/v5/position/list", query: q.items, isSigned: true)
    }

    /// `POST /v5/position/set-leverage`: `{"category":"linear","symbol":…,"buyLeverage":"6","sellLeverage":"6"}`.
    ///
    /// Leverage is a dimensionless ``CascadeCore/Rate`` (`Rate("6")`, `Rate("12.5")`), printed trimmed. In one-way
    /// and cross margin both values must be equal. `110043` (already that value) counts as success.
    public static func setLeverage(symbol: String, buyLeverage: Rate, sellLeverage: Rate) throws(BybitRequestError) -> BybitRequest {
        guard buyLeverage.units > 0 else { throw .nonPositivePrice(parameter: "buyLeverage") }
        guard sellLeverage.units > 0 else { throw .nonPositivePrice(parameter: "sellLeverage") }
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        json.string("symbol", symbol)
        json.string("buyLeverage", buyLeverage.description)
        json.string("sellLeverage", sellLeverage.description)
        return BybitRequest(post: "/v5/position/set-leverage", body: json.finished(), operation: .setLeverage)
    }

    /// Which symbols `switch-mode` changes: one symbol, or every symbol of a settle coin without position/orders.
    public enum ModeScope: Hashable, Sendable {
        /// One symbol.
        case symbol(String)
        /// Every symbol settled in this coin.
        case coin(String)
    }

    /// `POST /v5/position/switch-mode`: `{"category":"linear","symbol"|"coin":…,"mode":0|3}`.
    /// `110025` (already that mode) counts as success.
    public static func switchPositionMode(_ scope: ModeScope, mode: BybitPositionMode) -> BybitRequest {
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        switch scope {
        case let .symbol(symbol): json.string("symbol", symbol)
        case let .coin(coin): json.string("coin", coin)
        }
        json.int("mode", mode.rawValue)
        return BybitRequest(post: "/v5/position/switch-mode", body: json.finished(), operation: .switchPositionMode)
    }

    /// `POST /v5/position/trading-stop`: position TP/SL/trailing stop. A price of `Price.zero` is sent as zero,
    /// which cancels that leg.
    ///
    /// Body keys, in order: `category, symbol, tpslMode, positionIdx, takeProfit, stopLoss, trailingStop,
    /// tpTriggerBy, slTriggerBy, activePrice, tpSize, slSize, tpLimitPrice, slLimitPrice, tpOrderType, slOrderType`.
    public static func tradingStop(
        instrument: Instrument, tpslMode: BybitTPSLMode, positionIndex: BybitPositionIndex,
        takeProfit: Price? = nil, stopLoss: Price? = nil, trailingStop: Price? = nil,
        takeProfitTriggerBy: BybitTriggerBy? = nil, stopLossTriggerBy: BybitTriggerBy? = nil,
        activePrice: Price? = nil, takeProfitSize: Quantity? = nil, stopLossSize: Quantity? = nil,
        takeProfitLimitPrice: Price? = nil, stopLossLimitPrice: Price? = nil,
        takeProfitOrderType: BybitOrderType? = nil, stopLossOrderType: BybitOrderType? = nil
    ) -> BybitRequest {
        var json = BybitJSONWriter()
        json.string("category", BybitCategory.linear.rawValue)
        json.string("symbol", instrument.symbol)
        json.string("tpslMode", tpslMode.rawValue)
        json.int("positionIdx", positionIndex.rawValue)
        json.string("takeProfit", takeProfit.map(instrument.format))
        json.string("stopLoss", stopLoss.map(instrument.format))
        // A trailing stop is a price distance, printed at the price scale.
        json.string("trailingStop", trailingStop.map(instrument.format))
        json.string("tpTriggerBy", takeProfitTriggerBy?.rawValue)
        json.string("slTriggerBy", stopLossTriggerBy?.rawValue)
        json.string("activePrice", activePrice.map(instrument.format))
        json.string("tpSize", takeProfitSize.map(instrument.format))
        json.string("slSize", stopLossSize.map(instrument.format))
        json.string("tpLimitPrice", takeProfitLimitPrice.map(instrument.format))
        json.string("slLimitPrice", stopLossLimitPrice.map(instrument.format))
        json.string("tpOrderType", takeProfitOrderType?.rawValue)
        json.string("slOrderType", stopLossOrderType?.rawValue)
        return BybitRequest(post: "/v5/position/trading-stop", body: json.finished(), operation: .other)
    }

    /// `GET /v5/account/wallet-balance?accountType=UNIFIED[&coin=USDT,…]`.
    public static func walletBalance(accountType: String = "UNIFIED", coins: [String] = []) -> BybitRequest {
        var q = BybitQuery()
        q.add("accountType", accountType)
        q.add("coin", coins.isEmpty ? nil : coins.joined(separator: ","))
        return BybitRequest(get: "/v5/account/wallet-balance", query: q.items, isSigned: true)
    }

    /// `GET /v5/account/info`: margin mode and account status.
    public static func accountInfo() -> BybitRequest {
        BybitRequest(get: "/v5/account/info", query: [], isSigned: true)
    }

    /// `GET /v5/account/fee-rate`: the account's maker/taker rates (all linear symbols when `symbol` is `nil`).
    public static func feeRate(category: BybitCategory = .linear, symbol: String? = nil,
                               baseCoin: String? = nil) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        q.add("baseCoin", baseCoin)
        return BybitRequest(get: "/v5/account/fee-rate", query: q.items, isSigned: true)
    }

    /// `GET /v5/execution/list`, newest first; backfill with `startTime`/`endTime` (at most 7 days apart) and
    /// `cursor`.
    /// - Parameter limit: 1…100 (default 50).
    public static func executionList(symbol: String? = nil, order: BybitOrderReference? = nil,
                                     baseCoin: String? = nil, settleCoin: String? = nil,
                                     startTime: ExchangeTime? = nil, endTime: ExchangeTime? = nil,
                                     execType: BybitExecType? = nil, limit: Int? = nil,
                                     cursor: String? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", BybitCategory.linear.rawValue)
        q.add("symbol", symbol)
        try add(order, to: &q)
        q.add("baseCoin", baseCoin)
        q.add("settleCoin", settleCoin)
        q.add("startTime", startTime.map { String($0.milliseconds) })
        q.add("endTime", endTime.map { String($0.milliseconds) })
        q.add("execType", execType?.rawValue)
        try q.add("limit", limit, in: 1...100)
        q.add("cursor", cursor)
        return BybitRequest(get: "/v5/execution/list", query: q.items, isSigned: true)
    }

    /// `GET /v5/user/query-api`: the key's permissions, IP binding and expiry (a startup check).
    public static func queryApiKey() -> BybitRequest {
        BybitRequest(get: "/v5/user/query-api", query: [], isSigned: true)
    }
}
