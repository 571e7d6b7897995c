public import ServiceLifecycle
import Synchronization

/// The live trader's venue loop under swift-service-lifecycle. On graceful shutdown the engine stops opening
/// (REDUCING), cancels its resting entries by id (``LiveTrader/stop(within:)``: never a cancel-all, which would
/// take the take-profit, the exits and the stops with them) and closes the positions whose exchange-side stop it
/// cannot confirm (every one with `live.shutdownPositions: flatten`).
public final class LiveNodeService: Service {
    let trader: LiveTrader

    public init(trader: LiveTrader) {
        self.trader = trader
    }

    /// `cascade live`'s services: the recorder that feeds the trader, and the node. A recorder that fails (it stops
    /// when the trader's journal has failed) shuts the group down gracefully instead of cancelling it, so the node's
    /// stop still runs: after a journal failure it cancels the open entries by id (``LiveTrader/stop(within:)``), which
    /// a cancelled group would leave resting at Bybit. The failure still ends the group with its error.
    public static func services(recorder: any Service, node: LiveNodeService) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        [.init(service: recorder, failureTerminationBehavior: .gracefullyShutdownGroup), .init(service: node)]
    }

    public func run() async throws {
        let trader = self.trader
        let running = Task { await trader.run() }
        let stopping = Mutex<Task<Void, Never>?>(nil)
        // Shutdown: no new entry, resting entries cancelled by id through the engine while the venue loop still runs
        // (their reports reach the journal), then the loop stops.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await running.value
            } onGracefulShutdown: {
                let task = Task {
                    await trader.stop()
                    running.cancel()
                }
                stopping.withLock { $0 = task }
            }
        } onCancel: {
            running.cancel()
        }
        // The stop's own steps are journaled: the service ends (and the journal may close) only after it.
        if let task = stopping.withLock({ $0 }) { await task.value }
    }
}
