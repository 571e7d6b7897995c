import BybitSimulator
import BybitV5Client
import CascadeCore
import CascadeTesting
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOSSL
import Recording
import Simulation
import Synchronization
import SwiftASN1
import X509

/// A `cascade sim` public half running in-process on a loopback port, replaying a seeded synthetic file.
struct SimulatorHarness {
    let replay: MarketReplay
    let port: Int
    let server: Task<Void, any Error>
    let replayTask: Task<Void, any Error>
    let directory: TemporaryDirectory

    /// Writes `frames` seeded book/trade/ticker frames 20 ms apart and starts the simulator on port 0.
    static func start(frames: Int = 300, speed: ReplaySpeed = .realTime, tls: TLSConfiguration? = nil,
                      seed: UInt64 = 7, depth: Int = 50, settings: SimMarginSettings = SimMarginSettings()) async throws -> SimulatorHarness {
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
                lines.append(i == 0 ? book.snapshot() : book.delta())
            }
        }
        return try await start(lines: lines, speed: speed, tls: tls, settings: settings)
    }

    /// Writes the given frames (JSON text, 20 ms apart from 2024-07-19T00:00:21.02Z) and starts the simulator.
    static func start(lines: [String], speed: ReplaySpeed = .realTime, tls: TLSConfiguration? = nil,
                      accounts: [SimAccountSpec] = [.defaultTestAccount],
                      settings: SimMarginSettings = SimMarginSettings()) async throws -> SimulatorHarness {
        let directory = try TemporaryDirectory("sim")
        let path = directory.file("synthetic.frames.gz")
        let writer = try FrameFileWriter(path: path)
        var t: Int64 = 1_721_347_021_000_000_000
        for line in lines {
            t += 20_000_000
            try writer.append(localTime: LocalTime(nanoseconds: t), json: Array(line.utf8))
        }
        try writer.close()
        let replay = MarketReplay(paths: [path], speed: speed, accounts: accounts, settings: settings, wallClock: SystemWallClock())
        let ports = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "sim-test")
        logger.logLevel = .critical
        let app = try BybitSimulatorServer.application(replay: replay, port: 0, tls: tls, clock: SystemWallClock(),
                                                       logger: logger) { port in ports.continuation.yield(port) }
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        let replayTask = Task { try await replay.run() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return SimulatorHarness(replay: replay, port: port, server: server, replayTask: replayTask, directory: directory)
    }

    func stop() {
        server.cancel()
        replayTask.cancel()
        directory.remove()
    }

    var wsURL: String { "ws://127.0.0.1:\(port)/v5/public/linear" }
}

/// Collects a client's events and waits for conditions with a deadline (no sleeps in assertions).
final class EventLog: Sendable {
    let events = Mutex<[PublicStreamEvent]>([])

    func consume(_ client: PublicStreamClient) -> Task<Void, Never> {
        Task { for await e in client.events { self.events.withLock { $0.append(e) } } }
    }

    var snapshot: [PublicStreamEvent] { events.withLock { $0 } }

    /// Runs `client` and records its events; call the returned closure to stop both.
    static func running(_ client: PublicStreamClient) -> (EventLog, @Sendable () -> Void) {
        let log = EventLog()
        let consumer = log.consume(client)
        let running = Task { await client.run() }
        return (log, { running.cancel(); consumer.cancel() })
    }

    /// Polls every 10 ms until `condition` holds or `timeout` passes; returns whether it held.
    func wait(timeout: Duration = .seconds(10), _ condition: ([PublicStreamEvent]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(snapshot) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(snapshot)
    }
}

extension PublicStreamEvent {
    var frameText: String? {
        if case let .frame(bytes, _) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
    var isConnected: Bool { if case .connected = self { true } else { false } }
    var disconnectReason: PublicStreamDisconnect? { if case let .disconnected(r, _, _) = self { r } else { nil } }
}

/// A self-signed certificate for `localhost`/127.0.0.1, made by the test (no files, no network).
enum TestCertificate {
    static func make() throws -> (server: TLSConfiguration, client: TLSConfiguration) {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("localhost") }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + 3600, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                SubjectAlternativeNames([.dnsName("localhost")])
            },
            issuerPrivateKey: .init(key))
        let pem = try certificate.serializeAsPEM().pemString
        let nioCertificate = try NIOSSLCertificate(bytes: Array(pem.utf8), format: .pem)
        let nioKey = try NIOSSLPrivateKey(bytes: Array(key.pemRepresentation.utf8), format: .pem)
        let server = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(nioCertificate)],
                                                              privateKey: .privateKey(nioKey))
        var client = TLSConfiguration.makeClientConfiguration()
        client.trustRoots = .certificates([nioCertificate])
        return (server, client)
    }
}
