public import Backtest
public import CascadeCore
public import Execution
import Foundation
public import Logging
import Recording
import Synchronization

/// The paper node's trader: the backtest's lane (``Backtest/BacktestRunner/Session``: FeedState → features →
/// detector → ``Execution/TradingEngine`` ⇄ ``Simulation/SimulatedExchange`` with the backtest's fill, queue and
/// latency rules) fed the frames the node records, as it records them. `cascade backtest` on the session's
/// recording therefore replays what the node traded on; nothing but the recorded lines reaches the engine.
///
/// Times: as `cascade backtest` puts a recording's receive times on the exchange clock by subtracting the median
/// receive − exchange offset of its first 2,000 timestamped frames (``Recording/ClockOffset``), the node subtracts the
/// running median of the same samples, frozen at 2,000 (kept monotonic). Once frozen, paper and a backtest of its
/// recording give the frames the same times; before that they differ by the estimate's error (milliseconds).
///
/// Writes `status.json` (once a second) and the backtest's outputs into its directory: `decisions.jsonl`,
/// `fills.csv` and `trades.csv` as their rows settle (``Backtest/BacktestRunner/Session/takeSettled(holdMilliseconds:)``:
/// a node that runs for months does not hold them in memory), the rest of them and `summary.json`/`summary.txt` on
/// shutdown; the files are then what `cascade backtest` writes for the same frames. A journal or output write
/// failure stops trading and the node (nothing is sent without a committed entry, and no row is lost silently).
public final class PaperTrader: RecordedFrameConsumer {
    struct State {
        var session: BacktestRunner.Session
        var clock = ClockOffset.Estimator()
        var lastTime = LocalTime(nanoseconds: .min)
        var failure: (any Error)?
        var fillsLogged = 0
        var lastStatus: Int64 = .min
        var rows: RowFiles
    }

    /// The three row files, appended to as rows settle.
    struct RowFiles {
        let trades: FileHandle
        let fills: FileHandle
        let decisions: FileHandle

        init(directory: String) throws {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            func open(_ name: String, header: String) throws -> FileHandle {
                let url = URL(fileURLWithPath: directory).appendingPathComponent(name)
                try Data(header.utf8).write(to: url)
                let handle = try FileHandle(forWritingTo: url)
                try handle.seekToEnd()
                return handle
            }
            trades = try open("trades.csv", header: BacktestOutput.tradesHeader)
            fills = try open("fills.csv", header: BacktestOutput.fillsHeader)
            decisions = try open("decisions.jsonl", header: "")
        }

        func append(decisions d: [DecisionLogEntry], fills f: [BacktestFill], trades t: [BacktestTrade]) throws {
            if !d.isEmpty { try decisions.write(contentsOf: Data(BacktestOutput.decisionLines(d).utf8)) }
            if !f.isEmpty { try fills.write(contentsOf: Data(BacktestOutput.fillRows(f).utf8)) }
            if !t.isEmpty { try trades.write(contentsOf: Data(BacktestOutput.tradeRows(t).utf8)) }
        }

        func close() throws {
            for handle in [trades, fills, decisions] { try handle.close() }
        }
    }

    let state: Mutex<State>
    public let directory: String
    public let recordingDirectory: String
    let configuration: BacktestConfiguration
    let logger: Logger

    /// - Parameters:
    ///   - topics: the public topics the node records (they name each symbol's matching depth, as in a backtest).
    ///   - directory: where status and outputs go; `recordingDirectory` is named in `summary.json`.
    public init(configuration: BacktestConfiguration, topics: Set<String>, journal: sending any OrderJournal, directory: String,
                recordingDirectory: String, logger: Logger) throws {
        self.configuration = configuration
        self.directory = directory
        self.recordingDirectory = recordingDirectory
        self.logger = logger
        let runner = BacktestRunner(paths: [recordingDirectory], configuration: configuration, journal: journal)
        state = Mutex(State(session: try runner.session(topics: topics), rows: try RowFiles(directory: directory)))
    }

    public func recorded(_ bytes: [UInt8], at: LocalTime) {
        state.withLock { s in
            guard s.failure == nil else { return }
            bytes.withUnsafeBytes { s.clock.observe(localTime: at, json: $0) }
            let t = corrected(at, &s)
            do { try s.session.ingest(bytes, at: t) } catch { fail(&s, error) }
            logFills(&s)
        }
    }

    /// `at` on the exchange clock, never before an earlier frame's.
    private func corrected(_ at: LocalTime, _ s: inout State) -> LocalTime {
        let t = LocalTime(nanoseconds: max(s.lastTime.nanoseconds, at.nanoseconds - (s.clock.offset ?? 0)))
        s.lastTime = t
        return t
    }

    public func idle(until: LocalTime) {
        state.withLock { s in
            guard s.failure == nil else { return }
            do { try s.session.idle(until: corrected(until, &s)) } catch { fail(&s, error) }
            logFills(&s)
            if until.nanoseconds / 1_000_000_000 != s.lastStatus {
                s.lastStatus = until.nanoseconds / 1_000_000_000
                writeStatus(s, at: until)
                let settled = s.session.takeSettled()
                do { try s.rows.append(decisions: settled.decisions, fills: settled.fills, trades: settled.trades) } catch {
                    fail(&s, BacktestError("output rows not written: \(error)"))
                }
            }
        }
    }

    public var failure: (any Error)? { state.withLock { $0.failure } }
    /// The engine as it stands (tests, the memory benchmark).
    public var engine: TradingEngine { state.withLock { $0.session.engine } }

    public func finish() throws {
        let result = try state.withLock { s in
            defer { try? s.rows.close() }
            let result = try s.session.finish()
            try s.rows.append(decisions: result.decisions, fills: result.fills, trades: result.trades)
            return result
        }
        for (name, text) in BacktestOutput.summaryFiles(result, configuration: configuration, paths: [recordingDirectory]) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
        }
        let totals = BacktestOutput.totals(result)
        logger.info("paper session ended: \(totals.fills) fills, \(totals.ladders) ladders, net \(totals.pricePnl - totals.fees) USDT after fees; outputs in \(directory)")
    }

    /// Closes the journal once the node has stopped (its write-ahead log folded into the file).
    public func closeJournal() throws {
        try state.withLock { s throws(JournalError) in try s.session.closeJournal() }
    }

    private func fail(_ s: inout State, _ error: any Error) {
        s.failure = error
        logger.critical("ALERT: paper trading stopped: \(error)")
    }

    /// One line per fill, as it happens.
    private func logFills(_ s: inout State) {
        let result = s.session.result
        while s.fillsLogged < result.fillCount {
            let f = result.fills[s.fillsLogged - result.settled.fills]
            s.fillsLogged += 1
            logger.info("paper fill: \(f.symbol) \(f.role) \(f.side) \(BacktestOutput.qty(f.qty)) @ \(BacktestOutput.price(f.price)) (\(f.liquidity)), fee \(f.fee)")
        }
    }

    private func writeStatus(_ s: State, at now: LocalTime) {
        let result = s.session.result
        do {
            try NodeStatusFile.write(node: "paper", engine: s.session.engine, balance: configuration.deposit, frames: result.frames,
                                     lastExchangeTime: result.lastTime, fills: result.fillCount, episodes: result.episodesDetected,
                                     at: now, to: directory)
        } catch {
            logger.warning("status file not written: \(error)")
        }
    }
}
