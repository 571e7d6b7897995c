public import CascadeCore
import Execution
import FeatureReplay
import Features
import MarketData
import Simulation

/// How the placebo pass samples the data (docs/backtest.md, "Placebos").
public struct PlaceboSettings: Sendable, Hashable {
    /// Seeded draws per placebo.
    public var draws = 200
    /// Seeds every draw and the bootstrap: same data, same seed, same report.
    public var seed: UInt64 = 1
    /// Candidate entry times for the time placebos: one per symbol every this long of exchange time.
    public var gridMilliseconds: Int64 = 60_000
    /// A candidate this close to a real episode's start of the same symbol (either way) is not a "non-episode" time.
    public var exclusionMilliseconds: Int64 = 600_000
    /// Volatility at a time: the mid's path length over this many one-second samples before it, in bps.
    public var volatilitySeconds = 300
    /// A matched-time draw picks among this many candidates nearest in volatility to the real episode.
    public var neighbours = 10
    /// Block-bootstrap resamples of the strategy's mean.
    public var bootstrapResamples = 1_000
    /// One-sided significance, bps (500: 5%).
    public var significanceBps = 500
    public init() {}
}

/// One episode traded in isolation: a fresh engine and venue, flat, at a real episode's start or a candidate time.
public struct ProbeOutcome: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// At a real episode's start, with its side or the opposite one.
        case episode
        /// At a grid time, with either side.
        case grid
    }
    public var kind: Kind
    /// The real episode's number (from 0, in order of start) or the grid slot (exchange time / grid).
    public var index: Int
    public var symbol: String
    /// Exchange time the episode reached the engine (ms).
    public var time: Int64
    /// The liquidated side the engine was told.
    public var liquidated: PositionSide
    /// For `.episode`: the side the detector saw (false: the flipped placebo).
    public var realSide: Bool
    /// The mid's path length over the volatility window before `time` (bps; nil without enough samples).
    public var volatilityBps: Int64?
    /// Equity change of the probe: fills, fees and funding; a position still open when the data ended (or the probe's
    /// life ran out) is valued as closed at the touch with the taker fee, never at the mark.
    public var net: USDT
    public var fees: USDT
    public var funding: USDT
    public var fills: Int
    /// The engine's decision on the episode: `enter`, or the code of the skip (`skip:breaker.bookStale`).
    public var decision: String
    /// False when the data ended (or the probe's life ran out) with the probe still holding a position or order.
    public var finished: Bool
    /// The real probe and its mirror share one latency seed (drawn from the real episode's id), each grid time its own.
    public var latencySeed: UInt64

    public init(kind: Kind, index: Int, symbol: String, time: Int64, liquidated: PositionSide, realSide: Bool, volatilityBps: Int64?,
                net: USDT, fees: USDT, funding: USDT, fills: Int, decision: String, finished: Bool, latencySeed: UInt64) {
        self.kind = kind
        self.index = index
        self.symbol = symbol
        self.time = time
        self.liquidated = liquidated
        self.realSide = realSide
        self.volatilityBps = volatilityBps
        self.net = net
        self.fees = fees
        self.funding = funding
        self.fills = fills
        self.decision = decision
        self.finished = finished
        self.latencySeed = latencySeed
    }
}

/// Everything the placebo pass measured.
public struct ProbeSet: Sendable {
    public var outcomes: [ProbeOutcome] = []
    /// Real episodes the engine would trade, in order of start: (symbol, exchange time ms, liquidated side).
    public var episodes: [(symbol: String, time: Int64, side: PositionSide)] = []
    /// Detector episodes not probed: another liquidation source, an untraded symbol, or no trading rules.
    public var episodesNotTraded = 0
    public var firstTime: Int64?
    public var lastTime: Int64?
    public init() {}

    /// The real episodes' probes with the side the detector saw, in order.
    public var real: [ProbeOutcome] { outcomes.filter { $0.kind == .episode && $0.realSide }.sorted { $0.index < $1.index } }
}

/// A stable 64-bit hash of a text (FNV-1a): latency seeds derived from episode ids are the same on every run.
func stableHash(_ text: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in text.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    return h
}

extension BacktestRunner {
    struct Probe {
        var lane: Lane
        var outcome: ProbeOutcome
        var episode: CascadeEpisode
        /// The detector episode this one mirrors (its end ends this one), or nil for a grid probe.
        var source: String?
        /// Exchange time a grid probe's episode ends (the detector's quiet period after its start).
        var endAt: Int64?
        var ended = false
        var startWallet: USDT
        var retireBy: Int64
    }

    /// The placebo pass: one read of the data. Base lanes never trade (no episode reaches them); at every real
    /// episode's start and at every grid time one is copied, flat, and the copy is told of one episode (the real one,
    /// its mirror, or a placebo at the grid time, either side) and runs on the same market until it is flat and idle.
    /// Every probe has the engine, exits, venue, fees and funding of the backtest. Grid probes copy a base whose
    /// liquidation-lag breaker is off (a placebo time has no fresh liquidation to be lagging); real probes and their
    /// mirrors keep it.
    public func probePass(_ settings: PlaceboSettings) throws -> ProbeSet {
        try BacktestRunner(paths: paths, configuration: configuration, journal: InMemoryJournal()).runProbes(settings)
    }

    func runProbes(_ settings: PlaceboSettings) throws -> ProbeSet {
        var opened = try open(journal: journal, hooked: false)
        var base = opened.lane
        var gridEngine = configuration.engine
        gridEngine.breakers.maxLiquidationLagMilliseconds = .max
        var gridBase = base
        gridBase.engine = TradingEngine(configuration: gridEngine)
        var probes: [Probe] = []
        var set = ProbeSet()
        var mids: [SymbolID: [Int64]] = [:]
        var started = false
        var lastSecond: Int64 = .min
        var lastSlot: Int64 = .min
        let quietMs = configuration.features.detector.quietNanoseconds / 1_000_000
        let lifeMs = configuration.engine.entryTTLMilliseconds + configuration.engine.maxHoldMilliseconds + 300_000

        func volatility(_ id: SymbolID) -> Int64? {
            guard let samples = mids[id], samples.count > settings.volatilitySeconds, let last = samples.last, last > 0 else { return nil }
            var path: Int64 = 0
            for k in (samples.count - settings.volatilitySeconds)..<samples.count { path += abs(samples[k] - samples[k - 1]) }
            return Int64(Int128(path) * 10_000 / Int128(last))
        }
        func spawn(_ episode: CascadeEpisode, kind: ProbeOutcome.Kind, index: Int, realSide: Bool, source: String?, endAt: Int64?,
                   seed: UInt64, _ market: Market) throws {
            var lane = kind == .grid ? gridBase : base
            lane.journal = InMemoryJournal()
            lane.result = BacktestResult()
            lane.exchange.reseedLatencies(seed)
            let id = market.instruments.lookup(episode.symbol)
            var probe = Probe(lane: lane,
                              outcome: ProbeOutcome(kind: kind, index: index, symbol: episode.symbol, time: base.exchangeClock,
                                                    liquidated: episode.side, realSide: realSide, volatilityBps: id.flatMap(volatility),
                                                    net: .zero, fees: .zero, funding: .zero, fills: 0, decision: "", finished: true,
                                                    latencySeed: seed),
                              episode: episode, source: source, endAt: endAt, startWallet: base.engine.portfolio.wallet,
                              retireBy: base.exchangeClock + lifeMs)
            try step(.detector(.started(episode)), &probe.lane, market)
            let decision = probe.lane.result.decisions.first { $0.episode == episode.id && ($0.action == "enter" || $0.action == "skip") }
            probe.outcome.decision = decision.map { $0.action == "enter" ? "enter" : "skip:\($0.reason)" } ?? "none"
            probes.append(probe)
        }
        func close(_ probe: Probe, finished: Bool, _ market: Market) {
            var outcome = probe.outcome
            var equity = probe.lane.engine.portfolio.wallet
            // An open position is valued as closed now: at the touch it would sell into or buy from, paying the taker
            // fee (never at the mark, which would spare the worst probes their exit cost).
            let taker = configuration.venue.fees.taker
            for (id, ledger) in probe.lane.engine.portfolio.ledgers where ledger.size != 0 {
                let book = market.feed.deepestBook(id, syncedOnly: false)
                let touch = ledger.size > 0 ? book?.bestBid?.price : book?.bestAsk?.price
                let qty = Quantity(units: abs(ledger.size))
                let value = touch.flatMap { ledger.instrument.notional(price: $0, qty: qty) } ?? .zero
                equity = equity + (ledger.size > 0 ? value - ledger.entryValue : ledger.entryValue - value) - (value.multiplied(by: taker) ?? .zero)
            }
            outcome.net = equity - probe.startWallet
            outcome.fills = probe.lane.result.fills.count
            outcome.fees = probe.lane.result.fills.reduce(USDT.zero) { $0 + $1.fee }
            outcome.funding = probe.lane.trades.values.reduce(USDT.zero) { $0 + $1.funding }
            outcome.finished = finished
            set.outcomes.append(outcome)
        }
        func detectorChange(_ change: DetectorChange, _ market: Market) throws {
            switch change {
            case let .started(episode):
                // Only episodes the engine would trade: its source, its symbols, with rules.
                guard episode.source == configuration.engine.liquidationSource,
                      configuration.engine.symbols?.contains(episode.symbol) ?? true,
                      market.instruments.lookup(episode.symbol).flatMap({ market.instruments[$0].rules }) != nil else {
                    set.episodesNotTraded += 1
                    return
                }
                let index = set.episodes.count
                set.episodes.append((episode.symbol, base.exchangeClock, episode.side))
                var mirror = episode
                mirror.side = episode.side == .long ? .short : .long
                mirror.id = episode.id + "-mirror"
                let seed = settings.seed ^ stableHash(episode.id)
                try spawn(episode, kind: .episode, index: index, realSide: true, source: episode.id, endAt: nil, seed: seed, market)
                try spawn(mirror, kind: .episode, index: index, realSide: false, source: episode.id, endAt: nil, seed: seed, market)
            case let .ended(episode):
                for i in probes.indices where probes[i].source == episode.id && !probes[i].ended {
                    var ended = episode
                    ended.side = probes[i].episode.side
                    ended.id = probes[i].episode.id
                    probes[i].ended = true
                    try step(.detector(.ended(ended)), &probes[i].lane, market)
                }
            }
        }

        while let frame = try nextFrame(&opened.replayer) {
            let t = frame.localTime.nanoseconds / 1_000_000
            if !started {
                started = true
                try start(&base, at: t, Market(opened.replay))
                try start(&gridBase, at: t, Market(opened.replay))
            }
            do {
                // Scoped: a market view held across `ingest` would make the feed copy itself on write.
                let market = Market(opened.replay)
                try deliver(upTo: t, &base, market)
                try deliver(upTo: t, &gridBase, market)
                for i in probes.indices { try deliver(upTo: t, &probes[i].lane, market) }
            }
            let ingested = opened.replay.ingest(frame.bytes, at: frame.localTime)
            let market = Market(opened.replay)
            try self.market(ingested, &base, market)
            try self.market(ingested, &gridBase, market)
            for i in probes.indices { try self.market(ingested, &probes[i].lane, market) }
            for change in ingested.detector { try detectorChange(change, market) }
            guard t / 1_000 != lastSecond else { continue }
            lastSecond = t / 1_000
            for change in opened.replay.advance(to: frame.localTime.nanoseconds) { try detectorChange(change, market) }
            try step(.heartbeat, &base, market)
            try step(.heartbeat, &gridBase, market)
            for i in probes.indices { try step(.heartbeat, &probes[i].lane, market) }
            let now = base.exchangeClock
            if let first = base.result.firstTime {
                set.firstTime = first.milliseconds
                set.lastTime = now
            }
            // One mid sample a second per symbol (doubled, in ticks of the price scale).
            for instrument in market.instruments.instruments {
                let id = market.instruments.lookup(instrument.symbol)!
                guard let book = market.feed.deepestBook(id, syncedOnly: true), let bid = book.bestBid, let ask = book.bestAsk else { continue }
                mids[id, default: []].append(bid.price.units + ask.price.units)
                if mids[id]!.count > settings.volatilitySeconds * 2 { mids[id]!.removeFirst(settings.volatilitySeconds) }
            }
            // Grid candidates: each traded symbol with rules, both sides.
            let slot = settings.gridMilliseconds > 0 ? now / settings.gridMilliseconds : 0
            if settings.gridMilliseconds > 0, slot != lastSlot {
                lastSlot = slot
                for instrument in market.instruments.instruments where instrument.rules != nil {
                    if let symbols = configuration.engine.symbols, !symbols.contains(instrument.symbol) { continue }
                    for side in [PositionSide.long, .short] {
                        let episode = CascadeEpisode(id: "placebo-\(instrument.symbol)-\(slot)-\(side)", symbol: instrument.symbol,
                                                     source: configuration.engine.liquidationSource, side: side,
                                                     start: frame.localTime.nanoseconds, peakTime: frame.localTime.nanoseconds,
                                                     notional: 0, events: 0, peakNotional: 0, threshold: 0, lastEvent: frame.localTime.nanoseconds)
                        try spawn(episode, kind: .grid, index: Int(slot), realSide: false, source: nil, endAt: now + quietMs,
                                  seed: settings.seed ^ stableHash(episode.id), market)
                    }
                }
            }
            // Grid episodes end after the detector's quiet period; idle probes retire.
            var kept: [Probe] = []
            kept.reserveCapacity(probes.count)
            for var probe in probes {
                if let endAt = probe.endAt, !probe.ended, now >= endAt {
                    probe.ended = true
                    var ended = probe.episode
                    ended.end = frame.localTime.nanoseconds
                    ended.endReason = .quiet
                    try step(.detector(.ended(ended)), &probe.lane, market)
                }
                if probe.lane.isIdle {
                    close(probe, finished: true, market)
                } else if now >= probe.retireBy {
                    close(probe, finished: false, market)
                } else {
                    kept.append(probe)
                }
            }
            probes = kept
        }
        let market = Market(opened.replay)
        for var probe in probes {
            try end(&probe.lane, market)
            close(probe, finished: probe.lane.isIdle, market)
        }
        set.outcomes.sort { ($0.kind.rawValue, $0.index, $0.symbol, $0.time, $0.liquidated == .long ? 0 : 1, $0.realSide ? 0 : 1)
            < ($1.kind.rawValue, $1.index, $1.symbol, $1.time, $1.liquidated == .long ? 0 : 1, $1.realSide ? 0 : 1) }
        return set
    }
}
