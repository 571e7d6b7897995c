import BybitV5Client
import CascadeService
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The commands' service group bounds a graceful shutdown: a service that ignores it is cancelled once the limit has
/// passed. Without the limit the group waits for it forever (the time limit below fails the test).
@Suite struct NodeServiceGroupTests {
    /// Ignores graceful shutdown; ends only when cancelled (an idle stream's iteration ends on cancellation).
    final class Stubborn: Service {
        let cancelled = Atomic<Bool>(false)
        func run() async throws {
            let (stream, continuation) = AsyncStream<Int>.makeStream()
            for await _ in stream {}
            cancelled.store(Task.isCancelled, ordering: .relaxed)
            withExtendedLifetime(continuation) {}
        }
    }

    @Test(.timeLimit(.minutes(1))) func aServiceThatIgnoresGracefulShutdownIsCancelledAfterTheLimit() async throws {
        let service = Stubborn()
        let group = NodeServiceGroup.make([.init(service: service)], logger: Logger(label: "test"), signals: [],
                                          gracefulShutdownLimit: .milliseconds(50), cancellationLimit: .seconds(50))
        async let run: Void = group.run()
        await group.triggerGracefulShutdown()
        try await run
        let cancelled = service.cancelled.load(ordering: .relaxed)
        #expect(cancelled, "ended by the cancellation that followed the limit")
    }

    /// The limits nest: a create with a send deadline holds its sender lane at most the REST request timeout, the live
    /// trader's shutdown waits longer than that (or a cancel queued behind a slow create is dropped and its entry left
    /// resting), and the group waits longer than the trader's shutdown (or cancels it mid-way). Constants only: it
    /// fails when one is changed without the others.
    @Test func theShutdownLimitsNest() {
        #expect(LiveTrader.shutdownLimit > BybitRESTClient.requestTimeout && LiveTrader.shutdownLimit > BybitRESTClient.readTimeout)
        #expect(NodeServiceGroup.gracefulShutdownLimit > LiveTrader.shutdownLimit)
    }
}
