import CascadeCore
@testable import CascadeService
import Execution
import Testing

/// The start-up refusal of a position the journal cannot explain: a difference between Bybit's position and the
/// journal's is left to the backfill only when an order of that same symbol is still open or unknown in the journal.
@Suite struct LiveStartupChecksTests {
    /// The history floor is the journal's first run's start (later runs do not move it), and the server's now on a
    /// first start.
    /// A classic account (Bybit's `unifiedMarginStatus` 1) refuses the start with its own line; the unified ones (3–6)
    /// do not; a margin mode other than the configured one refuses it too.
    @Test func aClassicAccountOrAnotherMarginModeRefusesTheStart() {
        typealias Info = LiveStartupChecks.AccountInfo
        #expect(LiveStartupChecks.accountProblems(Info(marginMode: "REGULAR_MARGIN", unifiedMarginStatus: 1), marginMode: "REGULAR_MARGIN")
            .first?.contains("classic account") == true)
        for status in [3, 4, 5, 6] {
            #expect(LiveStartupChecks.accountProblems(Info(marginMode: "REGULAR_MARGIN", unifiedMarginStatus: status), marginMode: "REGULAR_MARGIN").isEmpty)
        }
        #expect(LiveStartupChecks.accountProblems(Info(marginMode: "PORTFOLIO_MARGIN", unifiedMarginStatus: 5), marginMode: "REGULAR_MARGIN")
            .first?.contains("PORTFOLIO_MARGIN") == true)
    }

    @Test func theHistoryFloorIsTheJournalsFirstRun() {
        let now = ExchangeTime(milliseconds: 1_800_000_000_000)
        #expect(LiveTrader.historyFloor(journal: [], serverNow: now) == now)
        let runs: [JournalEntry] = [
            .started(run: 1, node: "n", startingBalance: USDT(units: Int64(100)), at: ExchangeTime(milliseconds: 1_700_000_000_000)),
            .started(run: 2, node: "n", startingBalance: USDT(units: Int64(100)), at: ExchangeTime(milliseconds: 1_750_000_000_000)),
        ]
        #expect(LiveTrader.historyFloor(journal: runs, serverNow: now) == ExchangeTime(milliseconds: 1_700_000_000_000))
    }

    static let start = ExchangeTime(milliseconds: 1_741_000_000_000)

    /// A journal whose only ladder placed one buy on `symbol` (phase: intent, as after a crash before its answer).
    static func journal(intentOn symbol: String?) throws -> TradingEngine {
        let table = instruments
        var engine = TradingEngine(configuration: EngineConfiguration())
        _ = engine.start(run: 1, startingBalance: USDT(units: 100_000_000_000), at: start, instruments: table)
        if let symbol {
            var decision = Decision(time: start)
            let spec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: 6_000_000_000),
                                 qty: Quantity(units: 1_000_000))
            decision.intents = [OrderIntent(id: try OrderLinkID(node: "bt", run: 1, episode: 1, role: .entry, layer: 0, attempt: 0),
                                            symbol: symbol, spec: spec, ladder: 1)]
            engine.apply(.decision(decision), instruments: table)
        }
        return engine
    }

    static var instruments: InstrumentTable {
        var table = InstrumentTable()
        _ = table.id(for: "BTCUSDT")
        _ = table.id(for: "ETHUSDT")
        return table
    }

    @Test func aPositionOnlyAnOpenOrderOfItsOwnSymbolExplainsIsLeftToTheBackfill() throws {
        let venue = ["BTCUSDT": Quantity(units: 1_000_000)]
        // No open order: refused, one line naming the symbol.
        let none = LiveStartupChecks.unexplainedPositions(venue: venue, journaled: try Self.journal(intentOn: nil), instruments: Self.instruments)
        #expect(none.count == 1 && none.first?.hasPrefix("BTCUSDT: Bybit holds") == true)
        // An open BTCUSDT order may have filled while the process was down: the backfill settles it.
        #expect(LiveStartupChecks.unexplainedPositions(venue: venue, journaled: try Self.journal(intentOn: "BTCUSDT"),
                                                       instruments: Self.instruments).isEmpty)
        // An open order of another symbol explains nothing here.
        let other = LiveStartupChecks.unexplainedPositions(venue: venue, journaled: try Self.journal(intentOn: "ETHUSDT"),
                                                           instruments: Self.instruments)
        #expect(other.count == 1 && other.first?.hasPrefix("BTCUSDT:") == true)
    }

    static let ethLink = try! OrderLinkID(node: "bt", run: 1, episode: 1, role: .entry, layer: 0, attempt: 0)
    static let ethSpec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: 6_000_000_000), qty: Quantity(units: 1_000_000))

    /// A journal with one buy intent on `intentOn` (not ended) and a position report of `size` units on `reportedOn`.
    static func entries(intentOn symbol: String?, reported size: Int64?, on reportedOn: String = "ETHUSDT") -> [JournalEntry] {
        var entries: [JournalEntry] = [.started(run: 1, node: "bt", startingBalance: USDT(units: 100_000_000_000), at: start)]
        if let symbol {
            var decision = Decision(time: start)
            decision.intents = [OrderIntent(id: ethLink, symbol: symbol, spec: ethSpec, ladder: 1)]
            entries.append(.decision(decision))
        }
        if let size {
            entries.append(.report(symbol: reportedOn, ExecutionReport(symbol: SymbolID(index: 7), time: start,
                                                                       event: .position(PositionReport(size: Quantity(units: size))))))
        }
        return entries
    }

    /// A symbol the journal still holds a position, an order not ended or an open ladder in, and the node no longer
    /// trades, refuses the start (its fills would not be booked and nothing would manage it); one traded again, or one
    /// whose business is over, does not.
    @Test func aJournaledSymbolNoLongerTradedRefusesTheStartWhileItHoldsSomething() throws {
        let configuration = EngineConfiguration()
        func lines(_ entries: [JournalEntry], traded: [String]) -> [String] {
            LiveStartupChecks.untradedJournalSymbols(journal: entries, configuration: configuration, traded: traded)
        }
        let remedy = "but ETHUSDT is no longer among --symbols: add it back and let the node settle it with Bybit (ladder closed, position flat), then remove it"
        // An ETHUSDT order not ended (an intent: a crash before its answer), ETHUSDT no longer traded: refused.
        #expect(lines(Self.entries(intentOn: "ETHUSDT", reported: nil), traded: ["BTCUSDT"])
                == ["ETHUSDT: the journal holds 1 order not ended (c1bt_1_1_E0_0), " + remedy])
        // A position Bybit last reported on ETHUSDT (no order): refused, with both sizes.
        #expect(lines(Self.entries(intentOn: nil, reported: -1_500_000), traded: ["BTCUSDT"])
                == ["ETHUSDT: the journal holds a position of 0 booked and -1.5 as Bybit last reported it, " + remedy])
        // A fill booked where the journal never recorded ETHUSDT's rules (an order not ours): booked all the same.
        var filled = Self.entries(intentOn: nil, reported: nil)
        filled.append(.report(symbol: "ETHUSDT", ExecutionReport(symbol: SymbolID(index: 7), time: Self.start, event: .filled(Fill(
            venueID: VenueOrderID("v1"), clientID: nil, executionID: ExecutionID("e1"), side: .sell, price: Price(units: 300_000_000_000),
            qty: Quantity(units: 2_000_000), liquidity: .taker, fee: nil, feeRate: nil, leavesQty: nil)))))
        #expect(lines(filled, traded: ["BTCUSDT"]) == ["ETHUSDT: the journal holds a position of -2 booked and 0 as Bybit last reported it, " + remedy])
        // A ladder not closed, its orders ended (a cancel may have announced fills still on their way).
        var open = Self.entries(intentOn: nil, reported: nil)
        var decision = Decision(time: Self.start)
        decision.ladders = [Ladder(number: 3, episodeID: "e", symbol: "ETHUSDT", side: .buy, stopPrice: Price(units: 5_900_000_000), opened: Self.start,
                                   lastDecisionMid2: 12_000_000_000, entryDeadline: Self.start)]
        open.append(.decision(decision))
        #expect(lines(open, traded: ["BTCUSDT"]) == ["ETHUSDT: the journal holds ladder 3 not closed, " + remedy])
        // Traded again: nothing to refuse here (the position check against Bybit covers it).
        #expect(lines(Self.entries(intentOn: "ETHUSDT", reported: -1_500_000), traded: ["BTCUSDT", "ETHUSDT"]).isEmpty)
        // Business over: a flat last report, or an order that ended (refused on its call), and no open ladder.
        #expect(lines(Self.entries(intentOn: nil, reported: 0), traded: ["BTCUSDT"]).isEmpty)
        var ended = Self.entries(intentOn: "ETHUSDT", reported: nil)
        ended.append(.call(symbol: "ETHUSDT", action: .submit(Self.ethLink.clientOrderID, Self.ethSpec), result: .refused(Rejection(.other("refused"))),
                           at: Self.start))
        #expect(lines(ended, traded: ["BTCUSDT"]).isEmpty)
        // Two orders, two symbols: one line each, in name order, orders counted in the plural.
        var two = Self.entries(intentOn: nil, reported: 1_000_000, on: "SOLUSDT")
        var both = Decision(time: Self.start)
        both.intents = [OrderIntent(id: Self.ethLink, symbol: "ETHUSDT", spec: Self.ethSpec, ladder: 1),
                        OrderIntent(id: try OrderLinkID(node: "bt", run: 1, episode: 1, role: .entry, layer: 1, attempt: 0), symbol: "ETHUSDT",
                                    spec: Self.ethSpec, ladder: 1)]
        two.append(.decision(both))
        let twoLines = lines(two, traded: ["BTCUSDT"])
        #expect(twoLines.count == 2 && twoLines[0].hasPrefix("ETHUSDT: the journal holds 2 orders not ended (c1bt_1_1_E0_0, c1bt_1_1_E1_0), ")
                && twoLines[1].hasPrefix("SOLUSDT: the journal holds a position of 0 booked and 1 as Bybit last reported it, "))
    }
}
