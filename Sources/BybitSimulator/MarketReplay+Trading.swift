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
        // Batch endpoints count one request per order, as Bybit counts them; a fresh window admits one whole batch
        // (up to 20 orders) even past the per-second budget, or a full batch could never be sent.
        let weight = path == "/v5/order/create-batch" ? Self.batchSize(body) : 1
        window.used += window.used == 0 ? min(weight, limit) : weight
        rateWindows["\(key) \(path)"] = window
        let reset = window.start + 1_000
        let limitHeaders = [("X-Bapi-Limit", String(limit)), ("X-Bapi-Limit-Status", String(max(0, limit - window.used))),
                            ("X-Bapi-Limit-Reset-Timestamp", String(window.used > limit ? reset : time))]
        if window.used > limit {
            return (200, BybitFrameEncoder.restEnvelope(result: "{}", retCode: 10006, retMsg: "Too many visits. Exceeded the API Rate Limit.", time: time),
                    limitHeaders)
        }
        var (status, text) = answerSignedUnlimited(method: method, path: path, rawQuery: rawQuery, body: body, headers: headers, time: time)
        // The REST channel's fault hook, drawn in the same step as the request so a seed gives the same faults.
        switch faults.isActive ? faults.action(on: .rest) : .deliver {
        case .drop:
            return (504, "", [])
        case .duplicate:
            (status, text) = answerSignedUnlimited(method: method, path: path, rawQuery: rawQuery, body: body, headers: headers, time: time)
        case let .delay(ms):
            return (status, text, limitHeaders + [("X-Cascade-Delay-Ms", String(ms))])
        case .deliver, .reorder:
            break
        }
        return (status, text, limitHeaders)
    }

    /// Orders in a batch body (at least 1, so a malformed batch still counts).
    static func batchSize(_ body: String) -> Int {
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        return max(1, (object?["request"] as? [Any])?.count ?? 1)
    }

    /// Requests per second per key for an endpoint (Bybit's defaults for linear, from the rate-limit page).
    static func rateLimit(_ path: String) -> Int {
        switch path {
        case "/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/create-batch": 10
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
        guard let key = headers["x-bapi-api-key"], let entry = keys[key] else { return reply(10003, "API key is invalid.") }
        guard let ts = headers["x-bapi-timestamp"].flatMap({ Int64($0) }), let sign = headers["x-bapi-sign"] else {
            return reply(10004, "error sign! missing signature headers")
        }
        let window = headers["x-bapi-recv-window"].flatMap { Int($0) } ?? 5000
        let payload = method == "GET" ? rawQuery : body
        let expected = BybitSigner(credentials: BybitCredentials(apiKey: key, secret: entry.secret))
            .signature(timestamp: ts, recvWindow: window, payload: payload)
        guard expected == sign else { return reply(10004, "error sign! origin_string[\(ts)\(key)\(window)...]") }
        // Bybit's window: server_time - recv_window <= ts < server_time + 1000.
        guard ts >= time - Int64(window), ts < time + 1_000 else {
            return reply(10002, "invalid request, please check your server timestamp or recv_window param. req_timestamp[\(ts)],server_timestamp[\(time)],recv_window[\(window)]")
        }
        let query = Self.parseQuery(rawQuery)
        let json = method == "POST" ? ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:] : [:]
        // Take the account out while it is worked on, so its arrays are mutated in place (no copy on write).
        var trading = accounts.removeValue(forKey: entry.account)!
        let answer = answer(method: method, path: path, query: query, json: json, trading: &trading, time: time, reply: reply)
        accounts[entry.account] = trading
        release(account: entry.account, upTo: exchangeClock)
        return answer
    }

    private func answer(method: String, path: String, query: [String: String], json: [String: Any], trading: inout SimTrading,
                        time: Int64, reply: (Int, String, String) -> (Int, String)) -> (Int, String) {
        func instrument(_ symbol: Any?) -> Instrument? {
            (symbol as? String).flatMap { decoder.instruments.lookup($0) }.map { decoder.instruments[$0] }
        }
        switch (method, path) {
        case ("POST", "/v5/order/create"):
            switch createOrder(json, trading: &trading) {
            case let .success(record):
                return reply(0, "OK", #"{"orderId":"\#(record.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(record.orderLinkId))"}"#)
            case let .failure(error):
                return reply(error.code, error.message, "{}")
            }
        case ("POST", "/v5/order/create-batch"):
            guard json["category"] as? String == "linear" else { return reply(10001, "params error: category must be linear", "{}") }
            guard let requests = json["request"] as? [[String: Any]], !requests.isEmpty else {
                return reply(10001, "params error: request must be a non-empty list", "{}")
            }
            guard requests.count <= 20 else { return reply(10001, "params error: at most 20 orders per batch", "{}") }
            var items: [String] = []
            var statuses: [String] = []
            for var request in requests {
                request["category"] = "linear"
                let symbol = request["symbol"] as? String ?? ""
                let link = request["orderLinkId"] as? String ?? ""
                switch createOrder(request, trading: &trading) {
                case let .success(record):
                    items.append(#"{"category":"linear","symbol":"\#(BybitStreamRequest.escape(symbol))","orderId":"\#(record.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(link))","createAt":"\#(record.createdTime)"}"#)
                    statuses.append(#"{"code":0,"msg":"OK"}"#)
                case let .failure(error):
                    items.append(#"{"category":"linear","symbol":"\#(BybitStreamRequest.escape(symbol))","orderId":"","orderLinkId":"\#(BybitStreamRequest.escape(link))","createAt":""}"#)
                    statuses.append(#"{"code":\#(error.code),"msg":"\#(BybitStreamRequest.escape(error.message))"}"#)
                }
            }
            return (200, #"{"retCode":0,"retMsg":"OK","result":{"list":[\#(items.joined(separator: ","))]},"retExtInfo":{"list":[\#(statuses.joined(separator: ","))]},"time":\#(time)}"#)
        case ("POST", "/v5/order/amend"):
            guard let instrument = instrument(json["symbol"]) else { return reply(10001, "params error: symbol", "{}") }
            let orderIdText = json["orderId"] as? String, linkText = json["orderLinkId"] as? String
            let qtyText = json["qty"] as? String, priceText = json["price"] as? String
            let orderId = orderIdText ?? linkText.flatMap { trading.orderId(linkId: $0) }
            let qty = qtyText.flatMap { try? instrument.quantity($0) }
            let price = priceText.flatMap { try? instrument.price($0) }
            guard qty != nil || price != nil else { return reply(10001, "params error: nothing to amend", "{}") }
            guard let orderId else { return reply(110001, "order not exists or too late to replace", "{}") }
            if case let .failure(reason) = trading.amend(orderId: orderId, symbol: instrument, qty: qty, price: price) {
                return reason == .unknownOrder ? reply(110001, "order not exists or too late to replace", "{}")
                    : reply(reason.retCode, reason.rawValue, "{}")
            }
            let link = trading.orders[orderId]?.orderLinkId ?? ""
            return reply(0, "OK", #"{"orderId":"\#(orderId)","orderLinkId":"\#(BybitStreamRequest.escape(link))"}"#)
        case ("POST", "/v5/order/cancel-all"):
            let symbol = json["symbol"] as? String
            var cancelled: [String] = []
            for record in trading.orders.values.sorted(by: { $0.orderId < $1.orderId })
            where record.isOpen && (symbol == nil || record.symbol == symbol) {
                if let i = instrument(record.symbol), trading.cancel(orderId: record.orderId, symbol: i) {
                    cancelled.append(#"{"orderId":"\#(record.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(record.orderLinkId))"}"#)
                }
            }
            return reply(0, "OK", #"{"list":[\#(cancelled.joined(separator: ","))],"success":"1"}"#)
        case ("POST", "/v5/order/cancel"):
            guard let instrument = instrument(json["symbol"]) else { return reply(10001, "params error: symbol", "{}") }
            let orderId = (json["orderId"] as? String) ?? (json["orderLinkId"] as? String).flatMap { trading.orderId(linkId: $0) }
            guard let orderId, trading.cancel(orderId: orderId, symbol: instrument) else {
                return reply(110001, "order not exists or too late to cancel", "{}")
            }
            let link = trading.orders[orderId]?.orderLinkId ?? ""
            return reply(0, "OK", #"{"orderId":"\#(orderId)","orderLinkId":"\#(BybitStreamRequest.escape(link))"}"#)
        case ("GET", "/v5/order/realtime"):
            // openOnly 0 (default): open orders; 1 or 2: also the 500 most recent closed ones (Bybit's rule for UTA).
            let withClosed = (query["openOnly"].flatMap { Int($0) } ?? 0) != 0
            let closed = trading.orders.values.filter { !$0.isOpen }
                .sorted { $0.updatedTime == $1.updatedTime ? $0.orderId > $1.orderId : $0.updatedTime > $1.updatedTime }.prefix(500)
            let list = (trading.orders.values.filter(\.isOpen) + (withClosed ? Array(closed) : []))
                .filter { query["symbol"] == nil || $0.symbol == query["symbol"] }
                .filter { query["orderId"] == nil || $0.orderId == query["orderId"] }
                .filter { query["orderLinkId"] == nil || $0.orderLinkId == query["orderLinkId"] }
                .sorted { $0.createdTime == $1.createdTime ? $0.orderId > $1.orderId : $0.createdTime > $1.createdTime }
            let (page, next) = Self.page(list, query: query, defaultLimit: 20, maxLimit: 50)
            let items = page.compactMap { r in instrument(r.symbol).map { trading.orderJSON(r, $0) } }.joined(separator: ",")
            return reply(0, "OK", #"{"category":"linear","list":[\#(items)],"nextPageCursor":"\#(next)"}"#)
        case ("GET", "/v5/position/list"):
            let items = trading.exchanges.keys.sorted().compactMap { id -> String? in
                guard query["symbol"] == nil || decoder.instruments[id].symbol == query["symbol"] else { return nil }
                return trading.positionJSON(id, stream: false)
            }
            return reply(0, "OK", #"{"category":"linear","list":[\#(items.joined(separator: ","))],"nextPageCursor":""}"#)
        case ("POST", "/v5/position/trading-stop"):
            guard let instrument = instrument(json["symbol"]) else { return reply(10001, "params error: symbol", "{}") }
            guard (json["positionIdx"] as? NSNumber)?.intValue ?? 0 == 0 else { return reply(10001, "position idx not match position mode", "{}") }
            // Absent: that leg stays as it is; "0": it is removed; a price: it is set or replaced.
            func level(_ key: String) -> Price?? {
                guard let text = json[key] as? String, !text.isEmpty else { return .some(nil) }
                if text == "0" { return .some(Price(units: 0)) }
                guard let p = try? instrument.price(text), p.units > 0 else { return nil }
                return .some(p)
            }
            guard let tp = level("takeProfit"), let sl = level("stopLoss") else { return reply(10001, "params error: takeProfit/stopLoss", "{}") }
            guard tp != nil || sl != nil else { return reply(10001, "params error: takeProfit or stopLoss required", "{}") }
            let mode = json["tpslMode"] as? String ?? "Full"
            var size: Quantity?
            if mode == "Partial" {
                guard let text = (json["tpSize"] as? String) ?? (json["slSize"] as? String), let q = try? instrument.quantity(text), q.units > 0 else {
                    return reply(10001, "params error: tpSize/slSize required in Partial mode", "{}")
                }
                size = q
            }
            guard let tpBy = SimTriggerPrice(rawValue: json["tpTriggerBy"] as? String ?? "LastPrice"),
                  let slBy = SimTriggerPrice(rawValue: json["slTriggerBy"] as? String ?? "LastPrice") else {
                return reply(10001, "params error: tpTriggerBy/slTriggerBy must be LastPrice, MarkPrice or IndexPrice", "{}")
            }
            switch trading.tradingStop(symbol: instrument, takeProfit: tp, takeProfitBy: tpBy, stopLoss: sl, stopLossBy: slBy, qty: size) {
            case .success: return reply(0, "OK", "{}")
            case let .failure(reason): return reply(reason.retCode, reason.rawValue, "{}")
            }
        case ("POST", "/v5/position/set-leverage"):
            guard json["category"] as? String == "linear" else { return reply(10001, "params error: category must be linear", "{}") }
            guard let instrument = instrument(json["symbol"]) else { return reply(10001, "params error: symbol", "{}") }
            guard let buy = (json["buyLeverage"] as? String).flatMap({ try? Rate($0) }),
                  let sell = (json["sellLeverage"] as? String).flatMap({ try? Rate($0) }) else {
                return reply(10001, "params error: buyLeverage and sellLeverage are required", "{}")
            }
            // One-way mode and cross margin: both sides carry one leverage.
            guard buy == sell else { return reply(10001, "params error: buyLeverage must equal sellLeverage in one-way mode", "{}") }
            switch trading.portfolio.setLeverage(buy, instrument: instrument) {
            case .success:
                trading.positionChanged(instrument.id)
                return reply(0, "OK", "{}")
            case let .failure(reason):
                return reply(reason.retCode, reason == .leverageNotModified ? "Set leverage has not been modified." : reason.rawValue, "{}")
            }
        case ("GET", "/v5/account/wallet-balance"):
            return reply(0, "OK", #"{"list":[\#(trading.walletJSON())]}"#)
        case ("GET", "/v5/execution/list"):
            let start = query["startTime"].flatMap { Int64($0) }, end = query["endTime"].flatMap { Int64($0) }
            let list = trading.executions.reversed()
                .filter { query["symbol"] == nil || $0.symbol == query["symbol"] }
                .filter { query["orderId"] == nil || $0.orderId == query["orderId"] }
                .filter { query["orderLinkId"] == nil || $0.orderLinkId == query["orderLinkId"] }
                .filter { query["execType"] == nil || $0.execType == query["execType"] }
                .filter { start == nil || $0.time >= start! }
                .filter { end == nil || $0.time <= end! }
            let (page, next) = Self.page(Array(list), query: query, defaultLimit: 50, maxLimit: 100)
            let items = page.compactMap { e in instrument(e.symbol).map { trading.executionJSON(e, $0) } }
            return reply(0, "OK", #"{"category":"linear","list":[\#(items.joined(separator: ","))],"nextPageCursor":"\#(next)"}"#)
        default:
            return (404, BybitFrameEncoder.restEnvelope(result: "{}", retCode: 10001, retMsg: "unknown endpoint \(path)", time: time))
        }
    }

    /// One page of `list` by `limit` (default/max as Bybit's) and `cursor` (an offset we issued); the next cursor,
    /// or "" on the last page.
    static func page<T>(_ list: [T], query: [String: String], defaultLimit: Int, maxLimit: Int) -> ([T], String) {
        let limit = min(max(query["limit"].flatMap { Int($0) } ?? defaultLimit, 1), maxLimit)
        let offset = min(max(query["cursor"].flatMap { Int($0) } ?? 0, 0), list.count)
        let end = min(offset + limit, list.count)
        return (Array(list[offset..<end]), end < list.count ? String(end) : "")
    }

    struct CreateError: Error {
        var code: Int
        var message: String
    }

    /// Validates and submits one create request (also one item of a batch).
    private func createOrder(_ json: [String: Any], trading: inout SimTrading) -> Result<SimTrading.OrderRecord, CreateError> {
        func fail(_ code: Int, _ message: String) -> Result<SimTrading.OrderRecord, CreateError> { .failure(CreateError(code: code, message: message)) }
        guard json["category"] as? String == "linear" else { return fail(10001, "params error: category must be linear") }
        guard let symbol = json["symbol"] as? String, let id = decoder.instruments.lookup(symbol) else {
            return fail(10001, "params error: symbol invalid")
        }
        let instrument = decoder.instruments[id]
        guard let sideText = json["side"] as? String, let side: Side = sideText == "Buy" ? .buy : sideText == "Sell" ? .sell : nil else {
            return fail(10001, "params error: side invalid")
        }
        guard let qtyText = json["qty"] as? String, let qty = try? instrument.quantity(qtyText) else {
            return fail(10001, "params error: qty invalid")
        }
        let type = json["orderType"] as? String ?? "Limit"
        guard type == "Limit" || type == "Market" else { return fail(10001, "params error: orderType invalid") }
        var price: Price?
        if type == "Limit" {
            guard let p = (json["price"] as? String).flatMap({ try? instrument.price($0) }) else {
                return fail(10001, "params error: price invalid")
            }
            price = p
        }
        let tif: SimTimeInForce
        switch type == "Market" ? "IOC" : (json["timeInForce"] as? String ?? "GTC") {
        case "PostOnly": tif = .postOnly
        case "IOC": tif = .immediateOrCancel
        case "FOK": tif = .fillOrKill
        case "GTC": tif = .goodTillCancel
        default: return fail(10001, "params error: timeInForce invalid")
        }
        let link = json["orderLinkId"] as? String ?? ""
        guard link.count <= 36, link.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return fail(10001, "params error: orderLinkId must be at most 36 of [A-Za-z0-9_-]")
        }
        if !link.isEmpty, trading.orderId(linkId: link) != nil { return fail(110072, "OrderLinkedID is duplicate") }
        var order = SimTrading.NewOrder(side: side, price: price, qty: qty, timeInForce: tif, orderLinkId: link)
        order.reduceOnly = json["reduceOnly"] as? Bool ?? false
        order.closeOnTrigger = json["closeOnTrigger"] as? Bool ?? false
        order.positionIndex = (json["positionIdx"] as? NSNumber)?.intValue ?? 0
        guard order.positionIndex == 0 else { return fail(10001, "position idx not match position mode") }
        if let triggerText = json["triggerPrice"] as? String, !triggerText.isEmpty, triggerText != "0" {
            guard let trigger = try? instrument.price(triggerText), trigger.units > 0 else { return fail(10001, "params error: triggerPrice invalid") }
            guard let direction = (json["triggerDirection"] as? NSNumber).flatMap({ SimTriggerDirection(rawValue: $0.intValue) }) else {
                return fail(10001, "params error: triggerDirection must be 1 (rise) or 2 (fall)")
            }
            guard let by = SimTriggerPrice(rawValue: json["triggerBy"] as? String ?? "LastPrice") else {
                return fail(10001, "params error: triggerBy invalid")
            }
            order.trigger = (trigger, direction, by)
        }
        switch trading.create(symbol: instrument, order) {
        case let .success(record): return .success(record)
        case let .failure(reason): return fail(reason.retCode, reason.rawValue)
        }
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
