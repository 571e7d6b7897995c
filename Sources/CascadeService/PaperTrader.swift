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
/// Writes `status.json` (once a second) and, on shutdown, the backtest's outputs (`trades.csv`, `fills.csv`,
/// `decisions.jsonl`, `summary.json`, `summary.txt`) into its directory. A journal failure stops trading and the
/// node (nothing is sent without a committed entry).
public final class PaperTrader: RecordedFrameConsumer {
    struct State {
        var session: BacktestRunner.Session
        var clock = ClockOffset.Estimator()
        var lastTime = LocalTime(nanoseconds: .min)
        var failure: (any Error)?
        var fillsLogged = 0
        var lastStatus: Int64 = .min
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
        state = Mutex(State(session: try runner.session(topics: topics)))
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
            }
        }
    }

    public var failure: (any Error)? { state.withLock { $0.failure } }

    public func finish() throws {
        let result = try state.withLock { s in try s.session.finish() }
        try BacktestOutput.write(result, configuration: configuration, paths: [recordingDirectory], to: directory)
        let net = result.fills.reduce(USDT.zero) { $0 + $1.closedPnl - $1.fee }
        logger.info("paper session ended: \(result.fills.count) fills, \(result.trades.count) ladders, net \(net) USDT after fees; outputs in \(directory)")
    }

    private func fail(_ s: inout State, _ error: any Error) {
        s.failure = error
        logger.critical("ALERT: paper trading stopped: \(error)")
    }

    /// One line per fill, as it happens.
    private func logFills(_ s: inout State) {
        let fills = s.session.result.fills
        while s.fillsLogged < fills.count {
            let f = fills[s.fillsLogged]
            s.fillsLogged += 1
            logger.info("paper fill: \(f.symbol) \(f.role) \(f.side) \(BacktestOutput.qty(f.qty)) @ \(BacktestOutput.price(f.price)) (\(f.liquidity)), fee \(f.fee)")
        }
    }

    private func writeStatus(_ s: State, at now: LocalTime) {
        let result = s.session.result
        do {
            try NodeStatusFile.write(node: "paper", engine: s.session.engine, balance: configuration.deposit, frames: result.frames,
                                     lastExchangeTime: result.lastTime, fills: result.fills.count, episodes: result.episodesDetected,
                                     at: now, to: directory)
        } catch {
            logger.warning("status file not written: \(error)")
        }
    }
}
