import BybitV5
import CascadeCore
import Foundation
import Simulation

/// The signed trading endpoints of the simulator: authentication, rate limits and faults here; each account's
/// answers from its ``BybitAccount``.
extension MarketReplay {
    /// Answers a signed endpoint: `(HTTP status, JSON body)`. `rawQuery` and `body` are the exact bytes the
    /// client sent (the signature covers them).
    func answerSigned(method: String, path: String, rawQuery: String, body: String, headers: [String: String],
                      now wall: LocalTime) -> (Int, String, [(String, String)]) {
        let now = venueNow(wall)
        let time = now.nanoseconds / 1_000_000
        let wallTime = wall.nanoseconds / 1_000_000
        // Per key and endpoint, a 1 s window of real time (a replay running ahead must not refill it faster), with
        // Bybit's headers on the venue's clock; past the limit the request is refused (10006).
        let key = headers["x-bapi-api-key"] ?? ""
        let limit = Self.rateLimit(path)
        var window = rateWindows["\(key) \(path)"] ?? (start: wallTime, used: 0)
        if wallTime - window.start >= 1_000 { window = (wallTime, 0) }
        // Batch endpoints count one request per order, as Bybit counts them; a fresh window admits one whole batch
        // (up to 20 orders) even past the per-second budget, or a full batch could never be sent.
        let weight = path == "/v5/order/create-batch" ? Self.batchSize(body) : 1
        window.used += window.used == 0 ? min(weight, limit) : weight
        rateWindows["\(key) \(path)"] = window
        let reset = window.start + 1_000 + (time - wallTime)
        let limitHeaders = [("X-Bapi-Limit", String(limit)), ("X-Bapi-Limit-Status", String(max(0, limit - window.used))),
                            ("X-Bapi-Limit-Reset-Timestamp", String(window.used > limit ? reset : time))]
        if window.used > limit {
            return (200, BybitRESTEncoder.envelope(retCode: .tooManyVisits, retMsg: "Too many visits. Exceeded the API Rate Limit.", time: time),
                    limitHeaders)
        }
        var (status, text) = answerSignedUnlimited(method: method, path: path, rawQuery: rawQuery, body: body, headers: headers, time: time,
                                                        wallTime: wallTime)
        // The REST channel's fault hook (or the path's own), drawn in the same step as the request so a seed gives the
        // same faults.
        switch faults.isActive ? faults.action(onREST: path) : .deliver {
        case .drop:
            return (504, "", [])
        case .duplicate:
            (status, text) = answerSignedUnlimited(method: method, path: path, rawQuery: rawQuery, body: body, headers: headers, time: time,
                                                        wallTime: wallTime)
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
                                       headers: [String: String], time: Int64, wallTime: Int64) -> (Int, String) {
        func reply(_ code: BybitRetCode, _ message: String, _ result: String = "{}") -> (Int, String) {
            (200, BybitRESTEncoder.envelope(result: result, retCode: code, retMsg: message, time: time))
        }
        guard Self.signedRoutes.contains("\(method) \(path)") else { return Self.routeNotFound(time: time) }
        // Authentication, as Bybit: unknown key 10003, bad signature 10004, timestamp outside the window 10002.
        guard let key = headers["x-bapi-api-key"], let entry = keys[key] else { return reply(.invalidAPIKey, "API key is invalid.") }
        guard let ts = headers["x-bapi-timestamp"].flatMap({ Int64($0) }), let sign = headers["x-bapi-sign"] else {
            return reply(.invalidSignature, "error sign! missing signature headers")
        }
        let window = headers["x-bapi-recv-window"].flatMap { Int($0) } ?? 5000
        let payload = method == "GET" ? rawQuery : body
        let expected = BybitSigner(credentials: BybitCredentials(apiKey: key, secret: entry.secret))
            .signature(timestamp: ts, recvWindow: window, payload: payload)
        guard expected == sign else { return reply(.invalidSignature, "error sign! origin_string[\(ts)\(key)\(window)...]") }
        // Bybit's window: server_time - recv_window <= ts < server_time + 1000. A replay faster than real time runs
        // the venue's clock ahead of the wall (``venueNow(_:)``): a timestamp valid against either is accepted, so a
        // client that never synchronises (a test's raw client, pybit's local clock) is not refused for a lockstep
        // jump. A test convenience, not a fill rule; against the wall clock alone the check is Bybit's.
        let inWindow = { (server: Int64) in ts >= server - Int64(window) && ts < server + 1_000 }
        guard inWindow(time) || inWindow(wallTime) else {
            return reply(.requestExpired, "invalid request, please check your server timestamp or recv_window param. req_timestamp[\(ts)],server_timestamp[\(time)],recv_window[\(window)]")
        }
        let query = Self.parseQuery(rawQuery)
        var json: [String: Any] = [:]
        if method == "POST" {
            // A body that is not a JSON object is a parameter error, before anything reads a field of it.
            guard let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else {
                return reply(.parameterError, "Request parameter error.")
            }
            json = object
        }
        guard let index = venue.index[entry.account] else { return reply(.invalidAPIKey, "API key is invalid.") }
        // What the key may do (the accounts file): a read-only key, or one without the contract permission a call
        // needs, is refused as Bybit refuses it.
        if method == "POST", let spec = venue.specs.first(where: { $0.name == entry.account }) {
            let needed = path.hasPrefix("/v5/order/") ? "Order" : path.hasPrefix("/v5/position/") ? "Position" : nil
            if spec.readOnly == 1 || needed.map({ !(spec.permissions["ContractTrade"] ?? []).contains($0) }) == true {
                return reply(.permissionDenied, "Permission denied, please check your API key permissions.")
            }
        }
        if let answer = answerAccount(method: method, path: path, query: query, json: json, account: entry.account, time: time) {
            return answer
        }
        // A command is decided at the exchange time the replay has reached (the last event of any kind a client
        // could have seen), never at the book's last update.
        let context = BybitAccount.Context(instruments: decoder.instruments, decidedAt: ExchangeTime(milliseconds: exchangeClock),
                                           now: exchangeClock + timeOffset)
        let answer = Self.route(method, path, query: query, json: json, account: &venue.accounts[index], context: context)
        release(account: entry.account, upTo: exchangeClock)
        if let answer { return (200, BybitRESTEncoder.envelope(result: answer.result, retCode: answer.code, retMsg: answer.message, time: time)) }
        if method == "POST" && path == "/v5/order/create-batch" { return (200, createBatch(json, index: index, context: context, time: time)) }
        return Self.routeNotFound(time: time)
    }

    /// One signed endpoint of one account (nil: not one of these).
    static func route(_ method: String, _ path: String, query: [String: String], json: [String: Any], account: inout BybitAccount,
                      context: BybitAccount.Context) -> BybitAccount.Answer? {
        switch (method, path) {
        case ("POST", "/v5/order/create"): account.create(json, context).0
        case ("POST", "/v5/order/amend"): account.amend(json, context)
        case ("POST", "/v5/order/cancel"): account.cancel(json, context)
        case ("POST", "/v5/order/cancel-all"): account.cancelAll(json, context)
        case ("GET", "/v5/order/realtime"): account.realtime(query, context)
        case ("GET", "/v5/order/history"): account.orderHistory(query, context)
        case ("GET", "/v5/position/closed-pnl"): account.closedPnL(query, context)
        case ("GET", "/v5/position/list"): account.positionList(query, context)
        case ("POST", "/v5/position/trading-stop"): account.tradingStop(json, context)
        case ("POST", "/v5/position/set-leverage"): account.setLeverage(json, context)
        case ("GET", "/v5/account/wallet-balance"): account.walletBalance()
        case ("GET", "/v5/execution/list"): account.executionList(query, context)
        default: nil
        }
    }

    /// `POST /v5/order/create-batch`: each item answered in `result.list[i]` and `retExtInfo.list[i]` (at most 20).
    private func createBatch(_ json: [String: Any], index: Int, context: BybitAccount.Context, time: Int64) -> String {
        func fail(_ message: String) -> String {
            BybitRESTEncoder.envelope(retCode: .parameterError, retMsg: "params error: \(message)", time: time)
        }
        guard json["category"] as? String == "linear" else { return fail("category must be linear") }
        guard let requests = json["request"] as? [[String: Any]], !requests.isEmpty else { return fail("request must be a non-empty list") }
        guard requests.count <= 20 else { return fail("at most 20 orders per batch") }
        var items: [String] = []
        var statuses: [String] = []
        for var request in requests {
            request["category"] = "linear"
            let symbol = request["symbol"] as? String ?? ""
            let link = request["orderLinkId"] as? String ?? ""
            let (answer, id) = venue.accounts[index].create(request, context)
            items.append(BybitRESTEncoder.batchItem(symbol: symbol, orderId: id?.rawValue ?? "", orderLinkId: link,
                                                    createAt: id == nil ? "" : String(context.now)))
            statuses.append(BybitRESTEncoder.batchStatus(code: answer.code, message: answer.message))
        }
        return BybitRESTEncoder.envelope(result: BybitRESTEncoder.plainList(items), retExtInfo: BybitRESTEncoder.plainList(statuses), time: time)
    }

    /// Every signed endpoint the simulator answers, as `METHOD path`.
    static let signedRoutes: Set<String> = [
        "POST /v5/order/create", "POST /v5/order/create-batch", "POST /v5/order/amend", "POST /v5/order/cancel",
        "POST /v5/order/cancel-all", "GET /v5/order/realtime", "GET /v5/order/history", "GET /v5/execution/list",
        "GET /v5/position/list", "POST /v5/position/set-leverage", "POST /v5/position/trading-stop", "GET /v5/position/closed-pnl",
        "POST /v5/position/switch-mode", "GET /v5/account/wallet-balance", "GET /v5/account/info", "GET /v5/account/fee-rate",
        "POST /v5/account/set-margin-mode", "GET /v5/account/query-dcp-info", "POST /v5/order/disconnected-cancel-all",
        "GET /v5/user/query-api", "GET /v5/asset/coin/query-info",
    ]

    /// An unknown path (or a known one with the wrong method): HTTP 404 with Bybit's `10017 Route not found.` (whether
    /// Bybit sends 404 or 200 here is not documented; both signals are given).
    static func routeNotFound(time: Int64) -> (Int, String) {
        (404, BybitRESTEncoder.envelope(retCode: .routeNotFound, retMsg: "Route not found.", time: time))
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
