public import Logging
public import ServiceLifecycle
public import UnixSignals

/// The service group every long-running command (`cascade live`, `paper`, `record`, `sim`) runs under: SIGINT and
/// SIGTERM start a graceful shutdown, and the shutdown is bounded, so that a service that hangs in it (a socket that
/// never closes, a call that never returns) cannot keep the process alive. After `gracefulShutdownLimit` the group
/// cancels its services; a service still running `cancellationLimit` after that stops the process (swift-service-
/// lifecycle's `fatalError`), as a supervisor's SIGKILL would. Neither loses anything the journal holds: each decision
/// is committed before its commands are sent, and the restart reconciles with Bybit.
public enum NodeServiceGroup {
    /// Longer than any stop a service runs on its own: the live trader's is bounded at 15 s (``LiveTrader/shutdownLimit``).
    public static let gracefulShutdownLimit: Duration = .seconds(30)
    public static let cancellationLimit: Duration = .seconds(10)

    public static func make(_ services: [ServiceGroupConfiguration.ServiceConfiguration], logger: Logger,
                            signals: [UnixSignal] = [.sigterm, .sigint],
                            gracefulShutdownLimit: Duration = Self.gracefulShutdownLimit,
                            cancellationLimit: Duration = Self.cancellationLimit) -> ServiceGroup {
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = gracefulShutdownLimit
        configuration.maximumCancellationDuration = cancellationLimit
        return ServiceGroup(configuration: configuration)
    }

    public static func make(_ services: [any Service], logger: Logger) -> ServiceGroup {
        make(services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) }, logger: logger)
    }
}
