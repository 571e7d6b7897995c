import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Recording
import Storage
import Testing

/// The SQLite journal under the backtest: durable settings, replay to the same state, the execution cursor, runs,
/// and a failing journal that stops the sending.
@Suite struct JournalTests {
    @Test func sqliteJournalReplaysTheBacktest() throws {
        let dir = try TemporaryDirectory("journal")
        defer { dir.remove() }
        let journal = try SQLiteOrderJournal(path: dir.file("journal.sqlite"))
        let pragmas = try journal.pragmas()
        #expect(pragmas.journalMode == "wal" && pragmas.synchronous == 2)      // 2 = FULL
        let (result, configuration, _) = try runScenario(seed: 7, configuration: scenarioConfiguration, journal: journal)
        let entries = try journal.entries()
        #expect(entries.count == result.journalEntries)
        #expect(try journal.transactions() == result.journalTransactions)
        let rebuilt = TradingEngine.restore(from: entries, configuration: configuration.engine, instruments: result.instruments)
        #expect(rebuilt.snapshot == result.engine)
        #expect(try journal.executionCursor() == result.engine?.cursor)
        // Without the recording: the journal's own rules rebuild the money to the unit.
        let standalone = TradingEngine.restore(from: entries, configuration: configuration.engine)
        #expect(standalone.portfolio.wallet == result.engineWallet)
        #expect(standalone.tracker == rebuilt.tracker)
        // A restart takes the next run; a second backtest on the same journal is refused.
        #expect(try journal.nextRun() == 2)
        #expect(throws: BacktestError.self) { _ = try runScenario(seed: 7, configuration: scenarioConfiguration, journal: journal) }
    }

    /// A stopped node closes its journal: the log is folded into the file (no `-wal` left, or an empty one where the
    /// platform's SQLite keeps it), later commits throw, and the file reopens with every entry.
    @Test func closingFoldsTheLogIntoTheFile() throws {
        let dir = try TemporaryDirectory("journal-close")
        defer { dir.remove() }
        let path = dir.file("journal.sqlite")
        let journal = try SQLiteOrderJournal(path: path)
        let (result, _, _) = try runScenario(seed: 7, configuration: scenarioConfiguration, journal: journal)
        #expect(!SQLiteOrderJournal.logIsEmpty(path))
        try journal.close()
        #expect(SQLiteOrderJournal.logIsEmpty(path))
        try journal.close()                                                    // a second close changes nothing
        #expect(throws: JournalError.self) { try journal.commit([.started(run: 9, node: "x", startingBalance: .zero, at: ExchangeTime(milliseconds: 0))]) }
        let memory = InMemoryJournal()
        try memory.close()
        #expect(throws: JournalError.self) { try memory.commit([.started(run: 1, node: "x", startingBalance: .zero, at: ExchangeTime(milliseconds: 0))]) }
        #expect(try SQLiteOrderJournal(path: path).entries().count == result.journalEntries)
    }

    /// A journal that cannot commit stops the run before the step's commands leave. The concurrent sender has sent
    /// every command committed before the failure; the sequential one (the default) a prefix of them, in order: the
    /// rest were waiting for an earlier call's answer.
    @Test func failedCommitSendsNothing() throws {
        for sender in ["concurrent", "sequential"] {
            let configuration = scenarioConfiguration.replacingOccurrences(of: #""depositUsdt": "100000","#,
                                                                           with: #""depositUsdt": "100000", "venue": {"sender": "\#(sender)"},"#)
            var prefixesShorter = 0
            for failAt in [2, 3, 5, 8] {
                let journal = FailingJournal(failAt: failAt)
                var sent: [VenueCommand] = []
                #expect(throws: BacktestError.self) {
                    _ = try runScenario(seed: 7, configuration: configuration, journal: journal) { sent.append($0) }
                }
                let committed = journal.stored.flatMap { entry -> [JournaledCommand] in
                    if case let .decision(d) = entry { return d.commands }
                    return []
                }
                if sender == "concurrent" {
                    #expect(sent.map(\.action) == committed.map(\.action), "fail at commit \(failAt)")
                } else {
                    #expect(committed.map(\.action).starts(with: sent.map(\.action)), "fail at commit \(failAt)")
                    if sent.count < committed.count { prefixesShorter += 1 }
                }
            }
            // The ladder's second entry waits for the first one's answer: some failure leaves it unsent.
            if sender == "sequential" { #expect(prefixesShorter > 0) }
        }
    }
}

/// Commits until the `failAt`-th transaction, then fails.
final class FailingJournal: OrderJournal {
    let failAt: Int
    var stored: [JournalEntry] = []
    var commits = 0
    init(failAt: Int) { self.failAt = failAt }
    func commit(_ entries: [JournalEntry]) throws(JournalError) {
        commits += 1
        if commits == failAt { throw JournalError("disk full") }
        stored += entries
    }
    func entries() throws(JournalError) -> [JournalEntry] { stored }
    func nextRun() throws(JournalError) -> UInt64 { InMemoryJournal.nextRun(after: stored) }
    func close() throws(JournalError) {}
}

/// Data that cannot supply funding is refused at start, never run with funding silently zero.
@Suite struct FundingDataTests {
    @Test func dataWithoutTickersIsRefusedAtStart() throws {
        let dir = try TemporaryDirectory("no-tickers")
        defer { dir.remove() }
        let path = dir.file("no-tickers.frames.gz")
        let writer = try FrameFileWriter(path: path)
        for (ns, json) in SyntheticCascade(seed: 7).frames() where !json.contains("\"tickers.") {
            try writer.append(localTime: LocalTime(nanoseconds: ns), json: Array(json.utf8))
        }
        try writer.close()
        let runner = BacktestRunner(paths: [path], configuration: BacktestConfiguration(), journal: InMemoryJournal())
        #expect { _ = try runner.run() } throws: { ($0 as? BacktestError)?.description.contains("no tickers topic") == true }
        var allowed = BacktestConfiguration()
        allowed.requireFundingData = false
        let result = try BacktestRunner(paths: [path], configuration: allowed, journal: InMemoryJournal()).run()
        #expect(result.frames > 0)
    }

    /// A journal names symbols; symbol ids are the process's own (the live node numbers its configured symbols, a
    /// backtest its topics, a restore without the recording the journal's rules by name). Every prefix of a journal
    /// (a kill at any commit) restores to the same state whichever table numbers the symbols: one with another
    /// symbol registered first (every id shifted) and the journal's own table, against the running one. Guards any
    /// engine state kept by id rather than by name.
    @Test func aJournalRestoresByNameWhateverIdsTheTableGives() throws {
        let journal = InMemoryJournal()
        let (result, configuration, _) = try runScenario(seed: 7, configuration: scenarioConfiguration, journal: journal)
        let entries = journal.stored
        var shifted = InstrumentTable()
        _ = shifted.id(for: "AAAUSDT")
        for instrument in result.instruments.instruments {
            if let rules = instrument.rules { shifted.setRules(rules, for: instrument.symbol) } else { _ = shifted.id(for: instrument.symbol) }
        }
        #expect(shifted.lookup("BTCUSDT") != result.instruments.lookup("BTCUSDT"))
        /// The snapshot with its ledgers keyed by name (a ledger holds its instrument, id included).
        func byName(_ engine: TradingEngine) -> (TradingEngine.Snapshot, [String: [String]]) {
            var snapshot = engine.snapshot
            let ledgers = Dictionary(uniqueKeysWithValues: snapshot.ledgers.values.map { ledger in
                (ledger.instrument.symbol, ["\(ledger.size)", "\(ledger.entryValue)", "\(ledger.openCosts)", "\(ledger.cumulativeRealisedPnl)",
                                            "\(ledger.currentRealisedPnl)", "\(ledger.feesPaid)", "\(ledger.fundingPaid)", "\(String(describing: ledger.openedAt))"])
            })
            snapshot.ledgers = [:]
            return (snapshot, ledgers)
        }
        var checked = 0
        for count in 1...entries.count {
            let prefix = Array(entries.prefix(count))
            let running = byName(TradingEngine.restore(from: prefix, configuration: configuration.engine, instruments: result.instruments))
            for table in [shifted, TradingEngine.instrumentTable(from: prefix)] {
                let other = byName(TradingEngine.restore(from: prefix, configuration: configuration.engine, instruments: table))
                #expect(other.0 == running.0, "prefix of \(count) entries")
                #expect(other.1 == running.1, "prefix of \(count) entries")
            }
            checked += 1
        }
        // The scenario opens and closes a position: some prefix holds one.
        let whole = byName(TradingEngine.restore(from: entries, configuration: configuration.engine, instruments: shifted))
        #expect(checked == entries.count && whole.1["BTCUSDT"] != nil)
    }
}
