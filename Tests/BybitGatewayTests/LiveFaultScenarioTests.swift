import BybitV5
import BybitV5Client
@testable import BybitGateway
@testable import BybitSimulator
import CascadeCore
import CascadeTesting
import Execution
import Logging
import Synchronization
import Testing

/// Issue 13's fault scenarios that happen while the node is away from Bybit, on the lockstep simulator: the node is
/// "down" when its gateway (and private stream) is stopped, and "restarted" as a new gateway on the same execution
/// cursor, as `cascade live` does on the same data directory. After each: every fill reported once, the position the
/// reports end with is Bybit's, nothing left open that the node did not want, every position with its stop.
@Suite(.serialized) struct LiveFaultScenarioTests {
    static let key = "cascade-test-key"
    static let secret = "cascade-test-secret"

    /// A book around 64,000 (SyntheticBookFrames, 20 ms a frame) with a 0.010 BTC print at 64,000 every 10th frame;
    /// at frame `dropAt` the book is around 63,000 (a new snapshot) and prints there: a long's stop at 63,500 on
    /// LastPrice triggers and closes against the new bids.
    static func market(frames: Int = 400, dropAt: Int = 250) -> [String] {
        var book = SyntheticBookFrames(symbol: "BTCUSDT", depth: 50, seed: 7)
        var lines: [String] = []
        for i in 0..<frames {
            let ms = (1_721_347_021_000_000_000 + Int64(i + 1) * 20_000_000) / 1_000_000
            if i == 0 { lines.append(book.snapshot(ts: ms)); continue }
            if i == 5 {
                lines.append(#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"64000.00","markPrice":"64000.00","indexPrice":"64000.00","fundingRate":"0.0001","nextFundingTime":"1721376000000"},"cs":1,"ts":\#(ms)}"#)
                continue
            }
            if i == dropAt - 1 {
                book = SyntheticBookFrames(symbol: "BTCUSDT", depth: 50, seed: 8, midCents: 6_300_000)
                lines.append(book.snapshot(ts: ms))
                continue
            }
            let price = i >= dropAt ? "63005.00" : "64000.00"
            if i % 10 == 0 || i == dropAt {
                lines.append(#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Sell","v":"0.010","p":"\#(price)","L":"MinusTick","i":"t-\#(i)","BT":false}]}"#)
            } else {
                lines.append(book.delta(ts: ms))
            }
        }
        return lines
    }

    /// What the node's journal holds across its runs: the executions it was told (the live node's engine answers the
    /// gateway's "already persisted?" the same way).
    final class Journal: Sendable {
        let executions = Mutex<Set<String>>([])
        func holds(_ id: String) -> Bool { executions.withLock { $0.contains(id) } }
    }

    /// One run of the node's venue half: a gateway, its private stream and the shared cursor. The test persists
    /// what it was told, as the live node does once its journal holds it, so a restart starts from there.
    struct Node {
        let gateway: BybitGateway
        let events: GatewayEventLog
        let tasks: [Task<Void, Never>]
        func stop() { for t in tasks { t.cancel() } }
    }

    /// The simulator on `market()`, lockstep, 20 frames in (a book to trade against).
    static func startSim(accounts: [SimAccountSpec] = [.defaultTestAccount], timer: any TaskClock = ContinuousTaskClock()) async throws -> SimulatorHarness {
        let sim = try await SimulatorHarness.start(lines: market(), speed: .lockstep, accounts: accounts, timer: timer)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        return sim
    }

    /// A signed REST client of the test account on the simulator.
    static func restClient(_ sim: SimulatorHarness, label: String = "fault-test") -> BybitRESTClient {
        var logger = Logger(label: label)
        logger.logLevel = .critical
        return BybitRESTClient(baseURL: "http://127.0.0.1:\(sim.port)", credentials: BybitCredentials(apiKey: key, secret: secret),
                               recvWindow: LoopbackTest.recvWindow, logger: logger)
    }

    static func connect(_ sim: SimulatorHarness, cursor: any ExecutionCursorStore, table: InstrumentTable, topics: [String] = [],
                        timer: ManualClock = ManualClock(startingAt: 1), journal: Journal = Journal()) async -> Node {
        var logger = Logger(label: "fault-test")
        logger.logLevel = .critical
        let credentials = BybitCredentials(apiKey: key, secret: secret)
        let rest = restClient(sim)
        var configuration = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(sim.port)/v5/private")
        configuration.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200))
        configuration.symbols = ["BTCUSDT"]
        configuration.optionalTopics = topics
        let stream = PrivateStreamClient(configuration: configuration, credentials: credentials, rest: rest, cursor: cursor,
                                         instruments: table, logger: logger)
        let gateway = BybitGateway(rest: rest, stream: stream, cursor: cursor, instruments: table, timer: timer, logger: logger)
        await gateway.setPersistedCheck { journal.holds($0) }
        let events = GatewayEventLog()
        let tasks = [
            Task { await gateway.run() },
            Task {
                for await e in gateway.events {
                    events.append(e)
                    if case let .reports(r) = e {
                        let ids = r.compactMap { report -> ExecutionID? in if case let .filled(f) = report.event { f.executionID } else { nil } }
                        journal.executions.withLock { $0.formUnion(ids.map(\.rawValue)) }
                        if !ids.isEmpty { await gateway.persisted(ids) }
                    }
                }
            },
        ]
        return Node(gateway: gateway, events: events, tasks: tasks)
    }

    /// Moves the gateway's clock on by a reconciliation period until `done` (the loop may be between two sleeps when
    /// the clock moves: a move it misses is followed by another).
    static func reconciled(_ timer: ManualClock, until done: () async -> Bool) async -> Bool {
        await eventually {
            timer.advance(by: .seconds(45))
            return await done()
        }
    }

    /// The simulator and one node on a fresh cursor, its stream trusted.
    struct OneNode {
        let sim: SimulatorHarness
        let node: Node
        let timer: ManualClock
        let btc: Instrument
        func stop() {
            node.stop()
            sim.stop()
        }
    }

    static func oneNode() async throws -> OneNode {
        let sim = try await startSim()
        let (table, btc) = table()
        let timer = ManualClock(startingAt: 1)
        let node = await connect(sim, cursor: InMemoryExecutionCursor(), table: table, timer: timer)
        #expect(await eventually { node.events.trusted })
        return OneNode(sim: sim, node: node, timer: timer, btc: btc)
    }

    static func table() -> (InstrumentTable, Instrument) {
        var table = InstrumentTable()
        let id = table.id(for: "BTCUSDT")
        return (table, table[id])
    }

    static func command(_ action: VenueCommand.Action, _ btc: Instrument) -> VenueCommand {
        VenueCommand(symbol: btc.id, decidedAt: ExchangeTime(milliseconds: 0), action: action)
    }

    /// A long of 0.001 BTC bought at market with its stop at 63,500 attached (`tpslMode=Full`, LastPrice).
    static let protectedLong = OrderSpec(side: .buy, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: Quantity(units: 1_000),
                                         protection: Protection(stopLoss: ProtectionLeg(trigger: Price(units: 6_350_000_000_000))))

    static func openProtectedLong(_ node: Node, _ btc: Instrument, link: String) async throws -> ClientOrderID {
        let id = try ClientOrderID(link)
        let sent = await node.gateway.send(command(.submit(id, protectedLong), btc), instrument: btc)
        guard case .sent = sent else { Issue.record("\(sent)"); throw CancellationError() }
        return id
    }

    /// The same long, created at Bybit while the node hears nothing of it: the create's answer is lost (HTTP 504) and
    /// so are the stream's messages, so the order is unknown; the market then moves on 5 frames (it fills).
    static func loseProtectedLong(_ node: Node, _ sim: SimulatorHarness, _ btc: Instrument, link: String) async throws -> ClientOrderID {
        await sim.replay.setFaults(SimFaultPlan(channels: [.rest: .init(drop: 1), .privateStream: .init(drop: 1)], seed: 3))
        let id = try ClientOrderID(link)
        #expect(await node.gateway.send(command(.submit(id, protectedLong), btc), instrument: btc) == .transportError)
        _ = try await sim.replay.advance(frames: 5, milliseconds: nil)
        await sim.replay.setFaults(SimFaultPlan())
        return id
    }

    func venueOpenOrders(_ sim: SimulatorHarness) async -> [BybitOrder] {
        await sim.replay.account("default")?.orders.values.filter { [.new, .partiallyFilled, .untriggered].contains($0.orderStatus) } ?? []
    }

    /// The stop fires while the node is down. The restarted node's backfill reports the stop's fill once (the entry's
    /// fill is not reported again), knows it for the position's own stop (its acceptance, with its origin, before its
    /// fill: the engine would otherwise take it for another client's order and quarantine), and ends flat, as Bybit.
    @Test func aStopTriggeredWhileTheNodeIsDownIsReportedOnceOnRestart() async throws {
        let sim = try await Self.startSim()
        defer { sim.stop() }
        let (table, btc) = Self.table()
        let cursor = InMemoryExecutionCursor()
        let journal = Journal()
        let first = await Self.connect(sim, cursor: cursor, table: table, journal: journal)
        #expect(await eventually { first.events.trusted })
        let entry = try await Self.openProtectedLong(first, btc, link: "fault-stop-1")
        _ = try await sim.replay.advance(frames: 5, milliseconds: nil)
        #expect(await eventually { first.events.fills.map(\.clientID) == [entry] })
        #expect(await eventually { first.events.lastPosition?.size == Quantity(units: 1_000) })
        #expect(first.events.lastPosition?.stopLoss == Price(units: 6_350_000_000_000))
        first.stop()

        // Down: the market prints 63,000, the stop triggers and closes the long at market.
        _ = try await sim.replay.advance(frames: 300, milliseconds: nil)
        let venueFills = await sim.replay.account("default")?.executions ?? []
        #expect(venueFills.count == 2, "the entry and the stop")

        let timer = ManualClock(startingAt: 1)
        let second = await Self.connect(sim, cursor: cursor, table: table, timer: timer, journal: journal)
        #expect(await eventually { second.events.trusted })
        #expect(await eventually { second.events.fills.count == 1 })
        let fill = try #require(second.events.fills.first)
        #expect(fill.clientID == nil && fill.side == .sell && fill.qty == Quantity(units: 1_000))
        let reports = second.events.reports
        let acceptedAt = reports.firstIndex { if case let .accepted(a) = $0.event { a.venueID == fill.venueID } else { false } }
        let filledAt = reports.firstIndex { if case let .filled(f) = $0.event { f.executionID == fill.executionID } else { false } }
        let origin = reports.compactMap { r -> OrderOrigin? in if case let .accepted(a) = r.event, a.venueID == fill.venueID { a.origin } else { nil } }.first
        #expect(acceptedAt != nil && filledAt != nil && acceptedAt! < filledAt!, "the stop order is announced before its fill")
        #expect(origin == .stopLoss)
        #expect(await eventually { second.events.lastPosition?.size == Quantity(units: 0) })
        #expect(await venueOpenOrders(sim).isEmpty)
        // A reconciliation of positions and executions afterwards reports nothing again.
        #expect(await Self.reconciled(timer) { await second.gateway.reconciliations >= 2 })
        #expect(second.events.fills.count == 1)
        second.stop()
    }

    /// Bybit restarts between a create whose answer was lost and the query that would find it: `realtime` no longer
    /// lists the (already filled) order and every connection drops. The order is found in the history (and by the
    /// reconnected stream's backfill), never reported rejected, its fill reported once, the position with its stop.
    @Test func anExchangeRestartThatEmptiesRealtimeLeavesTheOrderFoundInHistory() async throws {
        let rig = try await Self.oneNode()
        defer { rig.stop() }
        let (sim, node, timer, btc) = (rig.sim, rig.node, rig.timer, rig.btc)
        let id = try await Self.loseProtectedLong(node, sim, btc, link: "fault-restart-1")
        #expect(await sim.replay.account("default")?.orders.values.first { $0.orderLinkId == "fault-restart-1" }?.orderStatus == .filled)
        // Realtime still has it; after the restart it does not.
        await sim.replay.restartVenue()
        let rest = Self.restClient(sim, label: "probe")
        let listed = try await rest.send(try BybitRequest.realtimeOrders(scope: .symbol("BTCUSDT"), order: .orderLinkId("fault-restart-1")),
                                         as: BybitOrderListResult.self).result
        var scratch = InstrumentTable(), quarantine: [BybitQuarantinedRow] = []
        #expect(listed?.orders(instruments: &scratch, quarantine: &quarantine).isEmpty == true)
        // The query runs (2 s, then 5 s): history has it.
        #expect(await eventually { timer.nextDeadline == timer.instant() + .seconds(2) })
        timer.advance(by: .seconds(2))
        #expect(await eventually { node.events.trusted && node.events.fills.map(\.clientID) == [id] })
        timer.advance(by: .seconds(3))
        #expect(await eventually { node.events.lastPosition?.size == Quantity(units: 1_000) })
        #expect(node.events.lastPosition?.stopLoss == Price(units: 6_350_000_000_000))
        // A reconciliation later: still one fill, and nothing was ever reported rejected.
        #expect(await Self.reconciled(timer) { await node.gateway.reconciliations >= 2 })
        #expect(node.events.fills.count == 1)
        #expect(!node.events.anyRejected)
        #expect(await node.gateway.notFoundAfterQueries == 0)
        #expect(await node.gateway.foundByQuery == 1, "found by the history query, not only by the stream")
    }

    /// The same restart, with Bybit's order history not yet written (the simulator's history lag): no order list has
    /// the filled order, only its executions do. It must not be reported rejected (the engine would take its fill
    /// for another client's): it is reported by its executions, once, and asked after again.
    @Test func anOrderOnlyItsExecutionsShowIsNeverReportedRejected() async throws {
        let rig = try await Self.oneNode()
        defer { rig.stop() }
        let (sim, node, timer, btc) = (rig.sim, rig.node, rig.timer, rig.btc)
        let id = try await Self.loseProtectedLong(node, sim, btc, link: "fault-lag-1")
        await sim.replay.setHistoryLag(milliseconds: 3_600_000)
        await sim.replay.restartVenue()
        #expect(await eventually { timer.nextDeadline == timer.instant() + .seconds(2) })
        timer.advance(by: .seconds(2))
        #expect(await eventually { await node.gateway.foundByExecutions == 1 })
        // Where a second clean "not found" would have concluded it rejected, it is asked after again instead.
        timer.advance(by: .seconds(60))
        #expect(await eventually {
            let (traded, rejected) = (await node.gateway.foundByExecutions, await node.gateway.notFoundAfterQueries)
            return traded >= 2 || rejected >= 1
        })
        #expect(await node.gateway.notFoundAfterQueries == 0)
        #expect(!node.events.anyRejected)
        #expect(await eventually { node.events.trusted && node.events.fills.map(\.clientID) == [id] }, "its fill, once")
    }

    /// Bybit's disconnect-cancel fires while the node is away (an account with DCP, the node subscribed to
    /// `dcp.future`, its connection gone for the 10 s window). The simulator takes the pessimistic reading of Bybit's
    /// "cancels all active orders": the position's stop goes too. The restarted node is told the resting entry ended
    /// `CancelByDCP` and sees the position without a stop; the trading stop the engine then sends
    /// (`TradingEngineTests.missingStopIsSetAgainThenThePositionIsClosed`) puts it back.
    @Test func disconnectCancelFiringIsReportedAndThePositionIsProtectedAgain() async throws {
        let simTimer = ManualClock(startingAt: 1)
        let sim = try await Self.startSim(accounts: [Self.dcpAccount], timer: simTimer)
        defer { sim.stop() }
        let (table, btc) = Self.table()
        let cursor = InMemoryExecutionCursor()
        let journal = Journal()
        let first = await Self.connect(sim, cursor: cursor, table: table, topics: ["dcp.future"], journal: journal)
        #expect(await eventually { first.events.trusted })
        _ = try await Self.openProtectedLong(first, btc, link: "fault-dcp-1")
        let resting = try await restEntry("fault-dcp-2", first, sim, btc)
        #expect(await eventually { first.events.lastPosition?.stopLoss == Price(units: 6_350_000_000_000) })
        #expect(await eventually { await venueOpenOrders(sim).contains { $0.orderLinkId == "fault-dcp-2" } })
        first.stop()

        // The window runs on the simulator's clock once the last `dcp.future` connection is gone (its sleep may
        // register a moment after the window opens: the clock moves on until it has fired).
        #expect(await eventually { await sim.replay.dcpTimers["default"] != nil })
        #expect(await sim.replay.dcpFired["default"] == nil)
        let fired = await eventually {
            simTimer.advance(by: .seconds(10))
            return await venueOpenOrders(sim).isEmpty
        }
        #expect(fired, "every active order cancelled, the stop leg included")
        #expect(await sim.replay.dcpFired["default"] == 1)

        let second = await Self.connect(sim, cursor: cursor, table: table, topics: ["dcp.future"], journal: journal)
        defer { second.stop() }
        #expect(await eventually { second.events.trusted })
        let cancelled = second.events.reports.compactMap { r -> OrderCancelled? in if case let .cancelled(c) = r.event { c } else { nil } }
        #expect(cancelled.contains { $0.clientID == resting && $0.cancellation.reason == .disconnected }, "\(cancelled)")
        let position = try #require(second.events.lastPosition)
        #expect(position.size == Quantity(units: 1_000) && position.stopLoss == nil)
        let stop = TradingStop(stopLoss: .set(ProtectionLeg(trigger: Price(units: 6_350_000_000_000))), mode: .full)
        #expect(await second.gateway.send(Self.command(.setTradingStop(stop), btc), instrument: btc) == .sent(nil))
        _ = try await sim.replay.advance(frames: 2, milliseconds: nil)
        #expect(await eventually { second.events.lastPosition?.stopLoss == Price(units: 6_350_000_000_000) })
        #expect(second.events.fills.isEmpty, "nothing filled while away is reported again")
    }

    /// The test account with Bybit's disconnect-cancel.
    static var dcpAccount: SimAccountSpec {
        var account = SimAccountSpec.defaultTestAccount
        account.dcpGranted = true
        return account
    }

    /// A PostOnly buy entry with its stop, sent through `node` and resting at the simulator.
    func restEntry(_ link: String, _ node: Node, _ sim: SimulatorHarness, _ btc: Instrument) async throws -> ClientOrderID {
        let id = try ClientOrderID(link)
        let spec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: 6_380_000_000_000), qty: Quantity(units: 1_000),
                             protection: Protection(stopLoss: ProtectionLeg(trigger: Price(units: 6_350_000_000_000))))
        #expect(await node.gateway.send(Self.command(.submit(id, spec), btc), instrument: btc) != .transportError)
        _ = try await sim.replay.advance(frames: 5, milliseconds: nil)
        #expect(await eventually { await venueOpenOrders(sim).contains { $0.orderLinkId == link } }, "\(link) rests")
        return id
    }

    /// A routine reconnect whose backfill is slow must not let Bybit's disconnect-cancel fire: `dcp.future` is asked
    /// for right after the subscribe, before the backfill. Here every signed REST answer is held 30 s on the
    /// simulator's clock while the 10 s window passes; before, `dcp.future` waited for the backfill, the window ran
    /// out and every active order was cancelled (the position's stop leg with them).
    @Test func aSlowBackfillAfterAReconnectDoesNotLetDisconnectCancelFire() async throws {
        let simTimer = ManualClock(startingAt: 1)
        let sim = try await Self.startSim(accounts: [Self.dcpAccount], timer: simTimer)
        defer { sim.stop() }
        let (table, btc) = Self.table()
        let node = await Self.connect(sim, cursor: InMemoryExecutionCursor(), table: table, topics: ["dcp.future"])
        defer { node.stop() }
        #expect(await eventually { node.events.trusted })
        _ = try await restEntry("fault-dcp-slow", node, sim, btc)
        await sim.replay.setFaults(SimFaultPlan(channels: [.rest: .init(delay: 1, delayMilliseconds: 30_000...30_000)], seed: 1))
        await sim.replay.dropAllConnections()
        #expect(await eventually { simTimer.deadlines.contains(simTimer.instant() + .seconds(30)) }, "the backfill waits for its answers")
        // The reconnect's `dcp.future` stops the window; without it (the old order) the window runs and fires below.
        #expect(await eventually { await sim.replay.dcpTimers["default"] == nil }, "the window was stopped by the reconnect")
        simTimer.advance(by: .seconds(12))
        // A window still running would fire now: wait until nothing of it is left (fired, or never running).
        _ = await eventually { await sim.replay.dcpTimers["default"] == nil }
        #expect(await sim.replay.dcpFired["default"] == nil, "disconnect-cancel did not fire")
        #expect(await venueOpenOrders(sim).contains { $0.orderLinkId == "fault-dcp-slow" }, "the entry still rests")
        await sim.replay.setFaults(SimFaultPlan())
        simTimer.advance(by: .seconds(30))
        #expect(await eventually { node.events.list.withLock { $0.count { if case .privateStream(trusted: true) = $0 { true } else { false } } } == 2 },
                "trusted again once the backfill is answered")
    }

    /// Another client on the same account (a manual order, another program) opens a position. Its fill reaches the
    /// node as a fill of an order that is not the node's (the engine quarantines on it:
    /// `TradingEngineTests.aFillOfAnOrderThatIsNotOursQuarantinesTheAccount`), and the position check reports Bybit's size,
    /// which the node compares with its journal (two disagreements quarantine too).
    @Test func aPositionChangedByAnotherClientReachesTheNodeAsAForeignFill() async throws {
        let rig = try await Self.oneNode()
        defer { rig.stop() }
        let (sim, node, timer, btc) = (rig.sim, rig.node, rig.timer, rig.btc)
        let other = Self.restClient(sim, label: "other-client")
        _ = try await other.send(try BybitRequest.createOrder(instrument: btc, side: .buy, orderType: .market, qty: Quantity(units: 2_000),
                                                              orderLinkId: "manual-1"), as: BybitOrderIDResult.self)
        _ = try await sim.replay.advance(frames: 5, milliseconds: nil)
        #expect(await eventually { node.events.fills.map { $0.clientID?.rawValue } == ["manual-1"] })
        let reconciled = await Self.reconciled(timer) {
            node.events.list.withLock { $0.contains { if case let .positionsReconciled(p) = $0 { p[btc.id] == Quantity(units: 2_000) } else { false } } }
        }
        #expect(reconciled)
    }
}
