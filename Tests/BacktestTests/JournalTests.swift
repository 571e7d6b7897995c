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
}
