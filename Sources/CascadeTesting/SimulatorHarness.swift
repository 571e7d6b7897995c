public import BybitSimulator
import BybitV5Client
public import CascadeCore
import Foundation
import Hummingbird
import Logging
public import NIOSSL
import Recording
public import Simulation

/// `cascade sim` running in-process on a loopback port over a seeded synthetic file (or given frames): the
/// simulator tests and the client tests talk to it as to Bybit.
public struct SimulatorHarness: Sendable {
    public let replay: MarketReplay
    public let port: Int
    let server: Task<Void, any Error>
    let replayTask: Task<Void, any Error>
    var directory: TemporaryDirectory?

    /// Writes `frames` seeded book/trade/ticker frames 20 ms apart and starts the simulator on port 0.
    public static func start(frames: Int = 300, speed: ReplaySpeed = .realTime, tls: TLSConfiguration? = nil,
                      seed: UInt64 = 7, depth: Int = 50, settings: VenueSettings = VenueSettings(),
                      outboxLimits: SimOutboxLimits = SimOutboxLimits()) async throws -> SimulatorHarness {
        var book = SyntheticBookFrames(symbol: "BTCUSDT", depth: depth, seed: seed)
        var lines: [String] = []
        for i in 0..<frames {
            let ms = (1_721_347_021_000_000_000 + Int64(i + 1) * 20_000_000) / 1_000_000
            switch i % 10 {
            case 0 where i > 0:
                lines.append(#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Buy","v":"0.010","p":"64000.00","L":"PlusTick","i":"t-\#(i)","BT":false}]}"#)
            case 5:
                lines.append(#"{"topic":"tickers.BTCUSDT","type":"\#(i == 5 ? "snapshot" : "delta")","data":{"symbol":"BTCUSDT","lastPrice":"64000.\#(i % 100)"},"cs":\#(i),"ts":\#(ms)}"#)
            default:
                lines.append(i == 0 ? book.snapshot(ts: ms) : book.delta(ts: ms))
            }
        }
        return try await start(lines: lines, speed: speed, tls: tls, settings: settings, outboxLimits: outboxLimits)
    }

    /// Writes the given frames (JSON text, 20 ms apart from 2024-07-19T00:00:21.02Z) and starts the simulator.
    public static func start(lines: [String], speed: ReplaySpeed = .realTime, tls: TLSConfiguration? = nil,
                      accounts: [SimAccountSpec] = [.defaultTestAccount],
                      settings: VenueSettings = VenueSettings(),
                      outboxLimits: SimOutboxLimits = SimOutboxLimits(), instrumentsJSON: [UInt8]? = nil,
                      timer: any TaskClock = ContinuousTaskClock()) async throws -> SimulatorHarness {
        let directory = try TemporaryDirectory("sim")
        let path = directory.file("synthetic.frames.gz")
        let writer = try FrameFileWriter(path: path)
        var t: Int64 = 1_721_347_021_000_000_000
        for line in lines {
            t += 20_000_000
            try writer.append(localTime: LocalTime(nanoseconds: t), json: Array(line.utf8))
        }
        try writer.close()
        let replay = MarketReplay(paths: [path], speed: speed, instrumentsJSON: instrumentsJSON, accounts: accounts, settings: settings,
                                  outboxLimits: outboxLimits, wallClock: SystemWallClock(), timer: timer)
        var harness = try await serve(replay, tls: tls)
        harness.directory = directory
        return harness
    }

    /// Serves `replay` on a loopback port (port 0) and runs it. `clock`: the server's wall clock (the replay's own,
    /// for a test that moves time by hand).
    public static func serve(_ replay: MarketReplay, tls: TLSConfiguration? = nil, clock: (any WallClock)? = nil) async throws -> SimulatorHarness {
        let ports = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "sim-test")
        logger.logLevel = .critical
        let app = try BybitSimulatorServer.application(replay: replay, port: 0, tls: tls, clock: clock ?? SystemWallClock(),
                                                       logger: logger) { port in ports.continuation.yield(port) }
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        let replayTask = Task { try await replay.run() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return SimulatorHarness(replay: replay, port: port, server: server, replayTask: replayTask, directory: nil)
    }

    public func stop() {
        server.cancel()
        replayTask.cancel()
        directory?.remove()
    }

    public var wsURL: String { "ws://127.0.0.1:\(port)/v5/public/linear" }
}

