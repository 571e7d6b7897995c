public import CascadeCore

/// Public market-data endpoints (reference §5.5): unsigned GETs.
extension BybitRequest {
    /// `GET /v5/market/time`: Bybit's clock, for the `X-BAPI-TIMESTAMP` offset.
    public static func marketTime() -> BybitRequest {
        BybitRequest(get: "/v5/market/time", query: [], isSigned: false)
    }

    /// `GET /v5/market/instruments-info`; page with `cursor` (there are more than 500 linear symbols).
    /// - Parameter limit: 1…1000 (Bybit's default 500).
    public static func instrumentsInfo(category: BybitCategory = .linear, symbol: String? = nil,
                                       status: String? = nil, baseCoin: String? = nil, cursor: String? = nil,
                                       limit: Int? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        q.add("status", status)
        q.add("baseCoin", baseCoin)
        q.add("cursor", cursor)
        try q.add("limit", limit, in: 1...1000)
        return BybitRequest(get: "/v5/market/instruments-info", query: q.items, isSigned: false)
    }

    /// `GET /v5/market/tickers`; all symbols of the category when `symbol` is `nil`.
    public static func tickers(category: BybitCategory = .linear, symbol: String? = nil) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        return BybitRequest(get: "/v5/market/tickers", query: q.items, isSigned: false)
    }

    /// `GET /v5/market/orderbook`: a snapshot whose `u` matches the 1000-level stream.
    /// - Parameter limit: 1…1000 levels per side (default 25).
    public static func orderbook(category: BybitCategory = .linear, symbol: String,
                                 limit: Int? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        try q.add("limit", limit, in: 1...1000)
        return BybitRequest(get: "/v5/market/orderbook", query: q.items, isSigned: false)
    }

    /// `GET /v5/market/recent-trade`.
    /// - Parameter limit: 1…1000 (default 500).
    public static func recentTrade(category: BybitCategory = .linear, symbol: String,
                                   limit: Int? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        try q.add("limit", limit, in: 1...1000)
        return BybitRequest(get: "/v5/market/recent-trade", query: q.items, isSigned: false)
    }

    /// `GET /v5/market/kline` (newest first).
    /// - Parameter limit: 1…1000 (default 200).
    public static func kline(category: BybitCategory = .linear, symbol: String, interval: BybitKlineInterval,
                             start: ExchangeTime? = nil, end: ExchangeTime? = nil,
                             limit: Int? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        q.add("interval", interval.rawValue)
        q.add("start", start.map { String($0.milliseconds) })
        q.add("end", end.map { String($0.milliseconds) })
        try q.add("limit", limit, in: 1...1000)
        return BybitRequest(get: "/v5/market/kline", query: q.items, isSigned: false)
    }

    /// `GET /v5/market/open-interest`.
    /// - Parameter limit: 1…200 (default 50).
    public static func openInterest(category: BybitCategory = .linear, symbol: String,
                                    intervalTime: BybitOpenInterestInterval, startTime: ExchangeTime? = nil,
                                    endTime: ExchangeTime? = nil, limit: Int? = nil,
                                    cursor: String? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        q.add("intervalTime", intervalTime.rawValue)
        q.add("startTime", startTime.map { String($0.milliseconds) })
        q.add("endTime", endTime.map { String($0.milliseconds) })
        try q.add("limit", limit, in: 1...200)
        q.add("cursor", cursor)
        return BybitRequest(get: "/v5/market/open-interest", query: q.items, isSigned: false)
    }

    /// `GET /v5/market/funding/history`. Passing only `startTime` is an error at Bybit; pass `endTime` with it.
    /// - Parameter limit: 1…200 (default 200).
    public static func fundingHistory(category: BybitCategory = .linear, symbol: String,
                                      startTime: ExchangeTime? = nil, endTime: ExchangeTime? = nil,
                                      limit: Int? = nil) throws(BybitRequestError) -> BybitRequest {
        var q = BybitQuery()
        q.add("category", category.rawValue)
        q.add("symbol", symbol)
        q.add("startTime", startTime.map { String($0.milliseconds) })
        q.add("endTime", endTime.map { String($0.milliseconds) })
        try q.add("limit", limit, in: 1...200)
        return BybitRequest(get: "/v5/market/funding/history", query: q.items, isSigned: false)
    }
}
