public import CascadeCore

/// Account-level answers of the simulator (`/v5/user/query-api`, `/v5/account/info`, fee rates, coin info, DCP,
/// closed PnL, kline), in the shapes Bybit documents (field order as in Bybit's examples).
extension BybitRESTEncoder {
    /// What `/v5/user/query-api` says about a key.
    public struct APIKeyDescription: Sendable {
        public var apiKey: String
        public var note: String
        public var readOnly: Int
        /// Permission group → permissions, e.g. `ContractTrade: [Order, Position]`.
        public var permissions: [(String, [String])]
        public var ips: [String]
        public var deadlineDay: Int
        public var expiredAt: String
        public var createdAt: String
        public var userID: Int64
        public init(apiKey: String, note: String, readOnly: Int, permissions: [(String, [String])], ips: [String], deadlineDay: Int,
                    expiredAt: String, createdAt: String, userID: Int64) {
            self.apiKey = apiKey
            self.note = note
            self.readOnly = readOnly
            self.permissions = permissions
            self.ips = ips
            self.deadlineDay = deadlineDay
            self.expiredAt = expiredAt
            self.createdAt = createdAt
            self.userID = userID
        }
    }

    public static func apiKeyInfo(_ key: APIKeyDescription) -> String {
        var json = BybitJSONWriter()
        json.string("id", String(key.userID))
        json.string("note", key.note)
        json.string("apiKey", key.apiKey)
        json.int("readOnly", key.readOnly)
        json.string("secret", "")   // Bybit: always ""
        json.object("permissions") { p in
            for (group, list) in key.permissions { p.raw(dynamicKey: group, "[" + list.map(BybitJSONWriter.quoted).joined(separator: ",") + "]") }
        }
        json.raw("ips", "[" + key.ips.map(BybitJSONWriter.quoted).joined(separator: ",") + "]")
        json.int("type", 1)
        json.int("deadlineDay", key.deadlineDay)
        json.string("expiredAt", key.expiredAt)
        json.string("createdAt", key.createdAt)
        json.int("unified", 0)   // deprecated by Bybit
        json.int("uta", 1)
        json.int64("userID", key.userID)
        json.int("inviterID", 0)
        json.string("vipLevel", "No VIP")
        json.string("mktMakerLevel", "0")
        json.int("affiliateID", 0)
        json.string("rsaPublicKey", "")
        json.bool("isMaster", true)
        json.string("parentUid", "0")
        json.string("kycLevel", "LEVEL_DEFAULT")
        json.string("kycRegion", "")
        return json.finished()
    }

    /// `/v5/account/info` of a UTA 2.0 account in cross (regular) margin. `dcpStatus`/`timeWindow`/`smpGroup` are
    /// deprecated by Bybit (always `OFF`/`0`/`0`; DCP is read from `query-dcp-info`).
    public static func accountInfo(updatedTime: Int64) -> String {
        var json = BybitJSONWriter()
        json.string("marginMode", "REGULAR_MARGIN")
        json.string("updatedTime", String(updatedTime))
        json.int("unifiedMarginStatus", 5)
        json.string("dcpStatus", "OFF")
        json.int("timeWindow", 0)
        json.int("smpGroup", 0)
        json.bool("isMasterTrader", false)
        json.string("spotHedgingStatus", "OFF")
        return json.finished()
    }

    /// One `/v5/account/fee-rate` item (linear: no `baseCoin`, no `category` in the result).
    public static func feeRate(symbol: String, taker: Rate, maker: Rate) -> String {
        var json = BybitJSONWriter()
        json.string("symbol", symbol)
        json.string("takerFeeRate", taker.description)
        json.string("makerFeeRate", maker.description)
        return json.finished()
    }

    /// `/v5/asset/coin/query-info`: one row per coin, no chains (the simulator has no deposits or withdrawals).
    public static func coinInfo(coins: [String]) -> String {
        var json = BybitJSONWriter()
        json.array("rows", coins.map { coin in
            var row = BybitJSONWriter()
            row.string("name", coin)
            row.string("coin", coin)
            row.string("remainAmount", "0")
            row.array("chains", [])
            return row.finished()
        })
        return json.finished()
    }

    /// `/v5/account/query-dcp-info`: `timeWindow` is a string here (unlike the setter's integer).
    public static func dcpInfo(_ windows: [(product: String, seconds: Int)]) -> String {
        var json = BybitJSONWriter()
        json.array("dcpInfos", windows.map { w in
            var item = BybitJSONWriter()
            item.string("product", w.product)
            item.string("dcpStatus", "ON")
            item.string("timeWindow", String(w.seconds))
            return item.finished()
        })
        return json.finished()
    }

    /// `{"reasons":[{"reasonCode","reasonMsg"}…]}` of `set-margin-mode`.
    public static func marginModeReasons(_ reasons: [(code: String, message: String)]) -> String {
        var json = BybitJSONWriter()
        json.array("reasons", reasons.map { r in
            var item = BybitJSONWriter()
            item.string("reasonCode", r.code)
            item.string("reasonMsg", r.message)
            return item.finished()
        })
        return json.finished()
    }

    /// One `/v5/position/closed-pnl` record (every field a string, as documented).
    public struct ClosedPnL: Sendable {
        public var symbol: String
        public var orderId: String
        public var side: Side
        public var qty: String
        public var orderPrice: String
        public var orderType: String
        public var execType: String
        public var closedSize: String
        public var cumEntryValue: String
        public var avgEntryPrice: String
        public var cumExitValue: String
        public var avgExitPrice: String
        public var closedPnl: String
        public var fillCount: Int
        public var leverage: String
        public var createdTime: Int64
        public var updatedTime: Int64
        public init(symbol: String, orderId: String, side: Side, qty: String, orderPrice: String, orderType: String, execType: String,
                    closedSize: String, cumEntryValue: String, avgEntryPrice: String, cumExitValue: String, avgExitPrice: String,
                    closedPnl: String, fillCount: Int, leverage: String, createdTime: Int64, updatedTime: Int64) {
            self.symbol = symbol
            self.orderId = orderId
            self.side = side
            self.qty = qty
            self.orderPrice = orderPrice
            self.orderType = orderType
            self.execType = execType
            self.closedSize = closedSize
            self.cumEntryValue = cumEntryValue
            self.avgEntryPrice = avgEntryPrice
            self.cumExitValue = cumExitValue
            self.avgExitPrice = avgExitPrice
            self.closedPnl = closedPnl
            self.fillCount = fillCount
            self.leverage = leverage
            self.createdTime = createdTime
            self.updatedTime = updatedTime
        }
    }

    public static func closedPnL(_ r: ClosedPnL) -> String {
        var json = BybitJSONWriter()
        json.string("symbol", r.symbol)
        json.string("orderType", r.orderType)
        json.string("leverage", r.leverage)
        json.string("updatedTime", String(r.updatedTime))
        json.string("side", r.side == .buy ? "Buy" : "Sell")
        json.string("orderId", r.orderId)
        json.string("closedPnl", r.closedPnl)
        json.string("avgEntryPrice", r.avgEntryPrice)
        json.string("qty", r.qty)
        json.string("cumEntryValue", r.cumEntryValue)
        json.string("createdTime", String(r.createdTime))
        json.string("orderPrice", r.orderPrice)
        json.string("closedSize", r.closedSize)
        json.string("avgExitPrice", r.avgExitPrice)
        json.string("execType", r.execType)
        json.string("fillCount", String(r.fillCount))
        json.string("cumExitValue", r.cumExitValue)
        return json.finished()
    }

    /// `/v5/market/kline`: `{"category","symbol","list":[[start,open,high,low,close,volume,turnover]…]}`, newest first.
    public static func kline(symbol: String, bars: [[String]]) -> String {
        var json = BybitJSONWriter()
        json.string("category", "linear")
        json.string("symbol", symbol)
        json.raw("list", "[" + bars.map { "[" + $0.map(BybitJSONWriter.quoted).joined(separator: ",") + "]" }.joined(separator: ",") + "]")
        return json.finished()
    }

    /// An envelope without `retExtInfo`/`time`, as Bybit answers `account/info`, `set-margin-mode` and the DCP setter
    /// (result omitted when nil).
    public static func bareEnvelope(result: String?, retCode: BybitRetCode = .ok, retMsg: String) -> String {
        var json = BybitJSONWriter()
        json.int("retCode", retCode.rawValue)
        json.string("retMsg", retMsg)
        if let result { json.raw("result", result) }
        return json.finished()
    }
}
