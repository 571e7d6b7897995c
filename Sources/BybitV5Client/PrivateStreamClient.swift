public import BybitV5
public import CascadeCore
import HummingbirdWSClient
public import Logging
import NIOCore
public import NIOSSL
import Synchronization

/// Settings of the private stream.
public struct PrivateStreamConfiguration: Sendable {
    /// `wss://stream.bybit.com/v5/private` (or testnet, demo, our simulator).
    public var url: String
    /// The linear forms: Bybit's all-in-one `order`, `execution` and `position` also carry the account's spot,
    /// option and inverse rows (which are dropped after decoding all the same, with USDC-settled linear contracts).
    /// `wallet` has no per-category form.
    public var topics: [String] = ["order.linear", "execution.linear", "position.linear", "wallet"]
    /// Topics the stream can do without (`dcp.future` on an account without DCP): each is asked for in its own request
    /// once the stream is trusted, and a refusal is reported (``PrivateStreamEvent/optionalTopicRefused(topic:message:at:)``)
    /// instead of taking the stream down. (`execution.fast` is not one: its rows would arrive twice with the full ones.)
    public var optionalTopics: [String] = []
    public var pingInterval: Duration = .seconds(20)
    public var pongTimeout: Duration = .seconds(10)
    /// Auth `expires` = now + this (Bybit rejects an `expires` in the past; 1 s windows fail in practice).
    public var authExpiry: Duration = .seconds(10)
    /// Before auth the server-time offset is re-measured when older than this, waiting at most `clockSyncTimeout`:
    /// a slow REST path never holds the private stream unauthenticated for long (with DCP on, that would be a cancel-all).
    public var clockResync: Duration = .seconds(300)
    public var clockSyncTimeout: Duration = .seconds(2)
    /// How long to wait for the auth answer and each subscribe ack.
    public var replyTimeout: Duration = .seconds(10)
    /// Backfill reaches at most this far back when no cursor exists (Bybit keeps 7 days per request window).
    public var initialBackfill: Duration = .seconds(3_600)
    /// No execution before this time is read: none before the journal's first run can be the node's, and the
    /// account's earlier trading (a position opened and closed by hand before a first start) is already in the
    /// position and wallet the node starts from, so applying it again would count it twice. nil: no floor.
    public var historyFloor: ExchangeTime?
    /// Symbols whose position the backfill reads one by one, so a flat one comes back with its `seq` (the
    /// `settleCoin` list holds only positions with size > 0). Symbols of backfilled executions are added.
    public var symbols: [String] = []
    public var maxFrameSize: Int = 16 << 20
    public var backoff = ReconnectBackoff()
    public var tlsConfiguration: TLSConfiguration?
    public var closeTimeout: Duration = .seconds(2)
    /// Events the consumer may leave unread. Private events are never dropped: past this the connection is
    /// closed and the next one backfills from the committed cursor, so a slow consumer costs a reconnect, never a fill.
    public var eventBuffer: Int = 65_536

    public init(url: String) { self.url = url }
}

/// Why a private connection ended or was not trusted.
public enum PrivateStreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// Bybit refused the auth (`success:false`, e.g. `Params Error` for a bad signature or a stale `expires`).
    case authenticationFailed(String)
    /// No auth answer or subscribe ack within the reply timeout.
    case noReply(String)
    case subscriptionFailed(topics: [String], message: String)
    /// The REST backfill failed; the feed stays untrusted and the connection is retried.
    case backfillFailed(String)
    /// The execution cursor exists but cannot be read: what was persisted is unknown, so nothing is trusted.
    case cursorUnreadable(ExecutionCursorError)
    /// The consumer left more than `eventBuffer` events unread; the connection was closed to backfill later.
    case consumerTooSlow
    case disconnected(PublicStreamDisconnect)

    public var description: String {
        switch self {
        case let .authenticationFailed(m): "authentication refused: \(m)"
        case let .noReply(what): "no reply to \(what)"
        case let .subscriptionFailed(t, m): "subscription to \(t) refused: \(m)"
        case let .backfillFailed(m): "backfill failed: \(m)"
        case let .cursorUnreadable(e): "\(e)"
        case .consumerTooSlow: "the consumer fell behind (event buffer full): reconnecting to backfill"
        case let .disconnected(r): r.description
        }
    }
}

/// What the private stream reports, in order.
public enum PrivateStreamEvent: Sendable {
    case connected(attempt: Int, at: LocalTime)
    case authenticated(at: LocalTime)
    /// The feed is not trusted from here until ``trusted(at:)``: anything may have happened while it was down.
    /// `since` is the newest execution the cursor says was persisted. The engine's breakers act on this.
    case gap(since: ExchangeTime?, at: LocalTime)
    /// What was re-read over REST after (re)connecting (see ``PrivateBackfill``). Commit its executions to the
    /// cursor once persisted.
    case backfill(PrivateBackfill)
    /// Backfill done: live messages from here on are trusted (messages that arrived during the backfill are
    /// delivered right after this, executions already backfilled removed).
    case trusted(at: LocalTime)
    /// A row of a live frame or a backfill list that could not be read (a fill-critical field is unreadable): the
    /// rest of its message was delivered. Distrust the row's symbol (reduce-only) and alert; the stream goes on.
    case quarantined(BybitQuarantinedRow, at: LocalTime)
    /// An optional topic was refused (or not answered): the stream goes on without it; alert the operator.
    case optionalTopicRefused(topic: String, message: String, at: LocalTime)
    case message(BybitPrivateMessage)
    case failed(PrivateStreamFailure, at: LocalTime, retryIn: Duration)
}

/// The account as re-read over REST after a (re)connect, in this order: positions, open orders, wallet, then
/// executions up to a time taken after those reads, then orders that ended, then the positions of symbols first
/// met in those executions (flat now, read for their `seq`). The snapshot (positions, orders,
/// wallet) is the state to start from; `executions` are **journal history, never a delta to apply on top of it**.
///
/// Bybit's position `seq` is the `seq` of the last execution it includes (§3.4, §3.5), per symbol. An execution
/// with `seq` ≤ its symbol's snapshot `seq` is already in the position (``isReflected(_:)``); a consumer applies
/// any execution, backfilled or live, to a position only when its `seq` is above the last one it took from
/// the exchange. That rule, not the order of the reads, is what keeps a fill from being counted twice.
///
/// That is for a consumer that starts from the snapshot. Cascade's engine starts from its journal instead: its
/// positions are the fills it journaled, so it applies each execution it has not counted yet (by execution id, within
/// its memory window; an older one is refused and quarantined) and only compares the snapshot with the result (a
/// position that disagrees quarantines). It never takes a position from the snapshot, so `isReflected` is not its rule.
public struct PrivateBackfill: Sendable {
    /// Executions not yet persisted, oldest first: from the cursor's overlap window on (or `initialBackfill`
    /// back on a first start), persisted ids removed.
    public var executions: [BybitExecution]
    /// `GET /v5/order/realtime` with `openOnly=0`: open orders only.
    public var openOrders: [BybitOrder]
    /// `GET /v5/order/history` over the backfill window: orders created in it, with their final status,
    /// `cancelType`, `rejectReason` and `cumExecQty` (cancels by DCP or reduce-only, post-only rejects and fired
    /// TP/SL leave no other trace). An order created before the window that ended in the gap is not here: query
    /// it by id before calling it gone. An order can also be in `openOrders`: the more advanced record wins.
    public var closedOrders: [BybitOrder]
    /// Every USDT linear position with size > 0, and each symbol of `configuration.symbols` or of `executions`
    /// read one by one (flat included, with its `seq`). A symbol absent here is flat.
    public var positions: [BybitPosition]
    /// The wallet (Bybit pushes none on subscribe, so it is re-read), nil when Bybit listed none.
    public var wallet: BybitWallet?
    public var at: LocalTime

    public init(executions: [BybitExecution], openOrders: [BybitOrder], closedOrders: [BybitOrder],
                positions: [BybitPosition], wallet: BybitWallet?, at: LocalTime) {
        self.executions = executions
        self.openOrders = openOrders
        self.closedOrders = closedOrders
        self.positions = positions
        self.wallet = wallet
        self.at = at
    }

    /// The snapshot's `seq` per symbol (one-way mode: one position per symbol).
    public var positionSeq: [String: Int64] {
        var out: [String: Int64] = [:]
        for p in positions { if let seq = p.seq { out[p.symbol] = max(out[p.symbol] ?? seq, seq) } }
        return out
    }

    /// Whether `positions` already includes `execution`: its `seq` is at most its symbol's snapshot `seq`. An
    /// execution without `seq`, or of a symbol without a snapshot `seq`, is not known to be included (false).
    public func isReflected(_ execution: BybitExecution) -> Bool {
        guard let seq = execution.seq, let snapshot = positionSeq[execution.symbol] else { return false }
        return seq <= snapshot
    }
}

/// The private stream (`order`, `execution`, `position`, `wallet`) with an explicit auth and trust state.
///
/// Per connection: connect → authenticate (nothing else is sent before the auth answer) → subscribe →
/// emit `gap` → re-read positions, open orders and the wallet, then executions since the persisted cursor and
/// the orders that ended, over REST (``PrivateBackfill``) → emit `backfill` and `trusted` → deliver live messages. Live messages arriving before `trusted` are
/// held back, never dropped. Any failure reports `failed` and reconnects with backoff; the next connection
/// repeats the whole sequence.
///
/// The stream never advances the execution cursor itself: the consumer commits executions once it has
/// persisted them (``ExecutionCursorStore``), so a fill delivered but not persisted is delivered again.
/// Every wait (replies, pings, backoff) is on the injected ``TaskClock``.
public final class PrivateStreamClient: Sendable {
    public let configuration: PrivateStreamConfiguration
    public let events: AsyncStream<PrivateStreamEvent>
    let continuation: AsyncStream<PrivateStreamEvent>.Continuation
    let signer: BybitSigner
    let rest: BybitRESTClient
    let cursor: any ExecutionCursorStore
    let clock: any WallClock
    let timer: any TaskClock
    let logger: Logger
    let lastPong = Mutex(ClockInstant(nanoseconds: 0))
    /// Set when an event could not be buffered: the reader ends the connection at its next message.
    let overflowed = Mutex(false)
    /// Topic frames (orders, executions, positions, wallet) read on the current connection, and events handed to the
    /// consumer so far: a test compares them with what the server sent and what the consumer took (a barrier).
    let counters = Mutex((topicFramesThisConnection: 0, eventsEmitted: 0))
    public var topicFramesReadThisConnection: Int { counters.withLock { $0.topicFramesThisConnection } }
    public var eventsEmitted: Int { counters.withLock { $0.eventsEmitted } }
    /// Sticky across connections: an event was dropped and the consumer has not yet been told with a `gap`.
    let gapOwed = Mutex(false)
    /// One decoder, and so one instrument table, for live messages and REST backfills: a symbol keeps one id.
    let decoder: Mutex<BybitPrivateDecoder>

    public init(configuration: PrivateStreamConfiguration, credentials: BybitCredentials, rest: BybitRESTClient,
                cursor: any ExecutionCursorStore, instruments: InstrumentTable = InstrumentTable(),
                clock: any WallClock = SystemWallClock(), timer: any TaskClock = ContinuousTaskClock(), logger: Logger) {
        self.configuration = configuration
        self.signer = BybitSigner(credentials: credentials)
        self.rest = rest
        self.cursor = cursor
        self.clock = clock
        self.timer = timer
        self.logger = logger
        self.decoder = Mutex(BybitPrivateDecoder(instruments: instruments))
        (events, continuation) = AsyncStream.makeStream(of: PrivateStreamEvent.self,
                                                        bufferingPolicy: .bufferingOldest(max(configuration.eventBuffer, 1)))
    }

    /// Buffers one event; a full buffer marks the connection for closing (the event is recovered by the backfill).
    /// After a drop, nothing more is buffered until a `gap` could be: the consumer never sees a later connection's
    /// events without being told that it missed some first.
    private func emit(_ event: PrivateStreamEvent) {
        let delivered = gapOwed.withLock { owed -> Bool in
            if owed {
                counters.withLock { $0.eventsEmitted += 1 }
                guard case .enqueued = continuation.yield(.gap(since: (try? cursor.load())?.newest, at: clock.now())) else {
                    counters.withLock { $0.eventsEmitted -= 1 }
                    return false
                }
                owed = false
            }
            // Counted before the yield, so a consumer's count can never pass this one with an event in between.
            counters.withLock { $0.eventsEmitted += 1 }
            if case .enqueued = continuation.yield(event) { return true }
            counters.withLock { $0.eventsEmitted -= 1 }
            owed = true
            return false
        }
        if !delivered { overflowed.withLock { $0 = true } }
    }

    /// Connects and reconnects until the calling task is cancelled.
    public func run() async {
        await WebSocketSession.reconnectForever(backoff: configuration.backoff, timer: timer) { attempt in
            await connectOnce(attempt: attempt)
        } report: { failure, delay in
            logger.warning("private stream down", metadata: ["reason": "\(failure)", "retry_in": "\(delay)"])
            emit(.failed(failure, at: clock.now(), retryIn: delay))
        }
        continuation.finish()
    }

    private func connectOnce(attempt: Int) async -> PrivateStreamFailure {
        await WebSocketSession.connect(url: configuration.url, maxFrameSize: configuration.maxFrameSize,
                                       closeTimeout: configuration.closeTimeout, tls: configuration.tlsConfiguration,
                                       logger: logger, serve: { await self.serve(inbound: $0, outbound: $1, attempt: attempt) },
                                       ended: { .disconnected($0) })
    }

    /// Live messages held until the backfill is done.
    final class Gate: Sendable {
        let state = Mutex<(trusted: Bool, held: [BybitPrivateMessage], persisted: ExecutionCursor?, backfilled: Set<String>)>((false, [], nil, []))
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, attempt: Int) async -> PrivateStreamFailure {
        overflowed.withLock { $0 = false }
        counters.withLock { $0.topicFramesThisConnection = 0 }
        emit(.connected(attempt: attempt, at: clock.now()))
        // A consumer still behind gets no auth, no REST backfill, nothing: the connection waits for the next attempt.
        if overflowed.withLock({ $0 }) { return .consumerTooSlow }
        lastPong.withLock { $0 = timer.instant() }
        let replies = ReplyMailbox<BybitControlFrame>()
        // Live messages wait here until the backfill is done.
        let gate = Gate()
        do {
            return try await withThrowingTaskGroup(of: PrivateStreamFailure?.self) { group in
                group.addTask {
                    try await WebSocketSession.readMessages(inbound, maxSize: self.configuration.maxFrameSize,
                                                            clock: self.clock) { bytes, at in
                        let message: BybitPrivateMessage
                        let quarantined: [BybitQuarantinedRow]
                        do {
                            (message, quarantined) = try self.decoder.withLock { d throws(BybitDecodeError) in
                                (try d.decode(bytes, localTime: at), d.takeQuarantined())
                            }
                        } catch let error as BybitDecodeError {
                            if case let .unknownTopic(topic) = error {
                                // A topic we do not model (e.g. `dcp`, `greeks`) carries no fills: skip, keep trust.
                                self.logger.debug("private frame of an unmodelled topic skipped", metadata: ["topic": "\(topic)"])
                                return
                            }
                            // A private message we cannot read may be a fill: the feed is no longer complete.
                            // Reconnecting gives a gap and a backfill instead of silently trusting a hole.
                            self.logger.error("undecodable private frame: reconnecting to backfill", metadata: ["error": "\(error)"])
                            throw PublicStreamDisconnect.transport("undecodable private frame (\(error))")
                        }
                        if case let .control(control) = message {
                            if control.kind == .pong { self.lastPong.withLock { $0 = self.timer.instant() } } else { replies.add(control) }
                            return
                        }
                        // Counted once the frame's events are handed on (or held for the backfill): a barrier that
                        // sees the count sees the events.
                        defer { self.counters.withLock { $0.topicFramesThisConnection += 1 } }
                        self.report(quarantined, at: at)
                        // Only USDT-settled linear rows: another product's row on a shared symbol name is not ours.
                        guard let message = Self.linearOnly(message) else { return }
                        // Under the gate's lock, so nothing overtakes `.trusted` or the messages held before it.
                        gate.state.withLock { g in
                            if g.trusted { self.deliver(message, skipping: g.persisted, backfilled: g.backfilled) } else { g.held.append(message) }
                        }
                        if self.overflowed.withLock({ $0 }) { throw PrivateStreamFailure.consumerTooSlow }
                    }
                    return nil
                }
                group.addTask {
                    try await WebSocketSession.pingLoop(outbound, interval: self.configuration.pingInterval,
                                                        timeout: self.configuration.pongTimeout, timer: self.timer,
                                                        requestPrefix: "private-ping-\(attempt)") { self.lastPong.withLock { $0 } }
                    return nil
                }
                group.addTask {
                    try await self.handshake(outbound: outbound, replies: replies, gate: gate)
                }
                while let result = try await group.next() {
                    if let failure = result {
                        group.cancelAll()
                        return failure
                    }
                }
                return .disconnected(.closedByServer)
            }
        } catch let failure as PrivateStreamFailure {
            return failure
        } catch let reason as PublicStreamDisconnect {
            return .disconnected(reason)
        } catch {
            return .disconnected(.transport("\(error)"))
        }
    }

    /// Auth → subscribe (then the optional topics, answers read later) → gap → backfill → trusted. Returns a failure, or nil once trusted (the reader and the
    /// pinger keep the connection from there).
    private func handshake(outbound: WebSocketOutboundWriter, replies: ReplyMailbox<BybitControlFrame>,
                           gate: Gate) async throws -> PrivateStreamFailure? {
        // `expires` is judged on Bybit's clock: the cached offset unless it is stale, then a bounded re-measure.
        let measured = await rest.offsetMeasuredAt
        if measured.map({ timer.instant() - $0 > configuration.clockResync }) ?? true {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { _ = try? await self.rest.synchronizeTime() }
                group.addTask { try? await self.timer.sleep(for: self.configuration.clockSyncTimeout) }
                await group.next()
                group.cancelAll()
            }
        }
        let offset = await rest.serverOffsetMilliseconds
        let expires = clock.now().nanoseconds / 1_000_000 + offset + configuration.authExpiry.milliseconds
        try await outbound.write(.text(signer.webSocketAuthFrame(expires: expires, requestID: "auth")))
        guard let auth = await replies.next(timeout: configuration.replyTimeout, timer: timer) else { return .noReply("auth") }
        guard auth.isSuccessfulAuth else { return .authenticationFailed(auth.retMessage) }
        emit(.authenticated(at: clock.now()))

        try await outbound.write(.text(BybitStreamRequest.subscribe(configuration.topics, requestID: "private-sub")))
        guard let ack = await replies.next(timeout: configuration.replyTimeout, timer: timer) else { return .noReply("subscribe") }
        guard ack.success == true else { return .subscriptionFailed(topics: configuration.topics, message: ack.retMessage) }
        // Optional topics are asked for now, one request each, and their answers read once the stream is trusted (a
        // refused one degrades the stream, never ends it, and never delays the gap or the backfill). `dcp.future`
        // must not wait for the backfill: Bybit's disconnect-cancel fires once no connection has subscribed it for
        // its window (10 s), and a backfill on a busy Bybit can take longer.
        for (k, topic) in configuration.optionalTopics.enumerated() {
            try await outbound.write(.text(BybitStreamRequest.subscribe([topic], requestID: "private-opt-\(k)")))
        }
        let persisted: ExecutionCursor?
        do {
            persisted = try cursor.load()
        } catch {
            logger.critical("ALERT: execution cursor unreadable: the private stream stays untrusted", metadata: ["error": "\(error)"])
            return .cursorUnreadable(error)
        }
        emit(.gap(since: persisted?.newest, at: clock.now()))
        var backfill: PrivateBackfill
        do {
            backfill = try await self.backfill(since: persisted?.backfillStart(overlap: cursor.overlap))
        } catch {
            return .backfillFailed("\(error)")
        }
        let backfilled = Set(backfill.executions.map(\.execId))
        // The overlap window re-reads executions already persisted: only the others are delivered.
        backfill.executions.removeAll { persisted?.contains($0.execId) == true }
        if overflowed.withLock({ $0 }) { return .consumerTooSlow }
        emit(.backfill(backfill))
        // Held order and position updates the REST snapshot already includes would move state backwards. Judged by
        // progress, not by millisecond (two updates can share one): an order by (status rank, executed quantity), a
        // position by `seq`.
        var snapshotOrders: [String: BybitOrder] = [:]
        for o in backfill.openOrders + backfill.closedOrders {
            if let known = snapshotOrders[o.orderId], !Self.isAhead(o, of: known) { continue }
            snapshotOrders[o.orderId] = o
        }
        let snapshotSeq = backfill.positionSeq
        // A position message comes with every order change "regardless if there's any actual change" and its `seq`
        // moves only with fills: a trading stop or leverage confirmed during the backfill keeps the snapshot's `seq`,
        // and is newer when it was updated later.
        var snapshotUpdated: [String: ExchangeTime] = [:]
        for p in backfill.positions { if let t = p.updatedTime { snapshotUpdated[p.symbol] = max(snapshotUpdated[p.symbol] ?? t, t) } }
        gate.state.withLock { g in
            g.trusted = true
            g.persisted = persisted
            g.backfilled = backfilled
            emit(.trusted(at: clock.now()))
            for message in g.held {
                switch message {
                case let .executions(list, envelope):
                    let fresh = list.filter { !backfilled.contains($0.execId) }
                    if !fresh.isEmpty { deliver(.executions(fresh, envelope), skipping: persisted, backfilled: backfilled) }
                case let .orders(list, envelope):
                    let fresh = list.filter { o in snapshotOrders[o.orderId].map { Self.isAhead(o, of: $0) } ?? true }
                    if !fresh.isEmpty { deliver(.orders(fresh, envelope), skipping: persisted, backfilled: backfilled) }
                case let .positions(list, envelope):
                    let fresh = list.filter { p in
                        guard let seq = snapshotSeq[p.symbol] else { return true }
                        let held = p.seq ?? .max
                        if held != seq { return held > seq }
                        guard let updated = p.updatedTime, let known = snapshotUpdated[p.symbol] else { return false }
                        return updated > known
                    }
                    if !fresh.isEmpty { deliver(.positions(fresh, envelope), skipping: persisted, backfilled: backfilled) }
                default:
                    deliver(message, skipping: persisted, backfilled: backfilled)
                }
            }
            g.held = []
        }
        // The optional topics' answers (asked for after the subscribe), each matched on its req_id.
        for (k, topic) in configuration.optionalTopics.enumerated() {
            let id = "private-opt-\(k)"
            var answer: BybitControlFrame?
            let deadline = timer.instant() + configuration.replyTimeout
            while answer == nil, timer.instant() < deadline,
                  let reply = await replies.next(timeout: deadline - timer.instant(), timer: timer) {
                // A late ack of an earlier request is not this one's (a server that echoes no req_id answers in order).
                if reply.kind == .subscribe, reply.requestID == id || reply.requestID.isEmpty { answer = reply }
            }
            if answer?.success != true {
                let why = answer?.retMessage ?? "no answer"
                logger.warning("ALERT: optional private topic refused; going on without it", metadata: ["topic": "\(topic)", "reason": "\(why)"])
                emit(.optionalTopicRefused(topic: topic, message: why, at: clock.now()))
            }
        }
        return overflowed.withLock { $0 } ? .consumerTooSlow : nil
    }

    /// The message without rows of another product: another category (spot, option, inverse), or a USDC-settled
    /// linear contract (Bybit's USDT perpetuals are the symbols ending in `USDT`, the only ones the backfill reads);
    /// nil when nothing is left. A row that names no category comes from a per-category topic and is kept.
    static func linearOnly(_ message: BybitPrivateMessage) -> BybitPrivateMessage? {
        func ours(_ category: String, _ symbol: String) -> Bool { (category.isEmpty || category == "linear") && symbol.hasSuffix("USDT") }
        switch message {
        case let .executions(list, e):
            let kept = list.filter { ours($0.category, $0.symbol) }
            return kept.isEmpty ? nil : .executions(kept, e)
        case let .orders(list, e):
            let kept = list.filter { ours($0.category, $0.symbol) }
            return kept.isEmpty ? nil : .orders(kept, e)
        case let .positions(list, e):
            let kept = list.filter { ours($0.category, $0.symbol) }
            return kept.isEmpty ? nil : .positions(kept, e)
        default:
            return message
        }
    }

    /// Whether a held order update shows more progress than the snapshot's record of the same order: a later
    /// lifecycle stage, or the same stage with more executed, or a later update time at equal progress.
    static func isAhead(_ update: BybitOrder, of snapshot: BybitOrder) -> Bool { update.progress > snapshot.progress }

    /// Delivers a live message; executions this connection's backfill already delivered, or the cursor lists as
    /// persisted, are not delivered again. (Across connections delivery is at least once: a fill delivered and not
    /// yet committed comes again with the next backfill, so the journal de-duplicates by `execId`.)
    private func deliver(_ message: BybitPrivateMessage, skipping persisted: ExecutionCursor?, backfilled: Set<String>) {
        if case let .executions(list, envelope) = message {
            let fresh = list.filter { persisted?.contains($0.execId) != true && !backfilled.contains($0.execId) }
            if !fresh.isEmpty { emit(.message(.executions(fresh, envelope))) }
            return
        }
        emit(.message(message))
    }

    /// One consistent cut over signed REST (``PrivateBackfill``): positions, open orders and the wallet first, then
    /// executions since `since` up to a time taken after them, then orders that ended in that window.
    private func backfill(since: ExchangeTime?) async throws -> PrivateBackfill {
        var positions = try await positionList(.settleCoin("USDT"))
        for symbol in configuration.symbols where !positions.contains(where: { $0.symbol == symbol }) {
            positions += try await positionList(.symbol(symbol))
        }
        var openOrders: [BybitOrder] = []
        try await pages { cursor in
            let request = try BybitRequest.realtimeOrders(scope: .settleCoin("USDT"), openOnly: 0, limit: 50, cursor: cursor)
            let result = try await self.rest.send(request, as: BybitOrderListResult.self).result
            if let result { openOrders += self.read { result.orders(instruments: &$0, quarantine: &$1) } }
            return result?.nextPageCursor
        }
        let wallet = try await rest.send(.walletBalance(), as: BybitWalletBalanceResult.self).result?.unified
        // Taken after the snapshot reads, so every execution the snapshot includes falls in the window.
        let offset = await rest.serverOffsetMilliseconds
        let now = ExchangeTime(milliseconds: clock.now().nanoseconds / 1_000_000 + offset)
        var start = since ?? ExchangeTime(milliseconds: now.milliseconds - configuration.initialBackfill.milliseconds)
        if let floor = configuration.historyFloor { start = max(start, floor) }
        var executions: [BybitExecution] = []
        var closedOrders: [BybitOrder] = []
        // Bybit answers at most 7 days per request: walk the range in windows.
        let week: Int64 = 7 * 86_400_000 - 1
        var windowStart = start.milliseconds
        while windowStart <= now.milliseconds {
            let from = ExchangeTime(milliseconds: windowStart), to = ExchangeTime(milliseconds: min(windowStart + week, now.milliseconds))
            try await pages { cursor in
                let request = try BybitRequest.executionList(settleCoin: "USDT", startTime: from, endTime: to, limit: 100, cursor: cursor)
                let result = try await self.rest.send(request, as: BybitExecutionListResult.self).result
                if let result { executions += self.read { result.executions(instruments: &$0, quarantine: &$1) } }
                return result?.nextPageCursor
            }
            try await pages { cursor in
                let request = try BybitRequest.orderHistory(scope: .settleCoin("USDT"), startTime: from, endTime: to, limit: 50, cursor: cursor)
                let result = try await self.rest.send(request, as: BybitOrderListResult.self).result
                if let result { closedOrders += self.read { result.orders(instruments: &$0, quarantine: &$1) } }
                return result?.nextPageCursor
            }
            windowStart = to.milliseconds + 1
        }
        // The history lists open orders too; those are in `openOrders`.
        closedOrders.removeAll { $0.orderStatus.lifecycle != .terminal }
        // A symbol traded in the window but flat now: its seq tells which of its executions the snapshot includes.
        var seen = Set(positions.map(\.symbol))
        for e in executions where !seen.contains(e.symbol) {
            seen.insert(e.symbol)
            positions += try await positionList(.symbol(e.symbol))
        }
        // Oldest first, as the consumer applies them; execId order breaks ties deterministically.
        executions.sort { ($0.execTime, $0.execId) < ($1.execTime, $1.execId) }
        return PrivateBackfill(executions: executions, openOrders: openOrders, closedOrders: closedOrders,
                               positions: positions, wallet: wallet, at: clock.now())
    }

    private func positionList(_ scope: BybitRequest.PositionScope) async throws -> [BybitPosition] {
        var out: [BybitPosition] = []
        try await pages { cursor in
            let result = try await self.rest.send(try BybitRequest.positionList(scope, limit: 200, cursor: cursor),
                                                  as: BybitPositionListResult.self).result
            if let result { out += self.read { result.positions(instruments: &$0, quarantine: &$1) } }
            return result?.nextPageCursor
        }
        return out
    }

    /// Rows of one REST page read with the stream's instrument table; unreadable rows are reported, never fatal.
    private func read<T>(_ rows: (inout InstrumentTable, inout [BybitQuarantinedRow]) -> [T]) -> [T] {
        var quarantined: [BybitQuarantinedRow] = []
        let out = decoder.withLock { rows(&$0.instruments, &quarantined) }
        report(quarantined, at: clock.now())
        return out
    }

    /// Emits each quarantined row with an alert.
    private func report(_ rows: [BybitQuarantinedRow], at: LocalTime) {
        for row in rows {
            logger.critical("ALERT: unreadable private row quarantined; its symbol is not trusted", metadata: ["row": "\(row)"])
            emit(.quarantined(row, at: at))
        }
    }

    private func pages(_ page: (String?) async throws -> String?) async throws { try await BybitPages.walk(page) }
}
