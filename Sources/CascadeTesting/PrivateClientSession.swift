public import BybitV5
public import BybitV5Client
import Logging
public import Synchronization

/// Everything our private-stream client reported, in order, for tests to wait on and read.
public final class PrivateEventLog: Sendable {
    public let events = Mutex<[PrivateStreamEvent]>([])

    public init() {}

    /// Polls `condition` (outside the lock: it may read the log's views) until it holds or time runs out.
    public func wait(_ timeout: Duration = .seconds(10), _ condition: ([PrivateStreamEvent]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(events.withLock { $0 }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition(events.withLock { $0 })
    }

    public var messages: [BybitPrivateMessage] { events.withLock { $0.compactMap { if case let .message(m) = $0 { m } else { nil } } } }
    public var executions: [BybitExecution] { messages.flatMap { m -> [BybitExecution] in if case let .executions(l, _) = m { l } else { [] } } }
    public var orders: [BybitOrder] { messages.flatMap { m -> [BybitOrder] in if case let .orders(l, _) = m { l } else { [] } } }
    public var positions: [BybitPosition] { messages.flatMap { m -> [BybitPosition] in if case let .positions(l, _) = m { l } else { [] } } }
    public var wallets: [BybitWallet] { messages.flatMap { m -> [BybitWallet] in if case let .wallets(l, _) = m { l } else { [] } } }
    public var isTrusted: Bool { events.withLock { $0.contains { if case .trusted = $0 { true } else { false } } } }
    /// The events' kinds, in order.
    public var names: [String] {
        events.withLock { $0.map { e in
            switch e {
            case .connected: "connected"
            case .authenticated: "authenticated"
            case .gap: "gap"
            case .backfill: "backfill"
            case .trusted: "trusted"
            case .message: "message"
            case .failed: "failed"
            }
        } }
    }
}

/// Our REST and private-stream clients against a loopback server (`cascade sim` or a fake Bybit), with quick
/// reconnects and every event of the private client logged.
public struct PrivateClientSession: Sendable {
    public let rest: BybitRESTClient
    public let client: PrivateStreamClient
    public let log: PrivateEventLog
    /// The log consumer and the running client.
    public let tasks: [Task<Void, Never>]

    public init(port: Int, apiKey: String, secret: String) {
        var logger = Logger(label: "private-client-test")
        logger.logLevel = .critical
        let credentials = BybitCredentials(apiKey: apiKey, secret: secret)
        rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(port)", credentials: credentials, logger: logger)
        var configuration = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(port)/v5/private")
        configuration.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200))
        configuration.replyTimeout = .seconds(2)
        let client = PrivateStreamClient(configuration: configuration, credentials: credentials, rest: rest,
                                         cursor: InMemoryExecutionCursor(), logger: logger)
        self.client = client
        let log = PrivateEventLog()
        self.log = log
        tasks = [Task { for await e in client.events { log.events.withLock { $0.append(e) } } }, Task { await client.run() }]
    }

    /// Stops the client and its log.
    public func stop() { for t in tasks { t.cancel() } }
}
