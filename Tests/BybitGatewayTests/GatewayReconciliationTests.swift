import BybitV5
import BybitV5Client
@testable import BybitGateway
import CascadeCore
import CascadeTesting
import Execution
import Hummingbird
import Logging
import Synchronization
import Testing

/// The gateway's periodic reconciliation against a loopback REST server that answers exactly what a test gives it
/// (the simulator never writes a row Bybit's schema forbids, so unreadable rows need this one).
@Suite(.serialized) struct GatewayReconciliationTests {
    static let base: Int64 = 1_721_347_021_000

    static func execution(_ id: String, time: Int64, side: String = "Buy") -> String {
        #"{"category":"linear","symbol":"BTCUSDT","closedSize":"0","execFee":"0.0264","execId":"\#(id)","execPrice":"96000.0","execQty":"0.001","execType":"Trade","execValue":"96","feeRate":"0.000275","leavesQty":"0","orderId":"o-1","orderLinkId":"link-1","orderPrice":"96000.0","orderQty":"0.001","orderType":"Limit","stopOrderType":"UNKNOWN","side":"\#(side)","execTime":"\#(time)","isMaker":true,"seq":1,"createType":"CreateByUser","feeCurrency":"USDT"}"#
    }
    static let position = #"{"positionIdx":0,"symbol":"BTCUSDT","side":"Buy","size":"0.002","avgPrice":"96000","positionValue":"192","tradeMode":0,"positionStatus":"Normal","leverage":"5","markPrice":"96010","liqPrice":"","unrealisedPnl":"0.01","cumRealisedPnl":"-0.0528","seq":7,"createdTime":"1721347020000","updatedTime":"1721347021400"}"#

    /// Serves `/v5/market/time`, `/v5/position/list` and `/v5/execution/list` (one page of `executions`).
    /// Cancels one loopback server has answered.
    final class Counter: Sendable {
        let value = Atomic(0)
    }

    static func startREST(executions: [String], cancels: Counter = Counter()) async throws -> (port: Int, task: Task<Void, any Error>) {
        let router = Router()
        @Sendable func envelope(_ result: String) -> Response {
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string:
                #"{"retCode":0,"retMsg":"OK","result":\#(result),"retExtInfo":{},"time":\#(base + 1_000)}"#)))
        }
        router.get("/v5/market/time") { _, _ in
            envelope(#"{"timeSecond":"\#((base + 1_000) / 1_000)","timeNano":"\#((base + 1_000) * 1_000_000)"}"#)
        }
        router.get("/v5/position/list") { _, _ in envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(position)]}"#) }
        // A cancel answered 110079 (still processing) the first time, then done.
        router.post("/v5/order/cancel") { _, _ in
            if cancels.value.add(1, ordering: .relaxed).newValue == 1 {
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string:
                    #"{"retCode":110079,"retMsg":"The order is processing and can not be operated, please try again later","result":{},"retExtInfo":{},"time":\#(base + 1_000)}"#)))
            }
            return envelope(#"{"orderId":"o-1","orderLinkId":"link-1"}"#)
        }
        router.get("/v5/execution/list") { _, _ in
            envelope(#"{"category":"linear","nextPageCursor":"","list":[\#(executions.joined(separator: ","))]}"#)
        }
        return await startLoopbackServer(router, label: "fake-rest")
    }

    static func gateway(port: Int, timer: any TaskClock = ContinuousTaskClock()) -> BybitGateway {
        var logger = Logger(label: "gateway-reconciliation-test")
        logger.logLevel = .critical
        var table = InstrumentTable()
        _ = table.id(for: "BTCUSDT")
        let credentials = BybitCredentials(apiKey: "k", secret: "s")
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(port)", credentials: credentials, recvWindow: LoopbackTest.recvWindow, logger: logger)
        let stream = PrivateStreamClient(configuration: PrivateStreamConfiguration(url: "ws://127.0.0.1:\(port)/v5/private"),
                                         credentials: credentials, rest: rest, cursor: InMemoryExecutionCursor(), instruments: table, logger: logger)
        return BybitGateway(rest: rest, stream: stream, cursor: InMemoryExecutionCursor(), instruments: table, timer: timer, logger: logger)
    }

    /// A cancel answered 110079 (the order still processing: "please try again later") is asked again once after a
    /// short wait, and its second answer counts. Before, the refusal went to the engine and the entry stayed resting.
    @Test func aCancelAnsweredStillProcessingIsAskedAgain() async throws {
        let cancels = Counter()
        let (port, task) = try await Self.startREST(executions: [], cancels: cancels)
        defer { task.cancel() }
        let timer = ManualClock(startingAt: 1)
        let gateway = Self.gateway(port: port, timer: timer)
        var table = InstrumentTable()
        let id = table.id(for: "BTCUSDT")
        let btc = table[id]
        let command = VenueCommand(symbol: btc.id, decidedAt: ExchangeTime(milliseconds: 0), action: .cancel(.client(try ClientOrderID("link-1"))))
        let sending = Task { await gateway.send(command, instrument: btc) }
        #expect(await eventually { timer.deadlines.contains(timer.instant() + .milliseconds(300)) }, "waits before asking again")
        timer.advance(by: .milliseconds(300))
        #expect(await sending.value == .sent(VenueOrderID("o-1")))
        #expect(cancels.value.load(ordering: .relaxed) == 2)
    }

    /// An execution row the reconciliation cannot read is quarantined (the symbol's exposure is no longer known);
    /// its readable neighbour is still reported. It used to be dropped without a word.
    @Test func anUnreadableExecutionRowInTheReconciliationIsQuarantinedNotDropped() async throws {
        let (port, task) = try await Self.startREST(executions: [Self.execution("X1", time: Self.base + 100),
                                                                 Self.execution("X2", time: Self.base + 200, side: "Long")])
        defer { task.cancel() }
        let gateway = Self.gateway(port: port)
        let log = GatewayEventLog()
        let reader = Task { for await e in gateway.events { log.append(e) } }
        defer { reader.cancel() }
        await gateway.reconcilePositionsAndExecutions()
        #expect(await gateway.reconciliations == 1)
        #expect(await eventually { log.list.withLock { $0.contains { if case .positionsReconciled = $0 { true } else { false } } } })
        let quarantined = log.list.withLock { $0.compactMap { e -> String? in if case let .quarantined(symbol, detail) = e { "\(symbol ?? "-") \(detail)" } else { nil } } }
        #expect(quarantined.count == 1 && quarantined.first?.hasPrefix("BTCUSDT") == true && quarantined.first?.contains("side") == true, "\(quarantined)")
        #expect(log.fills.map(\.executionID.rawValue) == ["X1"])
    }
}
