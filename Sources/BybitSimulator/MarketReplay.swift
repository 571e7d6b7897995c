import BybitV5
import Synchronization
public import CascadeCore
import MarketData
public import Recording
public import Simulation

/// The market state of a replay and its subscribers: the public half of the Bybit simulator.
///
/// Frames are read from recordings in receive-time order and re-sent byte for byte to every connection
/// subscribed to their topic. A connection that subscribes to a book or ticker topic after the replay began
/// first receives a snapshot built from the current state (as Bybit sends one on subscribe), then deltas.
/// The replay state also answers the market REST endpoints.
public actor MarketReplay {
    /// One connection: its topics, its outbound queue (drained by its own writer task), and for a private
    /// connection the account it authenticated as.
    struct Subscriber {
        var topics: Set<String> = []
        let outbox: AsyncStream<SimOutgoing>.Continuation
        /// What is queued and not yet written, and whether the writer is stuck (the writer reports progress).
        let backlog: SimBacklog
        var isPrivate = false
        var account: String?
        /// Data frames held back by a reorder fault, sent after the next one.
        var held: [String] = []
    }

    let options: ReplayOptions
    let speed: ReplaySpeed
    let wallClock: any WallClock
    /// Pacing and stall deadlines (monotonic; a test's manual clock).
    let timer: any TaskClock
    /// Per-connection limits: a client that stops reading is disconnected, never a cause of unbounded memory or
    /// of a slower replay for the others.
    public let outboxLimits: SimOutboxLimits
    /// Signals the first subscription (the replay waits for it without polling).
    let startSignal = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    /// Set when a connection holds more than the soft limit: an unpaced replay then waits for it before going on.
    var readerBehind = false
    /// Connections closed for not reading (status and tests), and the longest a closed connection's write had been
    /// pending when it was closed (the stall limit plus the watchdog's wake-up delay).
    public private(set) var slowConsumersDisconnected = 0
    public private(set) var slowestCloseAfterStall = Duration.zero
    /// WebSocket handlers still running (their sockets open).
    public private(set) var socketsOpen = 0
    func socketOpened() { socketsOpen += 1 }
    func socketClosed() { socketsOpen -= 1 }
    /// Recorded frames → feed state (books, tickers, trust) and the exchange clock.
    var driver: ReplayDriver
    /// Every account, each a simulated exchange with its Bybit records.
    var venue: SimVenue
    var subscribers: [Int: Subscriber] = [:]
    /// Open connection ids, oldest first: frames go out (and faults are drawn) in this order.
    var connectionOrder: [Int] = []
    var nextConnection = 0
    var started = false
    /// Frames sent so far (all subscribers), and whether the data ran out.
    public private(set) var framesSent = 0
    public private(set) var finished = false
    /// Test and fault hooks: answer application pings or not.
    public var answersPings = true
    /// Rebase market timestamps so the first replayed event is stamped with the wall time the replay began.
    let rebaseTimestamps: Bool
    /// Milliseconds added to every exchange timestamp sent (0 until the first timestamped frame, or when not rebasing).
    public private(set) var timeOffset: Int64 = 0
    var timeOffsetKnown = false
    /// API key → (secret, account name).
    let keys: [String: (secret: String, account: String)]
    /// Rate-limit windows per "key path": start (ms) and requests used.
    var rateWindows: [String: (start: Int64, used: Int)] = [:]
    /// Seeded per-channel faults (none by default).
    var faults: SimFaultInjector
    var privateMessageSequence = 0
    /// Private topic messages sent to each account's latest private connection (a test's barrier: the client
    /// has read them all), by account name.
    var privateSent: [String: (connection: Int, messages: Int)] = [:]
    public func privateMessagesSentToLatestConnection(account: String) -> Int { privateSent[account]?.messages ?? 0 }
    /// Lockstep: where `{"ms":M}` steps have moved the clocks to (receive time in ns, exchange time in ms), so time
    /// passes even when no frame falls inside a step.
    /// One-minute bars of each symbol's replayed trades (clients' clock), for `/v5/market/kline`.
    var minuteBars: [SymbolID: MinuteBars] = [:]
    /// Whether instrument rules exist: a `--instruments` file, or a `_cascade.instruments` snapshot in the data.
    public nonisolated let hasInstruments: Bool
    var lockstepReceiveClock: Int64?
    var lockstepExchangeClock: Int64 = 0
    /// DCP per account: windows armed per product (seconds), the pending window's task and generation, times fired.
    var dcpWindows: [String: [String: Int]] = [:]
    var dcpTimers: [String: Task<Void, Never>] = [:]
    var dcpGeneration: [String: Int] = [:]
    public internal(set) var dcpFired: [String: Int] = [:]
    /// Wall time (ms) the simulator started: the accounts' and keys' creation time as Bybit shows it.
    let replayStartWallMilliseconds: Int64

    /// Frames replayed so far.
    public var framesReplayed: Int { driver.framesReplayed }
    /// The exchange clock (ms, as recorded): the latest replayed event's time, or later when a lockstep
    /// `{"ms":M}` step moved time past the last frame.
    public var exchangeClock: Int64 { max(driver.exchangeClock, lockstepExchangeClock) }

    /// The venue's clock as clients see it (server time, the envelope's `time`, pongs, the recv_window check): the
    /// wall clock plus the furthest the replay has run ahead of it. Replayed faster than real time (lockstep, max),
    /// the data's rebased clock runs ahead of the wall, and Bybit never stamps an execution later than its own server
    /// time (a backfill ending at server time would miss it). The lead only grows, so server time keeps moving with
    /// the wall while a lockstep replay waits, and a client that synchronised stays in its recv_window.
    func venueNow(_ wall: LocalTime) -> LocalTime {
        guard rebaseTimestamps, timeOffsetKnown else { return wall }
        venueLeadMilliseconds = max(venueLeadMilliseconds, exchangeClock + timeOffset - wall.nanoseconds / 1_000_000)
        return LocalTime(nanoseconds: wall.nanoseconds + venueLeadMilliseconds * 1_000_000)
    }
    /// How far the venue's clock runs ahead of the wall (ms; see ``venueNow(_:)``).
    var venueLeadMilliseconds: Int64 = 0
    /// Receive time of the latest frame.
    public var lastReceiveTime: LocalTime? { driver.lastReceiveTime }
    /// Each file's estimated receive − exchange offset (ns), removed before merging; nil: no timestamps.
    public var clockOffsets: [Int64?] { driver.clockOffsets }
    /// Raw `data` of the last `_cascade.instruments` frame (or of the file the user named).
    public var instrumentsJSON: [UInt8]? { driver.instrumentsJSON }
    var decoder: BybitPublicDecoder { driver.decoder }

    /// The account named `name` (tests and the status control).
    func account(_ name: String) -> BybitAccount? { venue.index[name].map { venue.accounts[$0] } }

    public init(paths: [String], options: ReplayOptions = ReplayOptions(), speed: ReplaySpeed,
                instrumentsJSON: [UInt8]? = nil, accounts: [SimAccountSpec] = [.defaultTestAccount],
                rebaseTimestamps: Bool = true, faults: SimFaultPlan = SimFaultPlan(),
                settings: VenueSettings = VenueSettings(), outboxLimits: SimOutboxLimits = SimOutboxLimits(),
                wallClock: any WallClock, timer: any TaskClock = ContinuousTaskClock()) {
        var keys: [String: (secret: String, account: String)] = [:]
        for spec in accounts { keys[spec.apiKey] = (spec.apiSecret, spec.name) }
        self.keys = keys
        self.options = options
        self.speed = speed
        self.wallClock = wallClock
        self.replayStartWallMilliseconds = wallClock.now().nanoseconds / 1_000_000
        self.timer = timer
        self.outboxLimits = outboxLimits
        self.rebaseTimestamps = rebaseTimestamps
        self.faults = SimFaultInjector(plan: faults)
        var driver = ReplayDriver(paths: paths, options: options, instrumentsJSON: instrumentsJSON)
        // Each symbol matches on the deepest book its recordings carry, chosen before anything is replayed (a file
        // that cannot be read fails later, when the replay opens it, with its own error).
        var settings = settings
        // One scan of the files' topics: the matching depths, and whether an instruments snapshot is recorded.
        let topics = (try? FrameInventory.topics(paths: paths)).map { Array($0.keys) } ?? []
        if settings.matchingDepths.isEmpty { settings.matchingDepths = driver.matchingDepths(topics: topics) }
        hasInstruments = instrumentsJSON != nil || topics.contains(CascadePseudoTopic.instruments.rawValue)
        // Bybit always knows its instruments: until the replay reaches a snapshot, instruments-info answers with the
        // data's first one (a node checks its symbols before it subscribes, and the replay starts at a subscription).
        if instrumentsJSON == nil, hasInstruments { driver.instrumentsJSON = ReplayDriver.firstInstrumentsSnapshot(paths: paths) }
        self.driver = driver
        venue = SimVenue(specs: accounts, settings: settings)
    }

    // MARK: - Subscribers

    /// Registers a connection; returns its id and the stream of frames to send it.
    func connect(private isPrivate: Bool = false) -> (Int, AsyncStream<SimOutgoing>, SimBacklog) {
        nextConnection += 1
        let (stream, continuation) = AsyncStream.makeStream(of: SimOutgoing.self,
                                                            bufferingPolicy: .bufferingOldest(outboxLimits.frames))
        let backlog = SimBacklog()
        subscribers[nextConnection] = Subscriber(outbox: continuation, backlog: backlog, isPrivate: isPrivate)
        connectionOrder.append(nextConnection)
        return (nextConnection, stream, backlog)
    }

    /// Queues one frame for connection `id`. A connection over its limits — more queued than allowed, or one
    /// write pending longer than the stall limit — is closed instead: public clients see a disconnect (their gap),
    /// private ones reconnect and backfill. Nothing is silently dropped from an open connection.
    func enqueue(_ item: SimOutgoing, to id: Int) {
        guard let subscriber = subscribers[id] else { return }
        switch subscriber.backlog.admit(bytes: item.text.utf8.count, limits: outboxLimits) {
        case let .refused(reason):
            closeSlowConsumer(id, reason: reason)
        case let .queued(behind):
            if case .dropped = subscriber.outbox.yield(item) { closeSlowConsumer(id, reason: "outbox full") }
            if behind { readerBehind = true }
        }
    }

    func closeSlowConsumer(_ id: Int, reason: String, stalledFor: Duration? = nil) {
        guard subscribers[id] != nil else { return }
        slowConsumersDisconnected += 1
        if let stalledFor { slowestCloseAfterStall = max(slowestCloseAfterStall, stalledFor) }
        disconnect(id)
    }

    func disconnect(_ id: Int) {
        guard let subscriber = subscribers.removeValue(forKey: id) else { return }
        subscriber.outbox.finish()
        // A writer blocked on a client that stopped reading never sees the finished outbox: the socket is closed.
        subscriber.backlog.abandon()
        connectionOrder.removeAll { $0 == id }
        if subscriber.isPrivate, let account = subscriber.account {
            privateConnectionEnded(account: account, wasDCPSubscriber: subscriber.topics.contains("dcp.future"))
        }
    }

    /// Closes every connection (fault hook: a dropped connection mid-stream).
    public func dropAllConnections() {
        for id in connectionOrder { disconnect(id) }
    }

    /// Fault hook: ended orders reach `/v5/order/history` only `milliseconds` after their last update (a history
    /// written behind the matching engine).
    public func setHistoryLag(milliseconds: Int64) {
        for i in venue.accounts.indices { venue.accounts[i].historyLagMilliseconds = milliseconds }
    }

    /// Fault hook: Bybit restarted. Every connection drops, and `/v5/order/realtime` forgets the orders that had
    /// already ended (Bybit: its recent closed orders are lost when the service restarts); open orders, positions,
    /// the order history and the executions survive.
    public func restartVenue() {
        let now = exchangeClock + timeOffset
        for i in venue.accounts.indices { venue.accounts[i].realtimeForgetsEndedBefore = now }
        dropAllConnections()
    }

    /// Fault hook (the cancel/fill race, its window opened as wide as a test needs): every account's cancels reach
    /// the matching engine `milliseconds` later than other commands. A cancel accepted while its order was open that
    /// arrives after the order filled is refused there, and the order is sent `Filled` a second time with
    /// `CancelByUser`, as Bybit documents.
    public func setCancelDelay(milliseconds: Int64) {
        for i in venue.accounts.indices { venue.accounts[i].exchange.cancelDelayMilliseconds = milliseconds }
    }

    /// Fault hook: while set, a private WebSocket is closed as soon as it opens (Bybit's private endpoint
    /// unreachable); a test ends the outage when it chooses, whatever the client's reconnect backoff.
    public internal(set) var privateOutage = false
    public func setPrivateOutage(_ on: Bool) { privateOutage = on }

    /// Number of open connections.
    public var connectionCount: Int { subscribers.count }

    public func setAnswersPings(_ value: Bool) { answersPings = value }

    /// Replaces the fault plan (control endpoint); the random streams restart from the plan's seed.
    public func setFaults(_ plan: SimFaultPlan) { faults = SimFaultInjector(plan: plan) }

    /// Handles one text frame a client sent: its answers (acks, pongs, snapshots) go through the connection's
    /// outbox, behind anything already queued and ahead of later replayed frames, so a late subscriber always
    /// sees its snapshot before the deltas that follow it.
    func receive(_ text: String, from id: Int) {
        guard let subscriber = subscribers[id] else { return }
        let replies = subscriber.isPrivate ? privateAnswers(to: text, from: id) : answers(to: text, from: id)
        for reply in replies { enqueue(SimOutgoing(text: reply), to: id) }
    }

    /// Sends a data frame through the channel's fault hook.
    func send(_ text: String, to id: Int, channel: SimChannel) {
        guard subscribers[id] != nil else { return }
        let action = faults.isActive ? faults.action(on: channel) : .deliver
        switch action {
        case .drop:
            return
        case .reorder:
            subscribers[id]!.held.append(text)
            return
        case .duplicate:
            enqueue(SimOutgoing(text: text), to: id)
            enqueue(SimOutgoing(text: text), to: id)
        case let .delay(ms):
            enqueue(SimOutgoing(text: text, stallMilliseconds: ms), to: id)
        case .deliver:
            enqueue(SimOutgoing(text: text), to: id)
        }
        flushHeld(id)
    }

    /// Held messages go out after the one that overtook them (enqueueing may close a slow connection).
    private func flushHeld(_ id: Int) {
        guard let held = subscribers[id]?.held, !held.isEmpty else { return }
        subscribers[id]?.held = []
        for text in held { enqueue(SimOutgoing(text: text), to: id) }
    }

    private func answers(to text: String, from id: Int) -> [String] {
        guard let request = ClientRequest(text) else {
            return [BybitFrameEncoder.ack(op: "unknown", success: false, message: "error:invalid request", connectionID: "sim-\(id)", requestID: "")]
        }
        let connectionID = "sim-\(id)"
        switch request.op {
        case "ping":
            return answersPings ? [BybitFrameEncoder.pong(connectionID: connectionID, requestID: request.requestID)] : []
        case "subscribe":
            var out: [String] = []
            let invalid = request.args.filter { BybitTopic($0) == nil || BybitTopic($0)?.symbol == nil }
            if let bad = invalid.first {
                return [BybitFrameEncoder.ack(op: "subscribe", success: false, message: "error:handler not found,topic:\(bad)",
                                              connectionID: connectionID, requestID: request.requestID)]
            }
            for topic in request.args where subscribers[id]?.topics.contains(topic) == false {
                subscribers[id]?.topics.insert(topic)
                // Snapshot first, then the ack: Bybit may do the same, and clients must not drop it.
                if started, let snapshot = snapshot(for: topic) { out.append(snapshot) }
            }
            out.append(BybitFrameEncoder.ack(op: "subscribe", success: true, message: "", connectionID: connectionID,
                                             requestID: request.requestID))
            if !started { begin() }
            return out
        case "unsubscribe":
            for topic in request.args { subscribers[id]?.topics.remove(topic) }
            return [BybitFrameEncoder.ack(op: "unsubscribe", success: true, message: "", connectionID: connectionID,
                                          requestID: request.requestID)]
        default:
            return [BybitFrameEncoder.ack(op: request.op, success: false, message: "error:unsupported op \(request.op)",
                                          connectionID: connectionID, requestID: request.requestID)]
        }
    }

    // MARK: - Replay

    /// Starts the replay now instead of at the first subscription.
    public func begin() {
        guard !started else { return }
        started = true
        startSignal.continuation.yield()
    }

    /// Waits for the first subscription (or ``begin()``); a shutdown before anyone subscribed ends the wait.
    private func waitForStart() async {
        for await _ in startSignal.stream { break }
    }

    /// Replays the files once, pacing by receive time. Returns when the data ends or the task is cancelled.
    /// In lockstep mode the clock moves only through ``advance(frames:milliseconds:)``: this waits for cancellation.
    public func run() async throws {
        if speed == .lockstep {
            started = true
            await awaitCancellation()
            return
        }
        await waitForStart()
        var sinceYield = 0
        var first: Int64?
        let wallStart = timer.instant()
        while let t = try driver.peekLocalTime()?.nanoseconds {
            if Task.isCancelled { break }
            if first == nil { first = t }
            if let wait = speed.wallNanoseconds(forRecorded: t - first!) {
                let due = wallStart + .nanoseconds(wait)
                if due > timer.instant() {
                    do { try await timer.sleep(until: due) } catch { break }
                }
            } else {
                // Unpaced: still let subscribe and REST calls into the actor now and then, and go as fast as the
                // slowest reader that is still reading; one that stopped is closed after the stall limit.
                sinceYield += 1
                if sinceYield >= 256 {
                    sinceYield = 0
                    await Task.yield()
                }
                if readerBehind {
                    readerBehind = false
                    await waitForReaders()
                }
            }
            try publishNext()
        }
        if !Task.isCancelled { endOfData() }
    }

    /// Unpaced replay: waits while a connection holds more than the soft limit, until its writer drains it. A writer
    /// stuck past the stall limit is closed by its connection's watchdog, which ends the wait: one client never
    /// holds up the others.
    private func waitForReaders() async {
        while let id = connectionOrder.first(where: { (subscribers[$0]?.backlog.bytes ?? 0) > outboxLimits.softBytes }),
              let backlog = subscribers[id]?.backlog {
            await backlog.waitForDrain(below: outboxLimits.softBytes / 2)
        }
    }

    /// What a lockstep step did.
    public struct StepResult: Sendable {
        public var frames: Int
        public var finished: Bool
        /// Exchange time (ms) the replay has reached, as clients see it (rebased when rebasing).
        public var exchangeTime: Int64
        public var receiveTime: LocalTime?
    }

    /// Lockstep: replays the next `frames` frames, or every frame received within `milliseconds` of recorded
    /// time after the current one (both: whichever stops first). Then releases what is due.
    public func advance(frames: Int?, milliseconds: Int64?) throws -> StepResult {
        var count = 0
        var limit: Int64?
        let exchangeBefore = exchangeClock
        if let milliseconds {
            let recorded = try driver.lastReceiveTime ?? driver.peekLocalTime()
            let base = [recorded?.nanoseconds, lockstepReceiveClock].compactMap { $0 }.max().map(LocalTime.init(nanoseconds:))
            // Saturating: {"ms": 1e13} means "to the end", not a crash.
            let span = milliseconds.multipliedReportingOverflow(by: 1_000_000)
            limit = base.map { $0.nanoseconds.addingReportingOverflow(span.overflow ? .max : span.partialValue) }
                .map { $0.overflow ? .max : $0.partialValue }
        }
        var stoppedByFrameCount = false
        while !finished {
            if let frames, count >= frames {
                stoppedByFrameCount = true
                break
            }
            if frames == nil && milliseconds == nil { break }
            if let limit, let peek = try driver.peekLocalTime(), peek.nanoseconds > limit { break }
            guard try publishNext() else {
                endOfData()
                break
            }
            count += 1
        }
        // Time passes by M even where no frame falls: commands due inside the step are processed at their time.
        // (Not when the frame count ended the step first: frames inside the window are still to come.) After the data
        // ended time still passes: what the exchange keeps for how long (order history) is seen to expire.
        if let milliseconds, let limit, !stoppedByFrameCount {
            lockstepReceiveClock = limit
            let (target, overflow) = exchangeBefore.addingReportingOverflow(milliseconds)
            lockstepExchangeClock = max(lockstepExchangeClock, overflow ? .max / 2 : target)
            venue.advance(to: ExchangeTime(milliseconds: exchangeClock), settlingFunding: true, instruments: decoder.instruments)
            for i in venue.accounts.indices { release(account: venue.accounts[i].name, upTo: exchangeClock) }
        }
        // A step that ends on the last frame finishes the data now, not on the next call.
        if !finished, try driver.peekLocalTime() == nil { endOfData() }
        return StepResult(frames: count, finished: finished, exchangeTime: exchangeClock + timeOffset, receiveTime: lastReceiveTime)
    }

    /// The data ran out: commands still in flight are processed against the final market state, then every
    /// private message still waiting for its acknowledgement time is released.
    private func endOfData() {
        finished = true
        let horizon = ExchangeTime(milliseconds: exchangeClock + 86_400_000)
        venue.advance(to: horizon, settlingFunding: false, instruments: decoder.instruments)
        for i in venue.accounts.indices { release(account: venue.accounts[i].name, upTo: .max) }
        for id in connectionOrder { flushHeld(id) }
    }

    /// Replays the next frame: the venue hears of it first (in account order, each account's due private messages
    /// released), then every subscriber of its topic. False when the data ran out.
    @discardableResult
    private func publishNext() throws -> Bool {
        guard let step = try driver.next() else { return false }
        if let input = step.input {
            if !timeOffsetKnown, case let .event(event) = input, let first = event.exchangeTime {
                timeOffsetKnown = true
                timeOffset = rebaseTimestamps ? wallClock.now().nanoseconds / 1_000_000 - first.milliseconds : 0
                venue.setTimeOffset(timeOffset)
            }
            venue.apply(input, change: step.change, instruments: decoder.instruments, clock: exchangeClock)
            if case let .event(.trades(list)) = input {
                for t in list {
                    let instrument = decoder.instruments[t.symbol]
                    minuteBars[t.symbol, default: MinuteBars()].add(
                        price: t.price, qty: t.qty, value: instrument.notional(price: t.price, qty: t.qty) ?? .zero,
                        at: t.tradeTime.milliseconds + timeOffset)
                }
            }
            // By index: iterating the accounts by value would copy each (its exchange and records) on every frame.
            for i in venue.accounts.indices { release(account: venue.accounts[i].name, upTo: exchangeClock) }
        }
        guard let topic = step.topic else { return true }
        let out = timeOffset == 0 ? step.bytes : BybitTimestampRebaser.rebase(step.bytes, byMilliseconds: timeOffset)
        let text = String(decoding: out, as: UTF8.self)
        for id in connectionOrder where subscribers[id]?.topics.contains(topic) == true {
            send(text, to: id, channel: .publicStream)
            framesSent += 1
        }
        return true
    }

    /// A snapshot of the current state of `topic` for a late subscriber (books and tickers), timestamps rebased.
    func snapshot(for topic: String) -> String? {
        if case let .orderBook(depth, symbol)? = BybitTopic(topic), let id = decoder.instruments.lookup(symbol),
           let book = driver.feed.book(id, depth: depth), book.isSynced, let u = book.lastUpdateID, let ts = book.lastExchangeTime {
            let instrument = decoder.instruments[book.symbol]
            return BybitFrameEncoder.bookSnapshot(
                instrument: instrument, depth: book.depth, bids: book.topLevels(.bid, book.depth),
                asks: book.topLevels(.ask, book.depth), updateID: u, sequence: book.lastSequence ?? 0,
                exchangeTime: rebased(ts), matchTime: book.lastMatchTime.map(rebased))
        }
        if case let .tickers(symbol)? = BybitTopic(topic), let id = decoder.instruments.lookup(symbol),
           let state = driver.feed.tickers[id], state.hasSnapshot, let ts = state.lastExchangeTime {
            var fields = state.fields
            fields.nextFundingTime = fields.nextFundingTime.map(rebased)
            return BybitFrameEncoder.tickerSnapshot(instrument: decoder.instruments[id], fields: fields,
                                                    crossSequence: state.lastCrossSequence, exchangeTime: rebased(ts))
        }
        return nil
    }

    /// An exchange time as clients see it.
    func rebased(_ time: ExchangeTime) -> ExchangeTime { ExchangeTime(milliseconds: time.milliseconds + timeOffset) }
}

/// Limits of one connection's outbox.
public struct SimOutboxLimits: Sendable {
    /// Frames queued at most.
    public var frames: Int = 100_000
    /// Bytes queued at most (paced replay: a client this far behind is closed).
    public var bytes: Int = 8 << 20
    /// Unpaced replay waits for a reader holding more than this (and still reading).
    public var softBytes: Int = 1 << 20
    /// A write pending this long means the client stopped reading: it is closed.
    public var stall: Duration = .seconds(3)
    public init() {}
}

/// What one connection has queued and not yet written: the replay adds, the connection's writer reports each
/// write's start and end, so a stuck reader (a write that never completes) is told apart from a slow one.
final class SimBacklog: Sendable {
    private struct State {
        var frames = 0
        var bytes = 0
        var writePendingSince: ClockInstant?
        var writes = 0
        var abandoned = false
    }
    private let state = Mutex(State())
    /// Finishes when the replay gives the connection up: the server then closes the socket even mid-write.
    let abandoned = AsyncStream<Void>.makeStream()
    /// Signals that a write started (at most one pending signal): the connection's watchdog wakes on it.
    let writeSignal = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))

    /// The write in progress: its number and when it started.
    var pendingWrite: (number: Int, since: ClockInstant)? {
        state.withLock { s in s.writePendingSince.map { (s.writes, $0) } }
    }

    /// Signalled after every write and when the connection is given up (the unpaced replay waits on it).
    let progress = WakeupSignal()

    func abandon() {
        state.withLock { $0.abandoned = true }
        abandoned.continuation.finish()
        progress.signal()
    }

    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    var bytes: Int { state.withLock { $0.bytes } }
    enum Admission {
        /// Over a limit: the connection must be closed.
        case refused(String)
        /// Queued; `behind` when more than the soft limit is now waiting.
        case queued(behind: Bool)
    }

    /// Counts one frame in, in one step with the limit checks (the replay calls this for every frame it sends).
    func admit(bytes: Int, limits: SimOutboxLimits) -> Admission {
        state.withLock { s in
            if s.bytes >= limits.bytes { return .refused("\(s.bytes) bytes queued") }
            if s.frames >= limits.frames { return .refused("\(s.frames) frames queued") }
            s.frames += 1
            s.bytes += bytes
            return .queued(behind: s.bytes > limits.softBytes)
        }
    }

    func writeStarted(at now: ClockInstant) {
        state.withLock { s in
            s.writes += 1
            s.writePendingSince = now
        }
        writeSignal.continuation.yield()
    }

    func writeFinished(bytes: Int) {
        state.withLock { s in
            s.frames -= 1
            s.bytes -= bytes
            s.writePendingSince = nil
        }
        progress.signal()
    }

    /// Returns when fewer than `below` bytes are queued, or when the connection is given up.
    func waitForDrain(below: Int) async {
        while bytes >= below, !isAbandoned { await progress.wait() }
    }
}

/// One frame queued for a connection; `stallMilliseconds` > 0 holds the connection that long first (fault hook).
struct SimOutgoing: Sendable {
    var text: String
    var stallMilliseconds: Int64 = 0
}
