import ArgumentParser
import Backtest
import Execution
import Foundation
import Recording

/// `cascade backtest`: the trading engine on recorded data against the simulated venue, in process.
struct BacktestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Run the trading engine on recordings against the simulated venue; write trades, fills, decisions and a summary.",
        discussion: """
            Event time: each file's receive clock is moved onto the exchange's (as `cascade sim` does); commands reach \
            the venue after the entry latency, reports reach the engine after the acknowledgement latency. Without \
            --config the defaults apply (docs/backtest.md lists every key). The summary is not evidence of an edge: \
            the placebo comparison is not built yet.
            """)

    @Option(name: .long, parsing: .upToNextOption, help: "Recording files (.frames.gz), any order.")
    var data: [String]

    @Option(help: "Configuration file (JSON).")
    var config: String?

    @Option(help: "Directory for trades.csv, fills.csv, decisions.jsonl, summary.json and summary.txt.")
    var out: String

    func run() throws {
        guard !data.isEmpty else { throw CLIError("--data: name at least one recording") }
        let configuration: BacktestConfiguration
        if let config {
            do { configuration = try BacktestConfiguration.load(path: config) } catch { throw CLIError("\(error)") }
        } else {
            configuration = BacktestConfiguration()
        }
        var total = 0
        var known = true
        for path in data {
            guard let manifest = try? FrameManifest.read(forDataFile: path) else { known = false; break }
            total += manifest.frames
        }
        var runner = BacktestRunner(paths: data, configuration: configuration, journal: InMemoryJournal())
        var progress = ProgressLine(total: known ? total : nil, label: "backtest")
        runner.progress = { progress.update($0) }
        let result: BacktestResult
        do { result = try runner.run() } catch { throw CLIError("\(error)") }
        progress.finish()
        do { try BacktestOutput.write(result, configuration: configuration, paths: data, to: out) } catch {
            throw CLIError("--out \(out): \(error.localizedDescription)")
        }
        print(BacktestOutput.summaryText(result, configuration: configuration), terminator: "")
        print("wrote \(out)/trades.csv, fills.csv, decisions.jsonl, summary.json, summary.txt")
    }
}
