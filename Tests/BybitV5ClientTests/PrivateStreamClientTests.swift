import BybitV5
import BybitV5Client
import CascadeCore
import CascadeTesting
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import Synchronization
import Testing

/// A loopback Bybit private endpoint: verifies the auth signature, acks subscriptions, pushes an execution
/// right after the ack (while the client is still backfilling), answers the backfill REST calls, and can drop
/// every connection.
final class FakePrivateBybit: Sendable {
    static let apiKey = "pk"
    static let secret = "ps"
    let port: Int
    let task: Task<Void, any Error>
    let hitsCounter = HitCounter()
    let drops = Mutex<[AsyncStream<Void>.Continuation]>([])
    /// Rows the execution list also returns (e.g. a funding row published late), and each query's startTime.
    let extraExecutions = Mutex<[String]>([])
    let executionStartTimes = Mutex<[Int64]>([])
    /// Execution times are a few seconds before the server started, as a live account's would be.
    static let base = SystemWallClock().now().nanoseconds / 1_000_000 - 5_000

    static func execution(_ id: String, time: Int64) -> String {
        #"{"category":"linear","symbol":"BTCUSDT","closedSize":"0","execFee":"0.0264","execId":"\#(id)","execPrice":"96000.0","execQty":"0.001","execType":"Trade","execValue":"96","feeRate":"0.000275","leavesQty":"0","orderId":"o-1","orderLinkId":"link-1","orderPrice":"96000.0","orderQty":"0.001","orderType":"Limit","stopOrderType":"UNKNOWN","side":"Buy","execTime":"\#(time)","isMaker":true,"seq":1,"createType":"CreateByUser","feeCurrency":"USDT"}"#
    }
    static let order = #"{"orderId":"o-2","orderLinkId":"link-2","symbol":"BTCUSDT","price":"95000.0","qty":"0.002","side":"Buy","positionIdx":0,"orderStatus":"New","cancelType":"UNKNOWN","rejectReason":"EC_NoError","avgPrice":"0","leavesQty":"0.002","leavesValue":"190","cumExecQty":"0","cumExecValue":"0","cumExecFee":"0","timeInForce":"PostOnly","orderType":"Limit","stopOrderType":"UNKNOWN","triggerPrice":"0","reduceOnly":false,"closeOnTrigger":false,"createdTime":"1746270400000","updatedTime":"1746270400001"}"#
    static let position = #"{"positionIdx":0,"symbol":"BTCUSDT","side":"Buy","size":"0.001","avgPrice":"96000","positionValue":"96","tradeMode":0,"positionStatus":"Normal","leverage":"5","markPrice":"96010","liqPrice":"","unrealisedPnl":"0.01","cumRealisedPnl":"-0.0264","seq":7,"createdTime":"1746270400000","updatedTime":"1746270400400"}"#

    /// Cancelled by DCP while the client was away: only the order history tells.
    static let cancelledOrder = #"{"orderId":"o-9","orderLinkId":"link-9","symbol":"BTCUSDT","price":"94000.0","qty":"0.002","side":"Buy","positionIdx":0,"orderStatus":"Cancelled","cancelType":"CancelByDCP","rejectReason":"EC_NoError","avgPrice":"0","leavesQty":"0","leavesValue":"0","cumExecQty":"0","cumExecValue":"0","cumExecFee":"0","timeInForce":"PostOnly","orderType":"Limit","stopOrderType":"UNKNOWN","triggerPrice":"0","reduceOnly":false,"closeOnTrigger":false,"createdTime":"1746270400000","updatedTime":"1746270400500"}"#
    static func flatPosition(_ symbol: String) -> String {
        #"{"positionIdx":0,"symbol":"\#(symbol)","side":"","size":"0","avgPrice":"0","positionValue":"0","tradeMode":0,"positionStatus":"Normal","leverage":"5","markPrice":"3000","liqPrice":"","unrealisedPnl":"0","cumRealisedPnl":"1.5","seq":42,"createdTime":"1746270400000","updatedTime":"1746270400400"}"#
    }

    init(port: Int, task: Task<Void, any Error>, pushAfterBackfill: Bool) {
        self.port = port
        self.task = task
        self.pushAfterBackfill = pushAfterBackfill
    }

    /// WebSocket connections accepted so far.
    var connections: Int { connectionCount.withLock { $0 } }
    let connectionCount = Mutex(0)
    /// Push the live execution frame only once the backfill's last REST read was answered (it then arrives after
    /// `trusted`), instead of right after the subscribe ack.
    let pushAfterBackfill: Bool
    /// Frames pushed right after the live execution frame (held while the client backfills).
    let extraLive = Mutex<[String]>([])
    /// `/v5/market/time` never answers (a slow REST path).
    let timeHangs = Mutex(false)

    static func start(pushAfterBackfill: Bool = false) async throws -> FakePrivateBybit {
        let holder = Mutex<FakePrivateBybit?>(nil)
        let router = Router(context: BasicWebSocketRequestContext.self)
        @Sendable func envelope(_ result: String) -> Response {
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string:
                #"{"retCode":0,"retMsg":"OK","result":\#(result),"retExtInfo":{},"time":\#(SystemWallClock().now().nanoseconds / 1_000_000)}"#)))
        }
        router.get("/v5/market/time") { _, _ in
            if holder.withLock({ $0 })?.timeHangs.withLock({ $0 }) == true { await awaitCancellation() }
            let ns = SystemWallClock().now().nanoseconds
            return envelope(#"{"timeSecond":"\#(ns / 1_000_000_000)","timeNano":"\#(ns)"}"#)
        }
        router.get("/v5/execution/list") { request, _ in
            let server = holder.withLock { $0 }
            _ = server?.hitsCounter.count("/v5/execution/list")
            if let start = request.uri.queryParameters["startTime"].flatMap({ Int64(String($0)) }) {
                server?.executionStartTimes.withLock { $0.append(start) }
            }
            let rows = [execution("E2", time: base + 200), execution("E1", time: base + 100)] + (server?.extraExecutions.withLock { $0 } ?? [])
            return envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(rows.joined(separator: ","))]}"#)
        }
        router.get("/v5/order/realtime") { _, _ in
            _ = holder.withLock { $0 }?.hitsCounter.count("/v5/order/realtime")
            return envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(order)]}"#)
        }
        router.get("/v5/position/list") { request, _ in
            _ = holder.withLock { $0 }?.hitsCounter.count("/v5/position/list")
            // One symbol asked by name comes back flat with its seq, as Bybit answers for a symbol without a position.
            if let symbol = request.uri.queryParameters["symbol"].map(String.init), symbol != "BTCUSDT" {
                return envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(flatPosition(symbol))]}"#)
            }
            return envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(position)]}"#)
        }
        router.get("/v5/order/history") { _, _ in
            _ = holder.withLock { $0 }?.hitsCounter.count("/v5/order/history")
            // The history lists the open order too (Bybit's does); only the cancelled one is a closed order.
            return envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(cancelledOrder),\#(order)]}"#)
        }
        router.get("/v5/account/wallet-balance") { _, _ in
            _ = holder.withLock { $0 }?.hitsCounter.count("/v5/account/wallet-balance")
            return envelope(#"{"list":[{"accountType":"UNIFIED","totalEquity":"1000.5","totalWalletBalance":"1000","totalMarginBalance":"1000.5","totalAvailableBalance":"980","totalPerpUPL":"0.5","totalInitialMargin":"20.5","totalMaintenanceMargin":"1","accountIMRate":"0.02","accountMMRate":"0.001","coin":[]}]}"#)
        }
        router.ws("/v5/private") { inbound, outbound, _ in
            let this = holder.withLock { $0 }
            this?.connectionCount.withLock { $0 += 1 }
            let (dropped, drop) = AsyncStream.makeStream(of: Void.self)
            holder.withLock { $0 }?.drops.withLock { $0.append(drop) }
            await withTaskGroup(of: Void.self) { group in
                group.addTask { for await _ in dropped { break } }
                group.addTask {
                    var authed = false
                    do {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            guard case let .text(text) = message,
                                  let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                                  let op = object["op"] as? String else { continue }
                            switch op {
                            case "auth":
                                let args = object["args"] as? [Any] ?? []
                                let expires = (args.count > 1 ? (args[1] as? NSNumber)?.int64Value : nil) ?? 0
                                let mac = HMAC<SHA256>.authenticationCode(for: Data("GET/realtime\(expires)".utf8),
                                                                          using: SymmetricKey(data: Data(secret.utf8)))
                                let expected = mac.map { String(format: "%02x", $0) }.joined()
                                authed = args.count == 3 && args[0] as? String == apiKey && args[2] as? String == expected
                                    && expires > SystemWallClock().now().nanoseconds / 1_000_000
                                try await outbound.write(.text(#"{"success":\#(authed),"ret_msg":"\#(authed ? "" : "Params Error")","op":"auth","conn_id":"c1"}"#))
                            case "subscribe":
                                guard authed else { continue }   // nothing is honoured before auth
                                // As on an account without DCP: `dcp.future` is refused with Bybit's message.
                                if let args = object["args"] as? [String], args.contains("dcp.future") {
                                    try await outbound.write(.text(#"{"success":false,"ret_msg":"error:handler not found,topic:dcp.future","op":"subscribe","conn_id":"c1"}"#))
                                    continue
                                }
                                try await outbound.write(.text(#"{"success":true,"ret_msg":"","op":"subscribe","conn_id":"c1"}"#))
                                if let server = this, server.pushAfterBackfill {
                                    let before = server.hits("/v5/order/history")
                                    _ = await eventually { server.hits("/v5/order/history") > before }
                                    try await Task.sleep(for: .milliseconds(50))   // the client turns trusted meanwhile
                                }
                                // A fill arrives while the client is still backfilling: E2 (also in the
                                // backfill) and E3 (only live).
                                try await outbound.write(.text(#"{"id":"x","topic":"execution","creationTime":1746270400300,"data":[\#(execution("E2", time: base + 200)),\#(execution("E3", time: base + 300))]}"#))
                                for frame in this?.extraLive.withLock({ $0 }) ?? [] { try await outbound.write(.text(frame)) }
                            case "ping":
                                try await outbound.write(.text(#"{"op":"pong","args":["\#(SystemWallClock().now().nanoseconds / 1_000_000)"],"conn_id":"c1"}"#))
                            default:
                                break
                            }
                        }
                    } catch {}
                }
                await group.next()
                group.cancelAll()
            }
        }
        let ports = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "fake-private")
        logger.logLevel = .critical
        let app = Application(router: router, server: .http1WebSocketUpgrade(webSocketRouter: router),
                              configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { ports.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var iterator = ports.stream.makeAsyncIterator()
        let server = FakePrivateBybit(port: await iterator.next() ?? 0, task: task, pushAfterBackfill: pushAfterBackfill)
        holder.withLock { $0 = server }
        return server
    }

    func dropAll() { drops.withLock { list in for d in list { d.yield(()) }; list = [] } }
    func hits(_ path: String) -> Int { hitsCounter.value(path) }
}

@Suite(.serialized) struct PrivateStreamClientTests {
    func start(secret: String = FakePrivateBybit.secret) async throws
        -> (FakePrivateBybit, PrivateStreamClient, PrivateEventLog, Task<Void, Never>, Task<Void, Never>) {
        let server = try await FakePrivateBybit.start()
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: secret)
        return (server, session.client, session.log, session.tasks[0], session.tasks[1])
    }

    @Test func authThenBackfillBeforeTrustThenLiveMessagesWithoutDuplicates() async throws {
        let (server, _, log, consumer, running) = try await start()
        defer { running.cancel(); consumer.cancel(); server.task.cancel() }
        #expect(await log.wait { $0.contains { if case .message = $0 { true } else { false } } })
        #expect(Array(log.names.prefix(6)) == ["connected", "authenticated", "gap", "backfill", "trusted", "message"])
        let events = log.events.withLock { $0 }
        // Guarded: a wait that timed out (a loaded machine) is a failure, never an out-of-range crash of the run.
        guard events.count >= 6 else { Issue.record("only \(events.count) events"); return }
        guard case let .backfill(backfill) = events[3] else { Issue.record("no backfill"); return }
        #expect(backfill.executions.map(\.execId) == ["E1", "E2"])   // oldest first
        #expect(backfill.openOrders.map(\.orderLinkId) == ["link-2"] && backfill.positions.count == 1)
        // The live frame held during the backfill is delivered once trusted, without the backfilled E2.
        guard case let .message(.executions(live, _)) = events[5] else { Issue.record("no live execution"); return }
        #expect(live.map(\.execId) == ["E3"])
        #expect(server.hits("/v5/execution/list") == 1 && server.hits("/v5/position/list") == 1)
    }

    @Test func reconnectRepeatsAuthAndBackfillBeforeTrustingAgain() async throws {
        let (server, _, log, consumer, running) = try await start()
        defer { running.cancel(); consumer.cancel(); server.task.cancel() }
        #expect(await log.wait { $0.contains { if case .trusted = $0 { true } else { false } } })
        server.dropAll()
        #expect(await log.wait { $0.filter { if case .trusted = $0 { true } else { false } }.count == 2 })
        let names = log.names
        let failed = try #require(names.firstIndex(of: "failed"))
        #expect(Array(names[failed...].filter { $0 != "message" }.prefix(6)) ==
                ["failed", "connected", "authenticated", "gap", "backfill", "trusted"])
        #expect(server.hits("/v5/execution/list") == 2)
    }

    @Test func badSignatureIsATypedAuthenticationFailure() async throws {
        let (server, _, log, consumer, running) = try await start(secret: "wrong")
        defer { running.cancel(); consumer.cancel(); server.task.cancel() }
        #expect(await log.wait { events in
            events.contains { if case let .failed(.authenticationFailed(m), _, _) = $0 { m == "Params Error" } else { false } }
        })
        #expect(!log.names.contains("trusted") && !log.names.contains("gap"))
        #expect(server.hits("/v5/execution/list") == 0)
    }

    @Test func aHeldOrderUpdateInTheSnapshotsMillisecondIsKeptWhenItShowsProgress() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        // The snapshot has o-2 New at …401; the held update of the same millisecond has it partly filled.
        let partly = FakePrivateBybit.order.replacingOccurrences(of: #""orderStatus":"New""#, with: #""orderStatus":"PartiallyFilled""#)
            .replacingOccurrences(of: #""cumExecQty":"0""#, with: #""cumExecQty":"0.001""#)
        let stale = FakePrivateBybit.order.replacingOccurrences(of: #""updatedTime":"1746270400001""#, with: #""updatedTime":"1746270399999""#)
        server.extraLive.withLock { $0 = [#"{"id":"o1","topic":"order","creationTime":1746270400301,"data":[\#(partly),\#(stale)]}"#] }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.orders.contains { $0.orderStatus == .partiallyFilled } })
        #expect(session.log.orders.map(\.orderStatus) == [.partiallyFilled])   // the older one is dropped
    }

    /// A position message held during the backfill with the snapshot's `seq` but a later update is delivered: a
    /// position message comes with every order change, and its `seq` moves only with fills, so a trading stop confirmed
    /// meanwhile keeps it. One updated earlier than the snapshot is not. Before, every held message with the snapshot's
    /// `seq` was dropped, and the engine saw the position without its new stop.
    @Test func aHeldPositionUpdateWithTheSnapshotsSeqIsKeptWhenItIsLater() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        let later = FakePrivateBybit.position.replacingOccurrences(of: #""updatedTime":"1746270400400""#,
                                                                  with: #""updatedTime":"1746270400500","stopLoss":"95000""#)
        let earlier = FakePrivateBybit.position.replacingOccurrences(of: #""updatedTime":"1746270400400""#, with: #""updatedTime":"1746270400300""#)
        server.extraLive.withLock { $0 = [#"{"id":"p1","topic":"position","creationTime":1746270400501,"data":[\#(later),\#(earlier)]}"#] }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        #expect(await session.log.wait { _ in !session.log.positions.isEmpty })
        #expect(session.log.positions.map(\.updatedTime) == [ExchangeTime(milliseconds: 1_746_270_400_500)], "\(session.log.positions.map(\.updatedTime))")
    }

    /// The account's other products (a spot trade, an option order) share Bybit's all-in-one private topics: they never
    /// reach the gateway as BTCUSDT perp fills (client review row 5). By default only the linear topics are asked for.
    @Test func otherProductsRowsNeverReachTheGateway() async throws {
        #expect(PrivateStreamConfiguration(url: "ws://x").topics == ["order.linear", "execution.linear", "position.linear", "wallet"])
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        let spot = FakePrivateBybit.execution("S1", time: FakePrivateBybit.base + 350).replacingOccurrences(of: #""category":"linear""#, with: #""category":"spot""#)
        let perp = FakePrivateBybit.execution("E4", time: FakePrivateBybit.base + 360)
        let option = FakePrivateBybit.order.replacingOccurrences(of: #"{"orderId":"o-2""#, with: #"{"category":"option","orderId":"o-9""#)
        let usdcPerp = FakePrivateBybit.execution("U1", time: FakePrivateBybit.base + 355).replacingOccurrences(of: "BTCUSDT", with: "BTCPERP")
        let sentinel = FakePrivateBybit.execution("E5", time: FakePrivateBybit.base + 370)
        server.extraLive.withLock { $0 = [#"{"id":"x2","topic":"execution","creationTime":1746270400350,"data":[\#(spot),\#(usdcPerp),\#(perp)]}"#,
                                          #"{"id":"o2","topic":"order","creationTime":1746270400351,"data":[\#(option)]}"#,
                                          #"{"id":"x3","topic":"execution","creationTime":1746270400370,"data":[\#(sentinel)]}"#] }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        // E5 comes after every foreign row: once it is logged, they would have been too.
        #expect(await session.log.wait { _ in session.log.executions.contains { $0.execId == "E5" } })
        #expect(session.log.executions.contains { $0.execId == "E4" })
        #expect(!session.log.executions.contains { $0.execId == "S1" || $0.execId == "U1" })
        #expect(!session.log.orders.contains { $0.orderId == "o-9" })
    }

    /// `dcp.future` on an account without DCP is refused: asked for on its own, the refusal is reported and the
    /// stream still authenticates, backfills and turns trusted (client review row 8).
    @Test func aRefusedOptionalTopicDegradesInsteadOfEndingTheStream() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret) {
            $0.optionalTopics = ["dcp.future"]
        }
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.isTrusted })
        #expect(await session.log.wait { _ in session.log.names.contains("optionalTopicRefused") })
        // Asked for right after the subscribe and its answer read after trust: the gap and the backfill never wait for it.
        let names = session.log.names
        #expect(Array(names.prefix(5)) == ["connected", "authenticated", "gap", "backfill", "trusted"])
        #expect(server.connections == 1)
        let refused = session.log.events.withLock { $0.compactMap { e -> String? in
            if case let .optionalTopicRefused(topic, message, _) = e { "\(topic): \(message)" } else { nil } } }
        #expect(refused == ["dcp.future: error:handler not found,topic:dcp.future"])
    }

    /// Client review row 1: the snapshot (positions, open orders, wallet) is read before the executions, and each
    /// backfilled execution says whether the snapshot's position already includes it (its seq ≤ the position's).
    @Test func theBackfillIsOneCutWithTheSnapshotReadBeforeTheExecutions() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        // A fill after the snapshot: seq 8 is above the position's 7.
        server.extraExecutions.withLock {
            $0 = [FakePrivateBybit.execution("E4", time: FakePrivateBybit.base + 400).replacingOccurrences(of: #""seq":1"#, with: #""seq":8"#)]
        }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.isTrusted })
        let reads = server.hitsCounter.sequence.filter { $0 != "/v5/market/time" }
        #expect(reads == ["/v5/position/list", "/v5/order/realtime", "/v5/account/wallet-balance", "/v5/execution/list",
                          "/v5/order/history"], "\(reads)")
        let backfill = try #require(session.log.events.withLock { $0.compactMap { e -> PrivateBackfill? in
            if case let .backfill(b) = e { b } else { nil } }.first })
        #expect(backfill.positionSeq == ["BTCUSDT": 7])
        #expect(backfill.executions.map { "\($0.execId):\(backfill.isReflected($0))" } == ["E1:true", "E2:true", "E4:false"])
    }

    /// Client review row 2: an order that ended while the client was away comes back with its reason (here a
    /// cancel by DCP, which no open-order list shows), the wallet is re-read, and a named symbol's flat position
    /// comes back with its seq; the history's open order stays in `openOrders` only.
    @Test func whatEndedDuringTheGapIsInTheBackfill() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret) {
            $0.symbols = ["BTCUSDT", "ETHUSDT"]
        }
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.isTrusted })
        let backfill = try #require(session.log.events.withLock { $0.compactMap { e -> PrivateBackfill? in
            if case let .backfill(b) = e { b } else { nil } }.first })
        #expect(backfill.closedOrders.map { "\($0.orderLinkId) \($0.orderStatus.rawValue) \($0.cancelType)" } == ["link-9 Cancelled CancelByDCP"])
        #expect(backfill.openOrders.map(\.orderLinkId) == ["link-2"])
        #expect(backfill.wallet?.totalEquity == USDT(units: 100_050_000_000))
        let eth = try #require(backfill.positions.first { $0.symbol == "ETHUSDT" })
        #expect(eth.size == .zero && eth.seq == 42 && backfill.positionSeq["ETHUSDT"] == 42)
        // BTCUSDT is in the settle-coin list already: it is not asked for again.
        #expect(server.hits("/v5/position/list") == 2)
    }

    /// Client review row 4: a live row that cannot be read is reported and skipped; its neighbour is delivered and
    /// the connection stays up (it used to reconnect, and the same row came back in the backfill).
    @Test func anUnreadableLiveRowIsQuarantinedWithoutAReconnect() async throws {
        let server = try await FakePrivateBybit.start(pushAfterBackfill: true)
        defer { server.task.cancel() }
        let bad = FakePrivateBybit.execution("E6", time: FakePrivateBybit.base + 600).replacingOccurrences(of: #""execQty":"0.001""#, with: #""execQty":"abc""#)
        let good = FakePrivateBybit.execution("E5", time: FakePrivateBybit.base + 500).replacingOccurrences(of: #""seq":1"#, with: #""seq":9"#)
        server.extraLive.withLock { $0 = [#"{"id":"y","topic":"execution","creationTime":1746270400600,"data":[\#(bad),\#(good)]}"#] }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.executions.contains { $0.execId == "E5" } })
        #expect(await session.log.wait { _ in session.log.names.contains("quarantined") })
        let rows = session.log.events.withLock { $0.compactMap { e -> BybitQuarantinedRow? in if case let .quarantined(r, _) = e { r } else { nil } } }
        #expect(rows.map { "\($0.source) \($0.path) \($0.symbol ?? "-")" } == ["execution data[0] BTCUSDT"])
        #expect(!session.log.names.contains("failed") && server.connections == 1)
        #expect(!session.log.executions.contains { $0.execId == "E6" })
    }

    /// Client review row 4: a backfill row that cannot be read is reported; the backfill still completes and the
    /// stream turns trusted (it used to fail the backfill and reconnect for as long as the row stayed in the window).
    @Test func anUnreadableBackfillRowIsQuarantinedAndTheStreamIsTrusted() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        server.extraExecutions.withLock {
            $0 = [FakePrivateBybit.execution("E7", time: FakePrivateBybit.base + 700).replacingOccurrences(of: #""side":"Buy""#, with: #""side":"Long""#)]
        }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.isTrusted })
        let rows = session.log.events.withLock { $0.compactMap { e -> BybitQuarantinedRow? in if case let .quarantined(r, _) = e { r } else { nil } } }
        #expect(rows.map(\.error) == [.invalidValue(field: "result.list[2].side", value: "Long")])
        #expect(!session.log.names.contains("failed") && server.hits("/v5/execution/list") == 1)
    }

    @Test func authDoesNotWaitLongForASlowClockSync() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        server.timeHangs.withLock { $0 = true }
        var logger = Logger(label: "sync-test")
        logger.logLevel = .critical
        let credentials = BybitCredentials(apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        let timer = ManualClock(startingAt: 1)
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(server.port)", credentials: credentials,
                                   recvWindow: LoopbackTest.recvWindow, timer: timer, logger: logger)
        let client = PrivateStreamClient(configuration: PrivateStreamConfiguration(url: "ws://127.0.0.1:\(server.port)/v5/private"),
                                         credentials: credentials, rest: rest, cursor: InMemoryExecutionCursor(), timer: timer,
                                         logger: logger)
        let log = PrivateEventLog()
        let tasks = [Task { for await e in client.events { log.append(e) } }, Task { await client.run() }]
        defer { for t in tasks { t.cancel() } }
        // The REST time call hangs; the stream waits only the sync timeout on its clock, then authenticates.
        #expect(await log.wait { $0.count == 1 })   // connected
        #expect(await eventually { timer.nextDeadline == timer.instant() + .seconds(2) })
        #expect(!log.names.contains("authenticated"))
        timer.advance(by: .seconds(2))
        #expect(await log.wait { _ in log.names.contains("authenticated") })
    }
}
