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
        /// Frames queued and not yet written (the writer counts down): unpaced replay waits for slow readers.
        let backlog: SimBacklog
        var isPrivate = false
        var account: String?
        /// Data frames held back by a reorder fault, sent after the next one.
        var held: [String] = []
    }

    /// A trade kept for `/v5/market/recent-trade`.
    public struct RecentTrade: Sendable {
        public var trade: Trade
    }

    let paths: [String]
    let options: ReplayOptions
    let speed: ReplaySpeed
    let wallClock: any WallClock
    var decoder = BybitPublicDecoder()
    var books: [String: OrderBook] = [:]
    var tickers: [SymbolID: TickerState] = [:]
    var recentTrades: [SymbolID: [Trade]] = [:]
    /// Raw `data` of the last `_cascade.instruments` frame (or of the file the user named).
    public private(set) var instrumentsJSON: [UInt8]?
    var subscribers: [Int: Subscriber] = [:]
    /// Open connection ids, oldest first: frames go out (and faults are drawn) in this order.
    var connectionOrder: [Int] = []
    var nextConnection = 0
    var started = false
    var replayer: Replayer?
    /// Each file's estimated receive − exchange offset (ns), removed before merging; nil: no timestamps.
    public private(set) var clockOffsets: [Int64?] = []
    var lookahead: (bytes: [UInt8], localTime: LocalTime)?
    /// Frames sent so far (all subscribers), frames replayed, and whether the data ran out.
    public private(set) var framesReplayed = 0
    public private(set) var framesSent = 0
    public private(set) var finished = false
    /// Exchange time (ms, as recorded) of the latest replayed event, and receive time of the latest frame.
    public private(set) var exchangeClock: Int64 = 0
    public private(set) var lastReceiveTime: LocalTime?
    /// Test and fault hooks: answer application pings or not.
    public var answersPings = true
    /// Rebase market timestamps so the first replayed event is stamped with the wall time the replay began.
    let rebaseTimestamps: Bool
    /// Milliseconds added to every exchange timestamp sent (0 until the first timestamped frame, or when not rebasing).
    public private(set) var timeOffset: Int64 = 0
    var timeOffsetKnown = false
    /// Accounts: specs as configured, keys → account name, state by name.
    let accountSpecs: [SimAccountSpec]
    /// Account names in configuration order: every event reaches the accounts in this order.
    let accountNames: [String]
    /// Leverage, maintenance margin, and each symbol's latency, fees and queue model.
    let settings: SimMarginSettings
    let keys: [String: (secret: String, account: String)]
    var accounts: [String: SimTrading] = [:]
    /// Rate-limit windows per "key path": start (ms) and requests used.
    var rateWindows: [String: (start: Int64, used: Int)] = [:]
    /// Seeded per-channel faults (none by default).
    var faults: SimFaultInjector
    var privateMessageSequence = 0
    static let recentTradeLimit = 1_000

    public init(paths: [String], options: ReplayOptions = ReplayOptions(), speed: ReplaySpeed,
                instrumentsJSON: [UInt8]? = nil, accounts: [SimAccountSpec] = [.defaultTestAccount],
                rebaseTimestamps: Bool = true, faults: SimFaultPlan = SimFaultPlan(),
                settings: SimMarginSettings = SimMarginSettings(), wallClock: any WallClock) {
        self.paths = paths
        self.settings = settings
        self.accountSpecs = accounts
        self.accountNames = accounts.map(\.name)
        var keys: [String: (secret: String, account: String)] = [:]
        for spec in accounts { keys[spec.apiKey] = (spec.apiSecret, spec.name) }
        self.keys = keys
        for spec in accounts { self.accounts[spec.name] = SimTrading(name: spec.name, deposit: spec.deposit, settings: settings) }
        self.options = options
        self.speed = speed
        self.wallClock = wallClock
        self.rebaseTimestamps = rebaseTimestamps
        self.faults = SimFaultInjector(plan: faults)
        self.instrumentsJSON = instrumentsJSON
        if let instrumentsJSON {
            var table = decoder.instruments
            if (try? BybitInstrumentsInfo.decode(instrumentsJSON, table: &table)) != nil { decoder.instruments = table }
        }
    }

    // MARK: - Subscribers

    /// Registers a connection; returns its id and the stream of frames to send it.
    func connect(private isPrivate: Bool = false) -> (Int, AsyncStream<SimOutgoing>, SimBacklog) {
        nextConnection += 1
        let (stream, continuation) = AsyncStream.makeStream(of: SimOutgoing.self, bufferingPolicy: .unbounded)
        let backlog = SimBacklog()
        subscribers[nextConnection] = Subscriber(outbox: continuation, backlog: backlog, isPrivate: isPrivate)
        connectionOrder.append(nextConnection)
        return (nextConnection, stream, backlog)
    }

    /// Queues one frame for connection `id`.
    func enqueue(_ item: SimOutgoing, to id: Int) {
        guard let subscriber = subscribers[id] else { return }
        subscriber.backlog.add(1)
        subscriber.outbox.yield(item)
    }

    /// Frames a connection may have queued before an unpaced replay waits for it.
    static let backlogLimit = 50_000

    func disconnect(_ id: Int) {
        subscribers.removeValue(forKey: id)?.outbox.finish()
        connectionOrder.removeAll { $0 == id }
    }

    /// Closes every connection (fault hook: a dropped connection mid-stream).
    public func dropAllConnections() {
        for (_, s) in subscribers { s.outbox.finish() }
        subscribers = [:]
        connectionOrder = []
    }

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
        // Held messages go out after the one that overtook them.
        if !subscribers[id]!.held.isEmpty {
            for held in subscribers[id]!.held { enqueue(SimOutgoing(text: held), to: id) }
            subscribers[id]!.held = []
        }
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
    }

    /// Waits for the first subscription; responds to cancellation (a shutdown before anyone subscribed).
    private func waitForStart() async throws {
        while !started {
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The next recorded frame, opening the files on first use.
    private func nextFrame() throws -> (bytes: [UInt8], localTime: LocalTime)? {
        if let frame = lookahead {
            lookahead = nil
            return frame
        }
        if replayer == nil {
            // Each file's receive clock is moved onto the exchange's before merging (files may come from
            // different machines; our 2024 captures' clock is ~1.5 s off Bybit's).
            var aligned = options
            clockOffsets = try ClockOffset.perSource(paths: paths)
            aligned.clockCorrections = clockOffsets.map { $0 ?? 0 }
            replayer = try Replayer(paths: paths, options: aligned)
        }
        guard let frame = try replayer!.next() else { return nil }
        return (frame.bytes, frame.localTime)
    }

    /// Receive time of the next frame, without replaying it.
    private func peekLocalTime() throws -> LocalTime? {
        if lookahead == nil { lookahead = try nextFrame() }
        return lookahead?.localTime
    }

    /// Replays the files once, pacing by receive time. Returns when the data ends or the task is cancelled.
    /// In lockstep mode the clock moves only through ``advance(frames:milliseconds:)``: this waits for cancellation.
    public func run() async throws {
        if speed == .lockstep {
            started = true
            while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            return
        }
        try await waitForStart()
        var sinceYield = 0
        var first: Int64?
        let wallStart = ContinuousClock.now
        while let frame = try nextFrame() {
            if Task.isCancelled { break }
            let t = frame.localTime.nanoseconds
            if first == nil { first = t }
            if let wait = speed.wallNanoseconds(forRecorded: t - first!) {
                let due = wallStart + .nanoseconds(wait)
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
            } else {
                // Unpaced: still let subscribe and REST calls into the actor now and then, and go only as fast as
                // the slowest reader (its queue would otherwise grow without bound).
                sinceYield += 1
                if sinceYield >= 256 {
                    sinceYield = 0
                    await Task.yield()
                    while subscribers.values.contains(where: { $0.backlog.count > Self.backlogLimit }) {
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
            }
            publish(frame.bytes, localTime: frame.localTime)
        }
        if !Task.isCancelled { endOfData() }
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
        if let milliseconds {
            let base = try lastReceiveTime ?? peekLocalTime()
            // Saturating: {"ms": 1e13} means "to the end", not a crash.
            let span = milliseconds.multipliedReportingOverflow(by: 1_000_000)
            limit = base.map { $0.nanoseconds.addingReportingOverflow(span.overflow ? .max : span.partialValue) }
                .map { $0.overflow ? .max : $0.partialValue }
        }
        while !finished {
            if let frames, count >= frames { break }
            if frames == nil && milliseconds == nil { break }
            if let limit, let peek = try peekLocalTime(), peek.nanoseconds > limit { break }
            guard let frame = try nextFrame() else {
                endOfData()
                break
            }
            publish(frame.bytes, localTime: frame.localTime)
            count += 1
        }
        // A step that ends on the last frame finishes the data now, not on the next call.
        if !finished, try peekLocalTime() == nil { endOfData() }
        return StepResult(frames: count, finished: finished, exchangeTime: exchangeClock + timeOffset, receiveTime: lastReceiveTime)
    }

    /// The data ran out: commands still in flight are processed against the final market state, then every
    /// private message still waiting for its acknowledgement time is released.
    private func endOfData() {
        finished = true
        let horizon = ExchangeTime(milliseconds: exchangeClock + 86_400_000)
        for name in accountNames {
            accounts[name]!.advance(to: horizon, settlingFunding: false)
            release(account: name, upTo: .max)
        }
        for id in connectionOrder where !subscribers[id]!.held.isEmpty {
            for held in subscribers[id]!.held { enqueue(SimOutgoing(text: held), to: id) }
            subscribers[id]!.held = []
        }
    }

    private func publish(_ bytes: [UInt8], localTime: LocalTime) {
        framesReplayed += 1
        lastReceiveTime = localTime
        guard let message = try? decoder.decode(bytes, localTime: localTime) else { return }
        var time: ExchangeTime?
        if let event = message.marketEvent {
            time = event.exchangeTime
            if let time {
                if !timeOffsetKnown {
                    timeOffsetKnown = true
                    timeOffset = rebaseTimestamps ? wallClock.now().nanoseconds / 1_000_000 - time.milliseconds : 0
                    for name in accountNames { accounts[name]!.timeOffset = timeOffset }
                }
                exchangeClock = max(exchangeClock, time.milliseconds)
            }
            if let symbol = event.symbol {
                let instrument = decoder.instruments[symbol]
                for name in accountNames {
                    accounts[name]!.on(event, instrument: instrument, at: ExchangeTime(milliseconds: exchangeClock))
                    release(account: name, upTo: exchangeClock)
                }
            }
        }
        var topic: String?
        switch message {
        case let .book(update):
            let name = "orderbook.\(update.depth).\(decoder.instruments[update.symbol].symbol)"
            var book = books[name] ?? OrderBook(symbol: update.symbol, depth: update.depth)
            book.apply(update)
            books[name] = book
            topic = name
        case let .trades(list):
            guard let symbol = list.first?.symbol else { return }
            var recent = recentTrades[symbol, default: []]
            recent.append(contentsOf: list)
            if recent.count > Self.recentTradeLimit { recent.removeFirst(recent.count - Self.recentTradeLimit) }
            recentTrades[symbol] = recent
            topic = "publicTrade.\(decoder.instruments[symbol].symbol)"
        case let .liquidations(list):
            guard let symbol = list.first?.symbol else { return }
            topic = "allLiquidation.\(decoder.instruments[symbol].symbol)"
        case let .ticker(update):
            var state = tickers[update.symbol] ?? TickerState(symbol: update.symbol)
            state.apply(update)
            tickers[update.symbol] = state
            topic = "tickers.\(decoder.instruments[update.symbol].symbol)"
        case let .klines(list):
            guard let k = list.first else { return }
            topic = "kline.\(k.interval).\(decoder.instruments[k.symbol].symbol)"
        case let .local(name, data):
            if name == "instruments" {
                instrumentsJSON = data
                var table = decoder.instruments
                if (try? BybitInstrumentsInfo.decode(data, table: &table)) != nil { decoder.instruments = table }
            }
            return
        case .control:
            return
        }
        guard let topic else { return }
        let out = timeOffset == 0 ? bytes : BybitTimestampRebaser.rebase(bytes, byMilliseconds: timeOffset)
        let text = String(decoding: out, as: UTF8.self)
        for id in connectionOrder where subscribers[id]!.topics.contains(topic) {
            send(text, to: id, channel: .publicStream)
            framesSent += 1
        }
    }

    /// A snapshot of the current state of `topic` for a late subscriber (books and tickers), timestamps rebased.
    func snapshot(for topic: String) -> String? {
        if let book = books[topic], book.isSynced, let u = book.lastUpdateID, let ts = book.lastExchangeTime {
            let instrument = decoder.instruments[book.symbol]
            return BybitFrameEncoder.bookSnapshot(
                instrument: instrument, depth: book.depth, bids: book.topLevels(.bid, book.depth),
                asks: book.topLevels(.ask, book.depth), updateID: u, sequence: book.lastSequence ?? 0,
                exchangeTime: rebased(ts), matchTime: book.lastMatchTime.map(rebased))
        }
        if case let .tickers(symbol)? = BybitTopic(topic), let id = decoder.instruments.lookup(symbol),
           let state = tickers[id], state.hasSnapshot, let ts = state.lastExchangeTime {
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

/// Frames queued for one connection and not yet written: the replay adds, the connection's writer subtracts.
final class SimBacklog: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    var count: Int { value.load(ordering: .relaxed) }
}

/// One frame queued for a connection; `stallMilliseconds` > 0 holds the connection that long first (fault hook).
struct SimOutgoing: Sendable {
    var text: String
    var stallMilliseconds: Int64 = 0
}
