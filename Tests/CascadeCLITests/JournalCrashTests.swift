import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Storage
import Testing

/// kill -9 mid-ladder: `cascade backtest --journal` is killed right after a transaction in which the position is
/// open and the ladder still rests; the SQLite journal it leaves replays to exactly the state an uninterrupted run
/// had at that transaction, and `cascade journal` (a restart reading it) shows that state.
@Suite("journal kill -9", .serialized)
struct JournalCrashTests {
    @Test func killedBacktestJournalReplaysToTheSameState() throws {
        let dir = try TemporaryDirectory("journal-crash")
        defer { dir.remove() }
        let data = dir.file("cascade.frames.gz")
        try SyntheticCascade(seed: 7).write(to: data)
        let config = dir.file("config.json")
        try Data(BacktestCommandTests.configuration.utf8).write(to: URL(fileURLWithPath: config))
        // The uninterrupted run, in process: the first transaction after which a position is open and an entry rests.
        let configuration = try BacktestConfiguration.load(path: config)
        var runner = BacktestRunner(paths: [data], configuration: configuration, journal: InMemoryJournal())
        var crashAt: Int?
        var expected: TradingEngine.Snapshot?
        runner.afterCommit = { count, engine in
            guard crashAt == nil, engine.portfolio.ledgers.values.contains(where: { $0.size != 0 }),
                  engine.tracker.orders.values.contains(where: { $0.id.role == .entry && !$0.phase.isTerminal }) else { return }
            crashAt = count
            expected = engine.snapshot
        }
        let result = try runner.run()
        let n = try #require(crashAt)
        // The real process, killed by SIGKILL right after that commit.
        let journalPath = dir.file("journal.sqlite")
        let killed = try ChildProcess.run(["backtest", "--data", data, "--config", config, "--out", dir.file("out"), "--journal", journalPath,
                                           "--crash-after-commits", "\(n)"])
        #expect(killed.reason == .uncaughtSignal && killed.status == SIGKILL)
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/summary.json")))
        let journal = try SQLiteOrderJournal(path: journalPath)
        #expect(try journal.transactions() == n)
        let rebuilt = TradingEngine.restore(from: try journal.entries(), configuration: configuration.engine, instruments: result.instruments)
        #expect(rebuilt.snapshot == expected)
        // The restart: the journal alone shows the open position and the resting ladder.
        let shown = try ChildProcess.run(["journal", journalPath])
        #expect(shown.succeeded, "\(shown.standardError)")
        #expect(shown.standardOutput.contains("position BTCUSDT 0.016 long"))
        #expect(shown.standardOutput.contains("open: BTCUSDT ladder 1"))
        #expect(shown.standardOutput.contains("transactions \(n),"))
    }
}
