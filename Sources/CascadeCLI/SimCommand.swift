import ArgumentParser
import BybitSimulator
import BybitV5Client
import CascadeCore
import Foundation
import Hummingbird
import Logging
import Recording
import ServiceLifecycle
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
    }

    func run() async throws {
        var logger = Logger(label: "cascade.sim")
        logger.logLevel = .info
        var instruments: [UInt8]?
        if let instrumentsFile {
            guard let bytes = FileManager.default.contents(atPath: instrumentsFile) else {
                throw CLIError("cannot read --instruments \(instrumentsFile)")
            }
            instruments = Array(bytes)
        }
        for path in data where !FileManager.default.isReadableFile(atPath: path) {
            throw CLIError("cannot read --data \(path)")
        }
        var accounts = [SimAccountSpec.defaultTestAccount]
        if let accountsFile {
            guard let bytes = FileManager.default.contents(atPath: accountsFile) else { throw CLIError("cannot read --accounts \(accountsFile)") }
            do { accounts = try SimAccountSpec.parse(Array(bytes), source: accountsFile) } catch { throw CLIError(error.description) }
        }
        var faults = SimFaultPlan()
        if let faultsFile {
            guard let bytes = FileManager.default.contents(atPath: faultsFile) else { throw CLIError("cannot read --faults \(faultsFile)") }
            do { faults = try SimFaultPlan.parse(Array(bytes)) } catch { throw CLIError("--faults \(faultsFile): \(error.description)") }
        }
        let replay = MarketReplay(paths: data, speed: ReplaySpeed(speed)!, instrumentsJSON: instruments, accounts: accounts,
                                  rebaseTimestamps: !originalTimestamps, faults: faults, wallClock: SystemWallClock())
        if startNow { await replay.begin() }
        let app = try BybitSimulatorServer.application(replay: replay, host: host, port: port, clock: SystemWallClock(),
                                                       logger: logger) { bound in
            // stderr is unbuffered: scripts and tests wait for this line to learn the port.
            FileHandle.standardError.write(Data("cascade sim listening on http://\(host):\(bound) (ws://\(host):\(bound)/v5/public/linear)\n".utf8))
        }
        let group = ServiceGroup(services: [app, ReplayService(replay: replay, logger: logger)],
                                 gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
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
