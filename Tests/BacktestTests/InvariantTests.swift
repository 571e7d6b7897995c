import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Simulation
import Testing

/// Invariants over seeded scenarios whose configuration is drawn from the seed, so that take-profits, time exits,
/// stops, refused and skipped layers all occur: no command before its journal entry, no orderLinkId twice, every
/// fill recorded once, the engine's wallet and positions equal to the venue's, no exit on the print that filled its
/// entry, no risk limit exceeded.
@Suite struct InvariantTests {
    static func configuration(seed: UInt64) -> String {
        var random = SeededRandom(seed: seed &* 7_919)
        func pick<T>(_ options: [T]) -> T { options[Int(random.next() % UInt64(options.count))] }
        let offsets = pick(["[5]", "[20]", "[20, 50]", "[1, 20, 50, 70]", "[0, 20]", "[200]"])
        let stop = pick([1, 5, 50, 100])
        let takeProfit = pick([1, 30, 300])
        let hold = pick([5_000, 15_000, 60_000])
        let notional = pick(["\"1000\"", "\"3000\"", "\"1\""])
        return """
        {"depositUsdt": "100000", "ladder": {"offsetsBps": \(offsets), "layerNotionalUsdt": \(notional), "entryTtlMs": 30000},
         "exits": {"stopBps": \(stop), "takeProfitBps": \(takeProfit), "maxHoldMs": \(hold)},
         "risk": {"orderNotional": {"absoluteUsdt": "2000", "equityBps": 500}},
         "detector": {"baselineMinutes": 10, "minimumHistoryMinutes": 3}}
        """
    }

    /// The senders the invariants run under: the live node's (sequential), the optimistic concurrent one, the
    /// sequential one with slow calls and a short send deadline, so that creates are refused unsent or withdrawn, and
    /// the first and third with a decision's entry creates batched (`live.batchEntries`).
    static let senders: [String: String] = [
        "sequential": #""venue": {"sender": "sequential"}"#,
        "concurrent": #""venue": {"sender": "concurrent"}"#,
        "slow": #""venue": {"sender": "sequential", "entryLatencyMs": 300, "ackLatencyMs": 100}, "live": {"sendDeadlineMs": 500}"#,
        "batched": #""venue": {"sender": "sequential"}, "live": {"batchEntries": true}"#,
        "slowBatched": #""venue": {"sender": "sequential", "entryLatencyMs": 300, "ackLatencyMs": 100}, "live": {"sendDeadlineMs": 500, "batchEntries": true}"#,
        "slowShortTTL": #""venue": {"sender": "sequential", "entryLatencyMs": 300, "ackLatencyMs": 100}, "live": {"sendDeadlineMs": 2000}"#,
    ]

    /// The seed's configuration run by `sender`. `slowShortTTL`: the entries' time to live (700 ms) ends while a ladder's
    /// later layers still wait for their turn (one leaves every 400 ms), so their cancels are decided then and the
    /// waiting entries are withdrawn unsent.
    static func configuration(seed: UInt64, sender: String) -> String {
        var text = configuration(seed: seed).replacingOccurrences(of: #"{"depositUsdt": "100000","#,
                                                                  with: #"{"depositUsdt": "100000", "# + senders[sender]! + ",")
        if sender == "slowShortTTL" { text = text.replacingOccurrences(of: #""entryTtlMs": 30000"#, with: #""entryTtlMs": 700"#) }
        return text
    }

    @Test(arguments: 1...16, ["sequential", "concurrent", "slow", "batched", "slowBatched", "slowShortTTL"])
    func invariantsHold(seed: UInt64, sender: String) throws {
        let journal = InMemoryJournal()
        var unjournaled = 0
        var linkIDs: [ClientOrderID] = []
        let text = Self.configuration(seed: seed, sender: sender)
        // Odd seeds with up to 40 ms of receive jitter: receive times then differ from exchange times.
        let jitter: Int64 = seed % 2 == 1 ? 40 : 0
        let (result, configuration, _) = try runScenario(seed: seed, configuration: text, jitterMilliseconds: jitter, journal: journal) { command in
            let journaled = journal.stored.contains { entry in
                guard case let .decision(d) = entry else { return false }
                return d.commands.contains { $0.action == command.action && $0.decidedAt == command.decidedAt }
            }
            if !journaled { unjournaled += 1 }
            if case let .submit(id?, _) = command.action { linkIDs.append(id) }
        }
        #expect(unjournaled == 0, "\(text)")
        #expect(configuration.sender.rawValue == (sender == "concurrent" ? "concurrent" : "sequential"), "the sender was not configured")
        if sender.hasPrefix("slow") { #expect(configuration.live.sendDeadlineMilliseconds == (sender == "slowShortTTL" ? 2_000 : 500)) }
        #expect(configuration.live.batchEntries == sender.hasSuffix("atched"), "batching was not configured")
        // Every committed command was sent, refused unsent at its deadline, withdrawn unsent with its cancel, or still
        // queued when the data ended.
        let committed = journal.stored.reduce(0) { n, entry in
            if case let .decision(d) = entry { return n + d.commands.count }
            return n
        }
        #expect(committed == result.commandsSent + result.refusedUnsent + result.withdrawnUnsent + result.commandsQueuedAtEnd, "\(text)")
        if sender == "concurrent" { #expect(result.refusedUnsent == 0 && result.withdrawnUnsent == 0) }
        #expect(result.stuckTicks == 0, "a deadline no tick acts on: \(text)")
        #expect(Set(linkIDs).count == linkIDs.count, "orderLinkId sent twice")
        #expect(linkIDs.allSatisfy { $0.rawValue.utf8.count <= 36 })
        // Every fill once: the engine applied as many executions as the run recorded, each execution id once.
        #expect(result.engine?.fillsApplied == result.fills.count)
        #expect(result.venueWallet == result.engineWallet, "\(text)")
        // At every quiescent point, not only at the end.
        #expect(result.quiescentChecks > 100 && result.quiescentMismatches == 0, "\(text)")
        // Every entry carries the stop, so the venue never reports a position without one (not even for one round trip).
        #expect(result.longestUnprotectedMs == 0, "\(text)")
        #expect(result.venuePositions == result.enginePositions, "\(text)")
        // No exit fills from the print that filled its entry: an exit at the entry's time can only be the stop the print
        // triggered, taking from the book left after it (taker, at a price no better than the print's) — adverse,
        // never a flattering same-print take-profit.
        for trade in result.trades {
            let fills = result.fills.filter { $0.ladder == trade.ladder }
            guard let firstEntry = fills.first(where: { $0.side == trade.side }) else { continue }
            for exit in fills where exit.side != trade.side && exit.time <= firstEntry.time {
                #expect(exit.role == "stopLoss" && exit.liquidity == .taker, "\(text)")
                #expect(trade.side == .buy ? exit.price < firstEntry.price : exit.price > firstEntry.price)
            }
        }
        // No risk limit exceeded: the position per symbol (at fill prices) within its cap at every fill.
        var position: Int64 = 0
        for fill in result.fills {
            position += fill.side == .buy ? fill.qty.units : -fill.qty.units
            let value = result.instruments[result.instruments.lookup(fill.symbol)!].notional(price: fill.price, qty: Quantity(units: abs(position)))!
            #expect(value <= USDT(units: Int64(500_000_000_000)), "position over its cap: \(text)")
        }
        // Every order within the order-notional cap.
        let cap = USDT(units: Int64(200_000_000_000))
        for case let .decision(d) in journal.stored {
            for intent in d.intents where intent.linkID.contains("_E") {
                let value = result.instruments[result.instruments.lookup(intent.symbol)!].notional(price: intent.spec.price!, qty: intent.spec.qty)!
                #expect(value <= cap)
            }
        }
        // Replay equality holds for every configuration.
        let rebuilt = TradingEngine.restore(from: journal.stored, configuration: configuration.engine, instruments: result.instruments)
        #expect(rebuilt.snapshot == result.engine)
    }

    /// The slow sender's runs do refuse creates unsent, and with a short time to live they withdraw entries whose cancel
    /// was decided while they waited (so the invariants above cover those paths).
    @Test func theSlowSendersRefuseAndWithdrawSomeCreatesUnsent() throws {
        func totals(_ sender: String) throws -> (refused: Int, withdrawn: Int) {
            var totals = (refused: 0, withdrawn: 0)
            for seed in UInt64(1)...16 {
                let text = Self.configuration(seed: seed, sender: sender)
                let result = try runScenario(seed: seed, configuration: text, jitterMilliseconds: seed % 2 == 1 ? 40 : 0).0
                totals.refused += result.refusedUnsent
                totals.withdrawn += result.withdrawnUnsent
            }
            return totals
        }
        let slow = try totals("slow"), shortTTL = try totals("slowShortTTL")
        #expect(slow.refused > 0, "\(slow)")
        #expect(shortTTL.withdrawn > 0, "\(shortTTL)")
    }

    /// The paths the invariants are meant to cover do occur across the seeds.
    @Test func seedsCoverTheExitPaths() throws {
        var reasons: Set<String> = []
        var actions: Set<String> = []
        for seed in UInt64(1)...16 {
            let (result, _, _) = try runScenario(seed: seed, configuration: Self.configuration(seed: seed))
            reasons.formUnion(result.trades.compactMap(\.exitReason))
            actions.formUnion(result.decisions.map { "\($0.action).\($0.reason)" })
        }
        print("exit reasons: \(reasons.sorted()); decisions: \(actions.sorted())")
        #expect(reasons.isSuperset(of: ["takeProfit", "timeExit"]))
    }
}


/// Sampled latencies (entry 1–40 ms, acknowledgement 0–30 ms, seeded): reports of one order must still reach the
/// engine in the venue's order (a cancel never before the fill it follows), and every invariant holds.
@Suite struct SampledLatencyTests {
    @Test(arguments: [3, 4, 11, 12] as [UInt64])
    func invariantsHoldWithSampledLatencies(seed: UInt64) throws {
        let dir = try TemporaryDirectory("sampled")
        defer { dir.remove() }
        let path = dir.file("cascade.frames.gz")
        try SyntheticCascade(seed: seed, latencyJitterMilliseconds: 40).write(to: path)
        var configuration = try BacktestConfiguration.parse(Array(InvariantTests.configuration(seed: seed).utf8), name: "seeded")
        configuration.venue.entryLatency = .sampled(millisecondsSamples: [1, 3, 8, 15, 40], seed: seed)
        configuration.venue.acknowledgementLatency = .sampled(millisecondsSamples: [0, 1, 5, 30], seed: seed + 1)
        let journal = InMemoryJournal()
        let result = try BacktestRunner(paths: [path], configuration: configuration, journal: journal).run()
        #expect(result.quiescentMismatches == 0 && result.stuckTicks == 0)
        #expect(result.venueWallet == result.engineWallet && result.venuePositions == result.enginePositions)
        #expect(result.longestUnprotectedMs == 0)
        // No order's cancel reached the engine before one of its fills.
        var cancelled: Set<String> = []
        for case let .report(_, report) in journal.stored {
            switch report.event {
            case let .cancelled(c): if let id = c.clientID { cancelled.insert(id.rawValue) }
            case let .filled(f): if let id = f.clientID { #expect(!cancelled.contains(id.rawValue), "fill after its cancel: \(id)") }
            default: break
            }
        }
        let rebuilt = TradingEngine.restore(from: journal.stored, configuration: configuration.engine, instruments: result.instruments)
        #expect(rebuilt.snapshot == result.engine)
    }
}
