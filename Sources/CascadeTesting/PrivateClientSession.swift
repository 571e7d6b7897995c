public import BybitV5
public import BybitV5Client
import Logging
import Synchronization

/// Everything our private-stream client reported, in order, for tests to wait on and read.
public typealias PrivateEventLog = ObservedLog<PrivateStreamEvent>

extension ObservedLog where Event == PrivateStreamEvent {
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
            case .optionalTopicRefused: "optionalTopicRefused"
            case .quarantined: "quarantined"
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

    /// The cursor the session's consumer commits to.
    public let cursor: any ExecutionCursorStore

    /// `commits`: the consumer commits every execution it logs (as a journal would once it persisted them);
    /// false: a consumer that dies before persisting anything.
    public init(port: Int, apiKey: String, secret: String, cursor: any ExecutionCursorStore = InMemoryExecutionCursor(),
                commits: Bool = true, configure: (inout PrivateStreamConfiguration) -> Void = { _ in }) {
        var logger = Logger(label: "private-client-test")
        logger.logLevel = .critical
        let credentials = BybitCredentials(apiKey: apiKey, secret: secret)
        rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(port)", credentials: credentials,
                               recvWindow: LoopbackTest.recvWindow, logger: logger)
        var configuration = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(port)/v5/private")
        configuration.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200))
        configuration.replyTimeout = .seconds(2)
        configure(&configuration)
        let client = PrivateStreamClient(configuration: configuration, credentials: credentials, rest: rest,
                                         cursor: cursor, logger: logger)
        self.client = client
        self.cursor = cursor
        let log = PrivateEventLog()
        self.log = log
        tasks = [Task {
            for await e in client.events {
                // Committed before it is logged: a test that saw a fill in the log may stop the session at once.
                if commits {
                    switch e {
                    case let .backfill(b): try? cursor.commit(b.executions)
                    case let .message(.executions(list, _)): try? cursor.commit(list)
                    default: break
                    }
                }
                log.append(e)
            }
        }, Task { await client.run() }]
    }

    /// Stops the client and its log.
    public func stop() { for t in tasks { t.cancel() } }
}
