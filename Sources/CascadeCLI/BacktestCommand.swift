import ArgumentParser
import Backtest
import Execution
import Foundation
import Recording
import Storage

/// `cascade backtest`: the trading engine on recorded data against the simulated venue, in process.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run the trading engine on recordings against the simulated venue; write trades, fills, decisions and a summary.",
        discussion: """
            Event time: each file's receive clock is moved onto the exchange's (as `cascade sim` does); commands reach \
            the venue after the entry latency, reports reach the engine after the acknowledgement latency. Without \
            --config the defaults apply (docs/configuration.md lists every key). Then the report's passes over the same \
            data: the placebos (the verdict comes first in every output), capacity reruns and the offset sweep; \
            report.json and report.html are written with the rest (--no-report skips them).
            """)

    @Option(name: .long, parsing: .upToNextOption, help: "Recording files (.frames.gz), any order.")
    var data: [String]

    @Option(help: "Configuration file (JSON).")
    var config: String?

    @Option(help: "Directory for trades.csv, fills.csv, decisions.jsonl, summary.json, summary.txt, report.json and report.html.")
    var out: String

    @Flag(name: .customLong("no-report"), help: "Skip the placebo, capacity and sweep passes (no report.json, no report.html, no verdict).")
    var noReport = false

    @Option(help: "Keep the order journal in this SQLite file (WAL, synchronous=FULL) instead of in memory; it must be new or empty.")
    var journal: String?

    /// Tests: SIGKILL this process right after the N-th journal transaction (a crash at an exact point).
    @Option(name: .customLong("crash-after-commits"), help: .hidden)
    var crashAfterCommits: Int?

    func run() throws {
        guard !data.isEmpty else { throw CLIError("--data: name at least one recording") }
        let configuration = try CLIParsing.configuration(config)
        var total = 0
        var known = true
        for path in data {
            guard let manifest = try? FrameManifest.read(forDataFile: path) else { known = false; break }
            total += manifest.frames
        }
        let orderJournal: any OrderJournal
        if let journal {
            do { orderJournal = try SQLiteOrderJournal(path: journal) } catch { throw CLIError("--journal \(journal): \(error)") }
        } else {
            orderJournal = InMemoryJournal()
        }
        var runner = BacktestRunner(paths: data, configuration: configuration, journal: orderJournal)
        if let crashAfterCommits {
            runner.afterCommit = { count, _ in if count == crashAfterCommits { kill(getpid(), SIGKILL) } }
        }
        var progress = ProgressLine(total: known ? total : nil, label: "backtest")
        runner.progress = { progress.update($0) }
        let result: BacktestResult
        do { result = try runner.run() } catch { throw CLIError("\(error)") }
        progress.finish()
        var report: BacktestReport?
        if !noReport {
            do {
                report = try runner.report(for: result) { step in FileHandle.standardError.write(Data("report: \(step)\n".utf8)) }
            } catch { throw CLIError("\(error)") }
        }
        do { try BacktestOutput.write(result, configuration: configuration, paths: data, report: report, to: out) } catch {
            throw CLIError("--out \(out): \(error.localizedDescription)")
        }
        print(BacktestOutput.summaryText(result, configuration: configuration, report: report), terminator: "")
        print("wrote \(out)/trades.csv, fills.csv, decisions.jsonl, summary.json, summary.txt\(report == nil ? "" : ", report.json, report.html")")
    }
}

/// `cascade journal FILE`: the state an order journal replays to.
struct JournalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "journal",
        abstract: "Replay an order journal (SQLite) and print the state it rebuilds: runs, orders, positions, ladders, risk.")

    @Argument(help: "The journal file.")
    var file: String

    func run() throws {
        guard FileManager.default.fileExists(atPath: file) else { throw CLIError("\(file): no such journal") }
        let journal: SQLiteOrderJournal
        let entries: [JournalEntry]
        do {
            journal = try SQLiteOrderJournal(path: file)
            entries = try journal.entries()
        } catch { throw CLIError("\(error)") }
        let engine = TradingEngine.restore(from: entries, configuration: EngineConfiguration())
        print(JournalSummary.text(engine, entries: entries, transactions: (try? journal.transactions()) ?? 0,
                                  cursor: try? journal.executionCursor()), terminator: "")
    }
}
