import BybitV5
public import CascadeCore
import HummingbirdWSClient
public import Logging
import NIOCore
import NIOWebSocket
public import NIOSSL
import Synchronization

/// Settings of a public-stream connection.
public struct PublicStreamConfiguration: Sendable {
    /// `wss://stream.bybit.com/v5/public/linear`, testnet, or any `ws://`/`wss://` URL (our simulator).
    public var url: String
    /// Topics to keep subscribed, e.g. `orderbook.50.BTCUSDT`. A symbol's `allLiquidation` belongs on the same
    /// connection as its book, so book traffic proves the connection is alive while liquidations are quiet.
    public var topics: [String]
    /// Application ping period (Bybit: every 20 s; WebSocket protocol pings are not enough).
    public var pingInterval: Duration = .seconds(20)
    /// A ping not answered within this time means a half-open socket: the connection is dropped.
    public var pongTimeout: Duration = .seconds(10)
    /// Silence after which a book topic is resynced. Event-driven topics (trades, liquidations) have none:
    /// they are judged by the connection's liveness.
    public var bookSilence: Duration = .seconds(30)
    /// Silence after which a ticker topic is resynced.
    public var tickerSilence: Duration = .seconds(60)
    /// A subscribe not acknowledged within this time ends the connection (it is then retried).
    public var ackTimeout: Duration = .seconds(10)
    /// How often silences are checked.
    public var livenessCheckInterval: Duration = .seconds(1)
    /// Largest accepted WebSocket message. HummingbirdWSClient's default (16 KiB) silently closes on Bybit's
    /// larger book snapshots, so this is raised; a message above it ends the connection with `.oversizeFrame`
    /// (and is reported), then the client reconnects.
    public var maxFrameSize: Int = 16 << 20
    public var backoff = ReconnectBackoff()
    /// TLS for `wss://` (nil: system trust roots).
    public var tlsConfiguration: TLSConfiguration?
    /// How long to wait for the server's close frame when we close (short: the peer may be half-open).
    public var closeTimeout: Duration = .seconds(2)
    /// Events the consumer may leave unread. Past this, market data is dropped: the consumer gets one
    /// ``PublicStreamEvent/gap(dropped:at:)`` before anything that follows, and every book and ticker topic is
    /// resubscribed so each starts again from a snapshot.
    public var eventBuffer: Int = 65_536

    public init(url: String, topics: [String]) {
        self.url = url
        self.topics = topics
    }
}

/// Why a connection ended. The consumer treats every disconnect as a gap in every topic of the connection.
public enum PublicStreamDisconnect: Error, Sendable, Equatable, CustomStringConvertible {
    case pongTimeout
    case closedByServer
    case connectFailed(String)
    case oversizeFrame
    case noAcknowledgement
    case transport(String)

    public var description: String {
        switch self {
        case .pongTimeout: "no pong within the deadline (half-open socket)"
        case .closedByServer: "closed by the server"
        case let .connectFailed(why): "connect failed: \(why)"
        case .oversizeFrame: "a frame exceeded maxFrameSize"
        case .noAcknowledgement: "a subscribe was not acknowledged in time"
        case let .transport(why): "transport error: \(why)"
        }
    }
}

/// Why a topic was resubscribed.
public enum ResyncReason: Sendable, Equatable, CustomStringConvertible {
    /// No message for longer than the topic's silence threshold.
    case silence(milliseconds: Int64)
    /// The consumer asked (e.g. its book failed an integrity check).
    case requested(String)
    /// Events were dropped because the consumer fell behind: the book must start again from a snapshot.
    case overflow

    public var description: String {
        switch self {
        case let .silence(ms): "silent for \(ms) ms"
        case let .requested(why): why
        case .overflow: "events dropped while the consumer was behind"
        }
    }
}

/// What a public stream reports, in order. Frames carry their exact bytes and local receive time.
public enum PublicStreamEvent: Sendable {
    case connected(attempt: Int, at: LocalTime)
    /// A data frame (or any frame that is not a recognised control frame), byte for byte as received.
    case frame([UInt8], at: LocalTime)
    case subscribed(topics: [String], at: LocalTime)
    /// Bybit refused a subscription (e.g. `error:handler not found,topic:…`): each topic is asked for again on its
    /// own after a growing wait (2, 4, 8 … liveness intervals, at most a minute) and reported each time it fails.
    case subscriptionFailed(topics: [String], message: String, at: LocalTime)
    /// A topic was unsubscribed and subscribed again so that Bybit sends a fresh snapshot.
    case resync(topic: String, reason: ResyncReason, at: LocalTime)
    /// The connection ended; a reconnect follows after `retryIn`. Every topic has a gap here.
    case disconnected(PublicStreamDisconnect, at: LocalTime, retryIn: Duration)
    /// `dropped` events were lost because the consumer left the buffer full: every topic has a gap here (books
    /// and tickers are resynced right after).
    case gap(dropped: Int, at: LocalTime)
}

/// A Bybit V5 public WebSocket connection that stays up forever: batched subscribe, application pings with a
/// pong deadline, silence detection for books and tickers, resync by unsubscribe/subscribe (never a REST
/// snapshot spliced into a stream), and reconnect with bounded exponential backoff and jitter.
///
/// ```swift
/// let client = PublicStreamClient(configuration: .init(url: url, topics: topics), logger: logger)
/// async let _ = client.run()
/// for await event in client.events { … }
/// ```
/// Data frames that arrive before their subscribe acknowledgement are delivered (Bybit may send the first
/// snapshot first).
public final class PublicStreamClient: Sendable {
    public let configuration: PublicStreamConfiguration
    /// Every event, in order. Finishes when ``run()`` returns.
    public let events: AsyncStream<PublicStreamEvent>
    let continuation: AsyncStream<PublicStreamEvent>.Continuation
    let clock: any WallClock
    let timer: any TaskClock
    let logger: Logger
    let state = Mutex(ConnectionState())
    /// Events dropped since the last delivered gap notice.
    let dropped = Mutex(0)
    /// A refused topic is asked for again this many times per connection.
    static let maxSubscribeRetries = 6

    /// True while books and tickers are being resynced after a gap notice.
    let resyncing = Mutex(false)

    struct ConnectionState {
        var writer: WebSocketOutboundWriter?
        var connection = 0
        var requestCounter = 0
        var pendingSubscriptions: [String: [String]] = [:]
        /// When each pending subscription was sent (task clock), for the ack deadline.
        var pendingSince: [String: ClockInstant] = [:]
        var subscribed: Set<String> = []
        /// Topics Bybit refused on this connection, asked for again one by one with a growing wait.
        var refused: [String: (attempts: Int, retryAt: ClockInstant)] = [:]
        var lastSeen: [String: ClockInstant] = [:]
        var lastPong = ClockInstant(nanoseconds: 0)
    }

    public init(configuration: PublicStreamConfiguration, clock: any WallClock = SystemWallClock(),
                timer: any TaskClock = ContinuousTaskClock(), logger: Logger) {
        self.configuration = configuration
        self.clock = clock
        self.timer = timer
        self.logger = logger
        (events, continuation) = AsyncStream.makeStream(of: PublicStreamEvent.self,
                                                        bufferingPolicy: .bufferingOldest(max(configuration.eventBuffer, 2)))
    }

    /// Buffers one event. After a drop, the gap notice goes first, before anything else is buffered. Returns true
    /// when that notice was just delivered (the caller then resyncs the books).
    @discardableResult
    private func emit(_ event: PublicStreamEvent) -> Bool {
        dropped.withLock { dropped in
            var noticed = false
            if dropped > 0 {
                guard case .enqueued = continuation.yield(.gap(dropped: dropped, at: clock.now())) else {
                    dropped += 1
                    return false
                }
                logger.warning("public stream consumer fell behind: events dropped", metadata: ["dropped": "\(dropped)"])
                dropped = 0
                noticed = true
            }
            if case .dropped = continuation.yield(event) { dropped += 1 }
            return noticed
        }
    }

    /// After dropped events every book and ticker restarts from a snapshot (once per gap notice: a notice delivered
    /// while this runs does not start another round).
    private func resyncAfterOverflow() async {
        guard resyncing.withLock({ r in defer { r = true }; return !r }) else { return }
        defer { resyncing.withLock { $0 = false } }
        let topics = state.withLock { s in s.subscribed.filter { silenceThreshold($0) != nil }.sorted() }
        for topic in topics { await resync(topic: topic, reason: .overflow) }
    }

    /// Connects, and reconnects after every failure, until the calling task is cancelled.
    public func run() async {
        await WebSocketSession.reconnectForever(backoff: configuration.backoff, timer: timer) { attempt in
            await connectOnce(attempt: attempt)
        } report: { reason, delay in
            logger.warning("public stream disconnected", metadata: ["reason": "\(reason)", "retry_in": "\(delay)"])
            emit(.disconnected(reason, at: clock.now(), retryIn: delay))
        }
        continuation.finish()
    }

    /// Unsubscribes and resubscribes `topic` on the live connection so Bybit sends a new snapshot.
    /// Returns false when no connection is up (the reconnect will resubscribe everything anyway).
    @discardableResult
    public func resync(topic: String, reason: ResyncReason) async -> Bool {
        let (writer, id): (WebSocketOutboundWriter?, String) = state.withLock { s in
            s.requestCounter += 1
            let id = "resync-\(s.connection)-\(s.requestCounter)"
            if s.writer != nil {
                s.pendingSubscriptions[id] = [topic]
                s.pendingSince[id] = timer.instant()
                s.subscribed.remove(topic)
                s.lastSeen[topic] = timer.instant()
            }
            return (s.writer, id)
        }
        guard let writer else { return false }
        // Reported before the requests go out, so the event precedes the fresh snapshot in the stream.
        if emit(.resync(topic: topic, reason: reason, at: clock.now())) { await resyncAfterOverflow() }
        do {
            try await writer.write(.text(BybitStreamRequest.unsubscribe([topic], requestID: id)))
            try await writer.write(.text(BybitStreamRequest.subscribe([topic], requestID: id)))
        } catch {
            return false
        }
        return true
    }

    // MARK: - One connection

    private func connectOnce(attempt: Int) async -> PublicStreamDisconnect {
        await WebSocketSession.connect(url: configuration.url, maxFrameSize: configuration.maxFrameSize,
                                       closeTimeout: configuration.closeTimeout, tls: configuration.tlsConfiguration,
                                       logger: logger, serve: { await self.serve(inbound: $0, outbound: $1, attempt: attempt) },
                                       ended: { $0 })
    }

    /// Runs one established connection: subscribe, read, ping, watch silences. Returns why it ended.
    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, attempt: Int) async -> PublicStreamDisconnect {
        let now = timer.instant()
        let connection: Int = state.withLock { s in
            s.connection += 1
            s.writer = outbound
            s.pendingSubscriptions = [:]
            s.pendingSince = [:]
            s.subscribed = []
            s.refused = [:]
            s.lastSeen = [:]
            s.lastPong = now
            return s.connection
        }
        defer { state.withLock { $0.writer = nil } }
        emit(.connected(attempt: attempt, at: clock.now()))
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.read(inbound) }
                group.addTask { try await self.ping(outbound, connection: connection) }
                group.addTask { try await self.watchSilences() }
                try await self.subscribeAll(outbound, connection: connection)
                try await group.next()
                group.cancelAll()
            }
            return .closedByServer
        } catch let reason as PublicStreamDisconnect {
            return reason
        } catch {
            return .transport("\(error)")
        }
    }

    private func subscribeAll(_ outbound: WebSocketOutboundWriter, connection: Int) async throws {
        for batch in BybitStreamRequest.batches(of: configuration.topics) {
            let id: String = state.withLock { s in
                s.requestCounter += 1
                let id = "sub-\(connection)-\(s.requestCounter)"
                s.pendingSubscriptions[id] = batch
                s.pendingSince[id] = timer.instant()
                return id
            }
            try await outbound.write(.text(BybitStreamRequest.subscribe(batch, requestID: id)))
        }
    }

    private func read(_ inbound: WebSocketInboundStream) async throws {
        var decoder = BybitPublicDecoder()
        try await WebSocketSession.readMessages(inbound, maxSize: configuration.maxFrameSize, clock: clock) { message, receivedAt in
            if handle(message, at: receivedAt, decoder: &decoder) { await resyncAfterOverflow() }
        }
    }

    /// Handles one message; true when a gap notice was just delivered (the books must be resynced).
    private func handle(_ bytes: [UInt8], at receivedAt: LocalTime, decoder: inout BybitPublicDecoder) -> Bool {
        let seen = timer.instant()
        if let topic = BybitTopic.name(in: bytes) {
            state.withLock { $0.lastSeen[topic] = seen }
            return emit(.frame(bytes, at: receivedAt))
        }
        guard case let .control(control)? = try? decoder.decode(bytes, localTime: receivedAt) else {
            return emit(.frame(bytes, at: receivedAt))
        }
        switch control.kind {
        case .pong:
            state.withLock { $0.lastPong = seen }
            return false
        case .subscribe:
            let outcome: (accepted: [String], refused: [String])? = state.withLock { s in
                // Acks are matched on `req_id`; only a server that echoes none acknowledges the oldest request.
                var key = control.requestID
                if s.pendingSubscriptions[key] == nil {
                    guard key.isEmpty, let oldest = s.pendingSince.min(by: { $0.value < $1.value })?.key else { return nil }
                    key = oldest
                }
                s.pendingSince[key] = nil
                let topics = s.pendingSubscriptions.removeValue(forKey: key) ?? []
                var accepted: [String] = [], refused: [String] = []
                for t in topics {
                    // "already subscribed,topic:T" (a retry of a topic Bybit did take) means T is subscribed.
                    if control.success == true || (control.retMessage.contains("already subscribed") && control.retMessage.hasSuffix("topic:\(t)")) {
                        s.subscribed.insert(t)
                        s.refused[t] = nil
                        if s.lastSeen[t] == nil { s.lastSeen[t] = seen }
                        accepted.append(t)
                    } else {
                        // Asked for again after 2, 4, 8 … liveness intervals (at most a minute): a refused book
                        // would otherwise stay dead on a healthy connection. After `maxSubscribeRetries` the topic is
                        // given up on this connection (a bad name would only be refused again).
                        let attempts = (s.refused[t]?.attempts ?? 0) + 1
                        let wait = min(configuration.livenessCheckInterval * (1 << min(attempts, 16)), .seconds(60))
                        s.refused[t] = attempts > Self.maxSubscribeRetries ? (attempts, ClockInstant(nanoseconds: .max)) : (attempts, seen + wait)
                        refused.append(t)
                    }
                }
                return (accepted, refused)
            }
            guard let outcome else {
                logger.warning("subscribe ack for no request of ours ignored", metadata: ["req_id": "\(control.requestID)"])
                return false
            }
            var noticed = false
            if !outcome.accepted.isEmpty { noticed = emit(.subscribed(topics: outcome.accepted, at: receivedAt)) }
            if !outcome.refused.isEmpty {
                logger.error("subscription refused", metadata: ["topics": "\(outcome.refused)", "ret_msg": "\(control.retMessage)"])
                noticed = emit(.subscriptionFailed(topics: outcome.refused, message: control.retMessage, at: receivedAt)) || noticed
            }
            return noticed
        case .unsubscribe, .auth, .other:
            return emit(.frame(bytes, at: receivedAt))
        }
    }

    private func ping(_ outbound: WebSocketOutboundWriter, connection: Int) async throws {
        try await WebSocketSession.pingLoop(outbound, interval: configuration.pingInterval, timeout: configuration.pongTimeout,
                                            timer: timer, requestPrefix: "ping-\(connection)") { self.state.withLock { $0.lastPong } }
    }

    private func watchSilences() async throws {
        while true {
            try await timer.sleep(for: configuration.livenessCheckInterval)
            let now = timer.instant()
            // An unanswered subscribe leaves its topics unmonitored: reconnect rather than wait forever.
            let unanswered = state.withLock { s in s.pendingSince.values.contains { now - $0 > configuration.ackTimeout } }
            if unanswered { throw PublicStreamDisconnect.noAcknowledgement }
            let silent: [(String, Int64)] = state.withLock { s in
                s.subscribed.compactMap { topic in
                    guard let threshold = silenceThreshold(topic), let seen = s.lastSeen[topic] else { return nil }
                    let quiet = now - seen
                    return quiet > threshold ? (topic, quiet.milliseconds) : nil
                }
            }
            for (topic, ms) in silent.sorted(by: { $0.0 < $1.0 }) {
                await resync(topic: topic, reason: .silence(milliseconds: ms))
            }
            // Refused topics whose wait is over are asked for again, each on its own.
            let (writer, retries): (WebSocketOutboundWriter?, [(String, String)]) = state.withLock { s in
                let due = s.refused.filter { $0.value.retryAt <= now }.keys.sorted()
                var out: [(String, String)] = []
                for topic in due {
                    s.requestCounter += 1
                    let id = "retry-\(s.connection)-\(s.requestCounter)"
                    s.pendingSubscriptions[id] = [topic]
                    s.pendingSince[id] = now
                    s.refused[topic]!.retryAt = now + configuration.ackTimeout * 2    // until its ack decides
                    out.append((topic, id))
                }
                return (s.writer, out)
            }
            if let writer {
                for (topic, id) in retries { try await writer.write(.text(BybitStreamRequest.subscribe([topic], requestID: id))) }
            }
        }
    }

    /// Silence threshold in ns for topics that must flow (books, tickers); nil for event-driven ones.
    private func silenceThreshold(_ topic: String) -> Duration? {
        if topic.hasPrefix("orderbook.") { return configuration.bookSilence }
        if topic.hasPrefix("tickers.") { return configuration.tickerSilence }
        return nil
    }
}
