@testable import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Recording
@testable import Simulation
import Testing

/// The configuration the hand-worked scenario runs with (docs/backtest.md works it through).
let scenarioConfiguration = #"""
{"depositUsdt": "100000",
 "ladder": {"offsetsBps": [20, 50], "layerNotionalUsdt": "1000", "entryTtlMs": 30000},
 "exits": {"stopBps": 100, "takeProfitBps": 30, "maxHoldMs": 60000},
 "detector": {"baselineMinutes": 10, "minimumHistoryMinutes": 3}}
"""#

func usdt(_ text: String) -> USDT { try! USDT(text) }

func runScenario(seed: UInt64, configuration text: String, jitterMilliseconds: Int64 = 0, journal: any OrderJournal = InMemoryJournal(),
                 beforeSend: ((VenueCommand) -> Void)? = nil) throws -> (BacktestResult, BacktestConfiguration, String) {
    let dir = try TemporaryDirectory("backtest")
    let path = dir.file("cascade.frames.gz")
    try SyntheticCascade(seed: seed, latencyJitterMilliseconds: jitterMilliseconds).write(to: path)
    let configuration = try BacktestConfiguration.parse(Array(text.utf8), name: "scenario")
    var runner = BacktestRunner(paths: [path], configuration: configuration, journal: journal)
    runner.beforeSend = beforeSend
    let result = try runner.run()
    dir.remove()
    return (result, configuration, path)
}

@Suite struct SyntheticCascadeTests {
    /// Worked by hand (docs/backtest.md): mid 60,000.0 at the decision; δ 20 bps → 59,880.0, δ 50 bps → 59,700.0;
    /// 1,000 USDT / price → 0.016 each (rounded down to 0.001); stop 59,700.0 × 0.99 = 59,103.0. The sell print at
    /// 59,870.0 trades through 59,880.0: 0.016 bought as maker, fee 59,880.0 × 0.016 × 0.0002 = 0.191616. Take-profit
    /// 59,880.0 × 1.003 = 60,059.64 → 60,059.7 (rounded away from the entry); the buy print at 60,060.0 fills it as
    /// maker, fee 0.19219104; price PnL 179.7 × 0.016 = 2.8752; net 2.8752 − 0.191616 − 0.19219104 = 2.49139296.
    @Test func handWorkedScenario() throws {
        let (result, _, _) = try runScenario(seed: 7, configuration: scenarioConfiguration)
        #expect(result.episodesDetected == 1)
        #expect(result.fills.count == 2)
        let entry = try #require(result.fills.first)
        #expect(entry.role == "entry" && entry.side == .buy && entry.price == Price(units: 5_988_000_000_000) && entry.qty == Quantity(units: 16_000))
        #expect(entry.liquidity == .maker && entry.fee == usdt("0.191616"))
        #expect(entry.time == ExchangeTime(milliseconds: SyntheticCascade.cascadeAt + 500))
        let exit = try #require(result.fills.last)
        #expect(exit.role == "takeProfit" && exit.side == .sell && exit.price == Price(units: 6_005_970_000_000) && exit.qty == Quantity(units: 16_000))
        #expect(exit.liquidity == .maker && exit.fee == usdt("0.19219104"))
        #expect(exit.time == ExchangeTime(milliseconds: SyntheticCascade.cascadeAt + 20_000))
        let trade = try #require(result.trades.first)
        #expect(result.trades.count == 1 && trade.layersPlaced == 2 && trade.layersFilled == 1)
        #expect(trade.pricePnl == usdt("2.8752") && trade.fees == usdt("0.38380704") && trade.net == usdt("2.49139296"))
        #expect(result.engineWallet == usdt("100002.49139296") && result.venueWallet == result.engineWallet)
        #expect(result.enginePositions.isEmpty && result.venuePositions.isEmpty)
        // The stop every entry carried, and the second layer cancelled by id once the position was flat.
        #expect(result.decisions.contains { $0.action == "enter" && $0.detail.contains("stop 59103.0") })
        #expect(result.decisions.contains { $0.action == "cancelEntries" && $0.reason == "positionClosed" })
        #expect(result.decisions.last?.action == "ladderClosed")
        #expect(result.mode == "normal" && result.alarms.isEmpty)
    }

    /// The live node sends one call at a time per lane: the ladder's second entry leaves when the first one's answer is back,
    /// so it reaches the venue one round trip (entry plus acknowledgement latency: 10 + 5 ms) after the first. The
    /// concurrent sender (optimistic, for comparison) sends both at the decision.
    @Test func theSequentialSenderPlacesTheSecondLayerOneRoundTripLater() throws {
        func acceptedEntries(_ sender: String) throws -> [Int64] {
            let journal = InMemoryJournal()
            let configuration = scenarioConfiguration.replacingOccurrences(
                of: #""depositUsdt": "100000","#,
                with: #""depositUsdt": "100000", "venue": {"sender": "\#(sender)", "entryLatencyMs": 10, "ackLatencyMs": 5},"#)
            _ = try runScenario(seed: 7, configuration: configuration, journal: journal)
            return journal.stored.compactMap { entry -> Int64? in
                guard case let .report(_, report) = entry, case let .accepted(a) = report.event,
                      a.clientID?.rawValue.contains("_E") == true else { return nil }
                return report.time.milliseconds
            }
        }
        let sequential = try acceptedEntries("sequential"), concurrent = try acceptedEntries("concurrent")
        #expect(concurrent.count == 2 && concurrent.first == concurrent.last)
        #expect(sequential.count == 2 && sequential.first == concurrent.first)
        #expect(sequential.count == 2 && sequential[1] - sequential[0] == 15)
    }

    /// With `live.batchEntries` the live node sends a decision's entry creates in one `create-batch` call; the
    /// sequential sender models it: both layers leave in one call, share one latency draw (drawn per call here, from
    /// samples far apart), and reach the venue together; the engine hears both answers at one time.
    @Test func batchedEntriesReachTheVenueTogether() throws {
        let dir = try TemporaryDirectory("batched")
        defer { dir.remove() }
        let path = dir.file("cascade.frames.gz")
        try SyntheticCascade(seed: 7).write(to: path)
        var configuration = try BacktestConfiguration.parse(Array(scenarioConfiguration.replacingOccurrences(
            of: #""depositUsdt": "100000","#, with: #""depositUsdt": "100000", "live": {"batchEntries": true},"#).utf8), name: "batched")
        #expect(configuration.live.batchEntries)
        configuration.venue.entryLatency = .sampled(millisecondsSamples: [5, 60, 200, 400], seed: 11)
        let journal = InMemoryJournal()
        var sent = 0
        var runner = BacktestRunner(paths: [path], configuration: configuration, journal: journal)
        runner.beforeSend = { command in if case let .submit(id?, _) = command.action, id.rawValue.contains("_E") { sent += 1 } }
        let result = try runner.run()
        let accepted = journal.stored.compactMap { entry -> Int64? in
            guard case let .report(_, report) = entry, case let .accepted(a) = report.event, a.clientID?.rawValue.contains("_E") == true else { return nil }
            return report.time.milliseconds
        }
        #expect(sent == 2 && accepted.count == 2 && accepted.first == accepted.last, "\(accepted)")
        let answered = journal.stored.compactMap { entry -> Int64? in
            guard case let .call(_, .submit(id?, _), .sent, at) = entry, id.rawValue.contains("_E") else { return nil }
            return at.milliseconds
        }
        #expect(answered.count == 2 && answered.first == answered.last, "\(answered)")
        #expect(result.quiescentMismatches == 0 && result.commandsQueuedAtEnd == 0)
        #expect(result.venueWallet == result.engineWallet && result.venuePositions == result.enginePositions)
    }

    /// A call's answer time: a single create accepted at its arrival (+ ack), refused after the longest entry latency
    /// (+ ack); a batch with an accepted and a refused order in one response, once the accepted one has arrived, not at
    /// the refusal's later time.
    @Test func aBatchIsAnsweredWhenItsAcceptedOrdersHaveArrived() {
        let arrived = Result<SimulatedExchange.Receipt, Rejection>.success(.init(arrival: ExchangeTime(milliseconds: 110), venueID: nil))
        let refused = Result<SimulatedExchange.Receipt, Rejection>.failure(Rejection(.insufficientBalance))
        func time(_ results: [Result<SimulatedExchange.Receipt, Rejection>]) -> Int64 {
            BacktestRunner.answerTime(results, leaves: 100, maxEntryLatency: 400, ack: 5)
        }
        #expect(time([arrived]) == 115 && time([refused]) == 505)
        #expect(time([arrived, refused]) == 115 && time([refused, arrived]) == 115)
        #expect(time([refused, refused]) == 505)
    }

    /// The sequential sender has the live node's two lanes: the take-profit (reduce-only), decided when the first entry
    /// fills, leaves in the protective lane while the ladder's third entry, decided earlier, still waits in the entry
    /// lane (creates 400 ms out and 100 ms back: one leaves every 500 ms). One lane for everything sent it after.
    @Test func theTakeProfitDoesNotWaitBehindQueuedEntries() throws {
        let configuration = scenarioConfiguration
            .replacingOccurrences(of: #""offsetsBps": [20, 50]"#, with: #""offsetsBps": [5, 10, 15, 20]"#)
            .replacingOccurrences(of: #""depositUsdt": "100000","#,
                                  with: #""depositUsdt": "100000", "venue": {"entryLatencyMs": 400, "ackLatencyMs": 100}, "live": {"sendDeadlineMs": 10000},"#)
        var sent: [(link: String, decided: Int64)] = []
        let (result, _, _) = try runScenario(seed: 7, configuration: configuration, beforeSend: { command in
            if case let .submit(id?, _) = command.action { sent.append((id.rawValue, command.decidedAt.milliseconds)) }
        })
        let entries = sent.filter { $0.link.contains("_E") }, takeProfit = try #require(sent.first { $0.link.contains("_T") })
        #expect(entries.count == 3 && result.fills.count == 2, "\(sent), \(result.fills.count) fills")
        let third = try #require(entries.last)
        #expect(takeProfit.decided > third.decided, "the take-profit was decided after the third entry")
        #expect(sent.firstIndex { $0.link == takeProfit.link }! < sent.firstIndex { $0.link == third.link }!,
                "the take-profit left first: \(sent.map(\.link))")
        #expect(result.quiescentMismatches == 0 && result.alarms.isEmpty)
    }

    /// A create whose turn comes at the send deadline is refused unsent, as the live node's REST client refuses it:
    /// with 400 ms out and 100 ms back, the third layer's turn comes 1,000 ms after the decision. At a 1,000 ms
    /// deadline it is refused (the engine hears it at once and the venue never sees the order), and the run goes on:
    /// the take-profit and the cancels of the ladder's end still leave, and the run ends consistent. One millisecond
    /// more of deadline and the layer is sent.
    @Test(arguments: [(1_000, true), (1_001, false)])
    func aCreateWhoseTurnComesAtTheSendDeadlineIsRefusedUnsent(deadline: Int, refused: Bool) throws {
        let journal = InMemoryJournal()
        let configuration = scenarioConfiguration
            .replacingOccurrences(of: #""offsetsBps": [20, 50]"#, with: #""offsetsBps": [20, 50, 80]"#)
            .replacingOccurrences(of: #""depositUsdt": "100000","#, with: #""depositUsdt": "100000", "venue": {"entryLatencyMs": 400, "ackLatencyMs": 100}, "live": {"sendDeadlineMs": \#(deadline)},"#)
        let (result, _, _) = try runScenario(seed: 7, configuration: configuration, journal: journal)
        #expect(result.refusedUnsent == (refused ? 1 : 0))
        let stale = journal.stored.compactMap { entry -> String? in
            guard case let .call(_, .submit(id?, _), .refused(rejection), _) = entry, rejection.venueCode == "stale" else { return nil }
            return id.rawValue
        }
        #expect(stale.count == (refused ? 1 : 0) && stale.allSatisfy { $0.hasSuffix("_E2_0") }, "\(stale)")
        let accepted = journal.stored.filter { entry in
            if case let .report(_, report) = entry, case let .accepted(a) = report.event { return a.clientID?.rawValue.contains("_E") == true }
            return false
        }
        #expect(accepted.count == (refused ? 2 : 3))
        // The sender went on after the refusal: the take-profit went out, the ladder ended, and everything agrees.
        #expect(journal.stored.contains { entry in
            if case let .call(_, .submit(id?, _), .sent, _) = entry { return id.rawValue.contains("_T") }
            return false
        })
        #expect(result.decisions.last?.action == "ladderClosed")
        #expect(result.commandsQueuedAtEnd == 0 && result.stuckTicks == 0 && result.quiescentMismatches == 0)
        #expect(result.venueWallet == result.engineWallet && result.venuePositions == result.enginePositions)
    }

    /// An entry whose cancel is decided while it waits for its turn is withdrawn unsent, and its cancel with it, as the
    /// live node's sender does: with 400 ms out and 100 ms back, the three layers leave at 0, 500 and 1,000 ms; the
    /// entries' time to live (800 ms) cancels the two still open while the third waits behind the second (the first has
    /// filled). Sent at its turn, the third would have rested at the venue until its cancel, queued behind the second's,
    /// arrived a round trip later.
    @Test func anEntryWhoseCancelIsDecidedWhileItWaitsIsWithdrawnUnsent() throws {
        let journal = InMemoryJournal()
        let configuration = scenarioConfiguration
            .replacingOccurrences(of: #""offsetsBps": [20, 50]"#, with: #""offsetsBps": [5, 10, 15]"#)
            .replacingOccurrences(of: #""entryTtlMs": 30000"#, with: #""entryTtlMs": 800"#)
            .replacingOccurrences(of: #""depositUsdt": "100000","#,
                                  with: #""depositUsdt": "100000", "venue": {"entryLatencyMs": 400, "ackLatencyMs": 100}, "live": {"sendDeadlineMs": 10000},"#)
        var sent: [VenueCommand.Action] = []
        let (result, _, _) = try runScenario(seed: 7, configuration: configuration, journal: journal, beforeSend: { sent.append($0.action) })
        func isThird(_ id: ClientOrderID) -> Bool { id.rawValue.hasSuffix("_E2_0") }
        let creates = sent.compactMap { action -> ClientOrderID? in if case let .submit(id?, _) = action { id } else { nil } }
        let cancels = sent.compactMap { action -> ClientOrderID? in if case let .cancel(.client(id)) = action { id } else { nil } }
        #expect(creates.filter { $0.rawValue.contains("_E") }.count == 2 && !creates.contains(where: isThird), "\(creates)")
        #expect(!cancels.contains(where: isThird) && cancels.contains { $0.rawValue.hasSuffix("_E1_0") }, "\(cancels)")
        #expect(result.withdrawnUnsent == 2)
        let withdrawn = journal.stored.compactMap { entry -> String? in
            guard case let .call(_, action, .refused(rejection), _) = entry, rejection.reason == .withdrawnUnsent else { return nil }
            switch action {
            case let .submit(id?, _) where isThird(id): return "create"
            case let .cancel(.client(id)) where isThird(id): return "cancel"
            default: return "other"
            }
        }
        #expect(withdrawn == ["create", "cancel"])
        #expect(journal.stored.contains { entry in
            if case let .decision(d) = entry { return d.log.contains { $0.action == "cancelEntries" && $0.reason == "entryTTL" } }
            return false
        })
        #expect(result.decisions.contains { $0.action == "refused" && $0.reason == "sender.withdrawnUnsent" && $0.detail.hasSuffix("_E2_0") })
        #expect(result.decisions.last?.action == "ladderClosed")
        #expect(result.commandsQueuedAtEnd == 0 && result.stuckTicks == 0 && result.quiescentMismatches == 0)
        #expect(result.venueWallet == result.engineWallet && result.venuePositions == result.enginePositions)
    }

    /// Bybit's rate limit on order creates, as the live node's REST client meets it: a ten-layer ladder whose creates
    /// leave one round trip (15 ms) apart spends eight creates of the one-second window, and the ninth must wait until
    /// a second after the eighth's answer (120 ms after the decision), as the client waits a second after the answer
    /// that reported its budget low (1,120 ms after the decision). At a 1,000 or 1,100 ms send deadline the client
    /// refuses it at once, and the tenth after it (both unsent); at 1,120 ms it waits and is sent (the wait ends on the
    /// deadline: the client sends it), and the tenth, whose turn comes a round trip later, is refused; with a longer
    /// deadline both leave, the tenth after a wait of its own (the first layer's take-profit, a reduce-only create answered
    /// during the first wait, reported one call left, and the client holds such an answer for a second); without the limit (0, the
    /// optimistic alternative) all ten leave a round trip apart; and in one `create-batch` call all ten go in a fresh
    /// window. With 125 ms round trips the first layer's take-profit (a reduce-only create, on the same endpoint) spends
    /// one of the window first, and the eighth entry waits instead. (The wait's memory past the window's end is
    /// checked in ``OrderRateBudgetTests``.)
    @Test(arguments: [(10, 1_000, false, 10, 8, 2, 0), (10, 1_100, false, 10, 8, 2, 0), (10, 1_120, false, 10, 9, 1, 1),
                      (10, 10_000, false, 10, 10, 0, 2), (10, 10_000, false, 120, 10, 0, 1), (0, 1_000, false, 10, 10, 0, 0), (10, 1_000, true, 10, 10, 0, 0)])
    func aLadderPastTheRateLimitWaitsOrIsRefusedUnsent(limit: Int, deadline: Int, batch: Bool, latency: Int, sent: Int, refused: Int,
                                                       waits: Int) throws {
        let configuration = scenarioConfiguration
            .replacingOccurrences(of: #""offsetsBps": [20, 50]"#, with: #""offsetsBps": [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]"#)
            .replacingOccurrences(of: #""layerNotionalUsdt": "1000""#, with: #""layerNotionalUsdt": "100""#)
            .replacingOccurrences(of: #""depositUsdt": "100000","#, with: #"""
                "depositUsdt": "100000", "risk": {"maxConcurrentLayers": 10},
                "venue": {"entryLatencyMs": \#(latency), "ackLatencyMs": 5, "orderRateLimitPerSecond": \#(limit)},
                "live": {"sendDeadlineMs": \#(deadline), "batchEntries": \#(batch)},
                """#)
        var creates: [String] = []
        let journal = InMemoryJournal()
        let (result, parsed, _) = try runScenario(seed: 7, configuration: configuration, journal: journal, beforeSend: { command in
            if case let .submit(id?, _) = command.action, id.rawValue.contains("_E") { creates.append(id.rawValue) }
        })
        #expect(parsed.orderRateLimitPerSecond == limit)
        #expect(creates.count == sent, "\(creates)")
        #expect(result.refusedUnsent == refused && result.rateLimitWaits == waits, "refused \(result.refusedUnsent), waits \(result.rateLimitWaits)")
        #expect(Set(creates).count == creates.count)
        // When the entries reached the venue: a round trip apart, the ninth a second after the eighth's answer.
        let accepted = journal.stored.compactMap { entry -> Int64? in
            guard case let .report(_, report) = entry, case let .accepted(a) = report.event, a.clientID?.rawValue.contains("_E") == true else { return nil }
            return report.time.milliseconds
        }
        #expect(accepted.count == sent)
        // A round trip apart but for the waits: the first held create left a second after the answer before it.
        let roundTrip = Int64(latency + 5)
        if !batch {
            let gaps = zip(accepted.dropFirst(), accepted).map { $0 - $1 }
            #expect(gaps.filter { $0 != roundTrip }.count == waits && gaps.allSatisfy { $0 >= roundTrip }
                    && (waits == 0 || gaps.first { $0 != roundTrip } == 1_000 + roundTrip), "\(accepted.map { $0 - accepted[0] })")
        }
        #expect(result.commandsQueuedAtEnd == 0 && result.stuckTicks == 0 && result.quiescentMismatches == 0)
        #expect(result.venueWallet == result.engineWallet && result.venuePositions == result.enginePositions)
    }

    /// A call the rate limit holds is sent when its wait ends even if its cancel was decided meanwhile, as the live
    /// client (which holds it inside the call, not looking at the engine) sends it: the ladder's entries expire 500 ms
    /// after the decision while the ninth create waits until 1,120 ms; it then goes, and its cancel after it. The tenth,
    /// still queued behind it, is withdrawn unsent with its cancel at its turn.
    @Test func aCallHeldForTheRateLimitIsSentWhenItsWaitEnds() throws {
        let configuration = scenarioConfiguration
            .replacingOccurrences(of: #""offsetsBps": [20, 50]"#, with: #""offsetsBps": [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]"#)
            .replacingOccurrences(of: #""layerNotionalUsdt": "1000""#, with: #""layerNotionalUsdt": "100""#)
            .replacingOccurrences(of: #""entryTtlMs": 30000"#, with: #""entryTtlMs": 500"#)
            .replacingOccurrences(of: #""depositUsdt": "100000","#, with: #"""
                "depositUsdt": "100000", "risk": {"maxConcurrentLayers": 10},
                "venue": {"entryLatencyMs": 10, "ackLatencyMs": 5}, "live": {"sendDeadlineMs": 10000},
                """#)
        var creates: [String] = [], cancels: [String] = []
        let (result, _, _) = try runScenario(seed: 7, configuration: configuration, beforeSend: { command in
            switch command.action {
            case let .submit(id?, _) where id.rawValue.contains("_E"): creates.append(id.rawValue)
            case let .cancel(.client(id)): cancels.append(id.rawValue)
            default: break
            }
        })
        #expect(result.rateLimitWaits == 1)
        #expect(creates.count == 9 && creates.last?.hasSuffix("_E8_0") == true, "\(creates)")
        #expect(cancels.contains { $0.hasSuffix("_E8_0") } && !cancels.contains { $0.hasSuffix("_E9_0") }, "\(cancels)")
        #expect(result.withdrawnUnsent == 2, "the tenth create and its cancel")
        #expect(result.commandsQueuedAtEnd == 0 && result.stuckTicks == 0 && result.quiescentMismatches == 0)
        #expect(result.venueWallet == result.engineWallet && result.venuePositions == result.enginePositions)
    }

    /// Nothing leaves after the data ends: the recording stops 200 ms after the decision, the first entry's answer
    /// (400 ms out, 100 ms back) comes after that, and the second entry, queued behind it, is never sent. It is counted
    /// as queued, and with the first (which reached the venue after the last event) as not having reached the venue.
    @Test func nothingIsSentAfterTheDataEnds() throws {
        let dir = try TemporaryDirectory("cut")
        defer { dir.remove() }
        let path = dir.file("cut.frames.gz")
        let frames = SyntheticCascade(seed: 7).frames()
        let decision = try #require(frames.first { $0.1.hasPrefix(#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(SyntheticCascade.cascadeAt)"#) })
        let writer = try FrameFileWriter(path: path)
        for (ns, json) in frames where ns <= decision.0 + 200_000_000 {
            try writer.append(localTime: LocalTime(nanoseconds: ns), json: Array(json.utf8))
        }
        try writer.close()
        let text = scenarioConfiguration.replacingOccurrences(of: #""depositUsdt": "100000","#,
                                                              with: #""depositUsdt": "100000", "venue": {"entryLatencyMs": 400, "ackLatencyMs": 100},"#)
        var runner = BacktestRunner(paths: [path], configuration: try BacktestConfiguration.parse(Array(text.utf8), name: "cut"),
                                    journal: InMemoryJournal())
        var sent: [VenueCommand] = []
        runner.beforeSend = { sent.append($0) }
        let result = try runner.run()
        #expect(result.episodesDetected == 1)
        #expect(sent.count == 1 && result.commandsSent == 1, "\(sent)")
        #expect(result.commandsQueuedAtEnd == 1 && result.commandsInFlightAtEnd == 2)
    }

    /// The stale rule, as the live node's REST client applies it: only creates that add risk and amends, and from the
    /// deadline on (`>=`); cancels, reduce-only orders, trading stops and leverage always leave.
    @Test func onlyCreatesAndAmendsGoStaleFromTheDeadlineOn() throws {
        let decided = ExchangeTime(milliseconds: 10_000)
        func command(_ action: VenueCommand.Action) -> VenueCommand { VenueCommand(symbol: SymbolID(index: 0), decidedAt: decided, action: action) }
        let id = try ClientOrderID("c1bt_1_1_E0_0")
        let entry = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: 100), qty: Quantity(units: 1))
        let exit = OrderSpec(side: .sell, type: .limit, timeInForce: .postOnly, price: Price(units: 100), qty: Quantity(units: 1), reduceOnly: true)
        for action: VenueCommand.Action in [.submit(id, entry), .amend(.client(id), OrderAmendment(price: Price(units: 99)))] {
            #expect(!BacktestRunner.isStale(command(action), leavingAt: 10_899, deadline: 900))
            #expect(BacktestRunner.isStale(command(action), leavingAt: 10_900, deadline: 900))
        }
        for action: VenueCommand.Action in [.submit(id, exit), .cancel(.client(id)), .cancelAll(nil), .setTradingStop(TradingStop()),
                                            .setLeverage(Rate(units: 100_000_000_000))] {
            #expect(!BacktestRunner.isStale(command(action), leavingAt: 1_000_000, deadline: 900), "\(action)")
        }
        // What a live node whose journal failed still sends: only what takes risk off (leverage and amends do not).
        let takingRiskOff: [VenueCommand.Action] = [.submit(id, exit), .cancel(.client(id)), .cancelAll(nil), .setTradingStop(TradingStop())]
        // A trading stop that removes a leg takes protection away.
        let notTakingRiskOff: [VenueCommand.Action] = [.submit(id, entry), .amend(.client(id), OrderAmendment(price: Price(units: 99))),
                                                       .setLeverage(Rate(units: 100_000_000_000)), .setTradingStop(TradingStop(stopLoss: .remove)),
                                                       .setTradingStop(TradingStop(takeProfit: .remove))]
        #expect(takingRiskOff.map(\.reducesRisk) == [true, true, true, true])
        #expect(notTakingRiskOff.map(\.reducesRisk) == [false, false, false, false, false])
    }

    @Test func outputIsByteIdenticalAcrossRuns() throws {
        let (a, configuration, path) = try runScenario(seed: 7, configuration: scenarioConfiguration)
        let (b, _, _) = try runScenario(seed: 7, configuration: scenarioConfiguration)
        let first = BacktestOutput.files(a, configuration: configuration, paths: [path])
        let second = BacktestOutput.files(b, configuration: configuration, paths: [path])
        #expect(first.map(\.text) == second.map(\.text))
        #expect(first.map(\.name) == ["trades.csv", "fills.csv", "decisions.jsonl", "summary.json", "summary.txt"])
    }

    /// The journal a run leaves rebuilds the engine exactly: every prefix of it (a kill at any commit) replays to the
    /// state the engine had then, and the whole of it to the final state.
    @Test func journalReplaysToTheSameState() throws {
        let journal = InMemoryJournal()
        let dir = try TemporaryDirectory("backtest")
        defer { dir.remove() }
        let path = dir.file("cascade.frames.gz")
        try SyntheticCascade(seed: 7).write(to: path)
        let configuration = try BacktestConfiguration.parse(Array(scenarioConfiguration.utf8), name: "scenario")
        var runner = BacktestRunner(paths: [path], configuration: configuration, journal: journal)
        var states: [(entries: Int, snapshot: TradingEngine.Snapshot)] = []
        runner.afterCommit = { _, engine in states.append((journal.stored.count, engine.snapshot)) }
        let result = try runner.run()
        #expect(states.count == result.journalTransactions)
        for (count, snapshot) in states {
            let prefix = TradingEngine.restore(from: Array(journal.stored.prefix(count)), configuration: configuration.engine,
                                               instruments: result.instruments)
            #expect(prefix.snapshot == snapshot, "prefix of \(count) entries")
        }
        let rebuilt = TradingEngine.restore(from: journal.stored, configuration: configuration.engine, instruments: result.instruments)
        #expect(rebuilt.snapshot == result.engine)
        #expect(rebuilt.portfolio.wallet == result.engineWallet)
        // A restart takes a new run number, so its orderLinkIds cannot collide with the journal's.
        #expect(try journal.nextRun() == result.run + 1)
    }

    /// Nothing is sent before the decision that sends it is in the journal.
    @Test func everyCommandIsJournaledBeforeItIsSent() throws {
        let journal = InMemoryJournal()
        var sent = 0
        var unjournaled: [VenueCommand] = []
        _ = try runScenario(seed: 7, configuration: scenarioConfiguration, journal: journal) { command in
            sent += 1
            let journaled = journal.stored.contains { entry in
                guard case let .decision(d) = entry else { return false }
                return d.commands.contains { $0.action == command.action && $0.decidedAt == command.decidedAt }
            }
            if !journaled { unjournaled.append(command) }
        }
        #expect(sent > 0)
        #expect(unjournaled.isEmpty)
    }

    @Test func configurationErrorsAreOneLineEach() throws {
        let text = #"{"ladder": {"offsetsBps": [20, -1], "colour": 1}, "depositUsdt": 5, "venue": {"fill": "maybe", "sender": "parallel"}, "extra": true}"#
        #expect {
            _ = try BacktestConfiguration.parse(Array(text.utf8), name: "c.json")
        } throws: { error in
            guard let e = error as? BacktestConfigurationError else { return false }
            return e.problems == [
                "c.json: depositUsdt: expected a positive amount as decimal text, e.g. \"100\"",
                "c.json: ladder.offsetsBps: expected one or more offsets in 0..<10000",
                "c.json: ladder.colour: unknown key",
                "c.json: venue.fill: expected strictCross or printsOnly",
                "c.json: venue.sender: expected sequential or concurrent",
                "c.json: extra: unknown key",
            ]
        }
    }
}


/// config/cascade.example.json holds every key at its default, and docs/configuration.md documents every key.
@Suite struct DocumentedConfigurationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func exampleFileIsTheDefaults() throws {
        let path = Self.root.appendingPathComponent("config/cascade.example.json").path
        var example = try BacktestConfiguration.load(path: path)
        #expect(example.engine.symbols == ["BTCUSDT"])
        example.engine.symbols = nil                      // the example names one symbol; the default trades every symbol
        #expect(example.canonicalJSON == BacktestConfiguration().canonicalJSON)
        // Every key written out: the example's leaves are exactly the effective configuration's.
        let written = try Self.leaves(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))))
        let effective = try Self.leaves(JSONSerialization.jsonObject(with: Data(BacktestConfiguration().canonicalJSON.utf8)))
        #expect(written == effective)
    }

    @Test func everyKeyIsDocumented() throws {
        let docs = try String(contentsOf: Self.root.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
        let effective = try Self.leaves(JSONSerialization.jsonObject(with: Data(BacktestConfiguration().canonicalJSON.utf8)))
        // A risk limit's two fields are documented once, as risk.*.absoluteUsdt and risk.*.equityBps.
        let undocumented = effective.filter { key in
            let row = key.replacingOccurrences(of: #"^risk\.[A-Za-z]+\.(absoluteUsdt|equityBps)$"#, with: "risk.*.$1", options: .regularExpression)
            let limit = key.replacingOccurrences(of: #"\.(absoluteUsdt|equityBps)$"#, with: "", options: .regularExpression)
            return !docs.contains("| `\(row)` |") || !docs.contains("| `\(limit)` |")
        }
        #expect(undocumented.isEmpty, "\(undocumented)")
    }

    @Test func liveSectionIsReadAndChecked() throws {
        let good = try BacktestConfiguration.parse(Array(#"{"live": {"environment": "testnet", "leverage": "2.5", "marginMode": "PORTFOLIO_MARGIN", "deadManMs": 4000}}"#.utf8), name: "l.json")
        let leverage = try Rate("2.5")
        #expect(good.live.environment == .testnet && good.live.leverage == leverage && good.live.marginMode == .portfolio
                && good.live.deadManMilliseconds == 4_000 && good.live.positionsReconcileMilliseconds == 45_000)
        #expect(good.canonicalJSON.contains(#""leverage":"2.5""#))
        #expect {
            _ = try BacktestConfiguration.parse(Array(#"{"live": {"environment": "prod", "leverage": 5, "marginMode": "CROSS", "executionsLookbackMs": 900000000, "keys": "x"}}"#.utf8), name: "l.json")
        } throws: { error in
            (error as? BacktestConfigurationError)?.problems == [
                "l.json: live.environment: expected mainnet, testnet or demo",
                "l.json: live.leverage: expected a string",
                "l.json: live.marginMode: expected REGULAR_MARGIN, ISOLATED_MARGIN or PORTFOLIO_MARGIN",
                "l.json: live.executionsLookbackMs: expected a whole number in 60000...604800000",
                "l.json: live.keys: unknown key",
            ]
        }
        // Bybit's leverage steps; each executions pass overlapping the one before.
        #expect {
            _ = try BacktestConfiguration.parse(Array(#"{"live": {"leverage": "0.5", "positionsReconcileMs": 60000, "executionsLookbackMs": 100000, "sendDeadlineMs": 60000}}"#.utf8), name: "l.json")
        } throws: { error in
            (error as? BacktestConfigurationError)?.problems == [
                "l.json: live.leverage: expected a decimal from 1 to 200 in steps of 0.01 as text, e.g. \"5\"",
                "l.json: live.sendDeadlineMs: expected a whole number in 100...10000",
                "l.json: live.executionsLookbackMs: expected at least twice positionsReconcileMs (120000)",
            ]
        }
        #expect(LiveSettings.leverage("2.55") != nil && LiveSettings.leverage("2.555") == nil && LiveSettings.leverage("201") == nil)
    }

    /// Dotted paths of an object's leaves (arrays and null are leaves).
    static func leaves(_ value: Any, _ prefix: String = "") -> Set<String> {
        guard let object = value as? [String: Any] else { return [prefix] }
        var out: Set<String> = []
        for (key, inner) in object { out.formUnion(leaves(inner, prefix.isEmpty ? key : "\(prefix).\(key)")) }
        return out
    }
}

/// The rate-limit windows of the backtest's sender (``OrderRateBudget``), call by call.
@Suite struct OrderRateBudgetTests {
    static let decided = ExchangeTime(milliseconds: 0)

    static func create(reduceOnly: Bool = false) -> VenueCommand {
        VenueCommand(symbol: SymbolID(index: 0), decidedAt: decided,
                     action: .submit(nil, .limit(.buy, price: Price(units: 100), qty: Quantity(units: 1), timeInForce: .postOnly, reduceOnly: reduceOnly)))
    }

    static func command(_ action: VenueCommand.Action) -> [VenueCommand] { [VenueCommand(symbol: SymbolID(index: 0), decidedAt: decided, action: action)] }

    @Test func entryCreatesKeepTheReserveAndReduceOnlyOnesSpendIt() {
        var budget = OrderRateBudget(limit: 10)
        let entry = [Self.create()], exit = [Self.create(reduceOnly: true)]
        for k in 0..<8 {
            #expect(budget.departure(entry, at: 100 + 15 * Int64(k)) == 100 + 15 * Int64(k))
            budget.spend(entry, at: 100 + 15 * Int64(k), answeredAt: 115 + 15 * Int64(k))
        }
        #expect(budget.departure(entry, at: 220) == 1_220, "the ninth waits a second after the eighth's answer: two calls kept in reserve")
        #expect(budget.departure(exit, at: 220) == 220, "a reduce-only create spends the reserve")
        budget.spend(exit, at: 220, answeredAt: 235)
        budget.spend(exit, at: 235, answeredAt: 250)
        #expect(budget.departure(exit, at: 250) == 1_100, "the window is spent: Bybit would refuse it until the window's end")
        #expect(budget.departure(entry, at: 1_100) == 1_250, "the client still holds the answer that reported the budget low")
        #expect(budget.departure(entry, at: 1_250) == 1_250)
        #expect(OrderRateBudget.headroom == 2)
        #expect(OrderRateBudget(limit: 0).departure(entry, at: 5) == 5)
    }

    /// A reduce-only create opens a new window after the one whose answers reported the budget low has ended: an entry
    /// create still waits until a second after that answer, as the client, which holds it, waits.
    @Test func aLowBudgetOutlivesTheWindowThatReportedIt() {
        var budget = OrderRateBudget(limit: 10)
        let entry = [Self.create()], exit = [Self.create(reduceOnly: true)]
        for k in 0..<8 { budget.spend(entry, at: 100 + 15 * Int64(k), answeredAt: 115 + 15 * Int64(k)) }
        #expect(budget.departure(exit, at: 1_150) == 1_150)
        budget.spend(exit, at: 1_150, answeredAt: 1_165)
        #expect(budget.departure(entry, at: 1_160) == 1_220, "the answer at 220 reported 2 left")
        #expect(budget.departure(entry, at: 1_220) == 1_220)
    }

    @Test func cancelsAndTradingStopsIgnoreTheReserveAndLeverageKeepsIt() throws {
        let cancel = Self.command(.cancel(.client(try ClientOrderID("c1bt_1_1_E0_0"))))
        let stop = Self.command(.setTradingStop(TradingStop(stopLoss: .set(ProtectionLeg(trigger: Price(units: 90))))))
        let leverage = Self.command(.setLeverage(Rate(units: 100_000_000_000)))
        for calls in [cancel, stop] {
            var budget = OrderRateBudget(limit: 10)
            for k in 0..<9 { budget.spend(calls, at: Int64(k), answeredAt: Int64(k) + 15) }
            #expect(budget.departure(calls, at: 10) == 10, "the tenth call goes: nothing kept in reserve")
            budget.spend(calls, at: 10, answeredAt: 25)
            #expect(budget.departure(calls, at: 11) == 1_000, "the eleventh waits for the window's end")
        }
        var budget = OrderRateBudget(limit: 10)
        for k in 0..<8 { budget.spend(leverage, at: Int64(k), answeredAt: Int64(k) + 15) }
        #expect(budget.departure(leverage, at: 30) == 1_022, "leverage adds risk: it keeps the reserve")
        #expect(budget.departure(cancel, at: 30) == 30, "each endpoint has its own window")
    }

    @Test func aBatchSpendsOnePerOrderAndAFreshWindowAdmitsItWhole() {
        var budget = OrderRateBudget(limit: 10)
        let batch = Array(repeating: Self.create(), count: 10)
        #expect(budget.departure(batch, at: 0) == 0)
        budget.spend(batch, at: 0, answeredAt: 20)
        #expect(budget.departure(Array(repeating: Self.create(), count: 2), at: 20) == 1_020)
        #expect(budget.departure([Self.create()], at: 20) == 20, "a single create is another endpoint")
    }
}
