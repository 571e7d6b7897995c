import BybitV5
public import CascadeCore
import MarketData
public import Recording

/// The market state of a replay and its subscribers: the public half of the Bybit simulator.
///
/// Frames are read from recordings in receive-time order and re-sent byte for byte to every connection
/// subscribed to their topic. A connection that subscribes to a book or ticker topic after the replay began
/// first receives a snapshot built from the current state (as Bybit sends one on subscribe), then deltas.
/// The replay state also answers the market REST endpoints.
public actor MarketReplay {
    /// One subscriber connection: its topics and its outbound queue (drained by its own writer task).
    struct Subscriber {
        var topics: Set<String> = []
        let outbox: AsyncStream<String>.Continuation
    }

    /// A trade kept for `/v5/market/recent-trade`.
    public struct RecentTrade: Sendable {
        public var trade: Trade
    }

    let paths: [String]
    let options: ReplayOptions
    let speed: ReplaySpeed
    var decoder = BybitPublicDecoder()
    var books: [String: OrderBook] = [:]
    var tickers: [SymbolID: TickerState] = [:]
    var recentTrades: [SymbolID: [Trade]] = [:]
    /// Raw `data` of the last `_cascade.instruments` frame (or of the file the user named).
    public private(set) var instrumentsJSON: [UInt8]?
    var subscribers: [Int: Subscriber] = [:]
    var nextConnection = 0
    var started = false
    /// Frames sent so far (all subscribers), frames replayed, and whether the data ran out.
    public private(set) var framesReplayed = 0
    public private(set) var framesSent = 0
    public private(set) var finished = false
    /// Test and fault hooks: answer application pings or not.
    public var answersPings = true
    /// API keys (key → secret) the trading endpoints accept.
    let apiKeys: [String: String]
    /// Rate-limit windows per "key path": start (ms) and requests used.
    var rateWindows: [String: (start: Int64, used: Int)] = [:]
    /// The simulated account and exchanges.
    var trading: SimTrading
    /// The documented default test key of the simulator (never a real Bybit key).
    public static let defaultAPIKey = (key: "cascade-test-key", secret: "cascade-test-secret")
    /// USDT deposited in the default account.
    public static let defaultDeposit = USDT(units: Int64(100_000) * 100_000_000)
    static let recentTradeLimit = 1_000

    public init(paths: [String], options: ReplayOptions = ReplayOptions(), speed: ReplaySpeed,
                instrumentsJSON: [UInt8]? = nil, apiKeys: [String: String] = [MarketReplay.defaultAPIKey.key: MarketReplay.defaultAPIKey.secret],
                deposit: USDT = MarketReplay.defaultDeposit) {
        self.paths = paths
        self.apiKeys = apiKeys
        self.trading = SimTrading(deposit: deposit)
        self.options = options
        self.speed = speed
        self.instrumentsJSON = instrumentsJSON
        if let instrumentsJSON {
            var table = decoder.instruments
            if (try? BybitInstrumentsInfo.decode(instrumentsJSON, table: &table)) != nil { decoder.instruments = table }
        }
    }

    // MARK: - Subscribers

    /// Registers a connection; returns its id and the stream of text frames to send it.
    func connect() -> (Int, AsyncStream<String>) {
        nextConnection += 1
        let (stream, continuation) = AsyncStream.makeStream(of: String.self, bufferingPolicy: .unbounded)
        subscribers[nextConnection] = Subscriber(outbox: continuation)
        return (nextConnection, stream)
    }

    func disconnect(_ id: Int) {
        subscribers.removeValue(forKey: id)?.outbox.finish()
    }

    /// Closes every connection (fault hook: a dropped connection mid-stream).
    public func dropAllConnections() {
        for (_, s) in subscribers { s.outbox.finish() }
        subscribers = [:]
    }

    /// Number of open connections.
    public var connectionCount: Int { subscribers.count }

    public func setAnswersPings(_ value: Bool) { answersPings = value }

    /// Handles one text frame a client sent: its answers (acks, pongs, snapshots) go through the connection's
    /// outbox, behind anything already queued and ahead of later replayed frames, so a late subscriber always
    /// sees its snapshot before the deltas that follow it.
    func receive(_ text: String, from id: Int) {
        for reply in answers(to: text, from: id) { subscribers[id]?.outbox.yield(reply) }
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

    /// Replays the files once, pacing by receive time. Returns when the data ends or the task is cancelled.
    public func run() async throws {
        try await waitForStart()
        var replayer = try Replayer(paths: paths, options: options)
        var sinceYield = 0
        var first: Int64?
        let wallStart = ContinuousClock.now
        while let frame = try replayer.next() {
            if Task.isCancelled { break }
            let t = frame.localTime.nanoseconds
            if first == nil { first = t }
            if let wait = speed.wallNanoseconds(forRecorded: t - first!) {
                let due = wallStart + .nanoseconds(wait)
                if due > ContinuousClock.now { try await Task.sleep(until: due, clock: .continuous) }
            } else {
                // Unpaced: still let subscribe and REST calls into the actor now and then.
                sinceYield += 1
                if sinceYield >= 256 {
                    sinceYield = 0
                    await Task.yield()
                }
            }
            publish(frame.bytes, localTime: frame.localTime)
        }
        finished = true
    }

    private func publish(_ bytes: [UInt8], localTime: LocalTime) {
        framesReplayed += 1
        guard let message = try? decoder.decode(bytes, localTime: localTime) else { return }
        if let event = message.marketEvent, let symbol = Self.symbol(of: event) {
            trading.on(event, instrument: decoder.instruments[symbol])
        }
        var topic: String?
        switch message {
        case let .book(update):
            let name = "orderbook.\(update.depth).\(decoder.instruments[update.symbol].symbol)"
            var book = books[name] ?? OrderBook(symbol: update.symbol, depth: update.depth, scale: decoder.instruments[update.symbol].scale)
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
        let text = String(decoding: bytes, as: UTF8.self)
        for (_, subscriber) in subscribers where subscriber.topics.contains(topic) {
            subscriber.outbox.yield(text)
            framesSent += 1
        }
    }

    static func symbol(of event: MarketEvent) -> SymbolID? {
        switch event {
        case let .book(u): u.symbol
        case let .trades(t): t.first?.symbol
        case let .ticker(t): t.symbol
        case let .liquidations(l): l.first?.symbol
        case let .klines(k): k.first?.symbol
        }
    }

    /// A snapshot of the current state of `topic` for a late subscriber (books and tickers).
    func snapshot(for topic: String) -> String? {
        if let book = books[topic], book.isSynced, let u = book.lastUpdateID, let ts = book.lastExchangeTime {
            let instrument = decoder.instruments[book.symbol]
            return BybitFrameEncoder.bookSnapshot(
                instrument: instrument, depth: book.depth, bids: book.topLevels(.bid, book.depth),
                asks: book.topLevels(.ask, book.depth), updateID: u, sequence: book.lastSequence ?? 0,
                exchangeTime: ts, matchTime: book.lastMatchTime)
        }
        if case let .tickers(symbol)? = BybitTopic(topic), let id = decoder.instruments.lookup(symbol),
           let state = tickers[id], state.hasSnapshot, let ts = state.lastExchangeTime {
            return BybitFrameEncoder.tickerSnapshot(instrument: decoder.instruments[id], fields: state.fields,
                                                    crossSequence: state.lastCrossSequence, exchangeTime: ts)
        }
        return nil
    }
}
