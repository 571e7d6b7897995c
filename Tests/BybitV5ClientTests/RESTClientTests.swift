import AsyncHTTPClient
import BybitV5
import BybitV5Client
import CascadeCore
import CascadeTesting
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Synchronization
import Testing

/// A loopback server that checks signatures over the exact bytes received and plays Bybit's error answers.
struct FakeBybitREST {
    static let apiKey = "test-key"
    static let secret = "test-secret"
    let port: Int
    let task: Task<Void, any Error>
    let hits: HitCounter
    /// Releases the one `/v5/test/budget` answer being held.
    let held: WakeupSignal

    /// `serverSkewMs` shifts the server clock; `script` answers special paths.
    static func start(serverSkewMs: Int64 = 0) async throws -> FakeBybitREST {
        let hits = HitCounter()
        let held = WakeupSignal()
        let router = Router()
        let clock = SystemWallClock()
        @Sendable func serverMs() -> Int64 { clock.now().nanoseconds / 1_000_000 + serverSkewMs }
        @Sendable func envelope(_ code: Int, _ msg: String, _ result: String = "{}") -> String {
            #"{"retCode":\#(code),"retMsg":"\#(msg)","result":\#(result),"retExtInfo":{},"time":\#(serverMs())}"#
        }
        @Sendable func json(_ body: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
            var h = headers
            h[.contentType] = "application/json"
            return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        /// Verifies X-BAPI-* headers against the raw payload; returns an error envelope or nil.
        @Sendable func verify(_ request: Request, payload: String) -> String? {
            guard let key = request.headers[HTTPField.Name("X-BAPI-API-KEY")!], key == apiKey,
                  let ts = request.headers[HTTPField.Name("X-BAPI-TIMESTAMP")!], let timestamp = Int64(ts),
                  let window = request.headers[HTTPField.Name("X-BAPI-RECV-WINDOW")!],
                  let sign = request.headers[HTTPField.Name("X-BAPI-SIGN")!] else { return envelope(10003, "API key is invalid.") }
            let mac = HMAC<SHA256>.authenticationCode(for: Data((ts + key + window + payload).utf8), using: SymmetricKey(data: Data(secret.utf8)))
            let expected = mac.map { String(format: "%02x", $0) }.joined()
            guard expected == sign else { return envelope(10004, "error sign!") }
            guard abs(timestamp - serverMs()) <= Int64(window) ?? 0 else {
                return envelope(10002, "invalid request, please check your server timestamp or recv_window param")
            }
            return nil
        }
        @Sendable func count(_ path: String) -> Int { hits.count(path) }

        router.get("/v5/market/time") { _, _ in
            let ns = serverMs() * 1_000_000
            return json(envelope(0, "OK", #"{"timeSecond":"\#(ns / 1_000_000_000)","timeNano":"\#(ns)"}"#))
        }
        router.post("/v5/order/create") { request, _ in
            _ = count("/v5/order/create")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            if let error = verify(request, payload: body) { return json(error) }
            if body.contains(#""orderLinkId":"dup-1""#) { return json(envelope(110072, "OrderLinkedID is duplicate")) }
            // A proxy's redirect: a client that follows it posts the create again, there.
            if body.contains(#""orderLinkId":"redirect-1""#) {
                return Response(status: .temporaryRedirect, headers: [.location: "/v5/order/create-again"])
            }
            // The head and the first bytes, then nothing until the connection goes.
            if body.contains(#""orderLinkId":"stall-1""#) {
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: #"{"retCode":0,"#))
                    await WakeupSignal().wait()
                    try await writer.finish(nil)
                })
            }
            return json(envelope(0, "OK", #"{"orderId":"o-1","orderLinkId":"link-1"}"#))
        }
        router.post("/v5/order/create-again") { _, _ in
            _ = count("/v5/order/create-again")
            return json(envelope(0, "OK", #"{"orderId":"o-2","orderLinkId":"redirect-1"}"#))
        }
        router.post("/v5/order/cancel") { request, _ in
            _ = count("/v5/order/cancel")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            if let error = verify(request, payload: body) { return json(error) }
            return json(envelope(110001, "order not exists or too late to cancel"))
        }
        router.get("/v5/order/realtime") { request, _ in
            let n = count("/v5/order/realtime")
            if let error = verify(request, payload: request.uri.query ?? "") { return json(error) }
            if n == 1 {
                // Rejected by the rate limit; the window resets 3 s from now (far enough that a loaded machine's delay
                // between the answer and the client reading its clock stays well inside the test's bounds).
                return json(envelope(10006, "Too many visits!"), headers: [
                    HTTPField.Name("X-Bapi-Limit-Status")!: "0", HTTPField.Name("X-Bapi-Limit")!: "10",
                    HTTPField.Name("X-Bapi-Limit-Reset-Timestamp")!: "\(serverMs() + 3_000)"])
            }
            return json(envelope(0, "OK", #"{"list":[],"nextPageCursor":"","category":"linear"}"#))
        }
        router.get("/v5/position/list") { request, _ in
            let n = count("/v5/position/list")
            if let error = verify(request, payload: request.uri.query ?? "") { return json(error) }
            // Budget nearly spent: the client must wait for the reset before the next call.
            return json(envelope(0, "OK", #"{"list":[],"nextPageCursor":"","category":"linear"}"#), headers: [
                HTTPField.Name("X-Bapi-Limit-Status")!: n == 1 ? "1" : "9", HTTPField.Name("X-Bapi-Limit")!: "10",
                HTTPField.Name("X-Bapi-Limit-Reset-Timestamp")!: "\(serverMs() + 400)"])
        }
        // Ambiguous answers (client review row 6): a gateway error page on amend, an unreadable 200 on a batch
        // create, a 10016 on a query that succeeds when asked again.
        router.post("/v5/order/amend") { _, _ in
            _ = count("/v5/order/amend")
            return Response(status: .badGateway, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>502</html>")))
        }
        router.post("/v5/order/create-batch") { request, _ in
            _ = count("/v5/order/create-batch")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            if let error = verify(request, payload: body) { return json(error) }
            return json(##"{"retCode":0,"retMsg":"OK","result":{"list":[{"orderId":"##)   // cut off
        }
        // Accepts and reports the remaining budget the body names (`"remaining-N"`); a body naming `hold` is answered
        // once the test releases it.
        router.post("/v5/test/budget") { request, _ in
            _ = count("/v5/test/budget")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            if let error = verify(request, payload: body) { return json(error) }
            if body.contains("hold") { await held.wait() }
            let remaining = body.split(separator: "remaining-").dropFirst().first.map { String($0.prefix { $0.isNumber }) } ?? "9"
            // No reset time (Bybit reports a future one only past the limit): the window is the client's 1 s from the
            // answer, on the test's manual clock.
            return json(envelope(0, "OK", #"{"orderId":"o-7","orderLinkId":"link-7"}"#), headers: [
                HTTPField.Name("X-Bapi-Limit-Status")!: remaining, HTTPField.Name("X-Bapi-Limit")!: "10"])
        }
        // Accepts, and reports the endpoint's budget nearly spent until a reset 5 s away.
        router.post("/v5/test/low-budget") { request, _ in
            _ = count("/v5/test/low-budget")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            if let error = verify(request, payload: body) { return json(error) }
            return json(envelope(0, "OK", #"{"orderId":"o-9","orderLinkId":"link-9"}"#), headers: [
                HTTPField.Name("X-Bapi-Limit-Status")!: "1", HTTPField.Name("X-Bapi-Limit")!: "10",
                HTTPField.Name("X-Bapi-Limit-Reset-Timestamp")!: "\(serverMs() + 5_000)"])
        }
        router.post("/v5/order/cancel-all") { request, _ in
            _ = count("/v5/order/cancel-all")
            let body = String(buffer: try await request.body.collect(upTo: 1 << 20))
            if let error = verify(request, payload: body) { return json(error) }
            return json(envelope(0, "OK", #"{"list":[{"orderId":"o-1","orderLinkId":"link-1"}],"success":"0"}"#))
        }
        router.get("/v5/order/history") { request, _ in
            let n = count("/v5/order/history")
            if let error = verify(request, payload: request.uri.query ?? "") { return json(error) }
            if n == 1 { return json(envelope(10016, "Internal server error.")) }
            return json(envelope(0, "OK", #"{"list":[],"nextPageCursor":"","category":"linear"}"#))
        }
        router.get("/v5/account/wallet-balance") { _, _ in
            _ = count("/v5/account/wallet-balance")
            return Response(status: .forbidden, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html>403</html>")))
        }
        let (port, task) = await startLoopbackServer(router, label: "fake-bybit")
        return FakeBybitREST(port: port, task: task, hits: hits, held: held)
    }

    var url: String { "http://127.0.0.1:\(port)" }
    func hits(_ path: String) -> Int { hits.value(path) }
}

/// Requests per path seen by the fake server.
final class HitCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    private let order = Mutex<[String]>([])
    func count(_ path: String) -> Int {
        order.withLock { $0.append(path) }
        return counts.withLock { $0[path, default: 0] += 1; return $0[path]! }
    }
    /// Every path counted, in arrival order.
    var sequence: [String] { order.withLock { $0 } }
    func value(_ path: String) -> Int { counts.withLock { $0[path, default: 0] } }
}

@Suite(.serialized) struct RESTClientTests {
    func client(_ server: FakeBybitREST, secret: String = FakeBybitREST.secret, recvWindow: Int = LoopbackTest.recvWindow,
                clock: any WallClock = SystemWallClock(), timer: any TaskClock = ContinuousTaskClock()) -> BybitRESTClient {
        var logger = Logger(label: "rest-test")
        logger.logLevel = .critical
        return BybitRESTClient(baseURL: server.url, credentials: BybitCredentials(apiKey: FakeBybitREST.apiKey, secret: secret),
                               recvWindow: recvWindow, clock: clock, timer: timer, logger: logger)
    }

    static let createBody = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"60000","timeInForce":"PostOnly","orderLinkId":"link-1"}"#

    @Test func signedPostIsAcceptedByAServerThatVerifiesTheExactBytes() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        let response = try await rest.send(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create),
                                           as: BybitOrderIDResult.self)
        #expect(response.result?.orderId == "o-1")
    }

    @Test func wrongSecretIsATypedAuthenticationError() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server, secret: "not-the-secret")
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create),
                                    as: BybitOrderIDResult.self)
            Issue.record("accepted a bad signature")
        } catch {
            guard case .authentication? = error.meaning else { Issue.record("\(error)"); return }
        }
    }

    @Test func serverClockSkewIsMeasuredAndUsedForTimestamps() async throws {
        let server = try await FakeBybitREST.start(serverSkewMs: 20_000)   // 20 s ahead: outside a 5 s window
        defer { server.task.cancel() }
        let rest = client(server, recvWindow: 5_000)
        // Without a measured offset the first attempt is refused with 10002. The client re-measures, but an order is
        // never re-stamped (10002 is also Bybit's staleness guard): the refusal goes back, definite (row 7).
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("a create was re-stamped after 10002")
        } catch {
            #expect(error.meaning == .timestampOutOfWindow && error.outcome == .notApplied, "\(error)")
        }
        #expect(server.hits("/v5/order/create") == 1)
        // The offset is re-measured behind the refusal.
        #expect(await eventually { abs(await rest.serverOffsetMilliseconds - 20_000) < 1_000 })
        // The next decision goes out with the fresh offset.
        let response = try await rest.send(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create),
                                           as: BybitOrderIDResult.self)
        #expect(response.result?.orderLinkId == "link-1")
        #expect(server.hits("/v5/order/create") == 2)
    }

    @Test func cancelOfAGoneOrderMeansQueryIt() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/cancel", body: #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"link-1"}"#,
                                                 operation: .cancel), as: BybitOrderIDResult.self)
            Issue.record("cancel succeeded")
        } catch {
            #expect(error.meaning == .orderAlreadyGone)
            #expect(error.meaning?.requiresOrderQuery == true)
        }
    }

    @Test func rateLimitedRequestWaitsUntilTheResetThenSucceeds() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let timer = ManualClock()
        let rest = client(server, timer: timer)
        let request = BybitRequest(get: "/v5/order/realtime", query: [.init(name: "category", value: "linear")], isSigned: true)
        let call = Task { try await rest.send(request, as: BybitEmptyResult.self) }
        // Refused with a reset 3 s ahead: the client sleeps on the clock until then and sends nothing meanwhile.
        await timer.waitForSleepers(1)
        let wait = try #require(timer.nextDeadline) - timer.instant()
        #expect(wait > .milliseconds(2_000) && wait <= .milliseconds(3_000))
        #expect(server.hits("/v5/order/realtime") == 1)
        timer.advance(by: wait)
        _ = try await call.value
        #expect(server.hits("/v5/order/realtime") == 2)
        #expect(await rest.rateLimitWaits == 1)
    }

    @Test func lowRemainingBudgetWaitsForTheWindowReset() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        // The wall clock stands still too (at the real time, which the fake's reset header is stamped in): the 1 s
        // window is then measured from the response exactly, however slowly a loaded machine runs the test.
        let (timer, rest) = budgetClient(server)
        let request = BybitRequest(get: "/v5/position/list", query: [.init(name: "category", value: "linear")], isSigned: true)
        _ = try await rest.send(request, as: BybitEmptyResult.self)   // leaves remaining = 1 ≤ headroom 2
        let call = Task { try await rest.send(request, as: BybitEmptyResult.self) }
        await timer.waitForSleepers(1)
        let wait = try #require(timer.nextDeadline) - timer.instant()
        // The reported reset is 400 ms ahead, but an unreported window ends 1 s after the response: the later one.
        #expect(wait > .milliseconds(900) && wait <= .milliseconds(1_000))
        #expect(server.hits("/v5/position/list") == 1)
        timer.advance(by: wait)
        _ = try await call.value
        #expect(server.hits("/v5/position/list") == 2)
    }

    @Test func http403BlocksEveryRESTCallWithoutContactingBybit() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        let request = BybitRequest(get: "/v5/account/wallet-balance", query: [.init(name: "accountType", value: "UNIFIED")], isSigned: true)
        for _ in 0..<3 {
            do {
                _ = try await rest.send(request, as: BybitEmptyResult.self)
                Issue.record("403 not reported")
            } catch {
                guard case .ipBanned = error else { Issue.record("\(error)"); return }
            }
        }
        #expect(server.hits("/v5/account/wallet-balance") == 1)
        #expect(await rest.refusedWhileBanned == 2)
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("create went through a ban")
        } catch {
            guard case .ipBanned = error else { Issue.record("\(error)"); return }
        }
        #expect(server.hits("/v5/order/create") == 0)
        // Taking risk off is never refused locally (client review row 14): the cancel still goes to Bybit, which
        // answers it (here: the order is already gone).
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/cancel", body: #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"link-1"}"#,
                                                 operation: .cancel), as: BybitOrderIDResult.self)
            Issue.record("the fake answers every cancel with 110001")
        } catch {
            #expect(error.meaning == .orderAlreadyGone, "\(error)")
        }
        #expect(server.hits("/v5/order/cancel") == 1)
    }

    @Test func createWithoutOrderLinkIdIsRefusedBeforeSending() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        let body = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.001"}"#
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create", body: body, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("sent an order that could not be found again")
        } catch {
            guard case .missingOrderLinkId = error else { Issue.record("\(error)"); return }
        }
        #expect(server.hits("/v5/order/create") == 0)
    }

    /// A create built from typed parameters carries its count of orders without an `orderLinkId` (the client no
    /// longer parses its body, which cost more than the whole decision before it): without one it is refused unsent,
    /// for a single create and for a batch with one order missing it; with one it goes.
    @Test func typedCreatesWithoutOrderLinkIdAreRefusedBeforeSending() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        var table = InstrumentTable()
        let id = table.id(for: "BTCUSDT")   // apart: the subscript would read the table before `id(for:)` registers it
        let btc = table[id]
        let qty = Quantity(units: 1_000)
        let bare = try BybitRequest.createOrder(instrument: btc, side: .buy, orderType: .market, qty: qty)
        let batch = try BybitRequest.createBatch([BybitOrderParameters(instrument: btc, side: .buy, orderType: .market, qty: qty, orderLinkId: "b1"),
                                                  BybitOrderParameters(instrument: btc, side: .buy, orderType: .market, qty: qty)])
        #expect(bare.ordersWithoutLinkId == 1 && batch.ordersWithoutLinkId == 1)
        for request in [bare, batch] {
            do {
                _ = try await rest.send(request, as: BybitOrderIDResult.self)
                Issue.record("sent an order that could not be found again: \(request.body)")
            } catch {
                guard case .missingOrderLinkId = error else { Issue.record("\(error)"); continue }
            }
        }
        #expect(server.hits("/v5/order/create") == 0 && server.hits("/v5/order/create-batch") == 0)
        let linked = try BybitRequest.createOrder(instrument: btc, side: .buy, orderType: .market, qty: qty, orderLinkId: "linked-1")
        #expect(linked.ordersWithoutLinkId == 0)
        _ = try? await rest.send(linked, as: BybitOrderIDResult.self)
        #expect(server.hits("/v5/order/create") == 1, "a create with its orderLinkId goes")
    }

    /// An amend answered by a 502 page may have been applied: its outcome is unknown, not a rejection (row 6).
    @Test func a5xxOnAnAmendIsOutcomeUnknown() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/amend", body: #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"link-1","qty":"0.002"}"#,
                                                 operation: .amend), as: BybitOrderIDResult.self)
            Issue.record("no error")
        } catch {
            #expect(error.outcome == .unknown, "\(error)")
        }
        #expect(server.hits("/v5/order/amend") == 1)     // a mutating call is never resent
    }

    /// A 200 whose body cannot be read, on a create: Bybit may have accepted the orders (row 6).
    @Test func anUnreadable200OnACreateIsOutcomeUnknown() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        let body = #"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"60000","orderLinkId":"link-2"}]}"#
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create-batch", body: body, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("no error")
        } catch {
            #expect(error.outcome == .unknown, "\(error)")
        }
    }

    /// A bad signature changed nothing. A duplicate orderLinkId (the first order may be live) and a cancel of a gone
    /// order (it may have filled) leave the order to be queried: unknown, never a plain refusal.
    @Test func refusalsAndOrdersToQuery() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        func outcome(_ request: BybitRequest, secret: String = FakeBybitREST.secret) async -> BybitClientError.Outcome? {
            do {
                _ = try await client(server, secret: secret).send(request, as: BybitOrderIDResult.self)
                Issue.record("\(request.path) succeeded")
                return nil
            } catch { return error.outcome }
        }
        #expect(await outcome(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create), secret: "wrong") == .notApplied)
        let duplicate = Self.createBody.replacingOccurrences(of: "link-1", with: "dup-1")
        #expect(await outcome(BybitRequest(post: "/v5/order/create", body: duplicate, operation: .create)) == .unknown)
        #expect(await outcome(BybitRequest(post: "/v5/order/cancel", body: #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"link-1"}"#,
                                           operation: .cancel)) == .unknown)
    }

    /// A create on the fake's `/v5/test/budget` route; `marker` names the remaining budget it answers (and `hold`).
    /// A client of `server` on one manual clock, wall and timer alike (the budget tests' windows run on it).
    func budgetClient(_ server: FakeBybitREST) -> (ManualClock, BybitRESTClient) {
        let timer = ManualClock(startingAt: SystemWallClock().now().nanoseconds)
        return (timer, client(server, clock: timer, timer: timer))
    }

    /// Waits until the call just started has either gone to the budget route (`hits` reached) or is asleep for its
    /// window, whichever comes first.
    func budgetCallSettles(_ server: FakeBybitREST, _ timer: ManualClock, hits: Int) async {
        #expect(await eventually { timer.sleeperCount == 1 || server.hits("/v5/test/budget") == hits })
    }

    static func budgetCall(_ marker: String, reduceOnly: Bool = false) -> BybitRequest {
        BybitRequest(post: "/v5/test/budget", body: #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"60000",\#(reduceOnly ? #""reduceOnly":true,"# : "")"orderLinkId":"\#(marker)"}"#,
                     operation: .create)
    }

    /// The live sender's two lanes can both be on one endpoint: a call still out counts against the headroom. The
    /// first answer leaves 3 of the budget; a reduce-only create (which never waits) is out, its answer held; a create
    /// that adds risk then sees 3 − 1 out ≤ headroom 2 and waits for the window instead of spending the reserve.
    @Test func aCallStillOutCountsAgainstTheHeadroom() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let (timer, rest) = budgetClient(server)
        _ = try await rest.send(Self.budgetCall("remaining-3"), as: BybitOrderIDResult.self)
        let exit = Self.budgetCall("hold-remaining-2", reduceOnly: true)
        let out = Task { try await rest.send(exit, as: BybitOrderIDResult.self) }
        #expect(await eventually { server.hits("/v5/test/budget") == 2 }, "the reduce-only create is out")
        let entry = Task { try await rest.send(Self.budgetCall("remaining-1"), as: BybitOrderIDResult.self) }
        // Whichever comes first: the client sleeps for the window (it counted the call out), or it sends.
        await budgetCallSettles(server, timer, hits: 3)
        #expect(timer.sleeperCount == 1 && server.hits("/v5/test/budget") == 2, "the create waits for the window")
        server.held.signal()
        _ = try await out.value
        timer.advance(by: .seconds(1))
        _ = try await entry.value
        #expect(server.hits("/v5/test/budget") == 3)
    }

    /// Bybit counts a batch per order: a batch of 4 after an answer that left 5 would leave 1, under the headroom of 2,
    /// so it waits for the window; a batch of 3 (2 left) goes at once. Counted as one call, the batch of 4 went.
    @Test func aBatchSpendsOneOfTheBudgetPerOrder() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let (timer, rest) = budgetClient(server)
        func batch(_ marker: String, orders: Int) -> BybitRequest {
            let call = Self.budgetCall(marker)
            return BybitRequest(post: call.path, body: call.body, operation: .create, ordersWithoutLinkId: 0, weight: orders)
        }
        _ = try await rest.send(Self.budgetCall("remaining-5"), as: BybitOrderIDResult.self)
        _ = try await rest.send(batch("remaining-5", orders: 3), as: BybitOrderIDResult.self)
        #expect(server.hits("/v5/test/budget") == 2 && timer.sleeperCount == 0, "3 of 5: 2 left, at the headroom's edge, sent")
        let four = Task { try await rest.send(batch("remaining-1", orders: 4), as: BybitOrderIDResult.self) }
        await budgetCallSettles(server, timer, hits: 3)
        #expect(timer.sleeperCount == 1 && server.hits("/v5/test/budget") == 2, "4 of 5 would leave 1: it waits for the window")
        timer.advance(by: .seconds(1))
        _ = try await four.value
        #expect(server.hits("/v5/test/budget") == 3)
    }

    /// Two calls on one endpoint can be answered out of order: an answer that reports more of the budget left than the
    /// count recorded in the same window (it was counted earlier) does not raise it. The held create's answer (3 left)
    /// comes after a later call's (1 left): the next create still waits for the window.
    @Test func anEarlierCountAnsweredLateDoesNotRaiseTheBudget() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let (timer, rest) = budgetClient(server)
        let early = Task { try await rest.send(Self.budgetCall("hold-remaining-3", reduceOnly: true), as: BybitOrderIDResult.self) }
        #expect(await eventually { server.hits("/v5/test/budget") == 1 })
        _ = try await rest.send(Self.budgetCall("remaining-1", reduceOnly: true), as: BybitOrderIDResult.self)
        server.held.signal()
        _ = try await early.value
        let next = Task { try await rest.send(Self.budgetCall("remaining-0"), as: BybitOrderIDResult.self) }
        await budgetCallSettles(server, timer, hits: 3)
        #expect(timer.sleeperCount == 1 && server.hits("/v5/test/budget") == 2, "1 left is the count that holds")
        timer.advance(by: .seconds(1))
        _ = try await next.value
    }

    /// A low count kept over a later, higher one ends with its own window: it is not carried into the next. 1 left at
    /// t, 9 reported at t + 0.9 s (kept: 1 is the later count of that window), and a create at t + 1.1 s goes at once.
    @Test func aKeptLowCountEndsWithItsWindow() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let (timer, rest) = budgetClient(server)
        _ = try await rest.send(Self.budgetCall("remaining-1", reduceOnly: true), as: BybitOrderIDResult.self)
        timer.advance(by: .milliseconds(900))
        _ = try await rest.send(Self.budgetCall("remaining-9", reduceOnly: true), as: BybitOrderIDResult.self)
        timer.advance(by: .milliseconds(200))
        let entry = Task { try await rest.send(Self.budgetCall("remaining-8", reduceOnly: false), as: BybitOrderIDResult.self) }
        await budgetCallSettles(server, timer, hits: 3)
        #expect(timer.sleeperCount == 0 && server.hits("/v5/test/budget") == 3, "the window of the low count is over")
        timer.advance(by: .seconds(1))
        _ = try await entry.value
    }

    /// A create decided now must not leave after its deadline: when the budget wait would pass it, the client refuses
    /// it unsent (definitely not applied) instead of sending it seconds later at a stale price. A cancel never waits
    /// for the headroom (row 7).
    @Test func aCreateThatWouldLeaveAfterItsDeadlineIsNotSent() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let rest = client(server)
        let body = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"60000","orderLinkId":"link-9"}"#
        _ = try await rest.send(BybitRequest(post: "/v5/test/low-budget", body: body, operation: .create), as: BybitOrderIDResult.self)
        let now = SystemWallClock().now()
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/test/low-budget", body: body, operation: .create), as: BybitOrderIDResult.self,
                                    notAfter: LocalTime(nanoseconds: now.nanoseconds + 200_000_000))
            Issue.record("sent after its deadline")
        } catch {
            guard case .stale = error else { Issue.record("\(error)"); return }
            #expect(error.outcome == .notApplied)
        }
        #expect(server.hits("/v5/test/low-budget") == 1)
        // A cancel on the same nearly spent endpoint goes at once (no 5 s wait for our own reserve).
        let start = ContinuousClock.now
        _ = try await rest.send(BybitRequest(post: "/v5/test/low-budget", body: body, operation: .cancel), as: BybitOrderIDResult.self)
        #expect(ContinuousClock.now - start < .seconds(2))
        #expect(server.hits("/v5/test/low-budget") == 2)
    }

    /// retCode 0 with `success:"0"` on a cancel-all is not a clear book: the outcome is unknown (row 16).
    @Test func aCancelAllThatSaysItFailedIsNotASuccess() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        do {
            _ = try await client(server).send(BybitRequest(post: "/v5/order/cancel-all", body: #"{"category":"linear","settleCoin":"USDT","orderFilter":"Order"}"#,
                                                           operation: .cancelAll), as: BybitCancelAllResult.self)
            Issue.record("a failed cancel-all read as success")
        } catch {
            guard case let .cancelAllNotConfirmed(n) = error else { Issue.record("\(error)"); return }
            #expect(n == 1 && error.outcome == .unknown)
        }
    }

    /// A 10016 on a read-only query is a transient server failure: asked again, it succeeds (row 6).
    @Test func a10016OnAQueryIsRetried() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let response = try await client(server).send(BybitRequest.orderHistory(scope: .settleCoin("USDT")), as: BybitOrderListResult.self)
        #expect(response.result != nil)
        #expect(server.hits("/v5/order/history") == 2)
    }

    /// A redirect is never followed: a create answered 307 is posted once, and its outcome is unknown (the shared
    /// HTTP client followed it and posted the create again).
    @Test func aRedirectedCreateIsPostedOnceAndItsOutcomeIsUnknown() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let body = Self.createBody.replacingOccurrences(of: "link-1", with: "redirect-1")
        do {
            _ = try await client(server).send(BybitRequest(post: "/v5/order/create", body: body, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("no error")
        } catch {
            #expect(error.outcome == .unknown, "\(error)")
        }
        #expect(server.hits("/v5/order/create") == 1 && server.hits("/v5/order/create-again") == 0)
    }

    /// An answer whose bytes stop after the head fails at the HTTP client's read timeout (here 1 s; 10 s in
    /// `sharedHTTP`) as a transport error of unknown outcome, instead of holding the caller (the shared client read on
    /// for 90 s).
    @Test func anAnswerThatStallsAfterItsHeadFailsAtTheReadTimeout() async throws {
        let server = try await FakeBybitREST.start()
        defer { server.task.cancel() }
        let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup,
                              configuration: HTTPClient.Configuration(redirectConfiguration: .disallow,
                                                                      timeout: HTTPClient.Configuration.Timeout(connect: .seconds(1), read: .seconds(1))))
        var logger = Logger(label: "rest-test")
        logger.logLevel = .critical
        let rest = BybitRESTClient(baseURL: server.url, credentials: BybitCredentials(apiKey: FakeBybitREST.apiKey, secret: FakeBybitREST.secret),
                                   recvWindow: LoopbackTest.recvWindow, timeout: .seconds(60), http: http, logger: logger)
        let body = Self.createBody.replacingOccurrences(of: "link-1", with: "stall-1")
        let start = ContinuousClock.now
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create", body: body, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("no error")
        } catch {
            guard case let .transport(_, unknown) = error else { Issue.record("\(error)"); return }
            #expect(unknown)
        }
        #expect(ContinuousClock.now - start < .seconds(30), "failed at the read timeout, not the request's 60 s")
        try await http.shutdown()
    }

    /// The keep-warm's round: its calls go at once, each on a connection of its own (a relay counts them; the server
    /// answers none until all three are in, so none can reuse another's connection), and the HTTP client then holds
    /// them: the next round reuses them. The same three calls one after another take one connection.
    @Test func warmingOpensAConnectionPerCall() async throws {
        let s = try await Self.timeServer(answeringOnceArrived: 3)
        defer { s.stop() }
        #expect(await s.rest.warmConnections(3) == 0)
        #expect(s.relay.passed == 3 && s.relay.accepted == 3, "\(s.relay.passed) calls on \(s.relay.accepted) connection(s)")
        #expect(await s.rest.warmConnections(3) == 0)
        #expect(s.relay.passed == 6 && s.relay.accepted == 3, "the second round reuses them: \(s.relay.accepted) connection(s)")

        let one = try await Self.timeServer(answeringOnceArrived: 1)
        defer { one.stop() }
        for _ in 0..<3 { #expect(await one.rest.warmConnections(1) == 0) }
        #expect(one.relay.passed == 3 && one.relay.accepted == 1, "\(one.relay.accepted) connection(s)")
    }

    /// A keep-warm call answered HTTP 403 (an IP ban) bans the client as any call's 403 does: the next round sends
    /// nothing, and neither does a read-only call.
    @Test func aBanSeenByAWarmingCallStopsTheNextRounds() async throws {
        let s = try await Self.timeServer(answeringOnceArrived: 1, status: .forbidden)
        defer { s.stop() }
        #expect(await s.rest.warmConnections(1) == 1)
        #expect(await s.rest.warmConnections(3) == 3)
        do {
            _ = try await s.rest.synchronizeTime()
            Issue.record("no error")
        } catch {
            guard case .ipBanned = error else { Issue.record("\(error)"); return }
        }
        #expect(s.relay.passed == 1, "only the first call reached the server")
    }

    /// A server of `GET /v5/market/time` that holds its answers until `arrivals` calls have come in (then answers
    /// every call at once, with `status`), a relay in front of it counting the calls and connections, and a client
    /// whose calls go through the relay.
    struct TimeServer {
        let rest: BybitRESTClient
        let relay: LoopbackRelay
        let task: Task<Void, any Error>
        func stop() {
            relay.stop()
            task.cancel()
        }
    }

    static func timeServer(answeringOnceArrived arrivals: Int, status: HTTPResponse.Status = .ok) async throws -> TimeServer {
        let gate = ArrivalGate(needed: arrivals)
        let router = Router()
        router.get("/v5/market/time") { _, _ -> Response in
            await gate.arrive()
            let body = #"{"retCode":0,"retMsg":"OK","result":{"timeSecond":"1","timeNano":"1000000000"},"retExtInfo":{},"time":1000}"#
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let (port, task) = await startLoopbackServer(router, label: "time-server")
        let relay: LoopbackRelay
        do { relay = try LoopbackRelay(to: port, marker: "GET /v5/market/time") } catch {
            task.cancel()
            throw error
        }
        var logger = Logger(label: "rest-test")
        logger.logLevel = .critical
        return TimeServer(rest: BybitRESTClient(baseURL: "http://127.0.0.1:\(relay.port)", credentials: nil, logger: logger), relay: relay, task: task)
    }

    /// Suspends each arrival until `needed` have arrived.
    actor ArrivalGate {
        let needed: Int
        var arrived = 0
        var waiting: [CheckedContinuation<Void, Never>] = []
        init(needed: Int) { self.needed = needed }
        func arrive() async {
            arrived += 1
            if arrived >= needed {
                for w in waiting { w.resume() }
                waiting = []
                return
            }
            await withCheckedContinuation { waiting.append($0) }
        }
    }

    @Test func transportFailureOfACreateIsOutcomeUnknownAndNotRetried() async throws {
        // Nothing listens on this port.
        var logger = Logger(label: "rest-test")
        logger.logLevel = .critical
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:1", credentials: BybitCredentials(apiKey: "k", secret: "s"),
                                   timeout: .seconds(1), logger: logger)
        do {
            _ = try await rest.send(BybitRequest(post: "/v5/order/create", body: Self.createBody, operation: .create), as: BybitOrderIDResult.self)
            Issue.record("no error")
        } catch {
            guard case let .transport(_, unknown) = error else { Issue.record("\(error)"); return }
            #expect(unknown && error.outcome == .unknown)
        }
    }
}

/// The recorder's public REST client sends a cursor Bybit returned (already percent-encoded) back verbatim.
@Suite struct PublicRESTEncodingTests {
    @Test func anEncodedCursorGoesBackVerbatim() async throws {
        let seen = Mutex<String?>(nil)
        let router = Router()
        router.get("/v5/market/instruments-info") { request, _ -> Response in
            seen.withLock { $0 = request.uri.query }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: #"{"retCode":0,"retMsg":"OK","result":{},"retExtInfo":{},"time":0}"#)))
        }
        let (port, task) = await startLoopbackServer(router, label: "public-rest")
        defer { task.cancel() }
        let rest = BybitPublicREST(baseURL: "http://127.0.0.1:\(port)")
        _ = try await rest.get("/v5/market/instruments-info", query: [("category", "linear"), ("cursor", "page_token%3D39380%26")],
                               clock: SystemWallClock())
        #expect(seen.withLock { $0 } == "category=linear&cursor=page_token%3D39380%26")
    }
}
