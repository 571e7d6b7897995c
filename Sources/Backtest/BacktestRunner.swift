public import CascadeCore
public import Execution
import FeatureReplay
import Features
import MarketData
import Recording
import Simulation
import BybitV5

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
}
