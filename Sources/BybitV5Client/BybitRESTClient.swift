import Foundation
public import AsyncHTTPClient
public import BybitV5
public import CascadeCore
public import Logging
import NIOCore
import NIOHTTP1

/// Why a REST call did not produce a result.
public enum BybitClientError: Error, Sendable, CustomStringConvertible {
    /// Bybit answered; the retCode (with its typed meaning) says no.
    case rest(BybitRESTError)
    /// No answer (connection, timeout). For a state-changing request the outcome is **unknown**: the order
    /// may exist. Query it (by `orderLinkId`) before doing anything else; never resend blindly.
    case transport(String, outcomeUnknown: Bool)
    /// Bybit answered HTTP 403 (IP ban): every REST call is refused locally until `until`.
    case ipBanned(until: LocalTime)
    /// A signed request without credentials.
    case missingCredentials
    /// An order create without `orderLinkId`: refused before sending, because after a lost answer that id is
    /// the only way to find the order again (and Bybit refuses a second order with it, 110072).
    case missingOrderLinkId
    /// A cancel-all Bybit answered with retCode 0 but `success:"0"`: some orders may still be open (`cancelled`
    /// were listed as cancelled). Query the open orders before believing the book is clear (client review row 16).
    case cancelAllNotConfirmed(cancelled: Int)
    /// A create or amend that could not leave by its `notAfter` deadline (a rate-limit wait would pass it):
    /// not sent, so the engine decides again on the market of then instead of a stale order reaching the book.
    case stale(String)

    public var description: String {
        switch self {
        case let .rest(e): e.description
        case let .transport(why, unknown): "REST transport error\(unknown ? " (outcome unknown: query before retrying)" : ""): \(why)"
        case let .ipBanned(until): "REST blocked after HTTP 403 (IP ban) until \(until)"
        case .missingCredentials: "a signed Bybit request needs credentials (environment or a file you name)"
        case .missingOrderLinkId: "order creates must carry an orderLinkId (the only way to query an order after a lost answer)"
        case let .stale(why): "not sent: \(why)"
        case let .cancelAllNotConfirmed(n): "cancel-all answered success:\"0\" (\(n) listed as cancelled): query the open orders"
        }
    }

    /// The typed meaning of a Bybit retCode, when Bybit answered with one.
    public var meaning: BybitRetCode.Meaning? {
        if case let .rest(.api(e)) = self { return e.meaning }
        return nil
    }

    /// What a failed call did at Bybit, for the gateway to switch on (client review row 6).
    public enum Outcome: Hashable, Sendable {
        /// Proven not to have changed anything: refused locally before sending, an HTTP 401/403/429, or a retCode
        /// Bybit documents as a refusal (parameters, authentication, rate limits, 110xxx business rules).
        case notApplied
        /// It may have happened: no answer, an HTTP 5xx or other page without Bybit's envelope, an unreadable 200,
        /// or 10000/10016. Query the order (by `orderLinkId`) before anything else; never resend blindly.
        case unknown
    }

    /// Bybit answered 110079: the order is still processing, and the operation may be asked again later.
    public var isStillProcessing: Bool {
        if case let .rest(.api(e)) = self, case .stillProcessing = e.meaning { true } else { false }
    }

    /// What a state-changing call did (a read-only call changes nothing whatever its error says).
    public var outcome: Outcome {
        switch self {
        case .missingCredentials, .missingOrderLinkId, .ipBanned, .stale: return .notApplied
        case let .transport(_, unknown): return unknown ? .unknown : .notApplied
        case .cancelAllNotConfirmed: return .unknown
        case let .rest(.http(status, _, _)): return [400, 401, 403, 404, 429].contains(status) ? .notApplied : .unknown
        case .rest(.decode): return .unknown
        case let .rest(.api(e)):
            // 110072 (our orderLinkId is taken: the first order may be live) and "already gone" on cancel or amend
            // (it may have filled) leave the order's state to be queried: never read them as a plain refusal.
            if e.meaning.requiresOrderQuery { return .unknown }
            let code = e.retCode.rawValue
            if (10_001...10_007).contains(code) || code == 10_010 || code == 10_018 || (110_000...119_999).contains(code) {
                return .notApplied
            }
            return .unknown
        }
    }
}

/// Signed (and unsigned) Bybit V5 REST over AsyncHTTPClient.
///
/// - Signs the exact bytes sent (query string or JSON body) with the server-time offset measured from
///   `/v5/market/time`; a `10002` (timestamp outside the window) re-measures it, and retries once unless the call
///   creates or amends an order: there 10002 is Bybit's staleness guard, so the refusal is returned (the offset
///   is fresh for the next decision) and the order is never re-stamped.
/// - Tracks `X-Bapi-Limit-*` per endpoint and waits for the reset before the remaining budget, less the calls still
///   out on the endpoint and this one (a batch counts one per order, as Bybit counts it), falls below `headroom`; a `10006`/`10018` waits until `X-Bapi-Limit-Reset-Timestamp` and retries (the request
///   was rejected, not executed, so resending the same bytes — same `orderLinkId` — is safe). A create or amend
///   given `notAfter` is refused (``BybitClientError/stale(_:)``) rather than sent after it; cancels never wait for
///   the headroom (taking risk off the book is never held back by our own reserve).
/// - HTTP 403 (IP ban) blocks every call for `banDuration` and logs an alert, except cancels, reduce-only closes
///   and trading stops, which still go out.
/// - A transport failure of a state-changing request is reported as outcome unknown and **never retried**;
///   read-only requests are retried with backoff.
public actor BybitRESTClient {
    public let baseURL: String
    public let recvWindow: Int
    /// Requests kept in reserve per endpoint window before waiting for its reset.
    public let headroom: Int
    public let banDuration: Duration
    let signer: BybitSigner?
    let clock: any WallClock
    /// Every wait (retry backoff, rate-limit resets) is on this clock.
    let timer: any TaskClock
    let logger: Logger
    let http: HTTPClient
    let timeout: Duration
    /// Server time − local time, in ms (measured by ``synchronizeTime()``).
    public private(set) var serverOffsetMilliseconds: Int64 = 0
    /// Bybit's clock now, as far as the measured offset tells.
    public func serverNow() -> ExchangeTime {
        ExchangeTime(milliseconds: clock.now().nanoseconds / 1_000_000 + serverOffsetMilliseconds)
    }
    /// When the offset was last measured (task clock; nil: never).
    public private(set) var offsetMeasuredAt: ClockInstant?
    /// Last rate-limit headers per endpoint, with the local time they were seen and the number of the record.
    private var limits: [String: (headers: BybitRateLimitHeaders, seenAt: LocalTime, generation: Int)] = [:]
    private var generation = 0
    /// Calls sent and not yet answered, per endpoint.
    private var callsOut: [String: Int] = [:]
    /// Bybit's limits are per second: an unreported reset means the current window ends 1 s after it began.
    static let windowMilliseconds: Int64 = 1_000
    /// A request rejected by the rate limit is retried this many times at most.
    public let maxRateLimitRetries = 3
    private var bannedUntil: LocalTime?
    /// Calls refused locally because of a ban, and waits for rate-limit resets (for health reports).
    public private(set) var refusedWhileBanned = 0
    public private(set) var rateLimitWaits = 0

    /// The HTTP client of every Bybit REST call in the process (never shut down, like `HTTPClient.shared`, whose
    /// browser-like settings are wrong here): no redirect is followed (a redirected create would be posted again), and
    /// an answer whose bytes stop for 10 s fails (the shared client reads on for 90 s after the head, and the live node
    /// sends one call at a time per lane: every command queued behind it would wait).
    public static let sharedHTTP = httpClient(readTimeout: readTimeout)

    /// How long the shared client waits for an answer's next bytes.
    public static let readTimeout: Duration = .seconds(10)
    /// How long one attempt of a call may take in all (the default `timeout`): what a create with a send deadline
    /// holds its sender lane at most. A call without a deadline (a cancel) can hold its lane longer: a rate-limit
    /// refusal (10006) waits for the window's reset and asks again.
    public static let requestTimeout: Duration = .seconds(10)

    /// An HTTP client with the shared one's settings and another read timeout (the caller shuts it down, or keeps it
    /// for the process as the shared one is kept).
    public static func httpClient(readTimeout: Duration) -> HTTPClient {
        HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                   configuration: HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                           timeout: HTTPClient.Configuration.Timeout(connect: .seconds(10),
                                                                                                     read: .nanoseconds(readTimeout.nanoseconds))))
    }

    /// - Parameter http: ``sharedHTTP`` unless a test needs other timeouts (the caller then shuts its client down).
    public init(baseURL: String, credentials: BybitCredentials?, recvWindow: Int = BybitSigner.defaultRecvWindow,
                headroom: Int = BybitRateLimitHeaders.defaultHeadroom, banDuration: Duration = .seconds(600), timeout: Duration = BybitRESTClient.requestTimeout,
                clock: any WallClock = SystemWallClock(), timer: any TaskClock = ContinuousTaskClock(),
                http: HTTPClient = BybitRESTClient.sharedHTTP, logger: Logger) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.signer = credentials.map(BybitSigner.init(credentials:))
        self.recvWindow = recvWindow
        self.headroom = headroom
        self.banDuration = banDuration
        self.timeout = timeout
        self.clock = clock
        self.timer = timer
        self.logger = logger
        self.http = http
    }

    /// Measures the server-time offset from `/v5/market/time` (midpoint of send and receive).
    @discardableResult
    public func synchronizeTime() async throws(BybitClientError) -> Int64 {
        let sent = clock.now()
        let response = try await send(BybitRequest.marketTime(), as: BybitServerTime.self, allowTimeResync: false)
        let received = clock.now()
        guard let server = response.result else { throw .rest(.decode(endpoint: "/v5/market/time", .missingField("result"))) }
        let midpoint = (sent.nanoseconds + received.nanoseconds) / 2 / 1_000_000
        serverOffsetMilliseconds = server.nanoseconds / 1_000_000 - midpoint
        offsetMeasuredAt = timer.instant()
        return serverOffsetMilliseconds
    }

    /// Sends `count` public `GET /v5/market/time` calls at once and returns how many failed (never throws: the next
    /// round tries again). Over HTTP/1.1 each call takes a connection of its own, so the HTTP client then holds `count`
    /// connections to Bybit open and just used (``BybitGateway``'s keep-warm); over HTTP/2 they share one. Each call is
    /// tried once, for at most `timeout` (no retry: a round that cannot reach Bybit must not hold connections past the
    /// next one), and none is sent while an IP ban lasts. The answers are not used: the server-time offset is measured
    /// by ``synchronizeTime()`` alone.
    @discardableResult
    public func warmConnections(_ count: Int, timeout: Duration = .seconds(2)) async -> Int {
        if let until = bannedUntil, clock.now() < until { return count }
        return await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<count {
                group.addTask { await self.warmOnce(timeout: timeout) }
            }
            var failed = 0
            for await answered in group where !answered { failed += 1 }
            return failed
        }
    }

    private func warmOnce(timeout: Duration) async -> Bool {
        let status = (try? await execute(BybitRequest.marketTime(), timeout: timeout))?.status
        if status == 403 { _ = banned(by: "/v5/market/time") }
        return status == 200
    }

    /// Bybit answered HTTP 403 on `path`: an IP ban, which stops every REST call but taking risk off for `banDuration`.
    private func banned(by path: String) -> LocalTime {
        let until = LocalTime(nanoseconds: clock.now().nanoseconds + banDuration.nanoseconds)
        bannedUntil = until
        logger.critical("ALERT: Bybit answered HTTP 403 (IP ban): all REST calls stop", metadata: ["until": "\(until)", "endpoint": "\(path)"])
        return until
    }

    /// Sends `request` and decodes its `result` as `R`, applying the rules in the type's documentation.
    /// - Parameter notAfter: for a create or amend, the latest local time it may leave at (decided at T, it must not
    ///   reach the book after a long rate-limit wait still at T's price).
    public func send<R: Decodable & Sendable>(_ request: BybitRequest, as: R.Type,
                                              notAfter: LocalTime? = nil) async throws(BybitClientError) -> BybitResponse<R> {
        try await send(request, as: R.self, allowTimeResync: true, notAfter: notAfter)
    }

    private func send<R: Decodable & Sendable>(_ request: BybitRequest, as: R.Type, allowTimeResync: Bool,
                                               notAfter: LocalTime? = nil) async throws(BybitClientError) -> BybitResponse<R> {
        // Known when the request was built from typed parameters; a body given as text is parsed (off the trading path).
        if request.operation == .create && (request.ordersWithoutLinkId ?? Self.ordersWithoutLinkId(request.body)) > 0 {
            throw .missingOrderLinkId
        }
        let placesOrder = request.operation == .create || request.operation == .amend
        var transportFailures = 0
        var rateLimitRetries = 0
        var resynced = !allowTimeResync
        // Taking risk off (cancels, reduce-only closes, trading stops) never waits for our own reserve.
        let reducesRisk = request.operation == .cancel || request.operation == .cancelAll || request.path == "/v5/position/trading-stop"
            || (request.operation == .create && request.body.contains("\"reduceOnly\":true"))
        while true {
            // A ban refuses locally everything but taking risk off: a cancel still goes out (Bybit may refuse it;
            // holding it back for ten minutes would leave the orders on the book).
            if !reducesRisk { try checkBan() }
            if placesOrder, !reducesRisk, let notAfter, clock.now() >= notAfter { throw .stale("the order's deadline passed before it was sent") }
            if !reducesRisk {
                if placesOrder, let notAfter, let wait = budgetWaitMilliseconds(request.path, weight: request.weight),
                   clock.now().nanoseconds + wait * 1_000_000 > notAfter.nanoseconds {
                    throw .stale("the rate-limit wait (\(wait) ms) would pass the order's deadline")
                }
                await waitForBudget(request.path, weight: request.weight)
            }
            let answer: (status: Int, headers: [(String, String)], body: [UInt8])
            do {
                answer = try await execute(request)
            } catch {
                if request.operation.isMutating { throw error }
                transportFailures += 1
                if transportFailures >= 3 { throw error }
                try? await timer.sleep(for: .milliseconds(200 * transportFailures))
                continue
            }
            if let limit = BybitRateLimitHeaders(headers: answer.headers) { record(limit, for: request.path) }
            if answer.status == 429, rateLimitRetries < maxRateLimitRetries {
                // Bybit's system-level protection: back off one window and try again (the request was refused).
                if placesOrder, !reducesRisk, let notAfter,
                   clock.now().nanoseconds + Self.windowMilliseconds * 1_000_000 > notAfter.nanoseconds {
                    throw .stale("HTTP 429: the back-off would pass the order's deadline")
                }
                rateLimitRetries += 1
                rateLimitWaits += 1
                try? await timer.sleep(for: .milliseconds(Self.windowMilliseconds))
                continue
            }
            if answer.status == 403 { throw .ipBanned(until: banned(by: request.path)) }
            let validated: BybitResponse<R>
            do throws(BybitRESTError) {
                validated = try BybitResponse<R>.validated(body: answer.body, httpStatus: answer.status, headers: answer.headers,
                                                           request: request)
            } catch {
                // A read-only query that met a server failure (5xx, 10000/10016) is asked again with backoff; a
                // state-changing call never is (its outcome is unknown: see BybitClientError.outcome).
                if !request.operation.isMutating, transportFailures < 2, Self.isTransientServerFailure(error) {
                    transportFailures += 1
                    try? await timer.sleep(for: .milliseconds(200 * transportFailures))
                    continue
                }
                if case let .api(apiError) = error {
                    switch apiError.meaning {
                    case .rateLimited where rateLimitRetries < maxRateLimitRetries:
                        let resetMs = apiError.rateLimitResetTime?.milliseconds
                            ?? (clock.now().nanoseconds / 1_000_000 + serverOffsetMilliseconds + 1_000)
                        if placesOrder, !reducesRisk, let notAfter, (resetMs - serverOffsetMilliseconds) * 1_000_000 > notAfter.nanoseconds {
                            throw .stale("Bybit's rate limit resets after the order's deadline")
                        }
                        rateLimitRetries += 1
                        rateLimitWaits += 1
                        let seen = limits[request.path]?.generation
                        await sleepUntilServerTime(resetMs)
                        forget(request.path, generation: seen)   // that window is over
                        continue
                    case .timestampOutOfWindow where !resynced:
                        resynced = true
                        if placesOrder {
                            // Never re-stamped: the refusal goes back now, and the offset is re-measured behind it
                            // for the next decision.
                            Task { _ = try? await self.synchronizeTime() }
                            break
                        }
                        _ = try? await synchronizeTime()
                        continue
                    default:
                        break
                    }
                }
                throw .rest(error)
            }
            if request.operation == .cancelAll, let result = validated.result as? BybitCancelAllResult, result.success == false {
                throw .cancelAllNotConfirmed(cancelled: result.list.count)
            }
            return validated
        }
    }

    static func isTransientServerFailure(_ error: BybitRESTError) -> Bool {
        switch error {
        case let .http(status, _, _): status >= 500
        case let .api(e): e.meaning == .serverError      // 10000/10016 on a read-only call
        case .decode: false
        }
    }

    private func checkBan() throws(BybitClientError) {
        guard let until = bannedUntil else { return }
        if clock.now() < until {
            refusedWhileBanned += 1
            throw .ipBanned(until: until)
        }
        bannedUntil = nil
    }

    /// When the endpoint's window ends (server ms), when its remaining budget, less what the calls out and this call
    /// (`weight`: a batch spends one per order) will spend, would fall to `headroom` or below; nil when no wait is due.
    /// Bybit reports a future reset only once the limit was exceeded; otherwise the window is taken to end one second
    /// after the response that reported the low budget.
    /// Each path has a budget of its own (`create-batch` apart from `create`): Bybit lists their limits separately; that
    /// they are not one shared budget is our reading.
    private func budgetReset(_ path: String, weight: Int) -> Int64? {
        // Calls out on the endpoint (the other lane's) will spend their weight of what the last answer left.
        guard let (limit, seenAt, _) = limits[path], let remaining = limit.remaining,
              remaining - callsOut[path, default: 0] - (weight - 1) <= headroom else { return nil }
        let windowEnd = seenAt.nanoseconds / 1_000_000 + serverOffsetMilliseconds + Self.windowMilliseconds
        return max(limit.resetTime?.milliseconds ?? 0, windowEnd)
    }

    /// How long ``waitForBudget(_:weight:)`` would wait (ms), nil when it would not (capped as the sleep is).
    private func budgetWaitMilliseconds(_ path: String, weight: Int) -> Int64? {
        budgetReset(path, weight: weight).map { max(0, min($0 - serverOffsetMilliseconds - clock.now().nanoseconds / 1_000_000, 60_000)) }
    }

    /// Waits for the endpoint's window to end when its remaining budget is at or below `headroom`.
    private func waitForBudget(_ path: String, weight: Int) async {
        guard let resetMs = budgetReset(path, weight: weight) else { return }
        rateLimitWaits += 1
        let seen = limits[path]?.generation
        await sleepUntilServerTime(resetMs)
        forget(path, generation: seen)
    }

    /// The endpoint's budget as an answer reports it. Two calls on one endpoint (the live sender's two lanes) can be
    /// answered out of order: within one window the lower remaining is the later count, and its record is kept as it
    /// is (it ends one window after it was seen, so a low count never outlives its window).
    private func record(_ limit: BybitRateLimitHeaders, for path: String) {
        let now = clock.now()
        if let (known, seenAt, _) = limits[path], now.nanoseconds - seenAt.nanoseconds < Self.windowMilliseconds * 1_000_000,
           let was = known.remaining, let reported = limit.remaining, reported > was {
            return
        }
        generation += 1
        limits[path] = (limit, now, generation)
    }

    /// The window a wait was for is over: its record goes, unless an answer (the other lane's) recorded a newer one
    /// meanwhile.
    private func forget(_ path: String, generation: Int?) {
        if limits[path]?.generation == generation { limits[path] = nil }
    }

    private func sleepUntilServerTime(_ serverMs: Int64) async {
        let localMs = serverMs - serverOffsetMilliseconds
        let waitMs = localMs - clock.now().nanoseconds / 1_000_000
        // Bounded: a bogus reset far in the future must not stall the client forever.
        if waitMs > 0 { try? await timer.sleep(for: .milliseconds(min(waitMs, 60_000))) }
    }

    private func execute(_ request: BybitRequest, timeout: Duration? = nil) async throws(BybitClientError) -> (status: Int, headers: [(String, String)], body: [UInt8]) {
        // Out until answered or failed (the other lane's calls read it against the headroom).
        callsOut[request.path, default: 0] += request.weight
        defer { callsOut[request.path, default: request.weight] -= request.weight }
        let url = baseURL + request.path + (request.method == .get && !request.queryString.isEmpty ? "?" + request.queryString : "")
        var http = HTTPClientRequest(url: url)
        http.method = request.method == .get ? .GET : .POST
        http.headers.add(name: "User-Agent", value: "cascade")
        if request.isSigned {
            guard let signer else { throw .missingCredentials }
            let timestamp = clock.now().nanoseconds / 1_000_000 + serverOffsetMilliseconds
            for h in signer.headers(for: request, timestamp: timestamp, recvWindow: recvWindow) {
                http.headers.add(name: h.name, value: h.value)
            }
        } else if request.method == .post {
            http.headers.add(name: "Content-Type", value: "application/json")
        }
        if request.method == .post {
            // The signature covers exactly these bytes (the body's UTF-8, copied once into the buffer).
            http.body = .bytes(ByteBuffer(string: request.body))
        }
        do {
            let response = try await self.http.execute(http, timeout: .nanoseconds((timeout ?? self.timeout).nanoseconds))
            var body = try await response.body.collect(upTo: 16 << 20)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            return (Int(response.status.code), response.headers.map { ($0.name, $0.value) }, bytes)
        } catch {
            throw .transport("\(error)", outcomeUnknown: request.operation.isMutating)
        }
    }

    /// Orders of a create body (one order, or a batch's `request` items) that carry no `orderLinkId`.
    static func ordersWithoutLinkId(_ body: String) -> Int {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] else { return 1 }
        let items = (object["request"] as? [[String: Any]]) ?? [object]
        return items.filter { ($0["orderLinkId"] as? String)?.isEmpty ?? true }.count
    }
}
