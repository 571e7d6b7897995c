import AsyncHTTPClient
import Backtest
@testable import BybitGateway
@testable import BybitSimulator
import BybitV5
import BybitV5Client
import CascadeCore
@testable import CascadeService
import CascadeTesting
import Execution
import Foundation
import Logging
import ServiceLifecycle
import Storage
import Synchronization
import Testing

/// The whole live node in process — ``CascadeService/LiveTrader`` with its SQLite journal, the Bybit gateway, the
/// private stream and the REST client — against the lockstep simulator, on one manual clock: the simulator's server
/// time, every timestamp of the node, its engine deadlines, dead-man switch and reconciliations move only when the
/// test feeds the next frame. The network's own waits (replies, pings, reconnect backoff, REST retries) stay on real
/// time: the loopback answers in real time, whatever the data's clock says. The public feed
/// is handed to the trader directly (the frames the simulator replays, at their receive times), so each scenario is
/// the same market step for step; the venue half is real loopback HTTP and WebSocket.
///
/// After each scenario, once the node is quiet: the journal's position is the venue's, no order is open at the venue
/// that the journal does not hold open (and the reverse), every venue execution was counted once, and every position
/// the node opened has its stop.
@Suite(.serialized) struct LiveNodeFaultTests {
    /// The paper and live nodes' end-to-end market and configuration: the second cascade is traded, one entry
    /// filled as maker, then a time exit.
    static let configuration = SyntheticCascadeMarket.endToEndConfiguration
    static let market = SyntheticCascadeMarket.endToEnd

    static let key = "cascade-test-key"
    static let secret = "cascade-test-secret"

    /// The simulator, the frames and the clock, shared by the node's runs (a restart is a new node on the same
    /// data directory).
    final class Rig: @unchecked Sendable {
        let dir: TemporaryDirectory
        let sim: SimulatorHarness
        let clock: EventClock
        let frames: [(Int64, String)]
        var next = 0
        let configuration: BacktestConfiguration
        let table = LiveTrader.instrumentTable(symbols: ["BTCUSDT"])

        /// The simulator's own waits (its disconnect-cancel window): moved only by the test.
        let simTimer = EventClock(startingAt: 1)

        init(market: SyntheticCascadeMarket = LiveNodeFaultTests.market, configuration text: String = LiveNodeFaultTests.configuration,
             accounts: [SimAccountSpec] = [.defaultTestAccount]) async throws {
            dir = try TemporaryDirectory("live-node")
            let path = dir.file("market.frames.gz")
            try market.write(to: path)
            frames = market.frames()
            configuration = try BacktestConfiguration.parse(Array(text.utf8), name: "live-node")
            // The data's own time (no rebasing): the clock starts at the first frame's receive time.
            clock = EventClock(startingAt: frames[0].0)
            let replay = MarketReplay(paths: [path], speed: .lockstep, accounts: accounts, rebaseTimestamps: false, wallClock: clock,
                                      timer: simTimer)
            sim = try await SimulatorHarness.serve(replay, clock: clock)
        }

        func stop() {
            sim.stop()
            dir.remove()
        }

        var btc: SymbolID { table.lookup("BTCUSDT")! }
        /// Every create is applied at the venue and its answer held a minute of the simulator's own clock, which only
        /// the test moves (a Bybit slow to answer).
        func holdCreateAnswers() async {
            await sim.replay.setFaults(SimFaultPlan(restPaths: ["/v5/order/create": .init(delay: 1, delayMilliseconds: 60_000...60_000)]))
        }

        /// The held answers go out; later calls are answered at once.
        func releaseCreateAnswers() async {
            await sim.replay.setFaults(SimFaultPlan())
            simTimer.advance(by: .seconds(60))
        }

        /// Receive time (ms) of the next frame to feed (the end of time once the data is over).
        var nextTime: Int64 { next < frames.count ? frames[next].0 / 1_000_000 : .max }

        /// `port`: where its requests go (the simulator's unless a relay stands between). `patient`: an HTTP client
        /// that waits two minutes for an answer, for scenarios that hold one on the simulator's manual clock (the
        /// shared client gives up after 10 s of real time, which a slow machine could reach).
        func rest(label: String = "live-node", port: Int? = nil, patient: Bool = false) -> BybitRESTClient {
            var logger = Logger(label: label)
            logger.logLevel = .critical
            return BybitRESTClient(baseURL: "http://127.0.0.1:\(port ?? sim.port)", credentials: BybitCredentials(apiKey: LiveNodeFaultTests.key, secret: LiveNodeFaultTests.secret),
                                   recvWindow: LoopbackTest.recvWindow, timeout: patient ? .seconds(120) : .seconds(10), clock: clock,
                                   http: patient ? Self.patientHTTP : BybitRESTClient.sharedHTTP, logger: logger)
        }

        /// Never shut down, like the shared client (one per test process).
        static let patientHTTP = BybitRESTClient.httpClient(readTimeout: .seconds(120))

        /// A node on `data` (its journal and execution cursor), started as `cascade live` starts one: the start-up
        /// checks, then the trader on the journal.
        func start(data: String = "node", backoff: ReconnectBackoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200)),
                   journal wrap: (any OrderJournal) -> any OrderJournal = { $0 }, logger custom: Logger? = nil,
                   restPort: Int? = nil, patient: Bool = false, runs: Bool = true) async throws -> Node {
            var logger = Logger(label: "live-node")
            logger.logLevel = ProcessInfo.processInfo.environment["LIVE_NODE_LOG"] == nil ? .critical : .info
            if let custom { logger = custom }
            let directory = dir.file(data)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let rest = rest(port: restPort, patient: patient)
            let report = try await LiveStartupChecks(symbols: ["BTCUSDT"], leverage: configuration.live.leverage).run(rest)
            var stream = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(sim.port)/v5/private")
            stream.symbols = ["BTCUSDT"]
            stream.backoff = backoff
            if let window = report.dcpArmedSeconds {
                // As `cascade live` does on an account with disconnect-cancel.
                stream.optionalTopics = ["dcp.future"]
                stream.pingInterval = .seconds(max(1, window / 3))
            }
            let cursor = FileExecutionCursor(path: directory + "/execution-cursor.json")
            let privateStream = PrivateStreamClient(configuration: stream, credentials: BybitCredentials(apiKey: LiveNodeFaultTests.key, secret: LiveNodeFaultTests.secret),
                                                    rest: rest, cursor: cursor, instruments: table, clock: clock, logger: logger)
            let gateway = BybitGateway(rest: rest, stream: privateStream, cursor: cursor, instruments: table, timer: clock, logger: logger)
            let journal = wrap(try SQLiteOrderJournal(path: directory + "/journal.sqlite"))
            let trader = try LiveTrader(engineConfiguration: configuration.engine, features: configuration.features, instruments: table,
                                        journal: journal, gateway: gateway, rest: rest, startingBalance: report.walletBalance,
                                        serverOffsetMilliseconds: report.serverOffsetMilliseconds, batchEntries: configuration.live.batchEntries,
                                        statusDirectory: directory, clock: clock,
                                        timer: clock, logger: logger)
            // A restarted node's recorder writes the instrument rules first (REST instruments-info), before any frame.
            if next > 0 { trader.recorded(Array(frames[0].1.utf8), at: clock.now()) }
            // `runs: false`: the caller runs the trader (through `LiveNodeService`) and waits for it to trust the stream.
            let task = Task { if runs { await trader.run() } }
            let node = Node(trader: trader, gateway: gateway, stream: privateStream, rest: rest, task: task, journalPath: directory + "/journal.sqlite")
            if runs { #expect(await eventually { node.trusted }, "the engine was told the private stream is trusted") }
            return node
        }

        /// Feeds frames one at a time (the simulator replays one, the clock moves to its receive time, the node
        /// receives it) until `done` holds after a frame, or the data ends; after each frame the node's queued
        /// commands are answered before the next (a frame never overtakes a send in flight).
        /// `onThread`: each frame reaches the trader on a thread of its own (not the task pool), awaited, so a log
        /// handler may block it without starving the node's tasks.
        /// `settleWithin`: how long each frame waits for the node to catch up (a scenario that holds an answer at the
        /// venue would otherwise wait the whole default for every frame).
        @discardableResult
        func feed(_ node: Node, onThread: Bool = false, settleWithin: Duration = .seconds(5),
                  until done: (Node) async -> Bool = { _ in false }) async throws -> Bool {
            while next < frames.count {
                let (receive, json) = frames[next]
                next += 1
                clock.advance(to: ClockInstant(nanoseconds: receive))
                _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
                if onThread {
                    let trader = node.trader
                    await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
                        Thread { trader.recorded(Array(json.utf8), at: LocalTime(nanoseconds: receive)); resumed.resume() }.start()
                    }
                } else {
                    node.trader.recorded(Array(json.utf8), at: LocalTime(nanoseconds: receive))
                }
                await settle(node, within: settleWithin)
                if await done(node) { return true }
            }
            return false
        }

        /// Waits until the node has caught up with the venue: its commands answered, every private message the
        /// simulator sent on the current connection read, and every event passed on from the stream to the gateway
        /// to the trader (each step may send more: the loop runs until all hold at once). A report the simulator has
        /// sent therefore reaches the engine before the next frame, whatever the machine's load; work the node starts
        /// on its own (a deadline after the clock moved, a query's answer) is not waited for. Not an expectation:
        /// while the private connection is down the counts cannot meet, and the wait ends after `within`.
        func settle(_ node: Node, within: Duration = .seconds(5)) async {
            _ = await eventually(within) {
                guard node.trader.commandsInFlight == 0 else { return false }
                let sent = await sim.replay.privateMessagesSentToLatestConnection(account: SimAccountSpec.defaultTestAccount.name)
                guard node.stream.topicFramesReadThisConnection >= sent else { return false }
                guard await node.gateway.streamEventsHandled >= node.stream.eventsEmitted else { return false }
                return node.trader.gatewayEventsHandled >= (await node.gateway.eventsYielded) && node.trader.commandsInFlight == 0
            }
        }

        /// The rest of the data, then `seconds` past its end (the time exit and the reports it brings).
        func runOut(_ node: Node, passing seconds: Int = 15) async throws {
            try await feed(node)
            await pass(node, seconds: seconds)
        }

        /// Time moves on after the data has ended: timers, reconciliations and time exits run, and the simulator's
        /// clock moves too (commands reach the venue after their latency). Mid-data, `feed` moves time.
        func pass(_ node: Node, seconds: Int) async {
            precondition(next >= frames.count, "pass only after the data: the simulator would replay frames the node never sees")
            for _ in 0..<seconds * 10 {
                clock.advance(by: .milliseconds(100))
                _ = try? await sim.replay.advance(frames: nil, milliseconds: 100)
                node.trader.idle(until: clock.now())
                await settle(node, within: .seconds(1))
            }
        }

        // MARK: - The venue's view

        func venuePosition(_ rest: BybitRESTClient) async throws -> BybitPosition? {
            var instruments = table
            let result = try await rest.send(try BybitRequest.positionList(.symbol("BTCUSDT")), as: BybitPositionListResult.self).result
            return try result?.positions(instruments: &instruments).first
        }

        func venueOpenOrders(_ rest: BybitRESTClient) async throws -> [BybitOrder] {
            var instruments = table
            let result = try await rest.send(try BybitRequest.realtimeOrders(scope: .symbol("BTCUSDT"), openOnly: 0, limit: 50),
                                             as: BybitOrderListResult.self).result
            return try result?.orders(instruments: &instruments) ?? []
        }

        /// The venue's record of one order, open or ended.
        func venueOrder(_ rest: BybitRESTClient, link: String) async throws -> BybitOrder? {
            var instruments = table
            for openOnly in [0, 1] {
                let result = try await rest.send(try BybitRequest.realtimeOrders(scope: .symbol("BTCUSDT"), order: .orderLinkId(link), openOnly: openOnly),
                                                 as: BybitOrderListResult.self).result
                if let order = try result?.orders(instruments: &instruments).first { return order }
            }
            return nil
        }

        func venueExecutions(_ rest: BybitRESTClient) async throws -> [BybitExecution] {
            var instruments = table
            let result = try await rest.send(try BybitRequest.executionList(symbol: "BTCUSDT", limit: 100), as: BybitExecutionListResult.self).result
            return try result?.executions(instruments: &instruments) ?? []
        }

        /// The four checks of every scenario, once the node has caught up with the venue (retried until they hold,
        /// with time moving so that the reconciliations run; the last failure is recorded).
        /// The checks of every scenario: at its end (time moves on between tries, so reconciliations run), or
        /// `midRun` while a position is open (only the node's pending work is waited for). `mode`: the risk mode the
        /// scenario leaves (a quarantine or a shutdown is REDUCING; anything else must stay NORMAL).
        func checkConsistent(_ node: Node, allowForeign: Bool = false, midRun: Bool = false,
                             mode: RiskEngine.Mode = .normal) async throws {
            var problems: [String] = []
            let consistent = await eventually(.seconds(20)) {
                problems = (try? await self.problems(node, allowForeign: allowForeign, mode: mode)) ?? ["venue not readable"]
                if !problems.isEmpty { if midRun { await self.settle(node, within: .seconds(1)) } else { await self.pass(node, seconds: 1) } }
                return problems.isEmpty
            }
            #expect(consistent, "\(problems)")
        }

        func problems(_ node: Node, allowForeign: Bool, mode: RiskEngine.Mode) async throws -> [String] {
            var problems: [String] = []
            let engine = node.trader.engine
            if engine.risk.memory.mode != mode { problems.append("risk mode \(engine.risk.memory.mode), expected \(mode)") }
            // The journal itself, replayed from its SQLite file, holds the venue's position (not only the engine in memory).
            let replayed = TradingEngine.restore(from: try SQLiteOrderJournal(path: node.journalPath).entries(),
                                                 configuration: configuration.engine, instruments: table)
            let position = try await venuePosition(node.rest)
            let venueSize = position?.signedSize.units ?? 0
            if engine.portfolio.size(btc) != venueSize { problems.append("engine position \(engine.portfolio.size(btc)), venue \(venueSize)") }
            if replayed.portfolio.size(btc) != venueSize { problems.append("journal position \(replayed.portfolio.size(btc)), venue \(venueSize)") }
            if venueSize != 0, position?.stopLoss == nil, !allowForeign { problems.append("venue position \(venueSize) without a stop") }
            // Orders: the venue's open orders of ours are the journal's live ones (position TP/SL legs have no link id).
            let open = try await venueOpenOrders(node.rest).filter { !$0.orderLinkId.isEmpty }
            let venueLinks = Set(open.map(\.orderLinkId))
            let journalLive = Set(engine.tracker.orders.values.filter { !$0.phase.isTerminal }.map { $0.id.description })
            if venueLinks != journalLive { problems.append("venue open \(venueLinks.sorted()), journal live \(journalLive.sorted())") }
            // Fills: each venue execution counted once (the journal holds each id, the engine applied as many).
            let trades = try await venueExecutions(node.rest).filter { $0.execType == .trade }
            let missing = trades.filter { !engine.tracker.hasExecution(ExecutionID($0.execId)) }
            if !missing.isEmpty { problems.append("executions not in the journal: \(missing.map(\.execId))") }
            if engine.fillsApplied != trades.count { problems.append("engine applied \(engine.fillsApplied) fills, the venue has \(trades.count)") }
            return problems
        }
    }

    /// One run of the node.
    struct Node: Sendable {
        let trader: LiveTrader
        let gateway: BybitGateway
        let stream: PrivateStreamClient
        let rest: BybitRESTClient
        let task: Task<Void, Never>
        let journalPath: String

        var trusted: Bool { trader.privateStreamTrusted }

        /// Journal entries of fills and funding payments, by execution id (each must appear once).
        func journaledFills() throws -> [String] {
            try SQLiteOrderJournal(path: journalPath).entries().compactMap { entry -> String? in
                guard case let .report(_, report) = entry else { return nil }
                switch report.event {
                case let .filled(fill): return fill.executionID.rawValue
                case let .funding(payment): return payment.executionID.rawValue
                default: return nil
                }
            }
        }

        func entryOrders() -> [ManagedOrder] { trader.engine.tracker.orders.values.filter { $0.id.role == .entry } }
        func hasPosition(_ id: SymbolID) -> Bool { trader.engine.portfolio.size(id) != 0 }
    }

    static func fillsOnce(_ node: Node) throws {
        let ids = try node.journaledFills()
        #expect(Set(ids).count == ids.count, "a fill journaled twice: \(ids)")
    }

    // MARK: - Scenarios

    /// The clean run: the ladder goes out with its stop, fills, and the time exit closes it.
    @Test func aLadderIsPlacedWithItsStopFilledAndClosedByTime() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start()
        defer { node.task.cancel() }
        #expect(try await rig.feed(node) { $0.hasPosition(rig.btc) }, "the entry filled")
        #expect(try await rig.venuePosition(node.rest)?.stopLoss != nil, "the position carries its stop")
        try await rig.runOut(node)
        #expect(node.trader.engine.portfolio.size(rig.btc) == 0, "closed by the time exit")
        try await rig.checkConsistent(node)
        #expect(node.trader.engine.fillsApplied == 2)
        try Self.fillsOnce(node)
        // The status file (written after the trader's lock is released) says what the node is and has seen.
        let status = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: rig.dir.file("node") + "/status.json"))) as? [String: Any]
        #expect(status?["node"] as? String == "live" && (status?["frames"] as? Int ?? 0) > 0 && status?["riskMode"] != nil,
                "status.json: \(String(describing: status))")
        // The latest snapshot reached the disk: both fills, no position left.
        #expect(status?["fills"] as? Int == 2 && (status?["positions"] as? [String: Any])?.isEmpty == true, "status.json: \(String(describing: status))")
    }

    /// Bybit is slow to answer a create (a cascade is when it is slowest): the entry's create is applied at the venue
    /// but its answer is held, and the entry fills meanwhile. The take-profit (reduce-only) and the exits reach the
    /// venue without waiting behind the unanswered create, which one sender for every command made them do.
    @Test func anExitIsNotHeldBehindAnUnansweredEntryCreate() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start(patient: true)
        defer { node.task.cancel() }
        await rig.holdCreateAnswers()
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { $0.hasPosition(rig.btc) }, "the entry filled")
        // The fill is known from the private stream; the create's own answer is still held at the venue.
        let reduceOnlyAtVenue = await eventually(.seconds(5)) {
            ((try? await rig.venueOpenOrders(node.rest)) ?? []).contains { $0.reduceOnly && !$0.orderLinkId.isEmpty }
        }
        #expect(reduceOnlyAtVenue, "the take-profit reached the venue while the entry's create was unanswered")
        #expect(node.trader.commandsInFlight == 2, "both creates (the entry's, the take-profit's) are unanswered: the take-profit did not wait")
        // The held answers are let go; the time exit closes the position and the venue and the journal agree.
        await rig.releaseCreateAnswers()
        try await rig.runOut(node)
        #expect(node.trader.engine.portfolio.size(rig.btc) == 0, "closed by the time exit")
        try await rig.checkConsistent(node)
        try Self.fillsOnce(node)
    }

    /// A cancel of an entry whose create Bybit has not answered goes out behind that create, in its lane, not ahead of
    /// it in the protective lane: sent at once it could reach Bybit first ("order not exists") and the entry would then
    /// rest with nobody cancelling it. The simulator applies the create and holds its answer; the shutdown cancels the
    /// entry; the cancel stays queued until the answer is let go, then cancels it (the market reaches the entry's price
    /// half a second after the cascade: the checks happen before).
    @Test func aCancelOfAnEntryWhoseCreateIsUnansweredWaitsBehindIt() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start(patient: true)
        defer { node.task.cancel() }
        await rig.holdCreateAnswers()
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { !$0.entryOrders().isEmpty }, "the ladder was decided")
        let decided = rig.frames[rig.next - 1].0 / 1_000_000
        let entry = try #require(node.entryOrders().first).id.description
        func entryStatus() async -> BybitOrderStatus? { try? await rig.venueOrder(node.rest, link: entry)?.orderStatus }
        #expect(await eventually(.seconds(5)) { await entryStatus() == .new }, "the create reached the venue (its answer held)")
        let stopping = Task { await node.trader.stop(within: .seconds(30)) }
        #expect(await eventually(.seconds(5)) { node.entryOrders().first?.cancelRequested == true }, "the shutdown cancels the entry")
        // The venue's clock 250 ms or more on (the stopping node reads no more frames), short of the fill, and a moment
        // of real time in which a cancel sent at once would have been answered (the loopback answers in milliseconds).
        try await Task.sleep(for: .milliseconds(200))
        try await rig.feed(node, settleWithin: .milliseconds(20)) { _ in rig.frames[rig.next - 1].0 / 1_000_000 >= decided + 250 }
        #expect(await entryStatus() == .new, "the entry rests")
        #expect(node.trader.commandsInFlight == 2, "the create unanswered, the cancel queued behind it")
        await rig.releaseCreateAnswers()
        await rig.settle(node)
        #expect(node.trader.commandsInFlight == 0, "the create answered, then the cancel sent and answered")
        // The venue's reports go out as its clock moves.
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { $0.entryOrders().allSatisfy { $0.phase.isTerminal } },
                "\(node.entryOrders().map(\.phase))")
        #expect(await entryStatus() == .cancelled, "cancelled, before the market reached it")
        #expect(!node.hasPosition(rig.btc))
        rig.clock.advance(by: .seconds(30))   // the stop's own limit, should anything have been left unanswered
        await stopping.value
    }

    /// The ladder's second entry waits behind the first, whose answer Bybit holds, and the shutdown cancels both. When the
    /// first is answered, the second, whose cancel was decided while it waited, is withdrawn unsent with its cancel: Bybit
    /// never sees it, and one cancel reaches it (the first entry's). Sent at its turn, the second would have rested at
    /// Bybit, in the cascade, until its cancel arrived a round trip later.
    @Test func anEntryWhoseCancelWasDecidedWhileItWaitedIsNeverSent() async throws {
        let rig = try await Rig(configuration: Self.twoLayers)
        defer { rig.stop() }
        let relay = try Self.cancelRelay(rig)
        defer { relay.stop() }
        let node = try await rig.start(restPort: relay.port, patient: true)
        defer { node.task.cancel() }
        await rig.holdCreateAnswers()
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { $0.entryOrders().count == 2 }, "the ladder was decided")
        let links = node.entryOrders().map(\.id.description).sorted()
        let (first, second) = (links[0], links[1])
        #expect(await eventually(.seconds(5)) { (try? await rig.venueOrder(node.rest, link: first))?.orderStatus == .new },
                "the first create reached the venue (its answer held)")
        let stopping = Task { await node.trader.stop(within: .seconds(30)) }
        #expect(await eventually(.seconds(5)) { node.entryOrders().allSatisfy(\.cancelRequested) }, "the shutdown cancels both entries")
        #expect(node.trader.commandsInFlight == 4, "the first create unanswered, the second and both cancels queued")
        await rig.releaseCreateAnswers()
        await rig.settle(node)
        #expect(node.trader.commandsInFlight == 0)
        #expect(try await rig.venueOrder(node.rest, link: second) == nil, "the second entry never reached the venue")
        #expect(relay.passed == 1, "only the first entry's cancel was sent")
        let withdrawn = try SQLiteOrderJournal(path: node.journalPath).entries().compactMap { entry -> String? in
            guard case let .call(_, action, .refused(rejection), _) = entry, rejection.reason == .withdrawnUnsent else { return nil }
            switch action {
            case let .submit(id?, _): return "create \(id.rawValue)"
            case let .cancel(.client(id)): return "cancel \(id.rawValue)"
            default: return "other"
            }
        }
        #expect(withdrawn == ["create \(second)", "cancel \(second)"])
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { $0.entryOrders().allSatisfy { $0.phase.isTerminal } },
                "\(node.entryOrders().map(\.phase))")
        #expect(!node.hasPosition(rig.btc))
        rig.clock.advance(by: .seconds(30))   // the stop's own limit, should anything have been left unanswered
        await stopping.value
    }

    /// With `live.batchEntries`, the ladder's two entries go to Bybit in one `create-batch` call (counted at a relay):
    /// both rest at once, each with its own answer (its venue id), and the run then goes as without the batch.
    @Test func aLaddersEntriesGoInOneBatchCall() async throws {
        let (rig, relay, node) = try await Self.batchedNode()
        defer { Self.stop(rig, relay, node) }
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { n in
            n.entryOrders().count == 2 && n.entryOrders().allSatisfy { $0.venueID != nil }
        }, "both entries answered with their venue ids")
        #expect(relay.passed == 1, "one create-batch call")
        for order in node.entryOrders() {
            #expect(try await rig.venueOrder(node.rest, link: order.id.description)?.orderId == order.venueID?.rawValue)
        }
        try await rig.runOut(node)
        try await rig.checkConsistent(node)
        try Self.fillsOnce(node)
    }

    /// A batch whose answer is lost (applied at Bybit, answered 504): neither entry is taken as refused, each command is
    /// answered to the engine once (nothing left in flight), and both are found (by the gateway's queries, or the
    /// stream's reports, whichever comes first); the run then goes on as without the fault, and ends consistent.
    @Test func aBatchWhoseAnswerIsLostLeavesBothEntriesUnknownUntilFound() async throws {
        let (rig, relay, node) = try await Self.batchedNode()
        defer { Self.stop(rig, relay, node) }
        await rig.sim.replay.setFaults(SimFaultPlan(restPaths: ["/v5/order/create-batch": .init(drop: 1)]))
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { n in
            n.entryOrders().count == 2 && n.trader.commandsInFlight == 0
        }, "the ladder was decided and its batch answered")
        #expect(relay.passed == 1, "one create-batch call")
        let answers = try SQLiteOrderJournal(path: node.journalPath).entries().compactMap { entry -> CallResult? in
            guard case let .call(_, .submit(id?, _), result, _) = entry, id.rawValue.contains("_E") else { return nil }
            return result
        }
        #expect(answers == [.transportError, .transportError], "both creates heard as unknown, once each: \(answers)")
        #expect(node.entryOrders().allSatisfy { $0.phase == .unknown || $0.venueID != nil }, "\(node.entryOrders().map(\.phase))")
        #expect(!node.entryOrders().contains { if case .rejected = $0.phase { true } else { false } }, "never refused")
        await rig.sim.replay.setFaults(SimFaultPlan())
        #expect(try await rig.feed(node, settleWithin: .milliseconds(20)) { n in n.entryOrders().allSatisfy { $0.venueID != nil } },
                "both found (by the queries, or the stream)")
        try await rig.runOut(node)
        try await rig.checkConsistent(node)
        try Self.fillsOnce(node)
    }

    /// The journal fails when the first entry's answer comes back (a full disk): trading stops, and the ladder's
    /// second entry, journaled and queued behind the first, is never sent.
    @Test func aJournalFailureStopsTheQueuedSends() async throws {
        let rig = try await Rig(configuration: Self.twoLayers)
        defer { rig.stop() }
        let node = try await rig.start(journal: { Self.failsAtFirstAnswer($0) })
        defer { node.task.cancel() }
        #expect(try await rig.feed(node, until: Self.journalFailedQuietly), "the journal failed")
        // Every order the venue ever had, open or not (the first entry may have filled meanwhile on a slow machine).
        var instruments = rig.table
        let history = try await node.rest.send(try BybitRequest.orderHistory(scope: .symbol("BTCUSDT"), limit: 50),
                                               as: BybitOrderListResult.self).result?.orders(instruments: &instruments) ?? []
        let sent = Set(try await rig.venueOpenOrders(node.rest).map(\.orderLinkId) + history.map(\.orderLinkId))
        let decided = try SQLiteOrderJournal(path: node.journalPath).entries().flatMap { entry -> [String] in
            guard case let .decision(d) = entry else { return [] }
            return d.commands.compactMap { if case let .submit(id?, _) = $0.action { id.rawValue } else { nil } }
        }
        #expect(decided.count == 2, "both entries were journaled: \(decided)")
        #expect(decided.count == 2 && sent.contains(decided[0]) && !sent.contains(decided[1]), "only the first entry reached the venue: \(sent)")
    }

    /// The journal fails during shutdown, when the first cancel's answer comes back: the other cancel, queued behind
    /// it, still goes (it takes risk off), and the stop returns once both are answered, without waiting for its
    /// deadline (nothing more can be journaled, so no report can end the orders in the engine's view). The node's
    /// clock never moves here: a stop that waited for its deadline would never return, and one that returned at the
    /// failure would leave the second cancel unanswered (and unsent, once the node's task is cancelled). The node's
    /// REST calls pass through a relay that counts the cancels reaching the simulator.
    @Test func aStopWhoseJournalFailsSendsTheQueuedCancelsAndReturns() async throws {
        let atReturn = try await Self.stopWithAFailingJournal({ Self.failsAtAnswer($0) { if case .cancel = $0 { true } else { false } } },
                                                              until: Self.bothEntriesRest, "both entries rest")
        #expect(atReturn?.unanswered == 0 && atReturn?.passed == 2, "both cancels reached the venue and were answered before the stop returned: \(String(describing: atReturn))")
    }

    /// The journal fails in the stop's own first step (the commit holding its quarantine decision): the engine has
    /// journaled no cancel, so the stop's next steps are decided without the journal and their cancels of the two
    /// resting entries sent without a journal entry, as after an earlier failure.
    @Test func aJournalFailureInTheStopsOwnStepsStillCancelsTheOpenEntries() async throws {
        let atReturn = try await Self.stopWithAFailingJournal({ FailingJournal($0) { entries in
            entries.contains { if case let .decision(d) = $0 { d.alarms.contains("quarantine: shutdown") } else { false } }
        } }, until: Self.bothEntriesRest, "both entries rest")
        #expect(atReturn?.unanswered == 0 && atReturn?.passed == 2, "both entries were cancelled by id: \(String(describing: atReturn))")
    }

    /// The journal fails before the shutdown (at the first entry's answer; the ladder's second entry is never sent):
    /// the stop cancels the open entries by id without journaling (the engine can decide nothing more), so the entry
    /// resting at Bybit does not stay there with no node watching.
    @Test func aStopAfterAnEarlierJournalFailureCancelsTheOpenEntries() async throws {
        let atReturn = try await Self.stopWithAFailingJournal({ Self.failsAtFirstAnswer($0) }, until: Self.journalFailedQuietly,
                                                              "the journal failed") { relay in
            #expect(relay.passed == 0, "no cancel before the stop")
        }
        // Both journaled entries are cancelled by orderLinkId: the one resting at Bybit, and the one never sent (which
        // Bybit answers as unknown).
        #expect(atReturn?.unanswered == 0 && atReturn?.passed == 2, "the open entries were cancelled by id: \(String(describing: atReturn))")
    }

    /// The journal fails at the entry's fill (a full disk): the engine holds the position but never saw Bybit confirm
    /// its stop (that report came after the failure), so the stop closes it with a reduce-only order sent without a
    /// journal entry, and Bybit's position ends flat (checked at the venue, with the creates counted at a relay).
    @Test func aStopAfterAJournalFailureAtAFillClosesThePositionWithoutAConfirmedStop() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let relay = try LoopbackRelay(to: rig.sim.port, marker: "POST /v5/order/create ")
        defer { relay.stop() }
        let node = try await rig.start(journal: { FailingJournal($0) { entries in
            entries.contains { if case let .report(_, report) = $0, case .filled = report.event { true } else { false } }
        } }, restPort: relay.port)
        defer { node.task.cancel() }
        #expect(try await rig.feed(node, until: Self.journalFailedQuietly), "the journal failed")
        #expect(node.hasPosition(rig.btc), "the engine holds the fill it could not journal")
        #expect(try await rig.venuePosition(node.rest)?.size.units ?? 0 != 0, "the entry filled at Bybit")
        let creates = relay.passed
        let atReturn = try await Self.stopOnFrozenClock(node, rig, relay)
        #expect(atReturn?.unanswered == 0 && atReturn?.passed == creates + 1, "one close reached the venue: \(String(describing: atReturn)), \(creates) create(s) before")
        #expect(try await Self.venueEndsFlatWithoutOrders(rig, node), "Bybit's position was closed")
    }

    /// `cascade live`'s service group (``LiveNodeService/services(recorder:node:)``) when the recorder stops because the journal failed
    /// (the journal fails at the first entry's answer; the recorder then throws, as `RecordService` does): the group
    /// shuts down gracefully, so the node's stop runs and cancels the open entries by id. A cancelled group (the
    /// default for a failing service) would never call it, leaving the entry resting at Bybit.
    @Test func aRecorderStoppedByAJournalFailureShutsTheNodeDownAndCancelsItsEntries() async throws {
        let rig = try await Rig(configuration: Self.twoLayers)
        defer { rig.stop() }
        let relay = try Self.cancelRelay(rig)
        defer { relay.stop() }
        let node = try await rig.start(journal: { Self.failsAtFirstAnswer($0) }, restPort: relay.port, runs: false)
        let recorder = FailsWhenTold()
        var logger = Logger(label: "live-group")
        logger.logLevel = .critical
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: LiveNodeService.services(recorder: recorder, node: LiveNodeService(trader: node.trader)), logger: logger))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        #expect(await eventually { node.trusted }, "the engine was told the private stream is trusted")
        #expect(try await rig.feed(node, until: Self.journalFailedQuietly), "the journal failed")
        #expect(relay.passed == 0, "no cancel before the recorder stops")
        recorder.fail()
        let ended = Mutex<Result<Void, any Error>?>(nil)
        let waiting = Task { let result = await running.result; ended.withLock { $0 = result } }
        let returned = await eventually(.seconds(20)) { ended.withLock { $0 } != nil }
        if !returned { rig.clock.advance(by: .seconds(61)) }
        _ = await waiting.value
        #expect(returned, "the group ended without its clock moving")
        switch ended.withLock({ $0 }) {
        case let .failure(error)?: #expect("\(error)".contains("disk full"), "the group ended with the recorder's error: \(error)")
        default: Issue.record("the group ended without the recorder's error")
        }
        #expect(relay.passed == 2, "the node's stop cancelled both journaled entries by id: \(relay.passed)")
        #expect(try await Self.venueEndsFlatWithoutOrders(rig, node), "Bybit holds no order and no position once its clock moves")
    }

    /// A two-layer node whose journal `journal` wraps, its REST calls through a relay that counts the cancels, fed
    /// until `ready` (expected, saying `fed`), then stopped on its frozen clock (``stopOnFrozenClock(_:_:_:)``, whose
    /// result it returns; `beforeStop` sees the relay first). Expects the journal to have failed and, once the
    /// simulator's clock moves, Bybit to hold no order and no position.
    static func stopWithAFailingJournal(_ journal: (any OrderJournal) -> any OrderJournal, until ready: (Node) async -> Bool,
                                        _ fed: String, beforeStop: (LoopbackRelay) -> Void = { _ in }) async throws -> (unanswered: Int, passed: Int)? {
        let rig = try await Rig(configuration: twoLayers)
        defer { rig.stop() }
        let relay = try cancelRelay(rig)
        defer { relay.stop() }
        let node = try await rig.start(journal: journal, restPort: relay.port)
        defer { node.task.cancel() }
        #expect(try await rig.feed(node, until: ready), "\(fed)")
        beforeStop(relay)
        let atReturn = try await stopOnFrozenClock(node, rig, relay)
        #expect(node.trader.failure != nil, "the journal failed")
        #expect(try await venueEndsFlatWithoutOrders(rig, node), "Bybit holds no order and no position once its clock moves")
        return atReturn
    }

    /// Moves the simulator's clock (the node has stopped: the frames it would have seen no longer matter) until Bybit
    /// holds no open order (the cancels reach its book after their latency), at most 2 s of its time; true when it then
    /// holds neither an open order nor a position (an entry that filled before its cancel arrived would show here).
    static func venueEndsFlatWithoutOrders(_ rig: Rig, _ node: Node) async throws -> Bool {
        for _ in 0..<20 {
            if try await rig.venueOpenOrders(node.rest).isEmpty { break }
            _ = try await rig.sim.replay.advance(frames: nil, milliseconds: 100)
        }
        let position = try await rig.venuePosition(node.rest)?.size.units ?? 0
        return try await rig.venueOpenOrders(node.rest).isEmpty && position == 0
    }

    /// A stand-in for `cascade live`'s recorder: runs until told to fail, then throws (as `RecordService` throws the
    /// trader's journal failure).
    final class FailsWhenTold: Service, Sendable {
        let told = WakeupSignal()
        func fail() { told.signal() }
        func run() async throws {
            await told.wait()
            throw JournalError("disk full")
        }
    }

    /// A two-layer ladder (δ 5 and 8 bps): the journal-failure scenarios' configuration.
    static let twoLayers = configuration.replacingOccurrences(of: #""offsetsBps": [5]"#, with: #""offsetsBps": [5, 8]"#)

    /// A node that batches a ladder's two entries (`live.batchEntries`), its REST calls through a relay that counts the
    /// create-batch calls reaching the simulator.
    static func batchedNode() async throws -> (Rig, LoopbackRelay, Node) {
        let rig = try await Rig(configuration: twoLayers.replacingOccurrences(of: #"{"depositUsdt": "100000","#,
                                                                              with: #"{"depositUsdt": "100000", "live": {"batchEntries": true},"#))
        #expect(rig.configuration.live.batchEntries)
        do {
            let relay = try LoopbackRelay(to: rig.sim.port, marker: "POST /v5/order/create-batch ")
            do { return (rig, relay, try await rig.start(restPort: relay.port)) } catch {
                relay.stop()
                throw error
            }
        } catch {
            rig.stop()
            throw error
        }
    }

    static func stop(_ rig: Rig, _ relay: LoopbackRelay, _ node: Node) {
        node.task.cancel()
        relay.stop()
        rig.stop()
    }

    /// A relay between the node and the simulator that counts the cancels reaching the simulator.
    static func cancelRelay(_ rig: Rig) throws -> LoopbackRelay { try LoopbackRelay(to: rig.sim.port, marker: "POST /v5/order/cancel ") }

    /// The journal has failed, nothing in flight.
    static func journalFailedQuietly(_ n: Node) -> Bool { n.trader.failure != nil && n.trader.commandsInFlight == 0 }

    /// Both entries of the two-layer ladder rest, nothing in flight.
    static func bothEntriesRest(_ n: Node) -> Bool {
        n.entryOrders().filter { !$0.phase.isTerminal }.count == 2 && n.trader.commandsInFlight == 0
    }

    /// Stops `node` (60 s deadline) on its frozen clock and returns, as of the moment the stop returned, the commands
    /// still unanswered and the requests the relay had seen pass (nil: it did not return within 20 s, and the clock is moved
    /// past the deadline so it ends).
    static func stopOnFrozenClock(_ node: Node, _ rig: Rig, _ relay: LoopbackRelay) async throws -> (unanswered: Int, passed: Int)? {
        let atReturn = Mutex<(unanswered: Int, passed: Int)?>(nil)
        let stopping = Task {
            await node.trader.stop(within: .seconds(60))
            atReturn.withLock { $0 = (node.trader.commandsInFlight, relay.passed) }
        }
        let returned = await eventually(.seconds(20)) { atReturn.withLock { $0 } != nil }
        if !returned { rig.clock.advance(by: .seconds(61)) }
        _ = await stopping.value
        return returned ? atReturn.withLock { $0 } : nil
    }

    /// The first order leaves while its decision is still being logged: the sender needs nothing the trader holds
    /// while it logs (before, it took the trader's lock, held through the frame's steps, log lines and status file).
    /// The log handler holds the `enter` line until the create has left the node (at most 10 s): the node's REST calls
    /// pass through a relay on threads of its own, which sees the request go by. The frames reach the trader on a
    /// thread of their own too, so nothing here waits on the task pool, which the node's tasks blocked on the
    /// trader's lock can exhaust on a 2-core machine.
    @Test func theFirstOrderLeavesWhileItsDecisionIsLogged() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let relay = try LoopbackRelay(to: rig.sim.port, marker: "POST /v5/order/create ")
        defer { relay.stop() }
        let gate = HoldsTheEnterLine(relay.seen)
        var logger = Logger(label: "live-node") { _ in gate }
        logger.logLevel = .info
        let node = try await rig.start(logger: logger, restPort: relay.port)
        defer { node.task.cancel() }
        #expect(try await rig.feed(node, onThread: true) { n in !n.entryOrders().isEmpty && n.trader.commandsInFlight == 0 }, "the entry is sent")
        let seen = gate.seenWhileHeld.withLock { $0 }
        #expect(!seen.isEmpty && seen.allSatisfy { $0 }, "the create left while its enter line was held: \(seen)")
    }

    /// Every order of a two-layer ladder leaves while its decision is still being logged. The second create follows
    /// the first one's answer, which the sender journals under the trader's lock: before, the trader held that lock
    /// while it wrote the decision's lines (and the status file), so the second order waited for them. The log
    /// handler holds the `enter` line until both creates have passed the relay (at most 10 s each). The feed stops as
    /// soon as both entries rest, before any re-evaluation could log a second `enter` line.
    @Test func theSecondOrderLeavesWhileItsDecisionIsLogged() async throws {
        let rig = try await Rig(configuration: Self.twoLayers)
        defer { rig.stop() }
        let relay = try LoopbackRelay(to: rig.sim.port, marker: "POST /v5/order/create ")
        defer { relay.stop() }
        let gate = HoldsTheEnterLine(relay.seen, creates: 2)
        var logger = Logger(label: "live-node") { _ in gate }
        logger.logLevel = .info
        let node = try await rig.start(logger: logger, restPort: relay.port)
        defer { node.task.cancel() }
        #expect(try await rig.feed(node, onThread: true, until: Self.bothEntriesRest), "both entries are sent")
        let seen = gate.seenWhileHeld.withLock { $0 }
        #expect(!seen.isEmpty && seen.allSatisfy { $0 }, "both creates left while their enter line was held: \(seen)")
    }

    /// The stop's last line comes after every line logged before the shutdown ended. A section writes its lines after
    /// releasing the trader's lock; the gateway's section that hears the entry's cancel (and closes the ladder) is the
    /// one that ends the shutdown, and the log handler holds its `ladderClosed` line (at most 2 s, released early by
    /// the `shutdown:` line). Before, the stop could write `shutdown:` while that line was still on its way.
    @Test func theShutdownLineComesAfterTheLinesLoggedBeforeIt() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let gate = HoldsALine("decision: ladderClosed")
        var logger = Logger(label: "live-node") { _ in gate }
        logger.logLevel = .info
        let node = try await rig.start(logger: logger)
        defer { node.task.cancel() }
        #expect(try await rig.feed(node) { n in !n.entryOrders().isEmpty && n.trader.commandsInFlight == 0 }, "the entry is sent")
        let stopped = Mutex(false)
        let stopping = Task {
            await node.trader.stop(within: .seconds(60))
            stopped.withLock { $0 = true }
        }
        // The cancel reaches the simulator's book once its clock moves; the node is stopping, so the frames it would
        // have seen no longer matter.
        for _ in 0..<50 {
            if stopped.withLock({ $0 }) { break }
            _ = try await rig.sim.replay.advance(frames: nil, milliseconds: 100)
            await rig.settle(node, within: .seconds(1))
        }
        // The gate holds the `ladderClosed` line up to 2 s of real time, and the stop waits for it: the loop above may
        // end sooner on a fast machine. Waited in real time, the node's clock unmoved (its 60 s deadline cannot end the stop).
        let returned = await eventually { stopped.withLock { $0 } }
        if !returned { rig.clock.advance(by: .seconds(61)) }
        await stopping.value
        #expect(returned, "the stop returned once the entry was cancelled")
        #expect(gate.order.withLock { $0 } == ["decision: ladderClosed", "shutdown:"], "lines in order: \(gate.order.withLock { $0 })")
    }

    /// Holds the first line starting with `prefix` until a `shutdown:` line is logged (at most 2 s), and records the
    /// order in which the two were written.
    final class HoldsALine: LogHandler, @unchecked Sendable {
        let prefix: String
        let shutdownLogged = DispatchSemaphore(value: 0)
        let order = Mutex<[String]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        init(_ prefix: String) { self.prefix = prefix }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let text = event.message.description
            if text.hasPrefix("shutdown:") {
                order.withLock { $0.append("shutdown:") }
                shutdownLogged.signal()
            } else if text.hasPrefix(prefix), !order.withLock({ $0.contains(prefix) }) {
                _ = shutdownLogged.wait(timeout: .now() + 2)
                order.withLock { $0.append(prefix) }
            }
        }
    }

    /// Holds each `decision: enter` line until `passed` is signalled `creates` times (at most 10 s each), and records
    /// whether it was.
    final class HoldsTheEnterLine: LogHandler, @unchecked Sendable {
        let passed: DispatchSemaphore
        let creates: Int
        let seenWhileHeld = Mutex<[Bool]>([])
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .info
        init(_ passed: DispatchSemaphore, creates: Int = 1) {
            self.passed = passed
            self.creates = creates
        }
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            guard event.message.description.hasPrefix("decision: enter ") else { return }
            let seen = (0..<creates).allSatisfy { _ in passed.wait(timeout: .now() + 10) == .success }
            seenWhileHeld.withLock { $0.append(seen) }
        }
    }

    /// Commits until an entry's call answer is to be journaled, then fails (as a full disk would).
    static func failsAtFirstAnswer(_ inner: any OrderJournal) -> FailingJournal { failsAtAnswer(inner) { _ in true } }

    /// Commits until the answer to a call whose action matches is to be journaled, then fails (as a full disk would).
    static func failsAtAnswer(_ inner: any OrderJournal, _ matches: @escaping @Sendable (VenueCommand.Action) -> Bool) -> FailingJournal {
        FailingJournal(inner) { entries in entries.contains { if case let .call(_, action, _, _) = $0 { matches(action) } else { false } } }
    }

    /// Commits until `fails` says a commit fails (as a full disk would), then fails that one.
    final class FailingJournal: OrderJournal {
        let inner: any OrderJournal
        let fails: @Sendable ([JournalEntry]) -> Bool
        init(_ inner: any OrderJournal, _ fails: @escaping @Sendable ([JournalEntry]) -> Bool) {
            self.inner = inner
            self.fails = fails
        }
        func commit(_ entries: [JournalEntry]) throws(JournalError) {
            if fails(entries) { throw JournalError("disk full") }
            try inner.commit(entries)
        }
        func entries() throws(JournalError) -> [JournalEntry] { try inner.entries() }
        func nextRun() throws(JournalError) -> UInt64 { try inner.nextRun() }
        func close() throws(JournalError) { try inner.close() }
    }

    /// The entry fills while the private stream is down (Bybit restarted: connections dropped, realtime emptied, the
    /// private endpoint unreachable until the test ends the outage): the reconnect's backfill brings the fill,
    /// counted once, and the node goes on to close the position.
    @Test func aFillDuringAPrivateStreamGapIsCountedOnceAfterTheBackfill() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start()
        defer { node.task.cancel() }
        #expect(try await rig.feed(node) { n in !n.entryOrders().isEmpty }, "the entry is sent")
        await rig.sim.replay.setPrivateOutage(true)
        await rig.sim.replay.dropAllConnections()
        #expect(await eventually { !node.trusted }, "the node saw the gap")
        #expect(try await rig.feed(node) { _ in (try? await rig.venuePosition(node.rest))?.size.units ?? 0 != 0 }, "filled at the venue in the gap")
        #expect(!node.hasPosition(rig.btc), "the node did not hear it")
        // Bybit restarts after the fill: `realtime` forgets the filled entry; history and executions keep it.
        await rig.sim.replay.restartVenue()
        await rig.sim.replay.setPrivateOutage(false)
        #expect(await eventually { node.trusted }, "trusted again after the backfill")
        #expect(await eventually { node.hasPosition(rig.btc) }, "the backfill brought the fill")
        try await rig.checkConsistent(node, midRun: true)
        try await rig.runOut(node)
        try await rig.checkConsistent(node)
        try Self.fillsOnce(node)
    }

    /// The create's answer is lost (the simulator drops the REST answers while the ladder goes out): the order is
    /// unknown, never resent; the gateway's query finds it, its fill is counted once, and the run ends consistent.
    @Test func aCreateWhoseAnswerIsLostIsFoundAndTradedOnce() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start()
        defer { node.task.cancel() }
        // Just before the second cascade: answers are dropped from the decision on.
        let second = try #require(Self.market.cascades.last).time
        #expect(try await rig.feed(node) { _ in rig.nextTime >= second - 200 })
        await rig.sim.replay.setFaults(SimFaultPlan(channels: [.rest: .init(drop: 1)], seed: 5))
        #expect(try await rig.feed(node) { n in !n.entryOrders().isEmpty && n.trader.commandsInFlight == 0 })
        await rig.sim.replay.setFaults(SimFaultPlan())
        #expect(node.entryOrders().allSatisfy { $0.phase == .unknown || $0.phase == .working || $0.phase == .filled }, "never rejected")
        try await rig.runOut(node)
        try await rig.checkConsistent(node)
        #expect(try await rig.venueExecutions(node.rest).filter { $0.orderLinkId.contains("_E") }.count == 1, "the entry traded once")
        try Self.fillsOnce(node)
    }

    /// The node stops dead (its tasks cancelled, nothing flushed: the journal is SQLite, committed per step) right
    /// after the ladder is journaled and queued; a new node on the same data directory looks the orders up, never
    /// resends them, and trades the rest of the run to a consistent end.
    @Test func killedWhilePlacingTheLadderThenRestartedReconciles() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let first = try await rig.start()
        let second = try #require(Self.market.cascades.last).time
        #expect(try await rig.feed(first) { _ in rig.nextTime >= second - 200 })
        // The frames of the decision: fed without waiting for the sends, then the node is gone.
        var decided = false
        while rig.next < rig.frames.count, !decided {
            let (receive, json) = rig.frames[rig.next]
            rig.next += 1
            rig.clock.advance(to: ClockInstant(nanoseconds: receive))
            _ = try await rig.sim.replay.advance(frames: 1, milliseconds: nil)
            first.trader.recorded(Array(json.utf8), at: LocalTime(nanoseconds: receive))
            decided = !first.entryOrders().isEmpty
        }
        #expect(decided)
        first.task.cancel()
        await first.task.value
        let restarted = try await rig.start()
        defer { restarted.task.cancel() }
        #expect(restarted.trader.engine.tracker.orders.count == first.trader.engine.tracker.orders.count, "the journal rebuilt the ladder")
        try await rig.runOut(restarted)
        try await rig.checkConsistent(restarted)
        try Self.fillsOnce(restarted)
        // Never resent: each orderLinkId was decided for sending once across both runs.
        let submits = try SQLiteOrderJournal(path: restarted.journalPath).entries().flatMap { entry -> [String] in
            guard case let .decision(d) = entry else { return [] }
            return d.commands.compactMap { if case let .submit(id?, _) = $0.action { id.rawValue } else { nil } }
        }
        #expect(!submits.isEmpty && Set(submits).count == submits.count, "\(submits)")
    }

    /// The position's exchange-side stop triggers while the node is down: the market runs 250 bps against the entry
    /// 10 s after the cascade, with the node stopped (the simulator replays on without it). The restarted node hears
    /// the stop's fill as its position's own (no quarantine) and ends flat, with nothing left open at the venue.
    @Test func aStopTriggeredWhileTheNodeIsDownEndsTheLadderOnRestart() async throws {
        let falling = SyntheticCascadeMarket(seed: 11, shape: .cascades(count: 2, spacingSeconds: 117, offsetBps: 5, settleTenthsBps: -2_500,
                                                                         noiseTenthsBps: 0, backgroundStepTicks: 0),
                                             warmUpSeconds: 5)
        // Held longer than the fall takes, so the stop, not the time exit, closes it.
        let rig = try await Rig(market: falling, configuration: Self.configuration.replacingOccurrences(of: #""maxHoldMs": 10000"#, with: #""maxHoldMs": 60000"#))
        defer { rig.stop() }
        let first = try await rig.start()
        #expect(try await rig.feed(first) { $0.hasPosition(rig.btc) }, "the entry filled")
        try await rig.checkConsistent(first, midRun: true)
        first.task.cancel()
        await first.task.value
        // Down: the venue goes on alone until the stop has closed the position.
        var closed = false
        while rig.next < rig.frames.count, !closed {
            rig.clock.advance(to: ClockInstant(nanoseconds: rig.frames[rig.next].0))
            rig.next += 1
            _ = try await rig.sim.replay.advance(frames: 1, milliseconds: nil)
            closed = try await rig.venuePosition(first.rest)?.size.units ?? 0 == 0
        }
        #expect(closed, "the stop triggered while the node was down")
        let restarted = try await rig.start()
        defer { restarted.task.cancel() }
        #expect(await eventually { !restarted.hasPosition(rig.btc) }, "the backfill brought the stop's fill")
        try await rig.runOut(restarted)
        try await rig.checkConsistent(restarted)
        #expect(restarted.trader.engine.risk.memory.mode == .normal, "the stop's fill is the position's own, not foreign")
        #expect(!restarted.trader.engine.alarms.contains { $0.contains("not ours") })
        try Self.fillsOnce(restarted)
    }

    /// Bybit's disconnect-cancel fires while the node is away (an account that has it): the take-profit and the
    /// position's stop leg go with every active order. The restarted node sees both gone in its backfill, sets the
    /// stop again and places the take-profit again, and the run ends consistent.
    @Test func disconnectCancelFiringIsRepairedByTheRestartedNode() async throws {
        var account = SimAccountSpec.defaultTestAccount
        account.dcpGranted = true
        let rig = try await Rig(accounts: [account])
        defer { rig.stop() }
        let first = try await rig.start()
        #expect(await rig.sim.replay.dcpWindows[account.name] != nil, "disconnect-cancel armed at start")
        #expect(try await rig.feed(first) { n in n.hasPosition(rig.btc) && n.trader.engine.tracker.orders.values.contains { $0.id.role == .takeProfit && $0.phase == .working } },
                "filled, with its take-profit resting")
        first.task.cancel()
        await first.task.value
        let fired = await eventually {
            rig.simTimer.advance(by: .seconds(10))
            return await rig.sim.replay.dcpFired[account.name] == 1
        }
        #expect(fired, "disconnect-cancel fired")
        let bare = try await rig.venuePosition(first.rest)
        #expect(bare?.size.units ?? 0 != 0 && bare?.stopLoss == nil, "the position is left, its stop leg gone")
        let restarted = try await rig.start()
        defer { restarted.task.cancel() }
        #expect(try await rig.feed(restarted) { n in (try? await rig.venuePosition(n.rest))?.stopLoss != nil }, "protected again")
        #expect(restarted.hasPosition(rig.btc))
        try await rig.checkConsistent(restarted, midRun: true)
        #expect(restarted.trader.engine.alarms.contains { $0.contains("position without a stop") })
        #expect(restarted.trader.engine.tracker.orders.values.count { $0.id.role == .takeProfit } == 2, "the take-profit placed again")
        try await rig.runOut(restarted)
        try await rig.checkConsistent(restarted)
        try Self.fillsOnce(restarted)
    }

    /// A funding settlement while the position is held: Bybit's `Funding` execution reaches the node, goes to the
    /// funding ledger and is never counted as a fill.
    @Test func aFundingExecutionIsNeverCountedAsAFill() async throws {
        let second = try #require(Self.market.cascades.last).time
        let funded = SyntheticCascadeMarket(seed: 11, shape: .cascades(count: 2, spacingSeconds: 117, offsetBps: 5, settleTenthsBps: 20,
                                                                        noiseTenthsBps: 0, backgroundStepTicks: 0),
                                            warmUpSeconds: 5, nextFundingTime: second + 65_000)
        // Funding 65 s after the cascade (outside the breaker's 60 s no-entry window), the position held 90 s.
        let rig = try await Rig(market: funded, configuration: Self.configuration.replacingOccurrences(of: #""maxHoldMs": 10000"#, with: #""maxHoldMs": 90000"#))
        defer { rig.stop() }
        #expect(rig.frames.last.map { $0.0 / 1_000_000 > second + 65_000 } == true, "the settlement falls inside the data")
        let node = try await rig.start()
        defer { node.task.cancel() }
        #expect(try await rig.feed(node) { n in n.trader.engine.portfolio.funding[rig.btc].map { $0 != .zero } ?? false }, "funding booked")
        #expect(node.hasPosition(rig.btc), "while the position was held")
        let executions = try await rig.venueExecutions(node.rest)
        #expect(executions.contains { $0.execType == .funding })
        #expect(node.trader.engine.fillsApplied == executions.count { $0.execType == .trade }, "funding is not a fill")
        try await rig.checkConsistent(node, midRun: true)
        // A restart: the reconciliations read the last minutes of executions again, the funding among them.
        let booked = node.trader.engine.portfolio.funding[rig.btc]
        node.task.cancel()
        await node.task.value
        let restarted = try await rig.start()
        defer { restarted.task.cancel() }
        try await rig.runOut(restarted, passing: 95)
        #expect(restarted.trader.engine.portfolio.funding[rig.btc] == booked, "funding booked once across the restart")
        try await rig.checkConsistent(restarted)
        try Self.fillsOnce(restarted)
    }

    /// An execution of a type this build does not know arrives on the private stream while a position is open: it is
    /// journaled, never applied as a fill, and alarmed; the run ends consistent with the venue (which never made it).
    @Test func anUnknownExecutionTypeIsAlarmedAndNeverAFill() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start()
        defer { node.task.cancel() }
        #expect(try await rig.feed(node) { $0.hasPosition(rig.btc) })
        let size = node.trader.engine.portfolio.size(rig.btc)
        let time = rig.clock.now().nanoseconds / 1_000_000
        let row = #"{"category":"linear","symbol":"BTCUSDT","execFee":"0","execId":"unknown-type-1","execPrice":"60000","execQty":"0.016","execType":"FutureKind","execValue":"960","feeRate":"0","orderId":"venue-made-9","orderLinkId":"","orderPrice":"0","orderQty":"0","orderType":"UNKNOWN","side":"Buy","execTime":"\#(time)","isMaker":false,"seq":99,"closedSize":"0","leavesQty":"0","stopOrderType":"UNKNOWN","createType":"","feeCurrency":"USDT"}"#
        await rig.sim.replay.injectPrivate(account: SimAccountSpec.defaultTestAccount.name, topic: "execution.linear", items: [row])
        await rig.settle(node)
        #expect(await eventually { node.trader.engine.alarms.contains { $0.contains("unknown type FutureKind") } })
        #expect(node.trader.engine.portfolio.size(rig.btc) == size, "not applied")
        #expect(node.trader.engine.risk.memory.mode == .normal)
        try await rig.runOut(node)
        try await rig.checkConsistent(node)
        try Self.fillsOnce(node)
    }

    /// The cancel/fill race: the node cancels its entry (a graceful stop) while the entry is on its way to the book;
    /// Bybit accepts the cancel, but its matching engine fills the entry first (the simulator delays cancels by 5 s)
    /// and then refuses the cancel, sending the order `Filled` again with `CancelByUser`. The fill counts once, and
    /// the position it left is the journal's, with its stop.
    @Test func theCancelFillRaceKeepsTheFillAndTheJournalFollowsTheVenue() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start()
        defer { node.task.cancel() }
        // Stopped right after the decision: the entry is sent, not yet at the book (it arrives after its latency).
        #expect(try await rig.feed(node) { n in !n.entryOrders().isEmpty }, "the entry is sent")
        let entry = try #require(node.entryOrders().first)
        await rig.sim.replay.setCancelDelay(milliseconds: 5_000)
        await node.trader.stop(within: .zero)
        await rig.settle(node)
        #expect(node.trader.engine.tracker.orders[entry.id.clientOrderID]?.cancelRequested == true, "the cancel was accepted")
        #expect(try await rig.feed(node) { $0.hasPosition(rig.btc) }, "filled before the cancel reached the book; the fill counts")
        try await rig.checkConsistent(node, midRun: true, mode: .reducing)
        // The cancel reaches the book after the fill: refused there, and the order is reported Filled again.
        let history = { () async throws -> [BybitOrder] in
            var instruments = rig.table
            let result = try await node.rest.send(try BybitRequest.orderHistory(scope: .symbol("BTCUSDT"), order: .orderLinkId(entry.id.description), limit: 1),
                                                  as: BybitOrderListResult.self).result
            return try result?.orders(instruments: &instruments) ?? []
        }
        #expect(try await rig.feed(node) { _ in (try? await history())?.first?.cancelType == "CancelByUser" }, "the race as Bybit reports it")
        #expect(node.trader.engine.tracker.orders[entry.id.clientOrderID]?.phase == .filled)
        #expect(node.trader.engine.fillsApplied >= 1)
        try await rig.runOut(node)
        try await rig.checkConsistent(node, mode: .reducing)
        try Self.fillsOnce(node)
    }

    /// Another program trades the account between cascades: its fill reaches the node as not its own, the node is
    /// quarantined (REDUCING: the second cascade is not traded) and its journal follows the venue's position.
    @Test func aPositionChangedByAnotherClientQuarantinesTheNode() async throws {
        let rig = try await Rig()
        defer { rig.stop() }
        let node = try await rig.start()
        defer { node.task.cancel() }
        let second = try #require(Self.market.cascades.last).time
        #expect(try await rig.feed(node) { _ in rig.nextTime >= second - 30_000 })
        let other = rig.rest(label: "other-client")
        let instrument = node.trader.instruments[rig.btc]
        let order = try BybitRequest.createOrder(instrument: instrument, side: .buy, orderType: .market, qty: Quantity(units: 1_000),
                                                 orderLinkId: "another-program-1")
        _ = try await other.send(order, as: BybitOrderIDResult.self)
        #expect(try await rig.feed(node) { n in n.trader.engine.risk.memory.mode == .reducing }, "quarantined")
        #expect(node.trader.engine.alarms.contains { $0.contains("not ours") })
        try await rig.runOut(node)
        #expect(node.entryOrders().isEmpty, "no ladder while quarantined")
        try await rig.checkConsistent(node, allowForeign: true, mode: .reducing)
    }
}
