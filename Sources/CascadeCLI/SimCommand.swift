import ArgumentParser
import BybitSimulator
import BybitV5Client
import CascadeCore
import CascadeService
import Foundation
import Hummingbird
import Logging
import Recording
import ServiceLifecycle
import Simulation
import UnixSignals

/// `cascade sim`: a Bybit-compatible server replaying recordings, with simulated accounts that trade against them.
struct SimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Serve recorded markets over Bybit V5 (public and private WebSocket, market and trading REST) on one port.",
        discussion: """
            Public WebSocket ws://HOST:PORT/v5/public/linear; private ws://HOST:PORT/v5/private (auth, order, execution, \
            position, wallet). REST: /v5/market/{time,instruments-info,orderbook,recent-trade,tickers}; signed \
            /v5/order/{create,create-batch,amend,cancel,cancel-all,realtime}, /v5/position/{list,set-leverage,trading-stop}, \
            /v5/account/wallet-balance, /v5/execution/list. Orders match in a queue-aware engine against the replayed \
            book and trades. Test controls: POST /_cascade/advance (lockstep), /_cascade/reset, /_cascade/faults; \
            GET /_cascade/status. Default account: key cascade-test-key, secret cascade-test-secret, 100000 USDT. \
            The replay starts at the first subscription unless --start-now.
            """)

    @Option(name: .customLong("data"), parsing: .upToNextOption, help: "Frames files to replay (merged by receive time).")
    var data: [String]

    @Option(help: "Port (0 picks a free one and prints it).")
    var port: Int = 8080

    @Option(help: "Interface to bind.")
    var host: String = "127.0.0.1"

    @Option(help: "Replay speed: 1 (recorded pace), a factor such as 10, max, or lockstep (advances only on POST /_cascade/advance).")
    var speed: String = "1"

    @Option(name: .customLong("accounts"), help: "Accounts file (JSON: {\"accounts\":[{\"name\",\"apiKey\",\"apiSecret\",\"depositUSDT\"}]}); default: the test account.")
    var accountsFile: String?

    @Option(name: .customLong("faults"), help: "Fault plan (JSON, seeded per-channel drop/duplicate/reorder/delay rates); default: none.")
    var faultsFile: String?

    @Option(name: .customLong("entry-latency-ms"), help: "Constant order entry latency in ms (default 10).")
    var entryLatencyMs: Int64?

    @Flag(name: .customLong("latency-from-data"), help: "Sample entry latency from the data's _cascade.clock round trips (half of each), seeded by --seed.")
    var latencyFromData = false

    @Option(name: .customLong("ack-latency-ms"), help: "Constant latency of private-stream reports in ms (default 5).")
    var ackLatencyMs: Int64?

    @Option(name: .customLong("maker-fee"), help: "Maker fee rate (default 0.0002).")
    var makerFee: String?

    @Option(name: .customLong("taker-fee"), help: "Taker fee rate (default 0.00055).")
    var takerFee: String?

    @Option(name: .customLong("leverage"), help: "Default leverage of every symbol (default 10).")
    var leverage: String?

    @Option(name: .customLong("maintenance-margin-rate"), help: "Maintenance margin rate of every position (default 0.005).")
    var maintenanceMarginRate: String?

    @Option(help: "Seed of sampled latencies.")
    var seed: UInt64 = 1

    @Option(name: .customLong("fill-model"), help: "When resting orders fill: strict-cross (default: prints, and an opposite side moving strictly through the order) or prints-only.")
    var fillModel = "strict-cross"

    @Option(name: .customLong("queue-model"), help: "How the queue ahead advances: trades-only (default) or proportional (also a share of unexplained size decreases).")
    var queueModel = "trades-only"

    /// The option values of the models (one table for validation and use).
    static let fillModels: [String: FillModelChoice] = ["strict-cross": .strictCross, "prints-only": .printsOnly]
    static let queueModels: [String: QueueModelChoice] = ["trades-only": .tradesOnly, "proportional": .proportionalCancels]

    @Flag(name: .customLong("original-timestamps"), help: "Send the recorded exchange timestamps instead of rebasing them to the replay start.")
    var originalTimestamps = false

    @Option(name: .customLong("instruments"), help: "Instruments-info JSON to serve when the data has no _cascade.instruments.")
    var instrumentsFile: String?

    @Flag(name: .customLong("start-now"), help: "Start replaying immediately instead of at the first subscription.")
    var startNow = false

    func validate() throws {
        if data.isEmpty { throw ValidationError("give --data FILE…") }
        if ReplaySpeed(speed) == nil { throw ValidationError("--speed must be a positive number, max or lockstep") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0…65535") }
        if latencyFromData && entryLatencyMs != nil { throw ValidationError("give --entry-latency-ms or --latency-from-data, not both") }
        if let ms = entryLatencyMs, ms < 1 { throw ValidationError("--entry-latency-ms must be at least 1") }
        if let ms = ackLatencyMs, ms < 0 { throw ValidationError("--ack-latency-ms must be at least 0") }
        for (name, text) in [("--maker-fee", makerFee), ("--taker-fee", takerFee), ("--maintenance-margin-rate", maintenanceMarginRate)] {
            if let text, (try? Rate(text)) == nil { throw ValidationError("\(name) must be a decimal such as 0.0002") }
        }
        if let leverage, ((try? Rate(leverage))?.units ?? 0) < 10_000_000_000 { throw ValidationError("--leverage must be a decimal of at least 1") }
        if Self.fillModels[fillModel] == nil { throw ValidationError("--fill-model must be strict-cross or prints-only") }
        if Self.queueModels[queueModel] == nil { throw ValidationError("--queue-model must be trades-only or proportional") }
    }

    func run() async throws {
        var logger = Logger(label: "cascade.sim")
        logger.logLevel = .info
        // Refused now when it does not decode, instead of served broken over REST.
        let instruments = try instrumentsFile.map(loadInstruments)?.0
        for path in data where !FileManager.default.isReadableFile(atPath: path) {
            throw CLIError("cannot read --data \(path)")
        }
        var accounts = [SimAccountSpec.defaultTestAccount]
        if let accountsFile {
            do { accounts = try SimAccountSpec.parse(try readOptionFile(accountsFile, option: "--accounts"), source: accountsFile) }
            catch let error as SimAccountSpec.FileError { throw CLIError(error.description) }
        }
        var faults = SimFaultPlan()
        if let faultsFile {
            do { faults = try SimFaultPlan.parse(try readOptionFile(faultsFile, option: "--faults")) }
            catch let error as SimFaultPlan.ParseError { throw CLIError("--faults \(faultsFile): \(error.description)") }
        }
        let settings = try simulationSettings(logger: logger)
        let replay = MarketReplay(paths: data, speed: ReplaySpeed(speed)!, instrumentsJSON: instruments, accounts: accounts,
                                  rebaseTimestamps: !originalTimestamps, faults: faults, settings: settings, wallClock: SystemWallClock())
        if startNow { await replay.begin() }
        // Without instrument rules, orders cannot be checked and instruments-info cannot be answered: say what to pass.
        let warning = replay.hasInstruments ? "" : "cascade sim: warning: \(MarketReplay.noInstrumentsMessage)\n"
        let app = try BybitSimulatorServer.application(replay: replay, host: host, port: port, clock: SystemWallClock(),
                                                       logger: logger) { bound in
            // stderr is unbuffered: scripts and tests wait for this line to learn the port.
            FileHandle.standardError.write(Data("cascade sim listening on http://\(host):\(bound) (ws://\(host):\(bound)/v5/public/linear)\n\(warning)".utf8))
        }
        let group = NodeServiceGroup.make([app, ReplayService(replay: replay, logger: logger)], logger: logger)
        try await group.run()
    }
}

extension SimCommand {
    /// The venue's settings from the options (validated in `validate()`).
    func simulationSettings(logger: Logger) throws -> VenueSettings {
        var settings = VenueSettings()
        settings.entryLatency = .constant(milliseconds: entryLatencyMs ?? 10)
        if latencyFromData {
            let samples: [Int64]
            do { samples = try MeasuredLatency.oneWayMilliseconds(paths: data) } catch { throw CLIError("--latency-from-data: \(error)") }
            guard !samples.isEmpty else {
                throw CLIError("--latency-from-data: the data has no _cascade.clock samples (recordings by `cascade record` have them); give --entry-latency-ms")
            }
            let sorted = samples.sorted()
            logger.info("entry latency sampled from the data", metadata: [
                "samples": "\(samples.count)", "median_ms": "\(sorted[sorted.count / 2])", "p95_ms": "\(sorted[sorted.count * 95 / 100])"])
            settings.entryLatency = .sampled(millisecondsSamples: samples, seed: seed)
        }
        settings.acknowledgementLatency = .constant(milliseconds: ackLatencyMs ?? 5)
        if let makerFee { settings.fees.maker = try Rate(makerFee) }
        if let takerFee { settings.fees.taker = try Rate(takerFee) }
        if let leverage { settings.defaultLeverage = try Rate(leverage) }
        if let maintenanceMarginRate { settings.maintenanceMarginRate = try Rate(maintenanceMarginRate) }
        settings.fill = Self.fillModels[fillModel] ?? settings.fill
        settings.queue = Self.queueModels[queueModel] ?? settings.queue
        return settings
    }
}

/// Runs the replay as a service; when the data ends the server keeps answering (books stay at their last state).
struct ReplayService: Service {
    let replay: MarketReplay
    let logger: Logger
    func run() async throws {
        // SIGINT/SIGTERM cancel the replay (even while it waits for a first subscriber).
        do {
            try await cancelWhenGracefulShutdown {
                try await replay.run()
            }
        } catch is CancellationError {
            return
        }
        let frames = await replay.framesReplayed
        logger.info("replay finished", metadata: ["frames": "\(frames)"])
        try? await gracefulShutdown()
    }
}
