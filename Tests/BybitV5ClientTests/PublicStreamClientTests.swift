import BybitSimulator
import BybitV5Client
import CascadeCore
import CascadeTesting
import Logging
import Testing

/// The public stream client against the simulator on loopback: reconnect, resubscribe, resync, liveness.
@Suite(.serialized) struct PublicStreamClientTests {
    static let topics = ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT", "tickers.BTCUSDT"]

    func client(_ url: String, topics: [String] = topics, configure: (inout PublicStreamConfiguration) -> Void = { _ in })
        -> PublicStreamClient {
        var configuration = PublicStreamConfiguration(url: url, topics: topics)
        configuration.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200), jitter: 0.1)
        configure(&configuration)
        var logger = Logger(label: "client-test")
        logger.logLevel = .critical
        return PublicStreamClient(configuration: configuration, logger: logger)
    }

    @Test func subscribesAndReceivesFramesIncludingThoseBeforeTheAck() async throws {
        let sim = try await SimulatorHarness.start()
        defer { sim.stop() }
        let c = client(sim.wsURL)
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { events in events.contains { if case let .subscribed(t, _) = $0 { t == Self.topics } else { false } } })
        #expect(await log.wait { $0.compactMap(\.frameText).filter { $0.contains("orderbook.50.BTCUSDT") }.count >= 20 })
        let frames = log.snapshot.compactMap(\.frameText)
        #expect(frames.first { $0.contains("orderbook.50") }?.contains(#""type":"snapshot""#) == true)
    }

    @Test func droppedConnectionReconnectsResubscribesAndReportsTheGap() async throws {
        let sim = try await SimulatorHarness.start(frames: 600)
        defer { sim.stop() }
        let c = client(sim.wsURL)
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { $0.compactMap(\.frameText).count >= 30 })
        await sim.replay.dropAllConnections()
        #expect(await log.wait { $0.contains { $0.disconnectReason != nil } })
        #expect(await log.wait { $0.filter(\.isConnected).count >= 2 })
        // After the reconnect the book topic starts again from a snapshot (resubscribe → snapshot), never a
        // silent continuation of deltas.
        #expect(await log.wait { events in
            guard let gap = events.firstIndex(where: { $0.disconnectReason != nil }) else { return false }
            let after = events[gap...].compactMap(\.frameText).filter { $0.contains("orderbook.50.BTCUSDT") }
            return after.first?.contains(#""type":"snapshot""#) == true
        })
        // The resubscription is acknowledged too (the ack may follow the snapshot: wait for it).
        #expect(await log.wait { $0.filter { if case .subscribed = $0 { true } else { false } }.count >= 2 })
    }

    @Test func halfOpenSocketIsDetectedByThePongDeadline() async throws {
        let sim = try await SimulatorHarness.start(frames: 2_000)
        defer { sim.stop() }
        await sim.replay.setAnswersPings(false)
        let c = client(sim.wsURL) { config in
            config.pingInterval = .milliseconds(200)
            config.pongTimeout = .milliseconds(300)
        }
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { $0.contains { $0.disconnectReason == .pongTimeout } })
    }

    @Test func answeredPingsKeepTheConnection() async throws {
        let sim = try await SimulatorHarness.start(frames: 200)
        defer { sim.stop() }
        let c = client(sim.wsURL) { config in
            config.pingInterval = .milliseconds(100)
            config.pongTimeout = .seconds(2)
        }
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { $0.contains(where: \.isConnected) })
        try await Task.sleep(for: .milliseconds(1_500))   // ~15 pings answered
        #expect(!log.snapshot.contains { $0.disconnectReason != nil })
    }

    @Test func refusedSubscriptionIsATypedEvent() async throws {
        let sim = try await SimulatorHarness.start()
        defer { sim.stop() }
        let c = client(sim.wsURL, topics: ["dcp.future"])
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { events in
            events.contains { if case let .subscriptionFailed(t, m, _) = $0 { t == ["dcp.future"] && m.contains("handler not found") } else { false } }
        })
    }

    /// Bybit refuses a whole request for one bad topic. The good topics of that request are asked for again on
    /// their own and the book flows; the bad one keeps being refused, reported each time, without a reconnect
    /// (client review row 8).
    @Test func topicsOfARefusedRequestAreAskedForAgain() async throws {
        let sim = try await SimulatorHarness.start()
        defer { sim.stop() }
        let c = client(sim.wsURL, topics: ["orderbook.50.BTCUSDT", "dcp.future"]) { $0.livenessCheckInterval = .milliseconds(50) }
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { events in
            events.contains { if case let .subscriptionFailed(t, _, _) = $0 { t == ["orderbook.50.BTCUSDT", "dcp.future"] } else { false } }
        })
        #expect(await log.wait { events in events.contains { if case let .subscribed(t, _) = $0 { t == ["orderbook.50.BTCUSDT"] } else { false } } })
        #expect(await log.wait { $0.compactMap(\.frameText).filter { $0.contains("orderbook.50.BTCUSDT") }.count >= 5 })
        #expect(await log.wait { $0.filter { if case let .subscriptionFailed(t, _, _) = $0 { t == ["dcp.future"] } else { false } }.count >= 2 })
        #expect(log.snapshot.filter { if case .connected = $0 { true } else { false } }.count == 1)
    }

    @Test func silentBookIsResyncedByUnsubscribeAndSubscribe() async throws {
        let sim = try await SimulatorHarness.start(frames: 60, speed: .asFastAsPossible)
        defer { sim.stop() }
        let c = client(sim.wsURL) { config in
            config.bookSilence = .milliseconds(300)
            config.livenessCheckInterval = .milliseconds(50)
        }
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        // The replay ends quickly; the book goes silent; the client resubscribes and gets a fresh snapshot.
        #expect(await log.wait { events in
            events.contains { if case let .resync(t, .silence, _) = $0 { t == "orderbook.50.BTCUSDT" } else { false } }
        })
        #expect(await log.wait { $0.compactMap(\.frameText).filter { $0.contains(#""type":"snapshot""#) && $0.contains("orderbook.50") }.count >= 2 })
        // The resync is reported before the fresh snapshot it causes.
        let events = log.snapshot
        let resyncIndex = try #require(events.firstIndex { if case .resync = $0 { true } else { false } })
        let snapshots = events.indices.filter { events[$0].frameText.map { $0.contains(#""type":"snapshot""#) && $0.contains("orderbook.50") } == true }
        #expect(snapshots.count >= 2 && resyncIndex < snapshots[1])
        // Event-driven topics are never resynced for silence.
        #expect(!log.snapshot.contains { if case let .resync(t, _, _) = $0 { t == "publicTrade.BTCUSDT" } else { false } })
    }

    @Test func tlsToALocalServerWithATestCertificate() async throws {
        let certificates = try TestCertificate.make()
        let sim = try await SimulatorHarness.start(tls: certificates.server)
        defer { sim.stop() }
        let c = client("wss://localhost:\(sim.port)/v5/public/linear") { $0.tlsConfiguration = certificates.client }
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { $0.compactMap(\.frameText).count >= 5 })
    }

    @Test func untrustedCertificateIsRefusedAndRetried() async throws {
        let certificates = try TestCertificate.make()
        let sim = try await SimulatorHarness.start(tls: certificates.server)
        defer { sim.stop() }
        let c = client("wss://localhost:\(sim.port)/v5/public/linear")   // system roots: our test CA is unknown
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { $0.filter { $0.disconnectReason != nil }.count >= 2 })
        #expect(log.snapshot.compactMap(\.frameText).isEmpty)
    }

    @Test func framesLargerThanHummingbirdsDefault16KiBArriveIntact() async throws {
        let sim = try await SimulatorHarness.start(depth: 1000)
        defer { sim.stop() }
        let c = client(sim.wsURL, topics: ["orderbook.1000.BTCUSDT"])   // default frame limit
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait { $0.compactMap(\.frameText).contains { $0.contains(#""type":"snapshot""#) && $0.utf8.count > 16_384 } })
        #expect(!log.snapshot.contains { $0.disconnectReason != nil })
    }

    @Test func oversizeFrameEndsTheConnectionWithATypedReason() async throws {
        let sim = try await SimulatorHarness.start()
        defer { sim.stop() }
        let c = client(sim.wsURL) { $0.maxFrameSize = 256 }
        let (log, stop) = EventLog.running(c)
        defer { stop() }
        #expect(await log.wait(.seconds(3)) { $0.contains { $0.disconnectReason == .oversizeFrame } }, "\(log.snapshot.compactMap(\.disconnectReason))")
    }

    @Test func backoffIsBoundedAndJittered() {
        let b = ReconnectBackoff(initial: .milliseconds(500), maximum: .seconds(30), multiplier: 2, jitter: 0.2)
        #expect(b.delay(afterFailures: 1, unit: 0.5) == .milliseconds(500))
        #expect(b.delay(afterFailures: 3, unit: 0.5) == .seconds(2))
        #expect(b.delay(afterFailures: 50, unit: 0.5) == .seconds(30))
        #expect(b.delay(afterFailures: 50, unit: 0) == .seconds(24))
        #expect(b.delay(afterFailures: 50, unit: 1) == .seconds(36))
    }
}
