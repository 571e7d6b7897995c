import BybitV5
import CascadeCore
import Foundation
import Simulation

/// The signed trading endpoints of the simulator, answered from ``SimTrading``.
extension MarketReplay {
    /// Answers a signed endpoint: `(HTTP status, JSON body)`. `rawQuery` and `body` are the exact bytes the
    /// client sent (the signature covers them).
    func answerSigned(method: String, path: String, rawQuery: String, body: String, headers: [String: String],
                      now: LocalTime) -> (Int, String, [(String, String)]) {
        let time = now.nanoseconds / 1_000_000
        // Per key and endpoint, a 1 s window with Bybit's headers; past the limit the request is refused (10006).
        let key = headers["x-bapi-api-key"] ?? ""
        let limit = Self.rateLimit(path)
        var window = rateWindows["\(key) \(path)"] ?? (start: time, used: 0)
        if time - window.start >= 1_000 { window = (time, 0) }
        window.used += 1
        rateWindows["\(key) \(path)"] = window
        let reset = window.start + 1_000
        let limitHeaders = [("X-Bapi-Limit", String(limit)), ("X-Bapi-Limit-Status", String(max(0, limit - window.used))),
                            ("X-Bapi-Limit-Reset-Timestamp", String(window.used > limit ? reset : time))]
        if window.used > limit {
            return (200, BybitFrameEncoder.restEnvelope(result: "{}", retCode: 10006, retMsg: "Too many visits. Exceeded the API Rate Limit.", time: time),
                    limitHeaders)
        }
        let (status, text) = answerSignedUnlimited(method: method, path: path, rawQuery: rawQuery, body: body, headers: headers, time: time)
        return (status, text, limitHeaders)
    }

    /// Requests per second per key for an endpoint (Bybit's defaults for linear, from the rate-limit page).
    static func rateLimit(_ path: String) -> Int {
        switch path {
        case "/v5/order/create", "/v5/order/amend", "/v5/order/cancel": 10
        case "/v5/order/cancel-all": 10
        default: 50
        }
    }

    private func answerSignedUnlimited(method: String, path: String, rawQuery: String, body: String,
                                       headers: [String: String], time: Int64) -> (Int, String) {
        func reply(_ code: Int, _ message: String, _ result: String = "{}") -> (Int, String) {
            (200, BybitFrameEncoder.restEnvelope(result: result, retCode: code, retMsg: message, time: time))
        }
        // Authentication, as Bybit: unknown key 10003, bad signature 10004, timestamp outside the window 10002.
        guard let key = headers["x-bapi-api-key"], let secret = apiKeys[key] else { return reply(10003, "API key is invalid.") }
        guard let ts = headers["x-bapi-timestamp"].flatMap({ Int64($0) }), let sign = headers["x-bapi-sign"] else {
            return reply(10004, "error sign! missing signature headers")
        }
        let window = headers["x-bapi-recv-window"].flatMap { Int($0) } ?? 5000
        let payload = method == "GET" ? rawQuery : body
        let expected = BybitSigner(credentials: BybitCredentials(apiKey: key, secret: secret))
            .signature(timestamp: ts, recvWindow: window, payload: payload)
        guard expected == sign else { return reply(10004, "error sign! origin_string[\(ts)\(key)\(window)...]") }
        guard abs(time - ts) <= Int64(window) else {
            return reply(10002, "invalid request, please check your server timestamp or recv_window param. req_timestamp[\(ts)],server_timestamp[\(time)],recv_window[\(window)]")
        }
        let query = Self.parseQuery(rawQuery)
        let json = method == "POST" ? ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:] : [:]
        switch (method, path) {
        case ("POST", "/v5/order/create"):
            return createOrder(json, time: time, reply: reply)
        case ("POST", "/v5/order/amend"):
            guard let symbol = json["symbol"] as? String, let id = decoder.instruments.lookup(symbol) else {
                return reply(10001, "params error: symbol")
            }
            let instrument = decoder.instruments[id]
            let orderIdText = json["orderId"] as? String, linkText = json["orderLinkId"] as? String
            let qtyText = json["qty"] as? String, priceText = json["price"] as? String
            let orderId = orderIdText ?? linkText.flatMap { trading.orderId(linkId: $0) }
            let qty = qtyText.flatMap { try? instrument.quantity($0) }
            let price = priceText.flatMap { try? instrument.price($0) }
            guard qty != nil || price != nil else { return reply(10001, "params error: nothing to amend") }
            guard let orderId, trading.amend(orderId: orderId, symbol: instrument, qty: qty, price: price) else {
                return reply(110001, "order not exists or too late to replace")
            }
            let link = trading.orders[orderId]?.orderLinkId ?? ""
            return reply(0, "OK", #"{"orderId":"\#(orderId)","orderLinkId":"\#(BybitStreamRequest.escape(link))"}"#)
        case ("POST", "/v5/order/cancel-all"):
            let symbol = json["symbol"] as? String
            var cancelled: [String] = []
            for record in trading.orders.values.sorted(by: { $0.orderId < $1.orderId })
            where record.isOpen && (symbol == nil || record.symbol == symbol) {
                if let id = decoder.instruments.lookup(record.symbol), trading.cancel(orderId: record.orderId, symbol: decoder.instruments[id]) {
                    cancelled.append(#"{"orderId":"\#(record.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(record.orderLinkId))"}"#)
                }
            }
            return reply(0, "OK", #"{"list":[\#(cancelled.joined(separator: ","))],"success":"1"}"#)
        case ("POST", "/v5/order/cancel"):
            guard let symbol = json["symbol"] as? String, let id = decoder.instruments.lookup(symbol) else {
                return reply(10001, "params error: symbol")
            }
            let orderId = (json["orderId"] as? String) ?? (json["orderLinkId"] as? String).flatMap { trading.orderId(linkId: $0) }
            guard let orderId, trading.cancel(orderId: orderId, symbol: decoder.instruments[id]) else {
                return reply(110001, "order not exists or too late to cancel")
            }
            let link = trading.orders[orderId]?.orderLinkId ?? ""
            return reply(0, "OK", #"{"orderId":"\#(orderId)","orderLinkId":"\#(BybitStreamRequest.escape(link))"}"#)
        case ("GET", "/v5/order/realtime"):
            let open = trading.orders.values
                .filter { $0.isOpen && (query["symbol"] == nil || $0.symbol == query["symbol"]) }
                .sorted { $0.createdTime == $1.createdTime ? $0.orderId > $1.orderId : $0.createdTime > $1.createdTime }
            let items = open.map(orderJSON).joined(separator: ",")
            return reply(0, "OK", #"{"category":"linear","list":[\#(items)],"nextPageCursor":""}"#)
        case ("GET", "/v5/position/list"):
            let items = trading.exchanges.sorted { $0.key < $1.key }.compactMap { id, exchange -> String? in
                let instrument = decoder.instruments[id]
                guard query["symbol"] == nil || instrument.symbol == query["symbol"] else { return nil }
                let a = exchange.account
                let side = a.size > 0 ? "Buy" : a.size < 0 ? "Sell" : ""
                let mark = exchange.engine.markPrice ?? exchange.engine.lastPrice
                return #"{"positionIdx":0,"symbol":"\#(instrument.symbol)","side":"\#(side)","size":"\#(instrument.format(Quantity(units: abs(a.size))))","avgPrice":"\#(a.averageEntryPrice.map(instrument.format) ?? "0")","positionValue":"\#(FixedDecimal.format(wide: a.entryValue.units.magnitude == 0 ? 0 : Int128(a.entryValue.units.magnitude), digits: 8))","markPrice":"\#(mark.map(instrument.format) ?? "")","unrealisedPnl":"\#(mark.map { a.unrealisedPnL(mark: $0).description } ?? "0")","cumRealisedPnl":"\#(a.realisedPnL.description)","leverage":"1","tradeMode":0,"positionStatus":"Normal","createdTime":"0","updatedTime":"\#(time)","seq":0}"#
            }
            return reply(0, "OK", #"{"category":"linear","list":[\#(items.joined(separator: ","))],"nextPageCursor":""}"#)
        case ("GET", "/v5/account/wallet-balance"):
            let wallet = trading.walletBalance.description
            var unrealised = USDT.zero
            for exchange in trading.exchanges.values {
                if let mark = exchange.engine.markPrice ?? exchange.engine.lastPrice { unrealised = unrealised + exchange.account.unrealisedPnL(mark: mark) }
            }
            let equity = (trading.walletBalance + unrealised).description
            return reply(0, "OK", #"{"list":[{"accountType":"UNIFIED","totalEquity":"\#(equity)","totalWalletBalance":"\#(wallet)","totalAvailableBalance":"\#(wallet)","coin":[{"coin":"USDT","walletBalance":"\#(wallet)","equity":"\#(equity)","unrealisedPnl":"\#(unrealised.description)","cumRealisedPnl":"0"}]}]}"#)
        case ("GET", "/v5/execution/list"):
            let items = trading.executions.reversed().filter { query["symbol"] == nil || $0.symbol == query["symbol"] }.prefix(100).map { e -> String in
                let instrument = decoder.instruments[decoder.instruments.lookup(e.symbol)!]
                let f = e.fill
                return #"{"symbol":"\#(e.symbol)","orderId":"\#(e.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(e.orderLinkId))","side":"\#(f.side)","orderType":"Limit","stopOrderType":"UNKNOWN","execId":"\#(e.execId)","execPrice":"\#(instrument.format(f.price))","execQty":"\#(instrument.format(f.qty))","execValue":"\#(f.value.description)","execFee":"\#(f.fee.description)","feeRate":"\#(f.isMaker ? "0.0002" : "0.00055")","execType":"Trade","isMaker":\#(f.isMaker),"execTime":"\#(f.exchangeTime.milliseconds)","leavesQty":"0","orderQty":"\#(instrument.format(f.qty))","orderPrice":"\#(instrument.format(f.price))","closedSize":"","seq":0}"#
            }
            return reply(0, "OK", #"{"category":"linear","list":[\#(items.joined(separator: ","))],"nextPageCursor":""}"#)
        default:
            return (404, BybitFrameEncoder.restEnvelope(result: "{}", retCode: 10001, retMsg: "unknown endpoint \(path)", time: time))
        }
    }

    private func createOrder(_ json: [String: Any], time: Int64, reply: (Int, String, String) -> (Int, String)) -> (Int, String) {
        guard json["category"] as? String == "linear" else { return reply(10001, "params error: category must be linear", "{}") }
        guard let symbol = json["symbol"] as? String, let id = decoder.instruments.lookup(symbol) else {
            return reply(10001, "params error: symbol invalid", "{}")
        }
        let instrument = decoder.instruments[id]
        guard let sideText = json["side"] as? String, let side: Side = sideText == "Buy" ? .buy : sideText == "Sell" ? .sell : nil else {
            return reply(10001, "params error: side invalid", "{}")
        }
        guard let qtyText = json["qty"] as? String, let qty = try? instrument.quantity(qtyText) else {
            return reply(10001, "params error: qty invalid", "{}")
        }
        let type = json["orderType"] as? String ?? "Limit"
        var price: Price?
        if type == "Limit" {
            guard let p = (json["price"] as? String).flatMap({ try? instrument.price($0) }) else {
                return reply(10001, "params error: price invalid", "{}")
            }
            price = p
        }
        let tif: SimTimeInForce = switch json["timeInForce"] as? String {
        case "PostOnly": .postOnly
        case "IOC": .immediateOrCancel
        case "FOK": .fillOrKill
        default: type == "Market" ? .immediateOrCancel : .goodTillCancel
        }
        let link = json["orderLinkId"] as? String ?? ""
        if !link.isEmpty, trading.orderId(linkId: link) != nil { return reply(110072, "OrderLinkedID is duplicate", "{}") }
        let reduceOnly = json["reduceOnly"] as? Bool ?? false
        let positionIndex = (json["positionIdx"] as? NSNumber)?.intValue ?? 0
        switch trading.create(symbol: instrument, side: side, price: price, qty: qty, timeInForce: tif, orderLinkId: link,
                              reduceOnly: reduceOnly, positionIndex: positionIndex, now: time) {
        case let .success(record):
            return reply(0, "OK", #"{"orderId":"\#(record.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(link))"}"#)
        case let .failure(reason):
            return reply(reason.retCode, reason.rawValue, "{}")
        }
    }

    private func orderJSON(_ r: SimTrading.OrderRecord) -> String {
        guard let id = decoder.instruments.lookup(r.symbol) else { return "{}" }
        let i = decoder.instruments[id]
        let leaves = Quantity(units: r.qty.units - r.filled)
        let tif: String = switch r.timeInForce {
        case .postOnly: "PostOnly"
        case .immediateOrCancel: "IOC"
        case .fillOrKill: "FOK"
        case .goodTillCancel: "GTC"
        }
        return #"{"orderId":"\#(r.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(r.orderLinkId))","symbol":"\#(r.symbol)","price":"\#(r.price.map(i.format) ?? "0")","qty":"\#(i.format(r.qty))","side":"\#(r.side)","positionIdx":0,"orderStatus":"\#(r.status == "Created" ? "New" : r.status)","cancelType":"\#(r.cancelType)","rejectReason":"\#(r.rejectReason)","avgPrice":"0","leavesQty":"\#(i.format(leaves))","leavesValue":"0","cumExecQty":"\#(i.format(Quantity(units: r.filled)))","cumExecValue":"0","cumExecFee":"0","timeInForce":"\#(tif)","orderType":"\#(r.orderType)","stopOrderType":"UNKNOWN","triggerPrice":"0","reduceOnly":false,"closeOnTrigger":false,"createdTime":"\#(r.createdTime)","updatedTime":"\#(r.updatedTime)"}"#
    }

    static func parseQuery(_ raw: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard let k = parts.first else { continue }
            out[String(k).removingPercentEncoding ?? String(k)] = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        }
        return out
    }
}
