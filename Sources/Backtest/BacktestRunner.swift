public import CascadeCore
public import Execution
import FeatureReplay
import Features
import MarketData
import Recording
import Simulation
import BybitV5

/// One fill of the account, attributed to its ladder.
public struct BacktestFill: Sendable, Hashable {
    public var time: ExchangeTime
    public var symbol: String
    public var ladder: UInt64?
    public var episode: String?
    /// E/T/X/P for our orders, `stopLoss`/`takeProfit` for the venue's position legs, `takeover` for the venue's.
    public var role: String
    public var side: Side
    public var price: Price
    public var qty: Quantity
    public var liquidity: Liquidity
    public var fee: USDT
    /// The fill's price PnL when it closed part of the position (no fees).
    public var closedPnl: USDT
    /// Entry fills: the mid 1, 5, 30 and 60 s later against the fill price, in the fill's favour, hundredths of a bp
    /// (the mid at the first market event at or after each horizon; nil when the data ended first).
    public var markouts: [Int64?] = []
}

/// One ladder traded, from its first decision to flat.
public struct BacktestTrade: Sendable, Hashable {
    public var ladder: UInt64
    public var episode: String
    public var symbol: String
    public var side: Side
    public var opened: ExchangeTime
    public var layersPlaced: Int
    public var layersFilled: Int
    public var entryQty = Quantity.zero
    public var entryValue = USDT.zero
    public var exitQty = Quantity.zero
    public var exitValue = USDT.zero
    public var firstFill: ExchangeTime?
    public var lastFill: ExchangeTime?
    /// What closed the position (the role of the last closing fill), nil while open or never filled.
    public var exitReason: String?
    public var pricePnl = USDT.zero
    public var fees = USDT.zero
    public var funding = USDT.zero
    public var net: USDT { pricePnl - fees - funding }
}

/// One entry order of a ladder, from the decision to its end.
public struct BacktestLayer: Sendable, Hashable {
    public var linkID: String
    public var ladder: UInt64
    public var symbol: String
    public var side: Side
    public var price: Price
    /// δ from the mid of its decision, bps (rounded to the nearest whole bp).
    public var offsetBps: Int
    public var decidedAt: ExchangeTime
    public var acceptedAt: ExchangeTime?
    /// Displayed quantity ahead of it when the venue accepted it (nil: the venue did not say).
    public var queueAhead: Quantity?
    public var firstFill: ExchangeTime?
    public var filledQty = Quantity.zero
    /// `filled`, `partial` (cancelled with fills), `postOnlyRejected`, `rejected`, `cancelled` or `open`.
    public var outcome = "open"
}

/// Rows a long session has already handed out (``BacktestRunner/Session/takeSettled(holdMilliseconds:)``): only
/// their totals stay, so the summary still counts them.
public struct SettledRows: Sendable, Hashable {
    public var fills = 0
    public var makerFills = 0
    public var fees = USDT.zero
    public var pricePnl = USDT.zero
    public var ladders = 0
    public var laddersFilled = 0
    public var wins = 0
    public var losses = 0
    public var funding = USDT.zero
    public var decisionCounts: [String: Int] = [:]
    public init() {}

    /// Counts rows into the totals (the summary adds the rows still held the same way).
    mutating func add(fills list: [BacktestFill]) {
        for f in list {
            fills += 1
            if f.liquidity == .maker { makerFills += 1 }
            fees = fees + f.fee
            pricePnl = pricePnl + f.closedPnl
        }
    }

    mutating func add(trades list: [BacktestTrade]) {
        for t in list {
            ladders += 1
            funding = funding + t.funding
            if t.entryQty.units > 0 {
                laddersFilled += 1
                if t.net.units > 0 { wins += 1 } else { losses += 1 }
            }
        }
    }

    mutating func add(decisions list: [DecisionLogEntry]) {
        for d in list { decisionCounts["\(d.action).\(d.reason)", default: 0] += 1 }
    }
}

/// Everything a backtest produced.
public struct BacktestResult: Sendable {
    /// Rows handed out before the end (a paper session writes them as they settle); the lists below hold the rest.
    public var settled = SettledRows()
    /// Fills in the whole session, handed out or not.
    public var fillCount: Int { settled.fills + fills.count }
    public var fills: [BacktestFill] = []
    public var trades: [BacktestTrade] = []
    public var decisions: [DecisionLogEntry] = []
    public var layers: [BacktestLayer] = []
    public var frames = 0
    public var firstTime: ExchangeTime?
    public var lastTime: ExchangeTime?
    public var episodesDetected = 0
    public var commandsSent = 0
    public var refusedOnCall = 0
    /// Creates and amends the sequential sender refused unsent: their turn came at or after `live.sendDeadlineMs`.
    public var refusedUnsent = 0
    /// Commands withdrawn unsent (``CascadeCore/SenderLaneRouter``): entry creates whose cancel was decided while they
    /// waited for their turn, and those cancels.
    public var withdrawnUnsent = 0
    /// Calls the sequential sender held for their endpoint's rate-limit window to end (``OrderRateBudget``).
    public var rateLimitWaits = 0
    /// Commands decided and still queued for the sender when the data ended (also in ``commandsInFlightAtEnd``).
    /// Every committed command is sent, refused unsent, withdrawn unsent, or one of these.
    public var commandsQueuedAtEnd = 0
    public var notices: [String: Int] = [:]
    public var journalEntries = 0
    public var journalTransactions = 0
    public var run: UInt64 = 0
    public var engine: TradingEngine.Snapshot?
    /// The engine's wallet and positions against the simulated venue's at the end (they must agree to the unit).
    public var venueWallet = USDT.zero
    public var engineWallet = USDT.zero
    public var venuePositions: [String: Int64] = [:]
    public var enginePositions: [String: Int64] = [:]
    /// Equity at the last marks (nil: an open position without a mark).
    public var finalEquity: USDT?
    public var deposit = USDT.zero
    public var clockOffsetsMs: [Int64?] = []
    public var decodeErrors: [String: Int] = [:]
    public var mode = "normal"
    /// The engine's last alarms (at most 100) and how many it raised (every one is in the journal).
    public var alarms: [String] = []
    public var alarmsRaised = 0
    /// Commands that had not reached the venue when the data ended (never processed).
    public var commandsInFlightAtEnd = 0
    /// Timer ticks that did not move the next wakeup (a stuck deadline; 0 in a correct run).
    public var stuckTicks = 0
    /// The longest time the venue reported a position without a stop (ms; 0: every position carried one at once).
    public var longestUnprotectedMs: Int64 = 0
    /// Quiescent points (nothing in flight, nothing to deliver) at which the engine's positions and wallet were
    /// compared with the venue's, and how many differed (must be 0: both use the same exact ledger rules).
    public var quiescentChecks = 0
    public var quiescentMismatches = 0
    /// The instruments as the recording defined them (what a journal replay needs).
    public var instruments = InstrumentTable()
}

/// Why a backtest did not run.
public struct BacktestError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The event-time driver: recordings (each file's clock moved onto the exchange's) → decoder → FeedState → features
/// and detector → ``Execution/TradingEngine`` ⇄ ``Simulation/SimulatedExchange``, in process.
///
/// Timing (the same rules as `cascade sim`):
/// - frames are replayed in corrected receive order; the venue sees each market event at its exchange time;
/// - a command is decided at the exchange time of the latest event seen (a timer: the later of that and its
///   deadline; a reaction to a report: the later of that and the report's delivery) and reaches the venue after the
///   entry latency;
/// - a venue report reaches the engine at its exchange time plus the acknowledgement latency, before any frame
///   received later;
/// - every step's journal entries are committed before its commands are sent.
public struct BacktestRunner {
    public let paths: [String]
    public let configuration: BacktestConfiguration
    public let journal: any OrderJournal
    /// Called after every committed transaction with the journal (tests check what was committed before a send).
    public var beforeSend: ((VenueCommand) -> Void)?
    /// Called after every committed transaction with the number committed so far and the engine as it stands.
    public var afterCommit: ((Int, TradingEngine) -> Void)?
    /// Called with each frame count; the CLI draws its progress bar from it.
    public var progress: ((Int) -> Void)?

    public init(paths: [String], configuration: BacktestConfiguration, journal: any OrderJournal) {
        self.paths = paths
        self.configuration = configuration
        self.journal = journal
    }

    /// What reaches the engine later: a venue report, or the answer on a call (after the round trip).
    enum Delivery {
        case report(ExecutionReport)
        /// A call's answer, and the sender lane it frees (nil: a batch's answer other than its last, or a command
        /// withdrawn or refused unsent while others of its item went out).
        case call(VenueCommand, CallResult, SenderLane?)
        /// A sender lane's call held for the rate limit (``SenderQueue/held``) leaves: its wait has ended.
        case wake(SenderLane)
    }

    /// One sender lane's queue: its items, each one call (a command, or a batch of entry creates: ``CascadeCore/SenderBatch``).
    struct SenderQueue {
        var items: [[VenueCommand]] = []
        var head = 0
        /// A call is out and its answer not yet delivered (the sequential sender's lane is busy).
        var callOut = false
        /// A call waiting for its endpoint's rate limit (``OrderRateBudget``) and when it leaves: taken from the queue,
        /// its lane busy (`callOut`), as the live client holds a call inside it while it waits.
        var held: (commands: [VenueCommand], departure: Int64)?
        var queuedItems: Int { items.count - head }
        /// Commands queued (an item holds at least one), a held call's included.
        var queued: Int { items[head...].reduce(0) { $0 + $1.count } + (held?.commands.count ?? 0) }
    }

    struct Pending {
        var deliverAt: Int64
        var order: Int
        var item: Delivery
    }

    /// One engine with its own simulated venue and journal. The backtest runs one; the placebo pass copies a flat one
    /// at each candidate time, and every copy sees the same market.
    struct Lane {
        var journal: any OrderJournal
        /// The runner's hooks (progress, beforeSend, afterCommit) watch this lane.
        var hooked: Bool
        var exchange: SimulatedExchange
        var engine: TradingEngine
        var pending: [Pending] = []
        var pendingHead = 0
        var ordinal = 0
        /// Commands decided and not yet sent, one queue per ``CascadeCore/SenderLane`` (the sequential sender sends a
        /// lane's next command when that lane's call before it is answered, as the live node does).
        var outboxes = Array(repeating: SenderQueue(), count: SenderLane.allCases.count)
        var router = SenderLaneRouter()
        /// Bybit's per-endpoint rate limit as the live REST client meets it (the sequential sender only).
        var rateBudget: OrderRateBudget
        /// The data has ended: nothing more leaves (what is still queued is counted as never having reached the venue).
        var sendingStopped = false
        /// Exchange time of the latest market event seen (the venue never runs ahead of it).
        var exchangeClock: Int64 = 0
        /// The engine's clock: never behind anything it has seen (market events, deliveries, ticks).
        var engineClock: Int64 = 0
        var lastTick: Int64 = .min
        var lastReportDelivery: Int64 = .min
        var unprotectedSince: [SymbolID: Int64] = [:]
        /// Ticks that left the next wakeup where it was (a stuck deadline: must stay 0).
        var stuckTicks = 0
        var result = BacktestResult()
        var trades: [UInt64: BacktestTrade] = [:]
        /// Fills handed out by `takeSettled` (the markout queues index the session's fills from its start), and the
        /// highest ladder whose trade row was handed out (rows are handed out in ladder order).
        var fillsDropped = 0
        var settledThrough: UInt64 = 0
        var filledLayerPrices: [UInt64: Set<Price>] = [:]
        var layers: [String: BacktestLayer] = [:]
        /// Entry fills waiting for their markouts, one queue per horizon: (due exchange ms, fill index), in due order.
        var markoutsDue: [[(due: Int64, fill: Int)]] = Array(repeating: [], count: BacktestRunner.markoutSeconds.count)
        var markoutsHead = Array(repeating: 0, count: BacktestRunner.markoutSeconds.count)

        /// Nothing in flight, nothing to deliver, no ladder, no position: the lane would stay as it is without input.
        var isIdle: Bool {
            pendingHead == pending.count && outboxes.allSatisfy { $0.queuedItems == 0 && $0.held == nil } && exchange.commandsInFlight.isEmpty && engine.activeLadder.isEmpty
                && engine.portfolio.ledgers.values.allSatisfy { $0.size == 0 }
        }
    }

    /// Markout horizons of entry fills (s).
    static let markoutSeconds: [Int64] = [1, 5, 30, 60]

    /// Fills whose horizons have passed get the mid of now (the first market event at or after the horizon).
    func markouts(_ lane: inout Lane, _ market: Market) {
        for h in Self.markoutSeconds.indices {
            while lane.markoutsHead[h] < lane.markoutsDue[h].count, lane.markoutsDue[h][lane.markoutsHead[h]].due <= lane.exchangeClock {
                let index = lane.markoutsDue[h][lane.markoutsHead[h]].fill - lane.fillsDropped
                lane.markoutsHead[h] += 1
                if lane.markoutsHead[h] > 256, lane.markoutsHead[h] * 2 > lane.markoutsDue[h].count {
                    lane.markoutsDue[h].removeFirst(lane.markoutsHead[h])
                    lane.markoutsHead[h] = 0
                }
                let fill = lane.result.fills[index]
                guard let id = market.instruments.lookup(fill.symbol), let book = market.feed.deepestBook(id, syncedOnly: true),
                      let bid = book.bestBid, let ask = book.bestAsk, fill.price.units > 0 else { continue }
                let mid2 = Int128(bid.price.units) + Int128(ask.price.units)
                let twice = 2 * Int128(fill.price.units)
                let move = fill.side == .buy ? mid2 - twice : twice - mid2
                lane.result.fills[index].markouts[h] = Int64(move * 1_000_000 / twice)
            }
        }
    }

    /// The market every lane sees at one moment.
    struct Market {
        var feed: FeedState
        var instruments: InstrumentTable
        init(_ replay: FeatureReplay) {
            feed = replay.feed
            instruments = replay.decoder.instruments
        }
    }

    /// The data opened and checked, with a lane that has not started yet.
    struct Opened {
        var replayer: Replayer
        var replay: FeatureReplay
        var lane: Lane
    }

    func open(journal: any OrderJournal, hooked: Bool) throws -> Opened {
        var options = ReplayOptions()
        let offsets: [Int64?]
        do { offsets = try ClockOffset.perSource(paths: paths) } catch { throw BacktestError("\(error)") }
        options.clockCorrections = offsets.map { $0 ?? 0 }
        let replayer: Replayer
        do { replayer = try Replayer(paths: paths, options: options) } catch { throw BacktestError("\(error)") }
        let topics: [String: Int]
        do { topics = try FrameInventory.topics(paths: paths) } catch { throw BacktestError("\(error)") }
        var (replay, lane) = try prepare(topics: Set(topics.keys), journal: journal, hooked: hooked)
        lane.result.clockOffsetsMs = offsets.map { $0.map { $0 / 1_000_000 } }
        return Opened(replayer: replayer, replay: replay, lane: lane)
    }

    /// A flat lane and the feature replay for data carrying `topics`, checked against the configuration.
    func prepare(topics: Set<String>, journal: any OrderJournal, hooked: Bool) throws -> (FeatureReplay, Lane) {
        // The venue matches on the deepest book each symbol's data carries, named up front as `cascade sim` does
        // (the engine reads the deepest synced book too); symbols are registered in topic-name order.
        var instruments = InstrumentTable()
        var venue = configuration.venue
        for name in topics.sorted() {
            guard case let .orderBook(depth, symbol)? = BybitTopic(name) else { continue }
            let id = instruments.id(for: symbol)
            venue.matchingDepths[id] = max(venue.matchingDepths[id] ?? 0, depth)
        }
        var lane = Lane(journal: journal, hooked: hooked, exchange: SimulatedExchange(deposit: configuration.deposit, settings: venue),
                        engine: TradingEngine(configuration: configuration.engine),
                        rateBudget: OrderRateBudget(limit: configuration.sender == .sequential ? configuration.orderRateLimitPerSecond : 0))
        lane.result.deposit = configuration.deposit
        let hasTickers = topics.contains(where: { $0.hasPrefix("tickers.") })
        if configuration.requireFundingData, !hasTickers {
            // Funding and marks come from tickers: without them a position would carry no funding, silently.
            throw BacktestError("the data has no tickers topic: funding and mark prices cannot be simulated (set venue.requireFundingData to false to run without them; no position can then be sized, since equity needs a mark)")
        }
        if configuration.engine.stopTrigger != .lastPrice, !hasTickers {
            // A mark or index trigger needs tickers in the data; refused rather than silently replaced by LastPrice.
            throw BacktestError("stopTrigger \(configuration.engine.stopTrigger) needs tickers in the data; none of the files has a tickers topic")
        }
        do {
            // A backtest's venue lives in this process: continuing an old journal would pair it with a fresh venue.
            let existing = try journal.entries()
            if !existing.isEmpty {
                throw BacktestError("the journal already holds \(existing.count) entries: a backtest starts on an empty journal")
            }
            lane.result.run = try journal.nextRun()
        } catch let error as BacktestError {
            throw error
        } catch { throw BacktestError("journal: \(error)") }
        var replay = FeatureReplay(configuration: configuration.features, instruments: instruments)
        replay.keepsEpisodes = false   // the lane reads the detector's changes, never the episode log
        return (replay, lane)
    }

    public func run() throws -> BacktestResult {
        var opened = try open(journal: journal, hooked: true)
        var session = Session(runner: self, replay: opened.replay, lane: opened.lane)
        while let frame = try nextFrame(&opened.replayer) {
            try session.ingest(frame.bytes, at: frame.localTime)
        }
        return try session.finish()
    }

    /// A session over frames pushed one at a time, in receive order: `run()` pushes a recording's, the paper node the
    /// live feed's (the lines it records), so paper and backtest apply the same rules to the same input.
    public func session(topics: Set<String>) throws -> Session {
        let (replay, lane) = try prepare(topics: topics, journal: journal, hooked: true)
        return Session(runner: self, replay: replay, lane: lane)
    }

    /// One lane fed frame by frame (see ``session(topics:)``).
    public struct Session {
        let runner: BacktestRunner
        var replay: FeatureReplay
        var lane: Lane
        var started = false
        var lastSecond: Int64 = .min
        /// Receive time (ms) of the latest frame or idle call.
        public private(set) var lastTime: Int64 = .min

        /// The engine as it stands.
        public var engine: TradingEngine { lane.engine }
        /// What the session has counted so far (trades and layers are filled in by ``finish()``).
        public var result: BacktestResult { lane.result }

        /// One frame (a recorded line: the frame's JSON) received at `localTime`.
        public mutating func ingest(_ bytes: [UInt8], at localTime: LocalTime) throws {
            let t = localTime.nanoseconds / 1_000_000
            lastTime = max(lastTime, t)
            if !started {
                started = true
                try runner.start(&lane, at: t, BacktestRunner.Market(replay))
            }
            try runner.deliver(upTo: t, &lane, BacktestRunner.Market(replay))
            // As the live trader ingests: the detector first, the rest of the feature state after the steps.
            let ingested = replay.ingest(bytes, at: localTime, detectorsFirst: true)
            lane.result.frames += 1
            if lane.result.frames % 65_536 == 0 { runner.progress?(lane.result.frames) }
            let market = BacktestRunner.Market(replay)
            try runner.market(ingested, &lane, market)
            runner.markouts(&lane, market)
            for change in ingested.detector { try runner.detector(change, &lane, market) }
            replay.completeDeferred()
            try second(localTime)
        }

        /// No frame until `localTime` (a quiet or disconnected feed): deliveries and timers due by then happen, and
        /// the once-a-second detector advance and heartbeat run, as they would on a frame at that time.
        public mutating func idle(until localTime: LocalTime) throws {
            let t = localTime.nanoseconds / 1_000_000
            guard started, t > lastTime else { return }
            lastTime = t
            try runner.deliver(upTo: t, &lane, BacktestRunner.Market(replay))
            try second(localTime)
        }

        /// Episode ends are stamped at their deadlines: the detector is advanced once a second of receive time, and
        /// loss limits are checked at the marks of the moment even when nothing else happens.
        mutating func second(_ localTime: LocalTime) throws {
            let t = localTime.nanoseconds / 1_000_000
            guard t / 1_000 != lastSecond else { return }
            lastSecond = t / 1_000
            for change in replay.advance(to: localTime.nanoseconds) { try runner.detector(change, &lane, BacktestRunner.Market(replay)) }
            try runner.step(.heartbeat, &lane, BacktestRunner.Market(replay))
        }

        /// Rows that can no longer change, handed out and dropped from memory (a paper node writes them as they come;
        /// a backtest keeps everything for its report): every decision; the fills before the oldest one still waiting
        /// for a markout; and, in ladder order, the trades of ladders ended `holdMilliseconds` ago (exchange time of
        /// their last fill, or of their opening), with their layer records. A fill heard after its trade row was
        /// handed out is still in `fills.csv` and the totals, not in its trade row: the hold makes that a fill more
        /// than an hour late. Their totals stay in ``BacktestResult/settled``.
        public mutating func takeSettled(holdMilliseconds: Int64 = 3_600_000) -> (decisions: [DecisionLogEntry], fills: [BacktestFill], trades: [BacktestTrade]) {
            var settled = lane.result.settled
            let decisions = lane.result.decisions
            lane.result.decisions = []
            settled.add(decisions: decisions)

            var keep = lane.result.fills.count
            for h in lane.markoutsDue.indices where lane.markoutsHead[h] < lane.markoutsDue[h].count {
                keep = min(keep, lane.markoutsDue[h][lane.markoutsHead[h]].fill - lane.fillsDropped)
            }
            let fills = Array(lane.result.fills.prefix(keep))
            lane.result.fills.removeFirst(keep)
            lane.fillsDropped += keep
            settled.add(fills: fills)

            var trades: [BacktestTrade] = []
            let engine = lane.engine
            let active = Set(engine.activeLadder.values)
            for number in lane.trades.keys.sorted() {
                guard let trade = lane.trades[number], !active.contains(number), engine.ladders[number]?.closed != false,
                      (trade.lastFill ?? trade.opened).milliseconds < lane.exchangeClock - holdMilliseconds else { break }
                trades.append(trade)
                lane.trades[number] = nil
                lane.settledThrough = max(lane.settledThrough, number)
                lane.filledLayerPrices[number] = nil
            }
            settled.add(trades: trades)
            if !trades.isEmpty {
                let numbers = Set(trades.map(\.ladder))
                lane.layers = lane.layers.filter { !numbers.contains($0.value.ladder) }
            }
            lane.result.settled = settled
            return (decisions, fills, trades)
        }

        /// Closes the lane's journal (a node that has stopped; the result stays readable).
        public func closeJournal() throws(JournalError) { try lane.journal.close() }

        /// End of data: what is in flight is settled as ``BacktestRunner/end(_:_:)`` says, and the result is complete.
        public mutating func finish() throws -> BacktestResult {
            try runner.end(&lane, BacktestRunner.Market(replay))
            runner.finish(&lane, replay)
            runner.progress?(lane.result.frames)
            return lane.result
        }
    }

    func start(_ lane: inout Lane, at t: Int64, _ market: Market) throws {
        let step = lane.engine.start(run: lane.result.run, startingBalance: configuration.deposit, at: ExchangeTime(milliseconds: t),
                                     instruments: market.instruments)
        try execute(step, &lane)
    }

    /// End of data: what has reached the venue by the last event is processed and reported; commands arriving later
    /// are counted, not matched against a book frozen at the end; no funding past the data is settled.
    func end(_ lane: inout Lane, _ market: Market) throws {
        // Answers still travelling are delivered, but nothing more is sent after the data: a queued command would
        // otherwise leave at a time the recording does not cover.
        lane.sendingStopped = true
        try deliver(upTo: .max, &lane, market, timers: false)
        lane.result.commandsQueuedAtEnd = lane.outboxes.reduce(0) { $0 + $1.queued }
        lane.result.commandsInFlightAtEnd = lane.exchange.commandsInFlight.count + lane.result.commandsQueuedAtEnd
        lane.result.stuckTicks = lane.stuckTicks
        if let open = lane.unprotectedSince.values.min() {
            lane.result.longestUnprotectedMs = max(lane.result.longestUnprotectedMs, lane.exchangeClock - open)
        }
    }

    func nextFrame(_ replayer: inout Replayer) throws -> (bytes: [UInt8], localTime: LocalTime)? {
        do {
            guard let frame = try replayer.next() else { return nil }
            return (frame.bytes, frame.localTime)
        } catch { throw BacktestError("\(error)") }
    }

    // MARK: - Steps

    /// A market event reaches the lane's venue (at its exchange time) and, for liquidations, its engine.
    func market(_ ingested: FeatureReplay.Ingested, _ lane: inout Lane, _ market: Market) throws {
        var reports: [ExecutionReport] = []
        if case let .event(event)? = ingested.input {
            if let time = event.exchangeTime {
                lane.exchangeClock = max(lane.exchangeClock, time.milliseconds)
                lane.engineClock = max(lane.engineClock, lane.exchangeClock)
                lane.result.firstTime = lane.result.firstTime ?? time
                lane.result.lastTime = ExchangeTime(milliseconds: lane.exchangeClock)
            }
            if !ingested.change.isSteady {
                reports += lane.exchange.feedChanged(ingested.change, at: ExchangeTime(milliseconds: lane.exchangeClock))
            }
            if let symbol = event.symbol { reports += lane.exchange.on(event, instrument: market.instruments[symbol]) }
            enqueue(reports, &lane)
            if case let .liquidations(list) = event {
                for liquidation in list { try step(.liquidation(liquidation), &lane, market) }
            }
        } else if !ingested.change.isSteady {
            enqueue(lane.exchange.feedChanged(ingested.change, at: ExchangeTime(milliseconds: lane.exchangeClock)), &lane)
        }
    }

    func detector(_ change: DetectorChange, _ lane: inout Lane, _ market: Market) throws {
        if case .started = change { lane.result.episodesDetected += 1 }
        try step(.detector(change), &lane, market)
    }

    /// Reports reach the engine at their time plus the acknowledgement latency, call answers after the round trip,
    /// in that order; timers fire between. The venue first processes the commands that have arrived by then, but
    /// never beyond the latest market event seen: a later event may still be stamped before an arrival.
    func deliver(upTo t: Int64, _ lane: inout Lane, _ market: Market, timers: Bool = true) throws {
        while true {
            var nextDelivery = lane.pendingHead < lane.pending.count ? lane.pending[lane.pendingHead].deliverAt : nil
            let wake = timers ? lane.engine.nextWakeup?.milliseconds : nil
            if !lane.exchange.commandsInFlight.isEmpty {
                // Only a deadline that will be ticked bounds the venue (one already ticked never will be again).
                let liveWake = wake.flatMap { $0 == lane.lastTick ? nil : $0 }
                let horizon = min(lane.exchangeClock, nextDelivery ?? .max, liveWake ?? .max)
                enqueue(lane.exchange.advance(to: ExchangeTime(milliseconds: horizon), settlingFunding: false), &lane)
                nextDelivery = lane.pendingHead < lane.pending.count ? lane.pending[lane.pendingHead].deliverAt : nil
            }
            if let wake, wake <= t, wake != lane.lastTick, nextDelivery.map({ wake < $0 }) ?? true {
                // A deadline a tick did not clear is counted (stuckTicks) and not ticked again.
                lane.lastTick = wake
                try step(.tick, &lane, market, now: max(lane.engineClock, wake))
                if lane.engine.nextWakeup?.milliseconds == wake { lane.stuckTicks += 1 }
                continue
            }
            guard let due = nextDelivery, due <= t else {
                quiescentCheck(&lane)
                return
            }
            let pending = lane.pending[lane.pendingHead]
            lane.pendingHead += 1
            // Delivered items are dropped in batches of a few dozen (amortised O(1)); a larger batch only made the
            // queue of a long paper session hold thousands of delivered reports.
            if lane.pendingHead > 32, lane.pendingHead * 2 > lane.pending.count {
                lane.pending.removeFirst(lane.pendingHead)
                lane.pendingHead = 0
            }
            switch pending.item {
            case let .report(report):
                if report.event.isNotice {
                    lane.result.notices[noticeName(report.event), default: 0] += 1
                    continue
                }
                record(report, &lane, market)
                try step(.report(report), &lane, market, now: max(lane.engineClock, pending.deliverAt))
            case let .call(command, result, sender):
                lane.router.answered(command)
                try step(.call(command, result), &lane, market, now: max(lane.engineClock, pending.deliverAt))
                // The answer frees its sender lane: the next command leaves once the engine has taken it (at the
                // engine's clock, which may be past the delivery), after whatever this answer decided.
                if let sender {
                    lane.outboxes[sender.rawValue].callOut = false
                    dispatch(&lane, at: lane.engineClock)
                }
            case let .wake(sender):
                // The held call leaves at the end of its wait, as the live client sends it (withdrawn or stale checks
                // are not made again: the client does not look at the engine while it waits). Nothing leaves after
                // the data: it is then counted as queued.
                if let held = lane.outboxes[sender.rawValue].held, !lane.sendingStopped {
                    lane.outboxes[sender.rawValue].held = nil
                    transmit(held.commands, in: sender, &lane, leaving: held.departure)
                }
            }
        }
    }

    /// At a quiescent point the engine has heard everything the venue did: positions and wallet must be equal.
    func quiescentCheck(_ lane: inout Lane) {
        guard lane.pendingHead == lane.pending.count, lane.exchange.commandsInFlight.isEmpty else { return }
        lane.result.quiescentChecks += 1
        var venueWallet = lane.exchange.deposit
        var equal = true
        for id in lane.exchange.symbols.keys {
            let ledger = lane.exchange.symbols[venue: id].ledger
            venueWallet = venueWallet + ledger.walletContribution
            let mine = lane.engine.portfolio.ledgers[id]
            if (mine?.size ?? 0) != ledger.size || (mine?.entryValue ?? .zero) != ledger.entryValue { equal = false }
        }
        if venueWallet != lane.engine.portfolio.wallet { equal = false }
        if !equal { lane.result.quiescentMismatches += 1 }
    }

    func noticeName(_ event: ExecutionReport.Event) -> String {
        switch event {
        case let .matchingSuspended(reason): "matchingSuspended: \(reason)"
        case .matchingResumed: "matchingResumed"
        case let .fundingNotSimulated(reason): "fundingNotSimulated: \(reason)"
        default: "other"
        }
    }

    /// The private stream is one connection: its reports arrive in the order the venue sent them, one
    /// acknowledgement delay drawn per batch, never before an earlier report.
    func enqueue(_ reports: [ExecutionReport], _ lane: inout Lane) {
        guard !reports.isEmpty else { return }
        let ack = lane.exchange.acknowledgementDelay()
        for report in reports {
            let deliverAt = max(report.time.milliseconds + ack, lane.lastReportDelivery)
            lane.lastReportDelivery = deliverAt
            insert(Pending(deliverAt: deliverAt, order: 0, item: .report(report)), &lane)
        }
    }

    /// Queues a delivery, sorted by time, first in first out among equals (inserted from the back: times rarely go back).
    func insert(_ item: Pending, _ lane: inout Lane) {
        var item = item
        lane.ordinal += 1
        item.order = lane.ordinal
        var index = lane.pending.count
        while index > lane.pendingHead, lane.pending[index - 1].deliverAt > item.deliverAt { index -= 1 }
        lane.pending.insert(item, at: index)
    }

    /// One engine input: its entries committed, then its commands sent, each call's answer fed back the same way.
    func step(_ input: EngineInput, _ lane: inout Lane, _ market: Market, now: Int64? = nil) throws {
        lane.engineClock = max(lane.engineClock, now ?? lane.engineClock)
        let at = ExchangeTime(milliseconds: lane.engineClock)
        let step = lane.engine.handle(input, feed: market.feed, instruments: market.instruments, now: at)
        try execute(step, &lane)
    }

    func execute(_ step: EngineStep, _ lane: inout Lane) throws {
        guard !step.entries.isEmpty else { return }
        do { try lane.journal.commit(step.entries) } catch { throw BacktestError("journal: \(error)") }
        lane.result.journalEntries += step.entries.count
        lane.result.journalTransactions += 1
        if lane.hooked { afterCommit?(lane.result.journalTransactions, lane.engine) }
        lane.result.decisions.append(contentsOf: step.log)
        noteTrades(step, &lane)
        let tracker = lane.engine.tracker
        for item in lane.router.items(step.commands, amendsReduceOnly: tracker.amendsReduceOnlyOrder,
                                      batching: configuration.live.batchEntries && configuration.sender == .sequential) {
            lane.outboxes[item.lane.rawValue].items.append(item.commands)
        }
        dispatch(&lane, at: lane.engineClock)     // the step's commands were decided at the engine's clock
    }

    /// Sends what the sender may send at `t`: with the sequential sender (``BacktestConfiguration/CommandSender``),
    /// each ``CascadeCore/SenderLane``'s next queued item (a command, or a batch of entry creates) when no call of that
    /// lane is out (the entry lane's first, then the protective lane's); with the concurrent one, every queued item. The answer on a call reaches the
    /// engine after the round trip: at the venue's arrival (success) or after the longest entry latency (a refusal is
    /// decided at the gateway), plus the acknowledgement.
    func dispatch(_ lane: inout Lane, at t: Int64) {
        let sequential = configuration.sender == .sequential
        for sender in SenderLane.allCases {
            let i = sender.rawValue
            while lane.outboxes[i].queuedItems > 0, !(sequential && lane.outboxes[i].callOut), !lane.sendingStopped {
                let item = lane.outboxes[i].items[lane.outboxes[i].head]
                lane.outboxes[i].head += 1
                if lane.outboxes[i].queuedItems == 0 {
                    lane.outboxes[i].items.removeAll(keepingCapacity: true)
                    lane.outboxes[i].head = 0
                }
                lane.outboxes[i].callOut = true
                send(item, in: sender, &lane, at: t, sequential: sequential)
            }
        }
    }

    /// Sends one item of a lane (a command, or a batch of entry creates) at `t`. Commands withdrawn or stale are answered
    /// at once, unsent; the rest go in one call, whose answers come back together, the last freeing the lane. A call
    /// its endpoint's rate limit holds back waits in its lane until it may leave (``SenderQueue/held``), or is refused
    /// unsent at once when it would be past its send deadline by then, as the live REST client refuses it.
    func send(_ item: [VenueCommand], in sender: SenderLane, _ lane: inout Lane, at t: Int64, sequential: Bool) {
        // As the live node's sender: an entry whose cancel was decided while it waited, and that cancel, are answered at
        // once without reaching the venue; and as its REST client, a create or amend whose turn comes past its send
        // deadline is refused unsent, answered at once.
        let tracker = lane.engine.tracker
        let deadline = configuration.live.sendDeadlineMilliseconds
        var (unsent, outgoing) = lane.router.partition(item, cancelDecided: tracker.cancelDecided) { command in
            sequential && Self.isStale(command, leavingAt: max(t, command.decidedAt.milliseconds), deadline: deadline)
        }
        // When the call would leave: now, or (held) when its endpoint's rate limit lets it.
        var leaves = outgoing.first.map { max(t, $0.decidedAt.milliseconds) }
        if let earliest = leaves, case let departure = lane.rateBudget.departure(outgoing, at: earliest), departure > earliest {
            leaves = nil
            // The live client refuses the whole call at once when its wait would end past the deadline (the commands
            // of a call that can be stale share their decision; a wait that ends on the deadline exactly is sent);
            // a call that takes risk off is never stale.
            if outgoing.allSatisfy({ Self.isStale($0, leavingAt: departure - 1, deadline: deadline) }) {
                unsent += outgoing.map { ($0, Rejection.staleUnsent) }
                outgoing = []
            } else {
                lane.outboxes[sender.rawValue].held = (outgoing, departure)
                lane.result.rateLimitWaits += 1
                insert(Pending(deliverAt: departure, order: 0, item: .wake(sender)), &lane)
            }
        }
        for (n, (command, rejection)) in unsent.enumerated() {
            if rejection.reason == .withdrawnUnsent { lane.result.withdrawnUnsent += 1 } else { lane.result.refusedUnsent += 1 }
            let frees = outgoing.isEmpty && n == unsent.count - 1
            insert(Pending(deliverAt: max(t, command.decidedAt.milliseconds), order: 0,
                           item: .call(command, .refused(rejection), frees ? sender : nil)), &lane)
        }
        if let leaves { transmit(outgoing, in: sender, &lane, leaving: leaves) }
    }

    /// Puts one call of `outgoing` on the wire at `leaves`: its answers come back together, the last freeing the lane.
    func transmit(_ outgoing: [VenueCommand], in sender: SenderLane, _ lane: inout Lane, leaving leaves: Int64) {
        guard let first = outgoing.first else { return }
        if lane.hooked { for command in outgoing { beforeSend?(command) } }
        lane.result.commandsSent += outgoing.count
        let ack = lane.exchange.acknowledgementDelay()
        let results = outgoing.count == 1 ? [lane.exchange.send(first, leavingAt: ExchangeTime(milliseconds: leaves))]
            : lane.exchange.send(batch: outgoing, leavingAt: ExchangeTime(milliseconds: leaves))
        // One call, one answer: a batch's items are answered together, in one response once its accepted orders have
        // arrived (the refusal timing, the longest entry latency, only when none was accepted).
        let answers = results.map { result -> CallResult in
            switch result {
            case let .success(receipt): return .sent(receipt.venueID)
            case let .failure(rejection):
                lane.result.refusedOnCall += 1
                return .refused(rejection)
            }
        }
        let deliverAt = Self.answerTime(results, leaves: leaves, maxEntryLatency: maxEntryLatency, ack: ack)
        lane.rateBudget.spend(outgoing, at: leaves, answeredAt: deliverAt)
        for (n, (command, answer)) in zip(outgoing, answers).enumerated() {
            insert(Pending(deliverAt: deliverAt, order: 0, item: .call(command, answer, n == outgoing.count - 1 ? sender : nil)), &lane)
        }
    }

    /// When a call's answer reaches the engine: once its accepted orders have arrived at the venue, plus the
    /// acknowledgement; when none was accepted (refused on the call: decided at the gateway), after the longest entry
    /// latency from when it left. A batch's orders are answered together, in one response.
    static func answerTime(_ results: [Result<SimulatedExchange.Receipt, Rejection>], leaves: Int64, maxEntryLatency: Int64,
                           ack: Int64) -> Int64 {
        let arrivals = results.compactMap { try? $0.get().arrival.milliseconds }
        return (arrivals.max() ?? leaves + maxEntryLatency) + ack
    }

    /// A create (not reduce-only) or an amend whose turn comes at or after the send deadline: the live node's REST
    /// client refuses it unsent (`now >= decidedAt + sendDeadline`: a stale order must not reach the book at the
    /// decision's prices). Taking risk off (cancels, reduce-only orders, trading stops) and leverage are never stale.
    public static func isStale(_ command: VenueCommand, leavingAt t: Int64, deadline: Int64) -> Bool {
        guard t >= command.decidedAt.milliseconds + deadline else { return false }
        switch command.action {
        case .submit, .amend: return !command.action.reducesRisk
        case .cancel, .cancelAll, .setTradingStop, .setLeverage: return false
        }
    }

    /// The longest entry latency the venue can draw (ms).
    var maxEntryLatency: Int64 {
        switch configuration.venue.entryLatency {
        case let .constant(ms): max(ms, 1)
        case let .sampled(samples, _): max(samples.max() ?? 1, 1)
        }
    }

    // MARK: - Trade list

    func noteTrades(_ step: EngineStep, _ lane: inout Lane) {
        for case let .decision(decision) in step.entries {
            for ladder in decision.ladders {
                // A ladder reopened after its row was handed out (a fill after it closed) gets no second row.
                if lane.trades[ladder.number] == nil, ladder.number > lane.settledThrough {
                    lane.trades[ladder.number] = BacktestTrade(ladder: ladder.number, episode: ladder.episodeID, symbol: ladder.symbol,
                                                               side: ladder.side, opened: ladder.opened, layersPlaced: 0, layersFilled: 0)
                }
                lane.trades[ladder.number]?.layersPlaced = ladder.entries.count
            }
            for intent in decision.intents where intent.id.role == .entry {
                guard let ladder = decision.ladders.first(where: { $0.number == intent.ladder }), let price = intent.spec.price,
                      ladder.lastDecisionMid2 > 0 else { continue }
                let mid2 = Int128(ladder.lastDecisionMid2)
                let offset = Int((abs(2 * Int128(price.units) - mid2) * 10_000 * 2 + mid2) / (2 * mid2))
                lane.layers[intent.linkID] = BacktestLayer(linkID: intent.linkID, ladder: intent.ladder, symbol: intent.symbol,
                                                           side: intent.spec.side, price: price, offsetBps: offset, decidedAt: decision.time)
            }
        }
    }

    /// Attributes a report's money to its ladder (before the engine applies it: the ladder is still the active one).
    func record(_ report: ExecutionReport, _ lane: inout Lane, _ market: Market) {
        guard let id = report.symbol else { return }
        let instruments = market.instruments
        let symbol = instruments[id].symbol
        let ladderNumber = lane.engine.activeLadder[symbol]
        switch report.event {
        case let .filled(fill):
            // Counted once, as the engine counts it (it applies the report next).
            guard !lane.engine.tracker.hasExecution(fill.executionID) else { return }
            let linkID = fill.clientID.flatMap { try? OrderLinkID(parsing: $0.rawValue) }
            let number = linkID.map(\.episode) ?? ladderNumber
            let fillRole = role(of: fill, lane)
            var ledger = lane.engine.portfolio.ledgers[id] ?? PositionLedger(instrument: instruments[id])
            let outcome = ledger.apply(side: fill.side, price: fill.price, qty: fill.qty, fee: fill.fee ?? .zero, at: report.time)
            lane.result.fills.append(BacktestFill(time: report.time, symbol: symbol, ladder: number,
                                                  episode: number.flatMap { lane.trades[$0]?.episode }, role: fillRole, side: fill.side,
                                                  price: fill.price, qty: fill.qty, liquidity: fill.liquidity, fee: fill.fee ?? .zero,
                                                  closedPnl: outcome.closedPnl))
            if linkID?.role == .entry {
                lane.result.fills[lane.result.fills.count - 1].markouts = Array(repeating: nil, count: Self.markoutSeconds.count)
                for (h, seconds) in Self.markoutSeconds.enumerated() {
                    lane.markoutsDue[h].append((report.time.milliseconds + seconds * 1_000, lane.fillsDropped + lane.result.fills.count - 1))
                }
                if let key = fill.clientID?.rawValue, var layer = lane.layers[key] {
                    layer.firstFill = layer.firstFill ?? report.time
                    layer.filledQty = layer.filledQty + fill.qty
                    layer.outcome = "filled"
                    lane.layers[key] = layer
                }
            }
            guard let number, var trade = lane.trades[number] else { return }
            let value = instruments[id].notional(price: fill.price, qty: fill.qty) ?? .zero
            if fill.side == trade.side {
                trade.entryQty = trade.entryQty + fill.qty
                trade.entryValue = trade.entryValue + value
                if linkID?.role == .entry {
                    // Layers are counted by price (one layer, one price), without rescanning the fills.
                    lane.filledLayerPrices[number, default: []].insert(fill.price)
                    trade.layersFilled = lane.filledLayerPrices[number]!.count
                }
            } else {
                trade.exitQty = trade.exitQty + fill.qty
                trade.exitValue = trade.exitValue + value
                trade.exitReason = fillRole
            }
            trade.firstFill = trade.firstFill ?? report.time
            trade.lastFill = report.time
            trade.pricePnl = trade.pricePnl + outcome.closedPnl
            trade.fees = trade.fees + (fill.fee ?? .zero)
            lane.trades[number] = trade
        case let .accepted(accepted):
            if let key = accepted.clientID?.rawValue, lane.layers[key] != nil {
                lane.layers[key]!.acceptedAt = lane.layers[key]!.acceptedAt ?? report.time
                lane.layers[key]!.queueAhead = lane.layers[key]!.queueAhead ?? accepted.queueAhead
            }
        case let .cancelled(cancelled):
            if let key = cancelled.clientID?.rawValue, var layer = lane.layers[key] {
                if cancelled.cancellation.reason == .postOnlyWouldTakeLiquidity { layer.outcome = "postOnlyRejected" }
                else { layer.outcome = layer.filledQty.units > 0 ? "partial" : "cancelled" }
                lane.layers[key] = layer
            }
        case let .rejected(rejected):
            if let key = rejected.clientID?.rawValue, lane.layers[key] != nil { lane.layers[key]!.outcome = "rejected" }
        case let .position(p):
            // How long the venue held a position without a stop (measured on the venue's own reports).
            if p.size.units != 0 && p.stopLoss == nil {
                lane.unprotectedSince[id] = lane.unprotectedSince[id] ?? report.time.milliseconds
            } else if let since = lane.unprotectedSince.removeValue(forKey: id) {
                lane.result.longestUnprotectedMs = max(lane.result.longestUnprotectedMs, report.time.milliseconds - since)
            }
        case let .funding(payment):
            guard let number = ladderNumber else { return }
            if var trade = lane.trades[number] {
                trade.funding = trade.funding + payment.amount
                lane.trades[number] = trade
            } else if number <= lane.settledThrough {
                // Its row is already out: the totals still pay it (net must never leave a cost out).
                lane.result.settled.funding = lane.result.settled.funding + payment.amount
            }
        default:
            break
        }
    }

    func role(of fill: Fill, _ lane: Lane) -> String {
        if let id = fill.clientID, let link = try? OrderLinkID(parsing: id.rawValue) { return Self.roleName(link.role) }
        if let origin = lane.engine.legOrigins[fill.venueID] { return "\(origin)" }
        return "venue"
    }

    /// The name of an order's role in the outputs (the orderLinkId carries one letter).
    static func roleName(_ role: OrderRole) -> String {
        switch role {
        case .entry: "entry"
        case .takeProfit: "takeProfit"
        case .timeExit: "timeExit"
        case .protect: "protect"
        }
    }

    /// Marks from the latest tickers (equity needs them).
    static func marks(_ feed: FeedState) -> [SymbolID: Price] {
        var marks: [SymbolID: Price] = [:]
        for (id, ticker) in feed.tickers { if let mark = ticker.fields.markPrice { marks[id] = mark } }
        return marks
    }

    func finish(_ lane: inout Lane, _ replay: FeatureReplay) {
        let instruments = replay.decoder.instruments
        lane.result.trades = lane.trades.keys.sorted().map { lane.trades[$0]! }
        lane.result.layers = lane.layers.values.sorted { ($0.decidedAt.milliseconds, $0.linkID) < ($1.decidedAt.milliseconds, $1.linkID) }
        lane.result.engine = lane.engine.snapshot
        lane.result.engineWallet = lane.engine.portfolio.wallet
        var venueWallet = lane.exchange.deposit
        for id in lane.exchange.symbols.keys.sorted() {
            let ledger = lane.exchange.symbols[venue: id].ledger
            venueWallet = venueWallet + ledger.walletContribution
            if ledger.size != 0 { lane.result.venuePositions[instruments[id].symbol] = ledger.size }
        }
        lane.result.venueWallet = venueWallet
        for (id, ledger) in lane.engine.portfolio.ledgers where ledger.size != 0 {
            lane.result.enginePositions[instruments[id].symbol] = ledger.size
        }
        lane.result.finalEquity = lane.engine.portfolio.equity(marks: Self.marks(replay.feed))
        lane.result.decodeErrors = replay.decodeErrors
        lane.result.mode = lane.engine.risk.memory.mode.rawValue
        lane.result.alarms = lane.engine.alarms
        lane.result.alarmsRaised = lane.engine.alarmsRaised
        lane.result.instruments = instruments
    }
}
