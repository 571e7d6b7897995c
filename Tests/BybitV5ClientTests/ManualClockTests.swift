import BybitSimulator
import BybitV5
import BybitV5Client
import CascadeCore
import CascadeTesting
import Logging
import Testing

/// Timing behaviour of the clients on a manual clock: the waits under test happen only when the test moves
/// time, so there is no real sleep and nothing depends on how fast CI runs.
@Suite(.serialized) struct ManualClockTests {
    func client(_ url: String, timer: ManualClock, configure: (inout PublicStreamConfiguration) -> Void = { _ in }) -> PublicStreamClient {
        var configuration = PublicStreamConfiguration(url: url, topics: ["orderbook.50.BTCUSDT"])
        configuration.backoff = ReconnectBackoff(initial: .seconds(2), maximum: .seconds(8), jitter: 0)
        // Silence checks would also fire when the test moves time; they have their own test.
        configuration.bookSilence = .seconds(86_400)
        configure(&configuration)
        var logger = Logger(label: "manual-clock-test")
        logger.logLevel = .critical
        return PublicStreamClient(configuration: configuration, timer: timer, logger: logger)
    }

    @Test func reconnectWaitsExactlyTheBackoffOnTheClock() async throws {
        let sim = try await SimulatorHarness.start(frames: 2_000)
        defer { sim.stop() }
        let timer = ManualClock()
        let (log, stop) = EventLog.running(client(sim.wsURL, timer: timer))
        defer { stop() }
        #expect(await log.wait { $0.contains { if case .subscribed = $0 { true } else { false } } })
        await sim.replay.dropAllConnections()
        #expect(await log.wait { $0.contains { $0.disconnectReason != nil } })
        let retryIn = log.snapshot.compactMap { if case let .disconnected(_, _, d) = $0 { d } else { nil } }.first
        #expect(retryIn == .seconds(2))
        // The reconnect sleeps on the manual clock: nothing connects until time passes 2 s.
        await timer.waitForSleepers(1)
        #expect(timer.nextDeadline == timer.instant() + .seconds(2))
        #expect(log.snapshot.filter(\.isConnected).count == 1)
        timer.advance(by: .seconds(2))
        #expect(await log.wait { $0.filter(\.isConnected).count == 2 })
    }

    @Test func anUnansweredPingEndsTheConnectionAtThePongDeadline() async throws {
        let sim = try await SimulatorHarness.start(frames: 2_000)
        defer { sim.stop() }
        await sim.replay.setAnswersPings(false)
        let timer = ManualClock()
        let (log, stop) = EventLog.running(client(sim.wsURL, timer: timer) { config in
            config.pingInterval = .seconds(20)
            config.pongTimeout = .seconds(10)
            config.ackTimeout = .seconds(86_400)
        })
        defer { stop() }
        #expect(await log.wait { $0.contains { if case .subscribed = $0 { true } else { false } } })
        // Asleep: the pinger (until the first ping at 20 s) and the liveness check.
        await timer.waitForSleepers(2)
        let start = timer.instant()
        timer.advance(to: start + .seconds(20))   // the first ping goes out; its deadline is 30 s
        await timer.waitForSleepers(2)
        timer.advance(to: start + .seconds(29))
        await timer.waitForSleepers(2)
        #expect(!log.snapshot.contains { $0.disconnectReason != nil })
        timer.advance(to: start + .seconds(30))
        #expect(await log.wait { $0.contains { $0.disconnectReason == .pongTimeout } })
    }
}
