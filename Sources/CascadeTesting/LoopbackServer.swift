public import Hummingbird
import Logging

/// Runs `router` on 127.0.0.1 at a port the system picks, for tests' fake servers: returns the port once the server
/// listens, and the task that runs it (cancelling it stops the server).
public func startLoopbackServer(_ router: Router<BasicRequestContext>, label: String) async -> (port: Int, task: Task<Void, any Error>) {
    let ports = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: label)
    logger.logLevel = .critical
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                          onServerRunning: { ports.continuation.yield($0.localAddress?.port ?? 0) }, logger: logger)
    let task = Task { try await app.runService(gracefulShutdownSignals: []) }
    var iterator = ports.stream.makeAsyncIterator()
    return (await iterator.next() ?? 0, task)
}
