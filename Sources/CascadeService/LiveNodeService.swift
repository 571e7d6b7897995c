public import BybitGateway
public import CascadeCore
public import Logging
public import ServiceLifecycle

/// The live trader's venue loop under swift-service-lifecycle. On graceful shutdown it cancels resting entries on
/// every symbol with `orderFilter=Order` (never a bare cancel-all, which would also remove the stops) and leaves
/// positions with their exchange-side stops.
public final class LiveNodeService: Service {
    let trader: LiveTrader
    let gateway: BybitGateway
    let symbols: [Instrument]
    let logger: Logger

    public init(trader: LiveTrader, gateway: BybitGateway, symbols: [Instrument], logger: Logger) {
        self.trader = trader
        self.gateway = gateway
        self.symbols = symbols
        self.logger = logger
    }

    public func run() async throws {
        let trader = self.trader
        let running = Task { await trader.run() }
        // Shutdown: the entries are cancelled while the venue loop still runs (their reports reach the journal),
        // then the loop stops.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await running.value
            } onGracefulShutdown: {
                Task {
                    await self.cancelEntries()
                    try? await trader.timer.sleep(for: .seconds(1))   // the cancels' reports reach the journal
                    running.cancel()
                }
            }
        } onCancel: {
            running.cancel()
        }
    }

    func cancelEntries() async {
        for instrument in symbols {
            let command = VenueCommand(symbol: instrument.id, decidedAt: trader.exchangeNow(), action: .cancelAll(.order))
            let result = await gateway.send(command, instrument: instrument)
            logger.info("shutdown: resting entries of \(instrument.symbol) cancelled (orderFilter=Order): \(result)")
        }
    }
}
