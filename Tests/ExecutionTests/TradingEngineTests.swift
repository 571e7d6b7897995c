import CascadeCore
import CascadeTesting
import Execution
import Features
import MarketData
import Strategy
import Testing

/// The engine driven by hand: a market of BTCUSDT (and ETHUSDT) with rules, venue reports written out, every step's
/// journal entries kept, and every prefix of the journal replayed against the state the engine had then.
///
/// Every input also reaches a twin engine that leaves each decision pending (`applyingLater`, as the live trader
/// does) and applies it only when its next input arrives: each step must give the same journal entries and commands,
/// the twin's state once completed must equal the engine's, and while its decision is pending the twin must answer
/// the sender's questions (a cancel decided, an amend of a reduce-only order) as the engine does.
struct EngineHarness {
    var engine: TradingEngine
    var twin: TradingEngine
    var feed = FeedState()
    var instruments = InstrumentTable()
    var journal: [JournalEntry] = []
    var snapshots: [(entries: Int, snapshot: TradingEngine.Snapshot)] = []
    var sent: [VenueCommand] = []
    var log: [DecisionLogEntry] = []
    var btc: MarketBuilder
    var eth: MarketBuilder
    var now: Int64 = 1_748_826_000_000
    var nextExecution = 0
    var nextVenueID = 0

    static func rules(tick: String) -> InstrumentRules {
        InstrumentRules(tickSize: Price(units: try! FixedDecimal.parse(tick, digits: 8)), qtyStep: Quantity(units: 1_000),
                        minOrderQty: Quantity(units: 1_000), maxOrderQty: Quantity(units: 500_000_000),
                        maxMarketOrderQty: Quantity(units: 100_000_000), minNotional: USDT(units: Int64(500_000_000)),
                        priceDecimals: 2, qtyDecimals: 3, status: "Trading", fundingIntervalMinutes: 480, settleCoin: "USDT")
    }

    init(scorer: (any ArmScorer)? = nil, _ configure: (inout EngineConfiguration) -> Void = { _ in }) {
        var configuration = EngineConfiguration()
        configuration.offsetsBps = [20, 50]
        configuration.layerNotional = USDT(units: Int64(100_000_000_000))
        configure(&configuration)
        engine = TradingEngine(configuration: configuration)
        if let scorer { engine.scorer = scorer }
        twin = engine
        instruments.setRules(Self.rules(tick: "0.1"), for: "BTCUSDT")
        instruments.setRules(Self.rules(tick: "0.01"), for: "ETHUSDT")
        btc = MarketBuilder(instrument: instruments[instruments.lookup("BTCUSDT")!], depth: 50)
        eth = MarketBuilder(instrument: instruments[instruments.lookup("ETHUSDT")!], depth: 50)
        let start = engine.start(run: 1, startingBalance: USDT(units: Int64(10_000_000_000_000)), at: ExchangeTime(milliseconds: now),
                                 instruments: instruments)
        journal += start.entries
        _ = twin.start(run: 1, startingBalance: USDT(units: Int64(10_000_000_000_000)), at: ExchangeTime(milliseconds: now),
                       instruments: instruments)
        market(btc: ("59999.9", "60000.1"), mark: "60000.0")
        market(eth: ("2999.99", "3000.01"), mark: "3000.00")
    }

    mutating func market(btc touch: (String, String), mark: String) {
        feed.apply(.book(btc.book(.snapshot, ts: now, bids: [(touch.0, "2")], asks: [(touch.1, "2")])))
        feed.apply(.ticker(btc.ticker(at: now, mark: mark, last: mark, fundingRate: "0.0001", nextFunding: now + 3_600_000, snapshot: true)))
    }

    mutating func market(eth touch: (String, String), mark: String) {
        feed.apply(.book(eth.book(.snapshot, ts: now, bids: [(touch.0, "2")], asks: [(touch.1, "2")])))
        feed.apply(.ticker(eth.ticker(at: now, mark: mark, last: mark, fundingRate: "0.0001", nextFunding: now + 3_600_000, snapshot: true)))
    }

    @discardableResult
    mutating func handle(_ input: EngineInput, after ms: Int64 = 0) -> EngineStep {
        now += ms
        let step = engine.handle(input, feed: feed, instruments: instruments, now: ExchangeTime(milliseconds: now))
        let twinStep = twin.handle(input, feed: feed, instruments: instruments, now: ExchangeTime(milliseconds: now), applyingLater: true)
        journal += step.entries
        sent += step.commands
        log += step.log
        snapshots.append((journal.count, engine.snapshot))
        checkTwin(step, twinStep)
        return step
    }

    /// The twin's step and state against the engine's (see the type's comment).
    func checkTwin(_ step: EngineStep, _ twinStep: EngineStep) {
        #expect(twinStep.entries == step.entries, "a pending decision changed the step's journal entries")
        #expect(twinStep.commands == step.commands, "a pending decision changed the step's commands")
        let pendingIntents = twin.pendingDecision?.intents ?? []
        let decisions = step.entries.filter { if case .decision = $0 { true } else { false } }
        #expect(twin.pendingDecision.map { [JournalEntry.decision($0)] } ?? [] == decisions, "the step's decision is not the one left pending")
        // Every create ever sent or just decided, and an amend of each of those orders, asked of both.
        var creates = sent.filter { if case .submit = $0.action { true } else { false } }
        creates += pendingIntents.map { VenueCommand(symbol: btcID, decidedAt: ExchangeTime(milliseconds: now), action: .submit($0.clientID, $0.spec)) }
        for create in creates {
            guard case let .submit(id?, _) = create.action else { continue }
            #expect(twin.cancelDecided(create) == engine.tracker.cancelDecided(create), "cancel decided for \(id.rawValue)")
            let amend = VenueCommand(symbol: create.symbol, decidedAt: create.decidedAt, action: .amend(.client(id), OrderAmendment(qty: Quantity(units: 1_000))))
            #expect(twin.amendsReduceOnlyOrder(amend) == engine.tracker.amendsReduceOnlyOrder(amend), "amend of \(id.rawValue)")
        }
        var completed = twin
        completed.completePending()
        #expect(completed.pendingDecision == nil)
        #expect(completed.snapshot == engine.snapshot, "the twin's state once its decision applied differs from the engine's")
    }

    func episode(_ symbol: String = "BTCUSDT", side: PositionSide = .long) -> CascadeEpisode {
        CascadeEpisode(id: "\(symbol)-all-\(side)-\(now)", symbol: symbol, source: .all, side: side, start: now * 1_000_000,
                       peakTime: now * 1_000_000, notional: 1, events: 1, peakNotional: 1, threshold: 0, lastEvent: now * 1_000_000)
    }

    mutating func liquidation(_ symbol: String = "BTCUSDT") -> Liquidation {
        (symbol == "BTCUSDT" ? btc : eth).liquidation(.long, qty: "1", price: "59990", updated: now, ts: now)
    }

    /// Opens a ladder on an episode and answers every submit as accepted.
    mutating func enter(_ symbol: String = "BTCUSDT") -> [VenueCommand] {
        handle(.liquidation(liquidation(symbol)))
        let step = handle(.detector(.started(episode(symbol))))
        for command in step.commands { accept(command) }
        return step.commands
    }

    mutating func accept(_ command: VenueCommand) {
        guard case let .submit(id?, spec) = command.action else { return }
        nextVenueID += 1
        handle(.call(command, .sent(VenueOrderID("v\(nextVenueID)"))), after: 15)
        handle(.report(ExecutionReport(symbol: command.symbol, time: ExchangeTime(milliseconds: now), event:
            .accepted(OrderAccepted(venueID: VenueOrderID("v\(nextVenueID)"), clientID: id, spec: spec)))))
    }

    mutating func fill(_ command: VenueCommand, qty: Quantity? = nil, liquidity: Liquidity = .maker, seq: Int64? = nil, after ms: Int64 = 100) {
        guard case let .submit(id?, spec) = command.action else { return }
        nextExecution += 1
        let venueID = engine.tracker.orders[id]?.venueID ?? VenueOrderID("none")
        let fill = Fill(venueID: venueID, clientID: id, executionID: ExecutionID("e\(nextExecution)"), side: spec.side,
                        price: spec.price ?? Price(units: 5_999_990_000_000), qty: qty ?? spec.qty, liquidity: liquidity,
                        fee: USDT(units: Int64(1_000_000)), feeRate: nil, leavesQty: nil, seq: seq)
        handle(.report(ExecutionReport(symbol: command.symbol, time: ExchangeTime(milliseconds: now + ms), event: .filled(fill))), after: ms + 5)
    }

    /// `ago`: the report was made that long before now (a stale row of the gateway's cross-check).
    mutating func position(_ symbol: SymbolID, size: Int64, stop: Price?, seq: Int64? = nil, ago: Int64 = 0, after ms: Int64 = 1) {
        handle(.report(ExecutionReport(symbol: symbol, time: ExchangeTime(milliseconds: now - ago), event:
            .position(PositionReport(size: Quantity(units: size), stopLoss: stop, seq: seq)))), after: ms)
    }

    var btcID: SymbolID { instruments.lookup("BTCUSDT")! }

    /// A ladder whose first layer filled, held past a 1 s maximum hold (configure `maxHoldMilliseconds = 1_000`): the
    /// time exits sent so far.
    mutating func heldPastMaxHold() -> [VenueCommand] {
        let entries = enter()
        fill(entries[0])
        handle(.tick, after: 2_000)
        return submits(.timeExit)
    }

    /// Both layers filled, the take-profit placed after the first and accepted: returns its submit command.
    mutating func twoLayersFilledWithATakeProfit() throws -> VenueCommand {
        let entries = enter()
        fill(entries[0])
        let takeProfit = try #require(submits(.takeProfit).first)
        accept(takeProfit)
        fill(entries[1])
        return takeProfit
    }

    /// A ladder (entry TTL 1 s) whose first entry's create was lost in transport, its other entry cancelled at the
    /// deadline, and the first presumed absent a minute later: the ladder has ended. Returns the first entry's submit.
    mutating func endedLadderWithAnEntryPresumedAbsent() throws -> (VenueCommand, ClientOrderID, OrderSpec) {
        handle(.liquidation(liquidation()))
        let first = handle(.detector(.started(episode()))).commands
        guard first.count == 2, case let .submit(id?, spec) = first[0].action, case let .submit(other?, _) = first[1].action else {
            throw HarnessError.unexpected("expected two submits, got \(first)")
        }
        handle(.call(first[0], .transportError), after: 15)
        accept(first[1])
        handle(.tick, after: 2_000)   // the entries close: the other one is cancelled
        cancelled(other, venue: "v\(nextVenueID)", .byClient, after: 10)
        report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))),
               after: 60_000)
        guard engine.activeLadder.isEmpty else { throw HarnessError.unexpected("the ladder has not ended") }
        return (first[0], id, spec)
    }

    /// A BTCUSDT report of `event`, heard `ms` later.
    mutating func report(_ event: ExecutionReport.Event, after ms: Int64) {
        handle(.report(ExecutionReport(symbol: btcID, time: ExchangeTime(milliseconds: now), event: event)), after: ms)
    }

    /// The venue ended order `id` (venue id `venueID`) for `reason`, without fills.
    mutating func cancelled(_ id: ClientOrderID, venue venueID: String, _ reason: CancelReason, filledQty: Quantity = .zero, after ms: Int64) {
        report(.cancelled(OrderCancelled(venueID: VenueOrderID(venueID), clientID: id, cancellation: Cancellation(reason), filledQty: filledQty)),
               after: ms)
    }

    /// Every prefix of the journal (a kill after any commit) replays to the state the engine had after that commit.
    func checkReplay() {
        for (count, snapshot) in snapshots {
            let rebuilt = TradingEngine.restore(from: Array(journal.prefix(count)), configuration: engine.configuration, instruments: instruments)
            #expect(rebuilt.snapshot == snapshot, "prefix of \(count) entries")
        }
    }

    /// The trading stops sent so far (re-protections).
    var tradingStops: [VenueCommand] { sent.filter { if case .setTradingStop = $0.action { true } else { false } } }

    func submits(_ role: OrderRole) -> [VenueCommand] {
        sent.filter {
            if case let .submit(id?, _) = $0.action { return (try? OrderLinkID(parsing: id.rawValue))?.role == role }
            return false
        }
    }
}

enum HarnessError: Error { case unexpected(String) }

@Suite struct TradingEngineTests {
    /// A decision left pending is applied before anything else changes the engine: an entry applied (as a journal
    /// replay applies one) or a start first applies it, so the state is the one the decision and then the change make.
    /// Fails with `completePending()` removed from `apply` or from `start`.
    @Test func aPendingDecisionIsAppliedBeforeAnEntryOrAStart() throws {
        var h = EngineHarness()
        h.handle(.liquidation(h.liquidation()))
        let step = h.handle(.detector(.started(h.episode())))
        guard case let .submit(id?, spec)? = step.commands.first?.action else { throw HarnessError.unexpected("no entry") }
        #expect(h.twin.pendingDecision != nil, "the twin's decision is pending")
        let accepted = JournalEntry.report(symbol: "BTCUSDT", ExecutionReport(symbol: h.btcID, time: ExchangeTime(milliseconds: h.now + 20),
            event: .accepted(OrderAccepted(venueID: VenueOrderID("v1"), clientID: id, spec: spec))))
        var engine = h.engine, twin = h.twin
        engine.apply(accepted, instruments: h.instruments)
        twin.apply(accepted, instruments: h.instruments)
        #expect(twin.pendingDecision == nil && twin.snapshot == engine.snapshot)
        #expect(twin.tracker.orders[id]?.venueID == VenueOrderID("v1"), "the report applied to an order the decision had not recorded")
        engine = h.engine
        twin = h.twin
        let at = ExchangeTime(milliseconds: h.now + 20)
        _ = engine.start(run: 2, startingBalance: .zero, at: at, instruments: h.instruments)
        _ = twin.start(run: 2, startingBalance: .zero, at: at, instruments: h.instruments)
        #expect(twin.pendingDecision == nil && twin.snapshot == engine.snapshot)
    }

    @Test func ladderEntriesCarryThePositionStop() throws {
        var h = EngineHarness()
        let entries = h.enter()
        #expect(entries.count == 2)
        for command in entries {
            guard case let .submit(_, spec) = command.action else { Issue.record("not a submit"); continue }
            #expect(spec.timeInForce == .postOnly && spec.side == .buy)
            #expect(spec.protection == Protection(stopLoss: ProtectionLeg(trigger: Price(units: 5_910_300_000_000)), mode: .full))
        }
        h.checkReplay()
    }

    /// The entry's log line, written byte by byte into one buffer: every part in place (mid 60,000, layers at 20 and 50
    /// bps, the stop under the deeper one; the rules print prices with 2 decimals).
    @Test func theEntryLineNamesTheLadderItsLayersAndItsStop() throws {
        var h = EngineHarness()
        #expect(h.enter().count == 2)
        let line = try #require(h.log.first { $0.action == "enter" })
        #expect(line.reason == "episodeStarted" && line.episode?.hasPrefix("BTCUSDT-all-long-") == true)
        #expect(line.detail == "ladder 1 Buy 2 layers, stop 59103.00, liquidated long")
    }

    /// A position changed by another client (issue 13): the fill is booked (the venue's position is the truth) but
    /// never adopted; the engine stops opening anything with an alarm, and replays the same from its journal.
    @Test func aFillOfAnOrderThatIsNotOursQuarantinesTheAccount() throws {
        var h = EngineHarness()
        let fill = Fill(venueID: VenueOrderID("manual-1"), clientID: nil, executionID: ExecutionID("manual-e1"), side: .buy,
                        price: Price(units: 6_000_000_000_000), qty: Quantity(units: 1_000), liquidity: .taker,
                        fee: USDT(units: Int64(3_300_000)), feeRate: nil, leavesQty: .zero)
        h.report(.filled(fill), after: 10)
        #expect(h.engine.risk.memory.mode == .reducing)
        #expect(h.engine.alarms.contains { $0.contains("fill manual-e1 of an order that is not ours") })
        #expect(h.engine.portfolio.size(h.btcID) == 1_000)
        // No ladder opens while quarantined.
        #expect(h.enter().isEmpty)
        h.checkReplay()
    }

    /// The dead-man switch: resting entries are cancelled by id, the position's stop is left alone, and no new
    /// entry is placed by the same ladder.
    @Test func theDeadManSwitchCancelsRestingEntriesByIDAndNothingElse() throws {
        var h = EngineHarness()
        let entries = h.enter()
        for e in entries { h.accept(e) }
        let step = h.handle(.control(.cancelRestingEntries(reason: "deadMan")), after: 10)
        let cancels = step.commands.compactMap { c -> OrderReference? in if case let .cancel(r) = c.action { r } else { nil } }
        let ids = entries.compactMap { c -> ClientOrderID? in if case let .submit(id, _) = c.action { id } else { nil } }
        #expect(Set(cancels) == Set(ids.map { OrderReference.client($0) }) && !ids.isEmpty)
        #expect(!step.commands.contains { if case .cancelAll = $0.action { true } else { false } })
        #expect(h.engine.alarms.contains { $0.contains("resting entries cancelled: deadMan") })
        h.checkReplay()
    }

    @Test func duplicateFillIsCountedOnce() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        let fill = try #require(h.journal.last { if case .report(_, let r) = $0, case .filled = r.event { true } else { false } })
        guard case let .report(_, report) = fill else { return }
        h.handle(.report(report))
        #expect(h.engine.fillsApplied == 1)
        #expect(h.engine.portfolio.size(h.btcID) == 16_000)
        // Journaled once: the redelivery leaves no entry.
        #expect(h.journal.count { if case .report(_, let r) = $0, case .filled = r.event { true } else { false } } == 1)
        h.checkReplay()
    }

    @Test func refusedExitWaitsForTheReportInsteadOfHalting() throws {
        var h = EngineHarness { $0.maxHoldMilliseconds = 1_000 }
        let exits = h.heldPastMaxHold()
        #expect(exits.count == 1)
        // The stop closed the position at the venue meanwhile: reduce-only refused on the call.
        h.handle(.call(exits[0], .refused(Rejection(.reduceOnlyWouldIncrease, venueCode: "110017"))), after: 15)
        h.handle(.tick, after: 5_000)
        #expect(h.submits(.timeExit).count == 1)
        #expect(h.engine.risk.memory.mode == .normal)
        #expect(h.engine.nextWakeup.map { $0.milliseconds > h.now } ?? true, "a deadline no tick clears")
        h.checkReplay()
    }

    @Test func exitsThatReachTheBookAndStayUnfilledHaltWithAnAlarm() throws {
        var h = EngineHarness { $0.maxHoldMilliseconds = 1_000; $0.timeExitMaxAttempts = 2 }
        let entries = h.enter()
        h.fill(entries[0])
        h.handle(.tick, after: 2_000)
        for attempt in 0..<2 {
            let exit = h.submits(.timeExit)[attempt]
            h.accept(exit)
            guard case let .submit(id?, _) = exit.action else { return }
            h.cancelled(id, venue: "v\(h.nextVenueID)", .immediateOrCancelRemainder, after: 5)
        }
        #expect(h.submits(.timeExit).count == 2)
        #expect(h.engine.risk.memory.mode == .halted)
        #expect(h.engine.alarms.contains { $0.contains("time exit failed") })
        h.checkReplay()
    }

    @Test func missingStopIsSetAgainThenThePositionIsClosed() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        h.position(h.btcID, size: 16_000, stop: nil)
        #expect(!h.tradingStops.isEmpty)
        #expect(h.engine.alarms.contains { $0.contains("without a stop") })
        // A report before the trading stop could have arrived changes nothing; the timer decides.
        h.position(h.btcID, size: 16_000, stop: nil)
        #expect(h.submits(.protect).isEmpty)
        h.handle(.tick, after: 3_000)
        let flatten = try #require(h.submits(.protect).first)
        guard case let .submit(_, spec) = flatten.action else { return }
        #expect(spec.reduceOnly && spec.side == .sell && spec.timeInForce == .immediateOrCancel && spec.qty == Quantity(units: 16_000))
        h.checkReplay()
    }

    /// Bybit's disconnect-cancel takes every active order, the take-profit included: the reconnected engine puts it
    /// back (the stop is checked from the position report, as above).
    @Test func aTakeProfitTheDisconnectCancelTookIsPlacedAgain() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        let takeProfit = try #require(h.submits(.takeProfit).first)
        h.accept(takeProfit)
        let id = try #require(Self.clientID(takeProfit))
        h.cancelled(id, venue: "v\(h.nextVenueID)", .disconnected, after: 5)
        #expect(h.submits(.takeProfit).count == 2)
        h.checkReplay()
    }

    /// Not when the node is closing the position itself (a time exit under way), nor for a cancel the client made.
    @Test func aTakeProfitCancelledWhileClosingOrByTheClientIsNotPlacedAgain() throws {
        var closing = EngineHarness { $0.maxHoldMilliseconds = 1_000 }
        closing.fill(closing.enter()[0])
        let takeProfit = try #require(closing.submits(.takeProfit).first)
        closing.accept(takeProfit)
        closing.handle(.tick, after: 2_000)
        #expect(closing.submits(.timeExit).count == 1)
        closing.cancelled(try #require(Self.clientID(takeProfit)), venue: "v\(closing.nextVenueID)", .disconnected, after: 5)
        #expect(closing.submits(.takeProfit).count == 1)

        var byClient = EngineHarness()
        byClient.fill(byClient.enter()[0])
        let own = try #require(byClient.submits(.takeProfit).first)
        byClient.accept(own)
        byClient.cancelled(try #require(Self.clientID(own)), venue: "v\(byClient.nextVenueID)", .byClient, after: 5)
        #expect(byClient.submits(.takeProfit).count == 1)
        byClient.checkReplay()
    }

    static func clientID(_ command: VenueCommand) -> ClientOrderID? {
        if case let .submit(id?, _) = command.action { id } else { nil }
    }

    /// Shutdown: a position whose stop the latest position report shows is kept; one without (or not yet
    /// reported) is closed by a reduce-only IOC; `onlyUnprotected: false` closes every position.
    @Test func shutdownFlattensOnlyPositionsWithoutAConfirmedStop() throws {
        var h = EngineHarness()
        h.fill(h.enter()[0])
        h.handle(.control(.flattenPositions(reason: "shutdown", onlyUnprotected: true)), after: 5)
        #expect(h.submits(.protect).count == 1, "no position report yet: the stop is not known to be there")

        var kept = EngineHarness()
        kept.fill(kept.enter()[0])
        kept.position(kept.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000))
        kept.handle(.control(.flattenPositions(reason: "shutdown", onlyUnprotected: true)), after: 5)
        #expect(kept.submits(.protect).isEmpty)
        kept.handle(.control(.flattenPositions(reason: "shutdown", onlyUnprotected: false)), after: 5)
        let close = try #require(kept.submits(.protect).first)
        guard case let .submit(_, spec) = close.action else { Issue.record("\(close.action)"); return }
        #expect(spec.reduceOnly && spec.side == .sell && spec.qty == Quantity(units: 16_000))
        kept.checkReplay()

        // With the private stream down the confirmed stop may be gone (a disconnect-cancel): it counts as missing.
        var down = EngineHarness()
        down.fill(down.enter()[0])
        down.position(down.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000))
        down.handle(.control(.privateStream(up: false)), after: 5)
        down.handle(.control(.flattenPositions(reason: "shutdown", onlyUnprotected: true)), after: 5)
        #expect(down.submits(.protect).count == 1)
    }

    /// With `maxDecisionsPerEpisode` 2, a later liquidation after the mid moved `reevaluateMoveBps` further re-plans the
    /// ladder: a layer at a new price is added (under the episode's notional cap), with the ladder's stop.
    @Test func aLaterLiquidationReplansTheLadderWhenTheMidMovedFurther() throws {
        var h = EngineHarness { $0.maxDecisionsPerEpisode = 2; $0.entryTTLMilliseconds = 300_000 }
        let entries = h.enter()
        h.fill(entries[0])
        h.market(btc: ("59650.0", "59650.2"), mark: "59650.0")   // 58 bps below the first decision's mid
        let sent = h.sent.count
        h.handle(.liquidation(h.liquidation()), after: 10)
        let added = h.sent.dropFirst(sent).compactMap { command -> OrderSpec? in
            if case let .submit(id?, spec) = command.action, id.rawValue.contains("_E") { spec } else { nil }
        }
        #expect(added.count == 1 && added.first?.price == Price(units: 5_953_070_000_000), "one layer within the episode cap: \(added)")
        guard case let .submit(_, first) = entries[0].action else { return }
        #expect(added.first?.protection == first.protection, "the ladder's stop")
        h.checkReplay()
    }

    /// The loss limits are checked before a later liquidation adds layers (they are not on every liquidation). Before,
    /// a re-plan on a liquidation placed a layer past the daily loss limit until the next heartbeat found it.
    @Test func aReplanChecksTheLossLimitsFirst() throws {
        var h = EngineHarness {
            $0.maxDecisionsPerEpisode = 2
            $0.entryTTLMilliseconds = 300_000
            $0.dailyLoss = RiskLimit(absolute: USDT(units: Int64(500_000_000)), equityBps: nil)
        }
        let entries = h.enter()
        h.fill(entries[0])                                       // long 0.016 BTC at 59,880.0, fee 0.01 USDT
        h.market(btc: ("59500.0", "59500.2"), mark: "59500.0")   // −6.09 USDT since the day began: past the 5 USDT limit
        let sent = h.sent.count
        h.handle(.liquidation(h.liquidation()), after: 10)
        #expect(h.engine.risk.memory.mode == .reducing)
        #expect(!h.sent.dropFirst(sent).contains { if case .submit = $0.action { true } else { false } }, "\(h.sent.dropFirst(sent).map(\.action))")
        h.checkReplay()
    }

    /// The stop is set `stopBps` beyond the deepest layer the risk limits admit. Before, it was set from the planned
    /// layers: with the deeper layer denied, the one resting layer's stop was 30 bps further away than configured.
    @Test func theStopIsSetFromTheLayersTheRiskLimitsAdmit() throws {
        var h = EngineHarness { $0.limits.episodeNotional = RiskLimit(absolute: USDT(units: Int64(150_000_000_000)), equityBps: nil) }
        let entries = h.enter()
        #expect(entries.count == 1, "the 50 bps layer is over the episode's notional limit")
        guard case let .submit(_, spec)? = entries.first?.action, let price = spec.price, let rules = h.instruments[h.btcID].rules else {
            Issue.record("\(entries)"); return
        }
        let expected = try ProtectionPlanner.stopLoss(side: .buy, layerPrices: [price], stopBps: h.engine.configuration.stopBps, rules: rules)
        #expect(spec.protection?.stopLoss?.trigger == expected)
        #expect(h.log.contains { $0.action == "skipLayer" && $0.reason == "risk.episodeNotional" })
        h.checkReplay()
    }

    /// A stop confirmed and later gone (removed at Bybit by hand): set again, and when that is refused the timer
    /// closes the position. Before, the loss of a confirmed stop did not start the unprotected clock: the timer never
    /// looked, and the position stayed without a stop.
    @Test func aConfirmedStopThatDisappearsIsSetAgainThenThePositionIsClosed() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        h.position(h.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000))
        h.handle(.tick, after: 3_000)
        h.position(h.btcID, size: 16_000, stop: nil)
        let stop = try #require(h.tradingStops.last)
        #expect(h.engine.nextWakeup != nil, "the timer checks the stop")
        h.report(.commandRejected(CommandRejected(action: stop.action, rejection: Rejection(.other("refused"), venueCode: "10001"))), after: 20)
        h.handle(.tick, after: 3_000)
        #expect(h.submits(.protect).count == 1, "closed: its stop could not be confirmed")
        h.checkReplay()
    }

    /// Bybit's position and execution topics are separate, so the position message that includes a fill (its `seq`
    /// at or past the fill's) can come first: it confirms the stop when the fill lands. Before, it was dropped (its
    /// size was not yet the engine's), and a protected position was re-protected, then closed at the timer.
    @Test func aPositionReportThatCameBeforeItsFillConfirmsTheStop() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.position(h.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000), seq: 41)
        h.fill(entries[0], seq: 41)
        h.handle(.tick, after: 3_000)
        h.handle(.tick, after: 3_000)
        #expect(h.tradingStops.isEmpty)
        #expect(h.submits(.protect).isEmpty)
        h.checkReplay()
    }

    /// A position report behind the newest one taken (an earlier `seq`, or the same `seq` made earlier: a stop change
    /// moves no `seq`) changes nothing: the gateway's cross-check reads positions before executions, so its rows can
    /// come after newer stream messages. Before, a stale "no stop" row after a confirmed stop re-protected the position
    /// and started the clock that closes it.
    @Test func aStalePositionReportChangesNothing() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0], seq: 41)
        h.position(h.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000), seq: 41, after: 100)
        h.position(h.btcID, size: 16_000, stop: nil, seq: 40)
        h.position(h.btcID, size: 16_000, stop: nil, seq: 41, ago: 500)   // made before the one that showed the stop
        h.handle(.tick, after: 3_000)
        h.handle(.tick, after: 3_000)
        #expect(h.tradingStops.isEmpty)
        #expect(h.submits(.protect).isEmpty && !h.engine.alarms.contains { $0.contains("without a stop") })
        // A newer one without the stop is taken.
        h.position(h.btcID, size: 16_000, stop: nil, seq: 41)
        #expect(!h.tradingStops.isEmpty)
        h.checkReplay()
    }

    /// A position message older than the fill (its `seq` before the fill's) confirms nothing, whatever its size.
    @Test func aPositionReportOlderThanTheFillConfirmsNothing() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.position(h.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000), seq: 40)
        h.fill(entries[0], seq: 41)
        h.handle(.tick, after: 3_000)
        #expect(!h.tradingStops.isEmpty, "re-protected at the timer")
        h.checkReplay()
    }

    @Test func confirmedStopNeedsNoReprotection() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        h.position(h.btcID, size: 16_000, stop: Price(units: 5_910_300_000_000))
        h.handle(.tick, after: 3_000)
        #expect(h.tradingStops.isEmpty)
        #expect(h.submits(.protect).isEmpty)
        h.checkReplay()
    }

    /// A position message produced before the fill (size 0) but heard after it says nothing about the new position.
    @Test func stalePositionReportDoesNotConfirmProtection() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        h.position(h.btcID, size: 0, stop: nil)
        #expect(h.engine.nextWakeup != nil)
        h.handle(.tick, after: 3_000)
        #expect(!h.tradingStops.isEmpty)
        h.checkReplay()
    }

    /// A trading stop refused when it reached the venue, for a reason other than a passed trigger: alarm, and the
    /// timer decides (no flattening of a position that may well be protected).
    @Test func stopRefusedAtTheVenueIsLeftToTheTimer() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        h.position(h.btcID, size: 16_000, stop: nil)
        let stop = try #require(h.tradingStops.last)
        h.report(.commandRejected(CommandRejected(action: stop.action, rejection: Rejection(.other("not modified"), venueCode: "34040"))), after: 20)
        #expect(h.submits(.protect).isEmpty)
        #expect(h.engine.alarms.contains { $0.contains("trading stop refused") })
        h.report(.commandRejected(CommandRejected(action: stop.action, rejection: Rejection(.triggerAlreadyReached(.fall), venueCode: "10001"))), after: 20)
        #expect(h.submits(.protect).count == 1)
        h.checkReplay()
    }

    /// A take-profit amend refused on arrival (it raced a fill): the take-profit is replaced with the position's size.
    @Test func takeProfitAmendRefusedAtTheVenueIsReplaced() throws {
        var h = EngineHarness()
        let takeProfit = try h.twoLayersFilledWithATakeProfit()
        let amend = try #require(h.sent.last)
        guard case .amend = amend.action, case let .submit(tpID?, _) = takeProfit.action else { Issue.record("no amend"); return }
        h.report(.commandRejected(CommandRejected(action: .amend(.venue(h.engine.tracker.orders[tpID]!.venueID!), OrderAmendment(qty: Quantity(units: 32_000))),
                            venueID: h.engine.tracker.orders[tpID]!.venueID, rejection: Rejection(.orderClosed, venueCode: "110001"))), after: 20)
        #expect(h.sent.contains { $0.action == .cancel(.client(tpID)) })
        let replacement = try #require(h.submits(.takeProfit).last)
        guard case let .submit(_, spec) = replacement.action else { return }
        #expect(h.submits(.takeProfit).count == 2 && spec.qty == Quantity(units: 32_000) && spec.reduceOnly)
        h.checkReplay()
    }

    /// An entry fill that arrives after its ladder closed (its cancel lost the race) is exited at once, with an alarm.
    @Test func fillAfterTheLadderClosedIsExited() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        let entries = h.enter()
        h.handle(.tick, after: 2_000)
        for (k, command) in entries.enumerated() {
            guard case let .submit(id?, _) = command.action else { continue }
            h.cancelled(id, venue: "v\(k + 1)", .byClient, after: 10)
        }
        #expect(h.engine.activeLadder["BTCUSDT"] == nil)
        h.fill(entries[0])
        #expect(h.submits(.timeExit).count == 1)
        #expect(h.engine.alarms.contains { $0.contains("after ladder 1 closed") })
        #expect(h.engine.activeLadder["BTCUSDT"] == 1)
        h.checkReplay()
    }

    /// Memory stays a window for a node that runs for months: an ended ladder and its orders are forgotten
    /// `retainEndedMilliseconds` after it ended, at the next decision, identically on journal replay; one that ended
    /// inside the window is kept.
    @Test func anEndedLadderIsRetiredAfterItsWindowAndReplayForgetsTheSame() throws {
        var h = EngineHarness {
            $0.entryTTLMilliseconds = 1_000
            $0.retainEndedMilliseconds = 60_000
        }
        let entries = h.enter()
        h.handle(.tick, after: 2_000)
        for (k, command) in entries.enumerated() {
            guard case let .submit(id?, _) = command.action else { continue }
            h.cancelled(id, venue: "v\(k + 1)", .byClient, after: 10)
        }
        #expect(h.engine.ladders[1]?.closed == true && h.engine.endedLadders.count == 1)
        // A decision inside the window keeps it.
        h.now += 30_000
        h.market(eth: ("2999.99", "3000.01"), mark: "3000.00")
        let eth = h.enter("ETHUSDT")
        #expect(!eth.isEmpty && h.engine.ladders[1] != nil && h.engine.laddersRetired == 0)
        // Past the window, the next decision forgets ladder 1 and its orders (not ETH's open ladder).
        h.now += 40_000
        h.market(btc: ("59999.9", "60000.1"), mark: "60000.0")
        h.market(eth: ("2999.99", "3000.01"), mark: "3000.00")
        h.handle(.control(.cancelRestingEntries(reason: "test")))
        #expect(h.engine.ladders[1] == nil && h.engine.laddersRetired == 1)
        #expect(!h.engine.tracker.orders.values.contains { $0.ladder == 1 } && h.engine.tracker.orders.count == eth.count)
        #expect(h.engine.ladders[2] != nil)
        h.checkReplay()
    }

    /// A fill older than what the engine remembers (a backfill from an execution cursor left far behind) may have
    /// been counted before its id was forgotten: it is refused, said and quarantined, never applied; identically on
    /// journal replay.
    @Test func aFillOlderThanTheMemoryWindowIsRefusedNotCountedTwice() throws {
        var h = EngineHarness {
            $0.entryTTLMilliseconds = 1_000
            $0.retainEndedMilliseconds = 60_000
        }
        let entries = h.enter()
        h.fill(entries[0])
        let counted = try #require(h.journal.last { if case .report(_, let r) = $0, case .filled = r.event { true } else { false } })
        guard case let .report(_, old) = counted else { return }
        #expect(h.engine.fillsApplied == 1)
        // Days later, a decision moves the memory window past that fill.
        h.now += 3 * 86_400_000
        h.market(eth: ("2999.99", "3000.01"), mark: "3000.00")
        _ = h.enter("ETHUSDT")
        #expect(h.engine.forgottenBefore.map { $0 > old.time } == true && !h.engine.tracker.hasExecution(ExecutionID("e1")))
        let size = h.engine.portfolio.size(h.btcID)
        h.handle(.report(old))
        #expect(h.engine.fillsApplied == 1 && h.engine.portfolio.size(h.btcID) == size, "the old fill is not applied again")
        #expect(h.engine.alarms.contains { $0.contains("older than the engine's memory") })
        #expect(h.engine.risk.memory.mode == .reducing)
        h.checkReplay()
    }

    /// Funding older than the memory window is refused like such a fill: its execution id may be forgotten, so it
    /// could be charged twice. Before, it was booked again.
    @Test func fundingOlderThanTheMemoryWindowIsRefusedNotChargedTwice() throws {
        var h = EngineHarness {
            $0.entryTTLMilliseconds = 1_000
            $0.retainEndedMilliseconds = 60_000
        }
        let entries = h.enter()
        h.fill(entries[0])
        let payment = FundingPayment(executionID: ExecutionID("funding-1"), positionSize: Quantity(units: 16_000),
                                     markPrice: Price(units: 6_000_000_000_000), rate: Rate(units: 1_000_000), amount: USDT(units: Int64(9_600_000)))
        h.report(.funding(payment), after: 10)
        let old = try #require(h.journal.last { if case .report(_, let r) = $0, case .funding = r.event { true } else { false } })
        guard case let .report(_, report) = old else { return }
        h.now += 3 * 86_400_000
        h.market(eth: ("2999.99", "3000.01"), mark: "3000.00")
        _ = h.enter("ETHUSDT")
        #expect(h.engine.forgottenBefore.map { $0 > report.time } == true)
        let wallet = h.engine.portfolio.wallet
        h.handle(.report(report))
        #expect(h.engine.portfolio.wallet == wallet, "the old funding is not charged again")
        #expect(h.engine.alarms.contains { $0.contains("older than the engine's memory") })
        h.checkReplay()
    }

    /// A venue TP/SL leg past the window is kept while its position is open (its fill must stay ours) and forgotten
    /// once the position is flat.
    @Test func aPositionsLegOutlivesTheWindowWhileThePositionIsOpen() throws {
        var h = EngineHarness { $0.retainEndedMilliseconds = 60_000 }
        let entries = h.enter()
        h.fill(entries[0])
        let leg = OrderSpec(side: .sell, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: Quantity(units: 16_000),
                            trigger: Trigger(price: Price(units: 5_900_000_000_000), direction: .fall))
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("leg-1"), clientID: nil, spec: leg, origin: .stopLoss)), after: 5)
        #expect(h.engine.legOrigins[VenueOrderID("leg-1")] == .stopLoss)
        h.now += 120_000
        h.market(btc: ("59999.9", "60000.1"), mark: "60000.0")
        h.market(eth: ("2999.99", "3000.01"), mark: "3000.00")
        _ = h.enter("ETHUSDT")
        #expect(h.engine.portfolio.size(h.btcID) != 0)
        #expect(h.engine.legOrigins[VenueOrderID("leg-1")] == .stopLoss, "kept while BTCUSDT is open")
        #expect(h.engine.lingeringLegs.map(\.venueID) == [VenueOrderID("leg-1")])
        h.checkReplay()
    }

    /// The loss limit is checked before the entry decision of the same step: no ladder goes out under REDUCING.
    @Test func dailyLossStopsAnEntryDecidedInTheSameStep() throws {
        var h = EngineHarness { $0.dailyLoss = RiskLimit(absolute: USDT(units: Int64(500_000_000)), equityBps: nil) }
        let entries = h.enter()
        h.fill(entries[0])                                   // long 0.016 BTC at 59,880.0
        h.handle(.heartbeat, after: 10)                      // the UTC day began before the fill (flat equity)
        h.market(btc: ("59000.0", "59000.2"), mark: "59000.0")   // −14.08 USDT unrealised: past the 5 USDT limit
        h.handle(.liquidation(h.liquidation("ETHUSDT")))
        h.handle(.detector(.started(h.episode("ETHUSDT"))))
        #expect(h.engine.risk.memory.mode == .reducing)
        #expect(h.log.contains { $0.symbol == "ETHUSDT" && $0.reason == "mode.reducing" })
        #expect(h.engine.activeLadder["ETHUSDT"] == nil)
        // The BTC ladder's unfilled layer is cancelled by id.
        guard case let .submit(second?, _) = entries[1].action else { return }
        #expect(h.sent.contains { $0.action == .cancel(.client(second)) })
        h.checkReplay()
    }

    /// The book breakers skip an entry with their own code, in their order: no synced book, a gapped feed, a stale book
    /// (checked before the liquidation-lag breaker, which the late decision would also trip), and a synced book
    /// without a bid; where two apply, the earlier one's code. Nothing is sent.
    @Test func bookBreakersSkipTheEntryWithTheirCode() throws {
        func decide(_ h: inout EngineHarness, after ms: Int64 = 0) -> DecisionLogEntry? {
            h.handle(.liquidation(h.liquidation()))
            let step = h.handle(.detector(.started(h.episode())), after: ms)
            #expect(step.commands.isEmpty)
            return h.log.last
        }
        var noBook = EngineHarness()
        noBook.feed = FeedState()
        let a = decide(&noBook)
        #expect(a?.action == "skip" && a?.reason == "breaker.noBook" && a?.detail == "")
        var gapped = EngineHarness()
        gapped.feed.apply(.lost(.trades(gapped.btcID), reason: "test"))
        #expect(decide(&gapped)?.reason == "breaker.bookGapped")
        var stale = EngineHarness()
        let late = stale.engine.configuration.breakers.maxBookAgeMilliseconds + 1
        let c = decide(&stale, after: late)
        #expect(c?.reason == "breaker.bookStale" && c?.detail == "\(late) ms old")
        var noBid = EngineHarness()
        noBid.feed.apply(.book(noBid.btc.book(.snapshot, ts: noBid.now, bids: [], asks: [("60000.1", "2")])))
        #expect(decide(&noBid)?.reason == "breaker.noBook")
        // The order: a gapped feed before a stale book, a stale book before a missing bid.
        var gappedAndStale = EngineHarness()
        gappedAndStale.feed.apply(.lost(.trades(gappedAndStale.btcID), reason: "test"))
        #expect(decide(&gappedAndStale, after: late)?.reason == "breaker.bookGapped")
        var staleWithoutBid = EngineHarness()
        staleWithoutBid.feed.apply(.book(staleWithoutBid.btc.book(.snapshot, ts: staleWithoutBid.now, bids: [], asks: [("60000.1", "2")])))
        #expect(decide(&staleWithoutBid, after: late)?.reason == "breaker.bookStale")
    }

    /// The ticker breakers skip an entry with their own code and detail: the mark more than
    /// `maxMarkLastDivergenceBps` from the last price, and a funding time within `fundingNoTradeMilliseconds` of now;
    /// a ticker within both limits lets the entry through.
    @Test func tickerBreakersSkipTheEntryWithTheirCode() throws {
        func decide(mark: String, last: String, fundingIn ms: Int64) -> DecisionLogEntry? {
            var h = EngineHarness()
            h.feed.apply(.ticker(h.btc.ticker(at: h.now, mark: mark, last: last, fundingRate: "0.0001", nextFunding: h.now + ms,
                                              snapshot: true)))
            h.handle(.liquidation(h.liquidation()))
            h.handle(.detector(.started(h.episode())))
            return h.log.last { $0.action == "skip" || $0.action == "enter" }
        }
        // 60301 against 60000: 50.2 bps (over the default 50); 60299: 49.8 bps.
        let diverged = decide(mark: "60301.0", last: "60000.0", fundingIn: 3_600_000)
        #expect(diverged?.reason == "breaker.markLastDivergence" && diverged?.detail == "mark 6030100000000 last 6000000000000")
        #expect(decide(mark: "60299.0", last: "60000.0", fundingIn: 3_600_000)?.action == "enter")
        let funding = decide(mark: "60000.0", last: "60000.0", fundingIn: 59_999)
        #expect(funding?.reason == "breaker.fundingWindow")
        #expect(decide(mark: "60000.0", last: "60000.0", fundingIn: 60_000)?.action == "enter")
    }

    /// The liquidation-lag breaker: the episode's symbol's latest liquidation must be at most
    /// `maxLiquidationLagMilliseconds` old at the decision (the books and tickers refreshed, so only this breaker can
    /// trip); another symbol's fresher liquidation does not count, and a symbol with none yet is not held back by it.
    /// Both symbols (ids 0 and 1) are decided on, so reading a fixed entry, or the other symbol's, fails.
    @Test func liquidationLagBreakerReadsTheEpisodesSymbol() throws {
        func decide(_ symbol: String = "BTCUSDT", lag: Int64, liquidatedEarly: [String] = ["BTCUSDT"],
                    liquidatedLate: [String] = []) -> DecisionLogEntry? {
            var h = EngineHarness()
            for s in liquidatedEarly { h.handle(.liquidation(h.liquidation(s))) }
            h.now += lag
            h.market(btc: ("59999.9", "60000.1"), mark: "60000.0")
            h.market(eth: ("2999.99", "3000.01"), mark: "3000.00")
            for s in liquidatedLate { h.handle(.liquidation(h.liquidation(s))) }
            h.handle(.detector(.started(h.episode(symbol))))
            return h.log.last { $0.action == "skip" || $0.action == "enter" }
        }
        let late = decide(lag: 5_001)
        #expect(late?.reason == "breaker.liquidationLag" && late?.detail == "5001 ms")
        #expect(decide(lag: 5_000)?.action == "enter")
        #expect(decide(lag: 5_001, liquidatedLate: ["ETHUSDT"])?.reason == "breaker.liquidationLag")
        #expect(decide(lag: 5_001, liquidatedEarly: [])?.action == "enter")
        #expect(decide(lag: 5_001, liquidatedEarly: [], liquidatedLate: ["ETHUSDT"])?.action == "enter")
        #expect(decide("ETHUSDT", lag: 5_001, liquidatedEarly: ["ETHUSDT"], liquidatedLate: ["BTCUSDT"])?.reason == "breaker.liquidationLag")
        #expect(decide("ETHUSDT", lag: 5_001, liquidatedEarly: ["BTCUSDT"], liquidatedLate: ["ETHUSDT"])?.action == "enter")
    }

    @Test func postOnlyRejectBreakerTrips() throws {
        var h = EngineHarness { $0.breakers.postOnlyWindow = 2; $0.breakers.maxPostOnlyRejectBps = 5_000; $0.entryTTLMilliseconds = 1_000 }
        let entries = h.enter()
        // One layer refused for taking liquidity, the other cancelled at its TTL: one reject in two.
        guard case let .submit(first?, _) = entries[0].action, case let .submit(second?, _) = entries[1].action else { return }
        h.cancelled(first, venue: "v1", .postOnlyWouldTakeLiquidity, after: 1)
        h.handle(.tick, after: 2_000)
        h.cancelled(second, venue: "v2", .byClient, after: 20)
        #expect(h.engine.activeLadder["BTCUSDT"] == nil)
        #expect(h.engine.postOnlyOutcomes == [true, false])
        h.handle(.liquidation(h.liquidation()), after: 1)
        h.handle(.detector(.started(h.episode())))
        #expect(h.log.last?.reason == "breaker.postOnlyRejects")
        h.checkReplay()
    }

    @Test func unknownTakeProfitIsNeverDoubled() throws {
        var h = EngineHarness()
        let entries = h.enter()
        h.fill(entries[0])
        let takeProfit = try #require(h.submits(.takeProfit).first)
        h.handle(.call(takeProfit, .transportError), after: 15)
        h.fill(entries[1])
        #expect(h.submits(.takeProfit).count == 1)
        #expect(h.log.contains { $0.reason == "previousUnknown" })
        // A cancel answered "no such order" concludes nothing (the create may still be on its way at Bybit): the
        // take-profit stays unknown until the gateway's queries settle it, here absent for a minute.
        guard case let .submit(id?, _) = takeProfit.action else { return }
        h.handle(.call(VenueCommand(symbol: h.btcID, decidedAt: ExchangeTime(milliseconds: h.now), action: .cancel(.client(id))),
                       .refused(Rejection(.unknownOrder, venueCode: "110001"))), after: 10)
        #expect(h.engine.tracker.orders[id]?.phase == .unknown)
        let absent = Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries)
        h.report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: absent)), after: 60_000)
        #expect(h.engine.tracker.orders[id]?.phase == .rejected(absent))
        #expect(h.submits(.takeProfit).count == 2, "the position's take-profit put back")
        h.checkReplay()
    }

    /// An entry whose create's outcome was unknown, presumed absent (the gateway found it in no list for a minute:
    /// `notFoundAfterQueries`), that Bybit reports accepted after all: it would rest with nothing managing it. The
    /// tracker follows it again, and the engine cancels it by id at once, journaled, with an alarm, once.
    @Test func anOrderTakenAsNeverPlacedThatAppearsIsCancelled() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        h.handle(.liquidation(h.liquidation()))
        let entry = try #require(h.handle(.detector(.started(h.episode()))).commands.first)
        guard case let .submit(id?, spec) = entry.action else { Issue.record("expected a submit, got \(entry.action)"); return }
        h.handle(.call(entry, .transportError), after: 15)
        h.handle(.tick, after: 2_000)   // the ladder's entries close at their deadline: no ladder manages the entry now
        h.report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))),
                 after: 60_000)
        #expect(h.engine.tracker.orders[id]?.phase.isTerminal == true)
        let sentBefore = h.sent.count, alarmsBefore = h.engine.alarmsRaised
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 20_000)
        #expect(h.sent.dropFirst(sentBefore).map(\.action) == [.cancel(.client(id))], "cancelled by id: \(h.sent.dropFirst(sentBefore).map(\.action))")
        #expect(h.engine.alarmsRaised == alarmsBefore + 1 && h.engine.alarms.last?.contains("taken as never placed") == true)
        // The tracker follows the venue from here: working, its cancel asked for; then cancelled.
        #expect(h.engine.tracker.orders[id]?.phase == .working && h.engine.tracker.orders[id]?.cancelRequested == true)
        let sentAfterCancel = h.sent.count
        h.cancelled(id, venue: "late", .byClient, after: 10)
        #expect(h.engine.tracker.orders[id]?.phase == .cancelled(.byClient))
        // A redelivery of its acceptance (a restart's backfill) asks for nothing more.
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 10)
        #expect(h.sent.count == sentAfterCancel && h.engine.alarmsRaised == alarmsBefore + 1)
        h.checkReplay()
    }

    /// The order an ended ladder left behind, taken as never placed and then reported by Bybit: cancelled by id. When
    /// that cancel is lost in transport or refused, a heartbeat or tick after the retry pause sends it again (before,
    /// nothing did and the order rested on), with an alarm from the third cancel on, up to a limit.
    @Test func aStrayOrdersFailedCancelIsSentAgain() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        h.handle(.liquidation(h.liquidation()))
        let entry = try #require(h.handle(.detector(.started(h.episode()))).commands.first)
        guard case let .submit(id?, spec) = entry.action else { Issue.record("expected a submit, got \(entry.action)"); return }
        h.handle(.call(entry, .transportError), after: 15)
        h.handle(.tick, after: 2_000)
        // The deadline's cancel reached Bybit before the create did: "no such order", which says nothing of an order
        // Bybit had not acknowledged.
        let early = try #require(h.sent.first { $0.action == .cancel(.client(id)) })
        h.handle(.call(early, .refused(Rejection(.unknownOrder))), after: 20)
        h.report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))),
                 after: 60_000)
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 20_000)
        let cancel = try #require(h.sent.last)
        #expect(cancel.action == .cancel(.client(id)))
        // Two cancels so far: one with the other entries at their deadline (while the order was unknown), this one.
        func cancels() -> Int { h.sent.filter { $0.action == .cancel(.client(id)) }.count }
        #expect(cancels() == 2)
        let alarms = h.engine.alarmsRaised
        h.handle(.call(cancel, .transportError), after: 20)
        h.handle(.heartbeat, after: 1_000)
        #expect(cancels() == 2, "not before the retry pause")
        h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        #expect(cancels() == 3, "sent again after the pause")
        #expect(h.engine.tracker.orders[id]?.cancelRequested == true)
        #expect(h.engine.alarmsRaised == alarms + 1 && h.engine.alarms.last?.contains("still open after 2 cancels") == true)
        h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        #expect(cancels() == 3, "not while it is under way")
        h.handle(.call(h.sent.last!, .refused(Rejection(.rateLimited))), after: 20)
        h.handle(.tick, after: TradingEngine.strayCancelRetryMilliseconds)
        #expect(cancels() == 4 && h.engine.alarmsRaised == alarms + 2, "sent again after a refusal, said again")
        // Up to the limit, then left to the operator and the reconciliation.
        for _ in 0..<4 {
            h.handle(.call(h.sent.last!, .transportError), after: 20)
            h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        }
        #expect(cancels() == TradingEngine.strayCancelLimit)
        #expect(h.engine.alarms.contains { $0.contains("a last one; then it is left to the operator") })
        h.cancelled(id, venue: "late", .byClient, after: 10)
        h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds * 2)
        #expect(cancels() == TradingEngine.strayCancelLimit, "ended: nothing more")
        h.checkReplay()
    }

    /// An entry of an ended ladder that fills while a later ladder holds the symbol: the later ladder manages the
    /// whole position (take-profit, time exit), with an alarm. Before, the fill was nobody's: no take-profit, no time
    /// exit, only the exchange stop.
    @Test func aStrayEntryFillIsManagedByTheLadderHoldingTheSymbol() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        let (entry, id, spec) = try h.endedLadderWithAnEntryPresumedAbsent()
        h.market(btc: ("59999.9", "60000.1"), mark: "60000.0")   // a fresh book a minute later
        let second = h.enter()
        let active = try #require(h.engine.activeLadder["BTCUSDT"])
        #expect(!second.isEmpty && active == 2)
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 10)
        let takeProfits = h.submits(.takeProfit).count
        h.fill(entry)
        #expect(h.engine.ladders[active]?.filled == true && h.engine.ladders[active]?.exitDeadline != nil)
        #expect(h.submits(.takeProfit).count == takeProfits + 1, "a take-profit for the position")
        #expect(h.engine.alarms.contains { $0.contains("ladder 2 manages the position") })
        let stops = h.sent.compactMap { if case let .setTradingStop(stop) = $0.action { stop } else { nil } }
        let ladderStop = try #require(h.engine.ladders[active]?.stopPrice)
        #expect(stops.count == 1 && stops.first?.stopLoss == .set(ProtectionLeg(trigger: ladderStop, source: h.engine.configuration.stopTrigger)),
                "this ladder's stop set again, once: \(stops)")
        h.checkReplay()
    }

    /// Entries cancelled at their deadline whose cancel failed are cancelled again: after a transport error, once
    /// the retry pause has passed; after no answer at all (the process stopped with the cancel in flight), once the
    /// cancel is taken as lost; after "no such order" (the order has most likely ended; its report comes), only later.
    /// The deadline's own cancels are not logged as stray.
    @Test func entriesWhoseCancelFailedAtTheirDeadlineAreCancelledAgain() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        let entries = h.enter()
        guard entries.count == 2, case let .submit(a?, _) = entries[0].action, case let .submit(c?, _) = entries[1].action else {
            Issue.record("expected two submits, got \(entries)"); return
        }
        let tick = h.handle(.tick, after: 2_000)
        #expect(tick.commands.map(\.action) == [.cancel(.client(a)), .cancel(.client(c))])
        #expect(!h.log.contains { $0.action == "cancelStray" }, "the deadline's cancels are no stray lines")
        func cancels(_ id: ClientOrderID) -> Int { h.sent.filter { $0.action == .cancel(.client(id)) }.count }
        h.handle(.call(tick.commands[0], .transportError), after: 20)
        h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        #expect(cancels(a) == 2 && cancels(c) == 1, "a's lost cancel sent again; c's still under way")
        #expect(h.log.last?.action == "cancelStray" && h.log.last?.reason == "cancelFailed")
        h.handle(.call(h.sent.last!, .refused(Rejection(.unknownOrder))), after: 20)
        h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        #expect(cancels(a) == 2, "\"no such order\": it has most likely ended; given longer")
        h.cancelled(a, venue: "v1", .byClient, after: 10)
        h.handle(.heartbeat, after: TradingEngine.cancelInFlightMilliseconds)
        #expect(cancels(a) == 2, "ended")
        #expect(cancels(c) == 2, "an unanswered cancel is taken as lost")
        h.checkReplay()
    }

    /// Bybit's order and execution topics are separate: an entry's cancel can say it filled before its fill arrives.
    /// The ladder waits for that fill (no new ladder on the symbol meanwhile) and manages it when it lands (take-profit,
    /// no immediate exit). Before, the ladder closed as unfilled, a new one could open, and the late fill was exited.
    @Test func aCancelThatReportsFillsAheadOfThemKeepsTheLadderOpen() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        let entries = h.enter()
        guard case let .submit(a?, spec)? = entries.first?.action, case let .submit(c?, _) = entries[1].action else {
            Issue.record("\(entries)"); return
        }
        h.handle(.tick, after: 2_000)                            // the entries' deadline: both cancelled
        h.cancelled(a, venue: h.engine.tracker.orders[a]!.venueID!.rawValue, .byClient, filledQty: spec.qty, after: 10)
        h.cancelled(c, venue: h.engine.tracker.orders[c]!.venueID!.rawValue, .byClient, after: 10)
        #expect(h.engine.activeLadder["BTCUSDT"] != nil, "the announced fill is awaited")
        h.handle(.liquidation(h.liquidation()), after: 10)
        let sent = h.sent.count
        h.handle(.detector(.started(h.episode())))
        #expect(h.sent.count == sent && h.log.last?.reason == "ladderActive", "no new ladder on the symbol meanwhile")
        h.fill(entries[0])
        #expect(h.submits(.takeProfit).count == 1 && h.submits(.timeExit).isEmpty && h.submits(.protect).isEmpty,
                "the late fill is managed, not exited at once")
        h.checkReplay()
    }

    /// Announced fills that never arrive (nor does the cross-check find them) hold the ladder at most
    /// `awaitedFillMilliseconds`: then an alarm, and the ladder ends, so the symbol trades again.
    @Test func announcedFillsThatNeverArriveHoldTheLadderOnlySoLong() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        let entries = h.enter()
        guard case let .submit(a?, spec)? = entries.first?.action, case let .submit(c?, _) = entries[1].action else {
            Issue.record("\(entries)"); return
        }
        h.handle(.tick, after: 2_000)
        h.cancelled(a, venue: h.engine.tracker.orders[a]!.venueID!.rawValue, .byClient, filledQty: spec.qty, after: 10)
        h.cancelled(c, venue: h.engine.tracker.orders[c]!.venueID!.rawValue, .byClient, after: 10)
        let announced = try #require(h.engine.tracker.orders[a]?.venueFilledAt)
        #expect(h.engine.nextWakeup?.milliseconds == announced.milliseconds + TradingEngine.awaitedFillMilliseconds, "a tick is due when the wait ends")
        h.handle(.tick, after: TradingEngine.awaitedFillMilliseconds - 100)
        #expect(h.engine.activeLadder["BTCUSDT"] != nil, "still waiting")
        h.handle(.tick, after: 100)
        #expect(h.engine.activeLadder["BTCUSDT"] == nil && h.engine.alarms.contains { $0.contains("have not arrived") })
        h.checkReplay()
    }

    /// One step sends at most `strayCancelsPerStep` stray cancels (in id order); the rest go on the next heartbeat.
    @Test func strayCancelsAreCappedPerStep() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000; $0.offsetsBps = [20, 50, 80]; $0.limits.maxConcurrentLayers = 6 }
        let entries = h.enter() + h.enter("ETHUSDT")
        #expect(entries.count == 6)
        let tick = h.handle(.tick, after: 2_000)
        #expect(tick.commands.count == 6, "every entry cancelled at its deadline")
        for command in tick.commands { h.handle(.call(command, .transportError)) }
        let sweep = h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        let ids = entries.compactMap { command -> ClientOrderID? in if case let .submit(id?, _) = command.action { id } else { nil } }
        let first = ids.sorted { $0.rawValue < $1.rawValue }.prefix(TradingEngine.strayCancelsPerStep).map { VenueCommand.Action.cancel(.client($0)) }
        #expect(sweep.commands.map(\.action) == Array(first), "the first five by id")
        let next = h.handle(.heartbeat, after: 1_000)
        #expect(next.commands.count == 1, "the sixth on the next heartbeat: \(next.commands.map(\.action))")
        h.checkReplay()
    }

    /// An entry of an ended ladder that fills against the side of the ladder holding the symbol: nothing of that
    /// ladder's plan fits the position, which is closed, with an alarm.
    @Test func aStrayEntryFillAgainstTheActiveLaddersSideIsClosed() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 1_000 }
        let (entry, id, spec) = try h.endedLadderWithAnEntryPresumedAbsent()
        h.market(btc: ("59999.9", "60000.1"), mark: "60000.0")
        h.handle(.liquidation(h.liquidation()))
        let second = h.handle(.detector(.started(h.episode(side: .short)))).commands
        let active = try #require(h.engine.activeLadder["BTCUSDT"])
        guard case let .submit(_, secondSpec)? = second.first?.action else { Issue.record("no second ladder: \(second)"); return }
        #expect(secondSpec.side == .sell && spec.side == .buy)
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 10)
        h.fill(entry)
        #expect(h.submits(.protect).count == 1, "the position is closed")
        #expect(h.submits(.takeProfit).isEmpty && h.engine.ladders[active]?.entriesClosed == true)
        #expect(h.engine.alarms.contains { $0.contains("against ladder \(active)'s side") })
        h.checkReplay()
    }

    /// A reappeared entry is cancelled at once even while its ladder's entries are open: every risk check since it was
    /// taken as absent counted it as not resting (a ladder on another symbol, a re-plan), so keeping it could exceed a
    /// limit. Before, it was left to its ladder until the entries' deadline (5 minutes here).
    @Test func aReappearedEntryIsCancelledEvenWhileItsLadderIsOpen() throws {
        var h = EngineHarness { $0.entryTTLMilliseconds = 300_000 }
        h.handle(.liquidation(h.liquidation()))
        let step = h.handle(.detector(.started(h.episode())))
        guard step.commands.count == 2, case let .submit(id?, spec) = step.commands[0].action else { Issue.record("\(step.commands)"); return }
        h.handle(.call(step.commands[0], .transportError), after: 15)
        h.accept(step.commands[1])
        h.report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))),
                 after: 60_000)
        let sent = h.sent.count
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 1_000)
        #expect(h.sent.dropFirst(sent).map(\.action) == [.cancel(.client(id))], "cancelled by id: \(h.sent.dropFirst(sent).map(\.action))")
        #expect(h.engine.alarms.contains { $0.contains("taken as never placed") })
        #expect(h.engine.ladders.values.contains { !$0.entriesClosed }, "the ladder's other entry rests on")
        // The cancel is lost in transport: the stray sweep sends it again (its ladder does not keep it).
        let cancel = try #require(h.sent.last)
        h.handle(.call(cancel, .transportError), after: 15)
        let again = h.handle(.heartbeat, after: TradingEngine.strayCancelRetryMilliseconds)
        #expect(again.commands.map(\.action) == [.cancel(.client(id))], "sent again: \(again.commands.map(\.action))")
        h.checkReplay()
    }

    /// A reappeared entry whose ladder's entries a loss limit closes in the same step is cancelled in that step, once:
    /// the report is applied before the loss limits, so closing the entries finds it working and cancels it (the
    /// reappearance check reads the ladder as committed, and a decision sends one cancel per order whichever path asks).
    @Test func aReappearedEntryWhoseEntriesCloseInTheSameStepIsCancelledAtOnce() throws {
        var h = EngineHarness {
            $0.entryTTLMilliseconds = 300_000
            $0.dailyLoss = RiskLimit(absolute: USDT(units: Int64(500_000_000)), equityBps: nil)
        }
        h.handle(.liquidation(h.liquidation()))
        let step = h.handle(.detector(.started(h.episode())))
        guard step.commands.count == 2, case let .submit(id?, spec) = step.commands[1].action else { Issue.record("\(step.commands)"); return }
        h.accept(step.commands[0])
        h.handle(.call(step.commands[1], .transportError), after: 15)
        h.fill(step.commands[0])                                 // long 0.016 BTC at 59,880.0
        h.report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))),
                 after: 60_000)
        h.handle(.heartbeat, after: 10)                          // the UTC day began before the fill (flat equity)
        h.market(btc: ("59000.0", "59000.2"), mark: "59000.0")   // −14.08 USDT unrealised: past the 5 USDT limit
        let sent = h.sent.count
        h.report(.accepted(OrderAccepted(venueID: VenueOrderID("late"), clientID: id, spec: spec)), after: 10)
        #expect(h.engine.risk.memory.mode == .reducing)
        #expect(h.sent.dropFirst(sent).filter { $0.action == .cancel(.client(id)) }.count == 1,
                "cancelled once in the step: \(h.sent.dropFirst(sent).map(\.action))")
        h.checkReplay()
    }

    /// A time exit whose create's answer was lost and that the gateway then found in no list (presumed absent) is no
    /// attempt: it is sent again after the retry pause. Before, the rejection ended it and nothing sent another, and the
    /// position kept only its exchange stop.
    @Test func aTimeExitPresumedAbsentIsSentAgain() throws {
        var h = EngineHarness { $0.maxHoldMilliseconds = 1_000 }
        let exits = h.heldPastMaxHold()
        guard exits.count == 1, case let .submit(id?, _) = exits[0].action else { Issue.record("\(exits)"); return }
        h.handle(.call(exits[0], .transportError), after: 15)
        h.report(.rejected(OrderRejected(venueID: nil, clientID: id, rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))),
                 after: 5_000)
        h.handle(.tick, after: h.engine.configuration.exitRetryMilliseconds + 1)
        #expect(h.submits(.timeExit).count == 2, "sent again")
        h.checkReplay()
    }

    @Test func takeProfitIsAmendedToTheWholePosition() throws {
        var h = EngineHarness()
        let takeProfit = try h.twoLayersFilledWithATakeProfit()
        guard case let .submit(takeProfitID?, _) = takeProfit.action else { Issue.record("the take-profit is not a create"); return }
        // Average entry (59,880.0 × 0.016 + 59,700.0 × 0.016) / 0.032 = 59,790.0; × 1.003 = 59,969.37 → 59,969.4.
        let amend = try #require(h.sent.last)
        guard case let .amend(reference, change) = amend.action else { Issue.record("expected an amend, got \(amend.action)"); return }
        #expect(reference == .client(takeProfitID), "the amend is not of the take-profit")
        #expect(change.qty == Quantity(units: 32_000))
        #expect(change.price == Price(units: 5_996_940_000_000))
        h.checkReplay()
    }

    /// The arm scorer chooses the offsets; what it chose is journaled, so replay needs no scorer.
    @Test func armScorerChoosesTheOffsets() throws {
        struct Deep: ArmScorer {
            func arms(_ context: ArmContext) -> [Int] { context.liquidated == .long ? [100] : context.configuredOffsets }
        }
        var h = EngineHarness(scorer: Deep())
        let entries = h.enter()
        #expect(entries.count == 1)
        guard case let .submit(_, spec) = entries[0].action else { return }
        #expect(spec.price == Price(units: 5_940_000_000_000))       // 60,000 × 0.99
        h.checkReplay()
    }
}
