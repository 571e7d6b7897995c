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

/// The gateway against `cascade sim` (lockstep, the default test account): commands become Bybit requests, the
/// private stream becomes execution reports, and a call without a clear answer is resolved by queries.
@Suite(.serialized) struct BybitGatewayTests {
    static let key = "cascade-test-key"
    static let secret = "cascade-test-secret"

    struct Setup {
        let sim: SimulatorHarness
        let gateway: BybitGateway
        let events: GatewayEventLog
        let timer: ManualClock
        let btc: Instrument
        let tasks: [Task<Void, Never>]
        func stop() {
            for t in tasks { t.cancel() }
            sim.stop()
        }
    }

    static func start() async throws -> Setup {
        let sim = try await SimulatorHarness.start(frames: 300, speed: .lockstep)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        return await gateway(on: sim)
    }

    /// A gateway (a process of its own: its own stream, cursor and clock) on `sim`, running; `prepare` runs before it
    /// starts. `initialBackfill`: how far back its first backfill reads.
    /// `restPort`: its REST calls go there (a relay to the simulator) instead of the simulator's own port.
    static func gateway(on sim: SimulatorHarness, initialBackfill: Duration? = nil, historyFloor: ExchangeTime? = nil, restPort: Int? = nil,
                        prepare: (BybitGateway, Instrument) async -> Void = { _, _ in }) async -> Setup {
        var logger = Logger(label: "gateway-test")
        logger.logLevel = .critical
        var table = InstrumentTable()
        let id = table.id(for: "BTCUSDT")
        let btc = table[id]
        let credentials = BybitCredentials(apiKey: key, secret: secret)
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(restPort ?? sim.port)", credentials: credentials,
                                   recvWindow: LoopbackTest.recvWindow, logger: logger)
        var configuration = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(sim.port)/v5/private")
        configuration.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200))
        if let initialBackfill { configuration.initialBackfill = initialBackfill }
        configuration.historyFloor = historyFloor
        let stream = PrivateStreamClient(configuration: configuration, credentials: credentials, rest: rest,
                                         cursor: InMemoryExecutionCursor(), instruments: table, logger: logger)
        // Queries of unknown outcomes wait on this clock: the test decides when they run.
        let timer = ManualClock(startingAt: 1)
        let gateway = BybitGateway(rest: rest, stream: stream, cursor: InMemoryExecutionCursor(), instruments: table,
                                   timer: timer, logger: logger)
        await gateway.setHistoryFloor(historyFloor)
        await prepare(gateway, btc)
        let events = GatewayEventLog()
        let tasks = [Task { await gateway.run() }, Task { for await e in gateway.events { events.append(e) } }]
        return Setup(sim: sim, gateway: gateway, events: events, timer: timer, btc: btc, tasks: tasks)
    }

    /// A gateway whose REST calls pass two relays, counting the single creates and the create-batch calls that reach
    /// the simulator.
    static func relayed() async throws -> (Setup, singles: LoopbackRelay, batches: LoopbackRelay) {
        let sim = try await SimulatorHarness.start(frames: 300, speed: .lockstep)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        let singles = try LoopbackRelay(to: sim.port, marker: "POST /v5/order/create ")
        let batches = try LoopbackRelay(to: singles.port, marker: "POST /v5/order/create-batch ")
        return (await gateway(on: sim, restPort: batches.port), singles, batches)
    }

    /// Prices in 1e-8 units: 63,000.0 and a stop at 62,000.0; 0.001 BTC.
    static func entry(_ link: String, price: Int64 = 6_300_000_000_000, stop: Int64 = 6_200_000_000_000) throws -> (ClientOrderID, OrderSpec) {
        let spec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: price), qty: Quantity(units: 1_000),
                             protection: Protection(stopLoss: ProtectionLeg(trigger: Price(units: stop))))
        return (try ClientOrderID(link), spec)
    }

    func command(_ action: VenueCommand.Action, _ s: Setup) -> VenueCommand {
        VenueCommand(symbol: s.btc.id, decidedAt: ExchangeTime(milliseconds: 0), action: action)
    }

    func simOrders(_ s: Setup, link: String) async -> [BybitOrder] {
        await s.sim.replay.account("default")?.orders.values.filter { $0.orderLinkId == link } ?? []
    }

    /// The keep-warm (as `cascade live` sets it): at start, and again each interval on the gateway's clock, three
    /// public calls at once (a relay counts them; that each takes a connection of its own is
    /// `warmingOpensAConnectionPerCall`'s). Off, no round is sent.
    @Test(arguments: [true, false]) func theKeepWarmUsesItsConnectionsEveryInterval(on: Bool) async throws {
        let sim = try await SimulatorHarness.start(frames: 300, speed: .lockstep)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        let relay = try LoopbackRelay(to: sim.port, marker: "GET /v5/market/time")
        defer { relay.stop() }
        let s = await Self.gateway(on: sim, restPort: relay.port) { gateway, _ in
            if on { await gateway.setKeepWarm(connections: BybitGateway.liveKeepWarmConnections, every: BybitGateway.liveKeepWarmInterval) }
        }
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        guard on else {
            // The gateway's clock-driven loops have run (a reconciliation), and no keep-warm round with them.
            #expect(await LiveFaultScenarioTests.reconciled(s.timer) { await s.gateway.reconciliations >= 1 })
            #expect(await s.gateway.keepWarmRounds == 0)
            return
        }
        #expect(await eventually { await s.gateway.keepWarmRounds == 1 }, "a round at start")
        #expect(relay.accepted >= BybitGateway.liveKeepWarmConnections, "\(relay.accepted) connection(s)")
        let before = relay.passed
        var advanced = 0
        #expect(await eventually {
            s.timer.advance(by: .seconds(1))
            advanced += 1
            return await s.gateway.keepWarmRounds >= 2
        }, "another round an interval later")
        #expect(advanced >= 20, "not before the interval: after \(advanced) s")
        #expect(relay.passed >= before + BybitGateway.liveKeepWarmConnections)
    }

    @Test func anEntryCarriesItsStopAndComesBackAcceptedOnTheStream() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        let (id, spec) = try Self.entry("gw-entry-1")
        let result = await s.gateway.send(command(.submit(id, spec), s), instrument: s.btc)
        guard case let .sent(venueID?) = result else { Issue.record("\(result)"); return }
        _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        #expect(await eventually { s.events.accepted(id) })
        let orders = await simOrders(s, link: "gw-entry-1")
        #expect(orders.count == 1 && orders.first?.orderId == venueID.rawValue)
        #expect(orders.first?.stopLoss == Price(units: 6_200_000_000_000) && orders.first?.timeInForce == .postOnly)
    }

    /// A create processed by Bybit whose answer is lost (HTTP 504, as from Bybit's edge): the engine hears
    /// `transportError` (the order unknown), the gateway finds the order by its orderLinkId and reports it, and the
    /// create is never sent again.
    @Test func aCreateWhoseAnswerIsLostIsFoundByQueryAndNeverResent() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        await s.sim.replay.setFaults(SimFaultPlan(channels: [.rest: .init(drop: 1)], seed: 3))
        let (id, spec) = try Self.entry("gw-lost-1")
        let result = await s.gateway.send(command(.submit(id, spec), s), instrument: s.btc)
        #expect(result == .transportError)
        await s.sim.replay.setFaults(SimFaultPlan())
        _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        // The stream may report it first; the query must find it either way.
        #expect(await eventually { s.timer.nextDeadline == s.timer.instant() + .seconds(2) })
        s.timer.advance(by: .seconds(2))
        #expect(await eventually { s.events.accepted(id) })
        #expect(await eventually { await s.gateway.foundByQuery == 1 })
        #expect(await simOrders(s, link: "gw-lost-1").count == 1)
    }

    /// An order that no list knows for a whole minute (queries at 2, 5, 10, 20, 40 and 60 s) ended without reaching
    /// Bybit: reported rejected with its own venue code, and alerted; not before.
    @Test func anOrderNoListKnowsForAMinuteIsReportedRejected() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        let id = try ClientOrderID("gw-never-1")
        let resolving = Task { await s.gateway.resolve(s.btc, reference: .orderLinkId(id.rawValue)) }
        for wait in [2, 3, 5, 10, 20, 20] {
            #expect(await eventually { s.timer.deadlines.contains(s.timer.instant() + .seconds(wait)) }, "the next query \(wait) s later")
            #expect(!s.events.reports.contains { if case .rejected = $0.event { true } else { false } })
            s.timer.advance(by: .seconds(wait))
        }
        await resolving.value
        #expect(await s.gateway.notFoundAfterQueries == 1)
        #expect(await eventually { s.events.reports.contains { if case .rejected = $0.event { true } else { false } } })
        let rejected = s.events.reports.compactMap { r -> OrderRejected? in if case let .rejected(x) = r.event { x } else { nil } }
        #expect(rejected.map(\.clientID) == [id] && rejected.first?.rejection.venueCode == "notFoundAfterQueries")
        #expect(await eventually { s.events.list.withLock { $0.contains { if case .alert = $0 { true } else { false } } } })
    }

    /// An IOC create whose outcome is unknown cannot rest anywhere: two clean answers (2 and 5 s) settle it as absent,
    /// so the engine's next exit attempt does not wait the minute a resting order gets.
    @Test func anUnknownIOCIsConcludedAbsentAfterTwoCleanAnswers() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        let id = try ClientOrderID("gw-ioc-1")
        let spec = OrderSpec(side: .sell, type: .limit, timeInForce: .immediateOrCancel, price: Price(units: 6_000_000_000_000),
                             qty: Quantity(units: 1_000), reduceOnly: true)
        #expect(await s.gateway.failed(command(.submit(id, spec), s), instrument: s.btc, .transport("no answer", outcomeUnknown: true)) == .transportError)
        for wait in [2, 3] {
            #expect(await eventually { s.timer.deadlines.contains(s.timer.instant() + .seconds(wait)) })
            s.timer.advance(by: .seconds(wait))
        }
        #expect(await eventually { s.events.reports.contains { if case let .rejected(r) = $0.event { r.clientID == id } else { false } } })
    }

    /// A create whose outcome is unknown and that Bybit processes only after the first two queries found nothing (a
    /// create is processed asynchronously, and later under load): found by a later query and reported accepted, never
    /// rejected. Before, two clean answers 3 s apart concluded it absent, and the order then rested unmanaged.
    @Test func anOrderBybitProcessesLateIsFoundNotRejected() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        let (id, spec) = try Self.entry("gw-late-1")
        let resolving = Task { await s.gateway.resolve(s.btc, reference: .orderLinkId(id.rawValue)) }
        for wait in [2, 3] {
            #expect(await eventually { s.timer.deadlines.contains(s.timer.instant() + .seconds(wait)) })
            s.timer.advance(by: .seconds(wait))
        }
        #expect(await eventually { s.timer.deadlines.contains(s.timer.instant() + .seconds(5)) }, "still asking after two clean answers")
        // Bybit processes the create now.
        #expect(await s.gateway.send(command(.submit(id, spec), s), instrument: s.btc) != .transportError)
        _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        s.timer.advance(by: .seconds(5))
        await resolving.value
        #expect(await s.gateway.notFoundAfterQueries == 0)
        #expect(await eventually { s.events.accepted(id) })
        #expect(!s.events.reports.contains { if case .rejected = $0.event { true } else { false } })
    }

    /// A restarted node's engine holds an entry open that Bybit ended while the node was away (cancelled here, as
    /// disconnect-cancel would), created before the first backfill's history window: no list of that backfill has it,
    /// and the new process's stream never saw it. The gateway queries it by orderLinkId and reports its end; before, the
    /// engine held it open for good.
    @Test func anOrderTheEngineHoldsOpenThatEndedWhileAwayIsReported() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        let (id, spec) = try Self.entry("gw-away-1")
        #expect(await s.gateway.send(command(.submit(id, spec), s), instrument: s.btc) != .transportError)
        _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        #expect(await eventually { s.events.accepted(id) })
        #expect(await s.gateway.send(command(.cancel(.client(id)), s), instrument: s.btc) != .transportError)
        _ = try await s.sim.replay.advance(frames: nil, milliseconds: 30_000)
        #expect(await simOrders(s, link: "gw-away-1").first?.orderStatus == .cancelled)
        // The restarted process: its first backfill reads 1 s back.
        let restarted = await Self.gateway(on: s.sim, initialBackfill: .seconds(1)) { gateway, btc in
            await gateway.expectOpen([(id, btc)])
        }
        defer { for t in restarted.tasks { t.cancel() } }
        #expect(await eventually { restarted.events.trusted })
        #expect(await eventually { restarted.timer.deadlines.contains(restarted.timer.instant() + .seconds(2)) }, "queried by orderLinkId")
        restarted.timer.advance(by: .seconds(2))
        #expect(await eventually { restarted.events.reports.contains { if case let .cancelled(c) = $0.event { c.clientID == id } else { false } } },
                "its end reported")
    }

    @Test func refusalsAreTypedAndLeverageAlreadySetIsSuccess() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        let leverage = try Rate("5")
        #expect(await s.gateway.send(command(.setLeverage(leverage), s), instrument: s.btc) == .sent(nil))
        #expect(await s.gateway.send(command(.setLeverage(leverage), s), instrument: s.btc) == .sent(nil))   // 110043
        // A cancel of an order Bybit does not have: refused as unknown (its end, if any, comes from the query).
        let result = await s.gateway.send(command(.cancel(.client(try ClientOrderID("gw-nothing"))), s), instrument: s.btc)
        guard case let .refused(rejection) = result else { Issue.record("\(result)"); return }
        #expect(rejection.reason == .unknownOrder && rejection.venueCode == "110001")
        // 100 BTC at 63,000 on a 100,000 USDT account: Bybit's 110007, a typed refusal (nothing happened).
        var (id, spec) = try Self.entry("gw-big-1")
        spec.qty = Quantity(units: 100_000_000)
        let big = await s.gateway.send(command(.submit(id, spec), s), instrument: s.btc)
        guard case let .refused(r) = big else { Issue.record("\(big)"); return }
        #expect(r.reason == .insufficientBalance && r.venueCode == "110007", "\(r)")
    }

    /// Entry creates in one `create-batch` (one call at a relay, no single create): each answered on its own, in order.
    /// The first rests (its venue id heard); the second is too big for the account (Bybit's 110007 on its item: a typed
    /// refusal); the third reuses the first's orderLinkId (110072 on its item: the order under that id may be live, so
    /// the outcome is unknown and resolved by query, as for a single create, never a refusal).
    @Test func aBatchOfCreatesIsAnsweredItemByItem() async throws {
        let (s, singles, batches) = try await Self.relayed()
        defer { for stop in [s.stop, batches.stop, singles.stop] { stop() } }
        #expect(await eventually { s.events.trusted })
        let (first, spec) = try Self.entry("gw-batch-1")
        var (second, big) = try Self.entry("gw-batch-2")
        big.qty = Quantity(units: 100_000_000)
        let results = await s.gateway.sendBatch([command(.submit(first, spec), s), command(.submit(second, big), s),
                                                 command(.submit(first, spec), s)], instrument: s.btc)
        #expect(batches.passed == 1 && singles.passed == 0, "one create-batch call, no single create")
        #expect(results.count == 3)
        let resting = await simOrders(s, link: "gw-batch-1")
        #expect(resting.count == 1 && results.first == .sent(VenueOrderID(resting[0].orderId)), "\(results)")
        guard results.count == 3, case let .refused(r) = results[1] else { Issue.record("\(results)"); return }
        #expect(r.reason == .insufficientBalance && r.venueCode == "110007", "\(r)")
        #expect(results[2] == .transportError, "a duplicate orderLinkId leaves the order to be queried")
        #expect(await simOrders(s, link: "gw-batch-2").isEmpty)
    }

    /// An order of a batch that cannot be encoded (a zero quantity) is refused alone, locally, and the others go: two in
    /// one create-batch, or a single create when only one is left.
    @Test func anOrderThatCannotBeEncodedIsRefusedAlone() async throws {
        let (s, singles, batches) = try await Self.relayed()
        defer { for stop in [s.stop, batches.stop, singles.stop] { stop() } }
        #expect(await eventually { s.events.trusted })
        func create(_ link: String, zero: Bool = false) throws -> VenueCommand {
            var (id, spec) = try Self.entry(link)
            if zero { spec.qty = .zero }
            return command(.submit(id, spec), s)
        }
        let three = await s.gateway.sendBatch([try create("gw-enc-1"), try create("gw-enc-2", zero: true), try create("gw-enc-3")], instrument: s.btc)
        #expect(batches.passed == 1 && singles.passed == 0)
        guard three.count == 3, case .sent = three[0], case let .refused(r) = three[1], case .sent = three[2] else { Issue.record("\(three)"); return }
        #expect(r.venueCode == "local")
        let two = await s.gateway.sendBatch([try create("gw-enc-4"), try create("gw-enc-5", zero: true)], instrument: s.btc)
        #expect(batches.passed == 1 && singles.passed == 1, "the one left went as a single create")
        guard two.count == 2, case .sent = two[0], case .refused = two[1] else { Issue.record("\(two)"); return }
        let resting = await [simOrders(s, link: "gw-enc-1"), simOrders(s, link: "gw-enc-3"), simOrders(s, link: "gw-enc-4")].map(\.count)
        #expect(resting == [1, 1, 1])
    }

    /// A create-batch whose answer is lost (applied at Bybit, answered 504): every create in it is unknown, never
    /// refused, and each is resolved by its own query (found: reported accepted).
    @Test func aBatchWhoseAnswerIsLostLeavesEveryCreateUnknown() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        await s.sim.replay.setFaults(SimFaultPlan(restPaths: ["/v5/order/create-batch": .init(drop: 1)]))
        let (a, spec) = try Self.entry("gw-lost-1")
        let (b, _) = try Self.entry("gw-lost-2")
        let sleepers = s.timer.sleeperCount
        let results = await s.gateway.sendBatch([command(.submit(a, spec), s), command(.submit(b, spec), s)], instrument: s.btc)
        await s.sim.replay.setFaults(SimFaultPlan())
        #expect(results == [.transportError, .transportError])
        let applied = (await simOrders(s, link: "gw-lost-1").count, await simOrders(s, link: "gw-lost-2").count)
        #expect(applied == (1, 1), "both applied")
        _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        // Each order's query waits 2 s on the gateway's clock (the stream may report the orders first; the queries must
        // find them).
        #expect(await eventually { s.timer.sleeperCount == sleepers + 2 }, "one query per create")
        s.timer.advance(by: .seconds(2))
        #expect(await eventually { s.events.accepted(a) && s.events.accepted(b) })
        #expect(await eventually { await s.gateway.foundByQuery == 2 }, "both found by their own queries")
    }

    /// An answer that does not match the request item by item is not read by position: lists of another length, or an
    /// accepted item naming another orderLinkId, leave every create unknown. A refused item may leave its id empty.
    @Test func aBatchAnswerIsReadOnlyWhenItMatchesTheRequest() throws {
        func answer(_ items: [(link: String, orderId: String, code: Int)]) throws -> BybitResponse<BybitBatchOrderResult> {
            let list = items.map { #"{"category":"linear","symbol":"BTCUSDT","orderId":"\#($0.orderId)","orderLinkId":"\#($0.link)","createAt":"1"}"# }
            let codes = items.map { #"{"code":\#($0.code),"msg":"\#($0.code == 0 ? "OK" : "refused")"}"# }
            let text = #"{"retCode":0,"retMsg":"OK","result":{"list":[\#(list.joined(separator: ","))]},"retExtInfo":{"list":[\#(codes.joined(separator: ","))]},"time":1}"#
            return try BybitResponse<BybitBatchOrderResult>.decode(Array(text.utf8))
        }
        let links = ["l-1", "l-2"]
        let good = BybitGateway.batchItems(try answer([("l-1", "o-1", 0), ("", "", 110007)]), links: links, endpoint: "/v5/order/create-batch")
        #expect(good?.count == 2)
        if case let .success(id)? = good?.first { #expect(id == VenueOrderID("o-1")) } else { Issue.record("\(String(describing: good))") }
        if case let .failure(error)? = good?.last { #expect(error.outcome == .notApplied) } else { Issue.record("\(String(describing: good))") }
        #expect(BybitGateway.batchItems(try answer([("l-1", "o-1", 0)]), links: links, endpoint: "") == nil, "one item for two orders")
        #expect(BybitGateway.batchItems(try answer([("l-2", "o-2", 0), ("l-1", "o-1", 0)]), links: links, endpoint: "") == nil,
                "accepted items naming each other's orders")
        #expect(BybitGateway.batchItems(try answer([("l-1", "o-1", 0), ("l-9", "", 110007)]), links: links, endpoint: "") == nil)
    }

    /// A fill the private stream never delivered (its messages lost while the connection stayed up, so no gap and no
    /// backfill): the periodic cross-check of executions finds it and reports it, once, with the position.
    @Test func aFillTheStreamNeverDeliveredIsFoundByTheExecutionCrossCheck() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        await s.sim.replay.setFaults(SimFaultPlan(channels: [.privateStream: .init(drop: 1)], seed: 5))
        let id = try ClientOrderID("gw-silent-1")
        let spec = OrderSpec(side: .buy, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: Quantity(units: 1_000))
        guard case .sent = await s.gateway.send(command(.submit(id, spec), s), instrument: s.btc) else { Issue.record("not sent"); return }
        _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        #expect(await eventually { await simOrders(s, link: "gw-silent-1").first?.orderStatus == .filled })
        await s.sim.replay.setFaults(SimFaultPlan())
        func fills() -> [Fill] { s.events.fills }
        #expect(fills().isEmpty)
        // The open-order check (7 s) and then the positions and executions (45 s).
        #expect(await LiveFaultScenarioTests.reconciled(s.timer) { fills().map(\.clientID) == [id] })
        #expect(await LiveFaultScenarioTests.reconciled(s.timer) { await s.gateway.reconciliations >= 2 })
        #expect(s.events.reports.contains { if case let .position(p) = $0.event { p.size == Quantity(units: 1_000) } else { false } })
        // A second pass reports nothing new.
        #expect(await LiveFaultScenarioTests.reconciled(s.timer) { await s.gateway.reconciliations >= 4 })
        #expect(fills().count == 1)
    }

    /// The account's trading before the node's first run (a position opened and closed by hand) is already in the
    /// position and wallet the node starts from: a first start, with the journal's history floor, reports none of it,
    /// from its first backfill or from the executions cross-check. Before, the first backfill read an hour back and the
    /// cross-check ten minutes, and the engine counted those fills again (a phantom position, quarantined).
    @Test func theAccountsTradingBeforeTheFirstRunIsNotReported() async throws {
        let s = try await Self.start()
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        for (link, side) in [("gw-hand-1", Side.buy), ("gw-hand-2", Side.sell)] {
            let spec = OrderSpec(side: side, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: Quantity(units: 1_000))
            guard case .sent = await s.gateway.send(command(.submit(try ClientOrderID(link), spec), s), instrument: s.btc) else {
                Issue.record("not sent"); return
            }
            _ = try await s.sim.replay.advance(frames: 2, milliseconds: nil)
        }
        #expect(await eventually { s.events.fills.count == 2 })
        let floor = ExchangeTime(milliseconds: s.events.reports.map(\.time.milliseconds).max()! + 1)
        _ = try await s.sim.replay.advance(frames: nil, milliseconds: 1_000)
        let first = await Self.gateway(on: s.sim, historyFloor: floor)
        defer { for t in first.tasks { t.cancel() } }
        #expect(await eventually { first.events.trusted })
        #expect(await LiveFaultScenarioTests.reconciled(first.timer) { await first.gateway.reconciliations >= 1 })
        #expect(first.events.fills.isEmpty, "\(first.events.fills.map(\.clientID))")
    }

    /// An execution of a symbol the node does not trade (another client on the account) is alerted by name and kept
    /// from the engine, and is not held waiting for the journal, which never persists it. Before, the gateway crashed
    /// (the private stream had numbered the new symbol in its own table, past the end of the gateway's, and the alert
    /// looked its name up there), and each such execution stayed unpersisted for the life of the process.
    @Test func anExecutionOfASymbolNotTradedIsNotHeldForTheJournal() async throws {
        var btc = SyntheticBookFrames(symbol: "BTCUSDT", seed: 7)
        var eth = SyntheticBookFrames(symbol: "ETHUSDT", seed: 9, midCents: 340_000)
        var lines: [String] = []
        for i in 0..<150 {
            let ms = (1_721_347_021_000_000_000 + Int64(2 * i + 1) * 20_000_000) / 1_000_000
            lines.append(i == 0 ? btc.snapshot(ts: ms) : btc.delta(ts: ms))
            lines.append(i == 0 ? eth.snapshot(ts: ms + 20) : eth.delta(ts: ms + 20))
        }
        let sim = try await SimulatorHarness.start(lines: lines, speed: .lockstep)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        let s = await Self.gateway(on: sim)
        defer { s.stop() }
        #expect(await eventually { s.events.trusted })
        // Another client on the same account buys ETHUSDT at market.
        var logger = Logger(label: "other-client")
        logger.logLevel = .critical
        let other = BybitRESTClient(baseURL: "http://127.0.0.1:\(sim.port)", credentials: BybitCredentials(apiKey: Self.key, secret: Self.secret),
                                    recvWindow: LoopbackTest.recvWindow, logger: logger)
        var table = InstrumentTable()
        let ethID = table.id(for: "ETHUSDT")
        let ethInstrument = table[ethID]
        let request = try BybitRequest.createOrder(BybitOrderParameters(instrument: ethInstrument, side: .buy, orderType: .market,
                                                                        qty: Quantity(units: 100_000), orderLinkId: "other-eth-1"))
        _ = try await other.send(request, as: BybitOrderIDResult.self)
        _ = try await sim.replay.advance(frames: 4, milliseconds: nil)
        #expect(await eventually { s.events.alerts.contains { $0.contains("ETHUSDT") } }, "alerted: \(s.events.alerts)")
        #expect(await eventually { await s.gateway.seenExecutions.count == 1 }, "the execution reached the gateway")
        #expect(await s.gateway.unpersisted.isEmpty)
    }
}
