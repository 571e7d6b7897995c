public import CascadeCore
public import MarketData
import Foundation

/// The streaming feature engine: one code path for backtest, paper and live.
///
/// Driven in receive order with the same inputs as ``MarketData/FeedState`` (apply each input to the feed first,
/// then here), it keeps per-symbol rolling state and the cascade detectors, and answers a symbol's
/// ``FeatureVector`` as of any receive time at or after its last input. Nothing is read that was received after
/// that time; every window, baseline and bar is integer state, so a query never changes a later answer.
/// Amortised O(1) per input; a vector costs O(features + book levels read).
public struct FeatureEngine: Sendable {
    public let configuration: FeatureConfiguration
    /// The ordered list of features every vector follows.
    public let schema: FeatureSchema
    var symbols: [SymbolFeatures] = []
    /// The slot in ``symbols`` of each symbol met, by its id (``CascadeCore/SymbolIndexed``: no hashing per input).
    private var symbolIndex = SymbolIndexed<Int>()
    /// Restored symbols without a slot yet (the table at restore did not know their name), and the size of the table
    /// they were last looked up in: an input looks them up again only when its table has grown, so a boundary or a
    /// lost frame of such a symbol reaches it as it reached the run that saved it, from the moment the table knows it.
    private var unresolvedRestored = 0
    private var unresolvedCheckedAt = 0
    var detectors: [CascadeDetector] = []
    /// How many detectors have an episode open, kept by every change of a detector (``changeDetector(_:_:)``): a frame
    /// when none has skips the deadline sweep, which reads every detector's record.
    private var openEpisodes = 0
    private var detectorIndex: [String: Int] = [:]
    /// Detector starts and ends not yet taken by ``drainDetectorChanges()``.
    private var changes: [DetectorChange] = []
    /// Own resting orders per symbol name (see ``FeatureConfiguration/booksIncludeOwnOrders``).
    private var ownOrders: [String: [OwnOrder]] = [:]
    /// The symbol half of the latest liquidation frame applied with `detectorsFirst` (see
    /// ``apply(_:at:feed:instruments:detectorsFirst:)``), waiting for ``completeDeferred()``.
    private var deferred: DeferredLiquidations?
    /// Latest input or query time: the engine's clock.
    public private(set) var now: Int64 = .min
    /// Inputs stamped before the clock (applied at the clock).
    public private(set) var lateInputs = 0

    public init(configuration: FeatureConfiguration = FeatureConfiguration()) {
        self.configuration = configuration
        var collector = SchemaCollector()
        let placeholder = SymbolFeatures(name: "", configuration: configuration)
        Self.write(&collector, state: placeholder, reference: nil, detector: nil, book: nil, ticker: nil, own: [],
                   at: 0, configuration: configuration)
        // Whether live books hold our orders changes how a value is computed, not what it means: not in the hash.
        var meaning = configuration
        meaning.booksIncludeOwnOrders = false
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let parameters = (try? encoder.encode(meaning)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        schema = FeatureSchema(features: collector.features, parameters: parameters)
    }

    /// The symbols seen, in order met.
    public var symbolNames: [String] { symbols.map(\.name) }

    /// Every detector, in order created.
    public var allDetectors: [CascadeDetector] { detectors }

    /// Takes the detector changes since the last call, in the order they happened.
    public mutating func drainDetectorChanges() -> [DetectorChange] {
        guard !changes.isEmpty else { return [] }
        defer { changes = [] }
        return changes
    }

    /// Sets our resting orders on `symbol` (replacing the previous set): subtracted from book features when books
    /// include them.
    public mutating func setOwnOrders(_ orders: [OwnOrder], symbol: String) {
        completeDeferred()
        ownOrders[symbol] = orders
    }

    /// Applies one input received at `t` (after ``MarketData/FeedState`` applied it). An input stamped before the
    /// engine's clock (the latest input or query) is applied at the clock, and counted in ``lateInputs``: what a
    /// query answered is never revised.
    ///
    /// `detectorsFirst`: a liquidation frame updates its detector only; the rest of what it changes (the symbol's
    /// windows, minute baselines and size rank, which no trading decision reads) is left for ``completeDeferred()``,
    /// so a node can send the orders an episode start decides before doing it. Every other entry point completes it
    /// first, so the state any later call sees, saves or answers from is the one without the flag (tested).
    public mutating func apply(_ input: FeedInput, at t: Int64, feed: FeedState, instruments: InstrumentTable,
                               detectorsFirst: Bool = false) {
        completeDeferred()
        resolveSymbols(in: instruments)
        if t < now { lateInputs += 1 }
        let t = max(t, now)
        now = t
        closeDueEpisodes(at: t)
        switch input {
        case let .event(event):
            guard let id = event.symbol else { return }
            let i = index(of: id, instruments: instruments)
            guard case let .liquidations(list) = event, !list.isEmpty else {
                applySymbolHalf(event, symbol: i, at: t, feed: feed)
                return
            }
            // The detector reads none of the symbol state the rest changes, and the rest reads only the frame's source,
            // recorded first (`sawAllLiquidations`, read by nothing before the features' half): the two halves commute.
            let source = liquidationSource(list, symbol: i)
            let d = detect(list, source: source, symbol: i, at: t, staging: detectorsFirst)
            if detectorsFirst {
                deferred = DeferredLiquidations(symbol: i, detector: d, list: list, source: source, t: t)
                return
            }
            applySymbolHalf(event, symbol: i, at: t, feed: feed, source: source)
        case let .lost(stream, _):
            // The stream missed a message: stopped now, observed again from its next frame.
            guard let stream, let i = symbolIndex[stream.symbol] else { return }
            symbols[i].advance(to: t)
            if let s = Self.tracked(stream) { stop(s, symbol: i, at: t, detectors: true) } else { resetTouch(symbol: i) }
        case let .session(boundary, streams, _):
            let affected = streams ?? symbolIndex.keys.flatMap { id in
                [FeedStream.trades(id), .liquidations(id), .ticker(id), .book(id, depth: 0)]
            }
            for stream in affected {
                guard let i = symbolIndex[stream.symbol] else { continue }
                symbols[i].advance(to: t)
                switch boundary {
                case .disconnect:
                    if let s = Self.tracked(stream) { stop(s, symbol: i, at: t, detectors: true) } else { resetTouch(symbol: i) }
                case .connect:
                    // A live connection from here: the symbol-wide silence is measured from it.
                    symbols[i].lastInput = max(symbols[i].lastInput ?? t, t)
                    if let s = Self.tracked(stream) { connect(s, symbol: i, at: t) } else { resetTouch(symbol: i) }
                case .resync:
                    if case .book = stream { resetTouch(symbol: i) }
                }
            }
        }
    }

    /// Runs the symbol half a liquidation frame applied with `detectorsFirst` left (no-op when none): the engine is
    /// then exactly as if the frame had been applied without the flag.
    public mutating func completeDeferred() {
        guard let d = deferred else { return }
        deferred = nil
        changeDetector(d.detector) { $0.settle() }
        applySymbolHalf(.liquidations(d.list), symbol: d.symbol, at: d.t, feed: nil, source: d.source)
    }

    /// Whether a liquidation frame's symbol half waits for ``completeDeferred()``.
    public var hasDeferredWork: Bool { deferred != nil }

    /// A copy with the deferred work done, for the readers that cannot complete it in place.
    var completed: FeatureEngine {
        var complete = self
        complete.completeDeferred()
        return complete
    }

    /// What an event changes in its symbol's state (all of it but the liquidation detectors). `source`: a liquidation
    /// frame's, already recorded.
    private mutating func applySymbolHalf(_ event: MarketEvent, symbol i: Int, at t: Int64, feed: FeedState?,
                                          source: LiquidationSource? = nil) {
        // Windows and bars first, exactly as a query at t would move them: nothing below may depend on whether
        // a query came in between.
        symbols[i].advance(to: t)
        // Books and tickers flow every 20–100 ms while a connection lives: a symbol with market streams that sent
        // nothing at all for longer than the limit was not being recorded, from its last input on.
        if let previous = symbols[i].lastInput, t - previous > configuration.maxStreamSilenceNanoseconds,
           symbols[i].hasMarketStreams {
            for s in SymbolFeatures.Stream.allCases { stop(s, symbol: i, at: previous, detectors: false) }
            resetTouch(symbol: i)
            // Books and tickers kept by FeedState across the gap missed deltas: stale until a snapshot.
            symbols[i].bookStale = true
            symbols[i].tickerStale = true
        }
        symbols[i].lastInput = t
        if case .liquidations = event {} else { symbols[i].hasMarketStreams = true }
        switch event {
        case let .trades(list):
            frame(.trades, symbol: i, at: t)
            addTrades(list, symbol: i, at: t)
        case let .liquidations(list):
            frame(.liquidations, symbol: i, at: t)
            if let source { addLiquidations(list, source: source, symbol: i, at: t) }
        case let .ticker(update):
            frame(.ticker, symbol: i, at: t)
            if update.kind == .snapshot { symbols[i].tickerStale = false }
            addTicker(update, symbol: i, at: t)
        case let .book(update):
            guard let feed else { preconditionFailure("a book frame is never deferred") }
            addBook(update, symbol: i, feed: feed, at: t)
        case .klines:
            break
        }
    }

    /// Whether `symbol` was being recorded at `t`: its last input is within the silence limit (the market-stream
    /// limit once it has books, trades or tickers; the detector's for a liquidation-only feed).
    public func isRecording(_ symbol: String, at t: Int64) -> Bool {
        if deferred != nil { return completed.isRecording(symbol, at: t) }
        guard let state = symbols.first(where: { $0.name == symbol }), let last = state.lastInput else { return false }
        let limit = state.hasMarketStreams ? configuration.maxStreamSilenceNanoseconds : configuration.detector.maxSilenceNanoseconds
        return t - last <= limit
    }

    /// Moves the clock to `t` without an input: detectors close episodes whose deadline passed.
    public mutating func advance(to t: Int64) {
        completeDeferred()
        now = max(t, now)
        closeDueEpisodes(at: now)
    }

    /// The vector of `symbol` as of receive time `t` (≥ the last input), or nil for a symbol never seen.
    public mutating func vector(for symbol: String, at t: Int64, feed: FeedState) -> FeatureVector? {
        completeDeferred()
        guard let i = symbols.firstIndex(where: { $0.name == symbol }) else { return nil }
        let t = max(t, now)
        // The query moves the clock: a later input stamped earlier is applied at t, never under an answer given.
        now = t
        for d in detectors.indices {
            collectChanges(ofDetector: d) { $0.advance(to: t) }
        }
        symbols[i].advance(to: t)
        let referenceIndex = symbols.firstIndex { $0.name == configuration.referenceSymbol }
        if let r = referenceIndex { symbols[r].advance(to: t) }
        let id = symbolIndex.firstID(of: i)
        let book = id.flatMap { feed.deepestBook($0, syncedOnly: true) }
        let ticker = id.flatMap { feed.tickers[$0] }
        // The episode features read the complete feed's detector when the symbol has one.
        let detector = (symbols[i].detectorSlots[.all] ?? symbols[i].detectorSlots[.throttled]).map { detectors[$0] }
        var values = ValueCollector(capacity: schema.features.count)
        Self.write(&values, state: symbols[i], reference: referenceIndex.map { symbols[$0] }, detector: detector,
                   book: book, ticker: ticker,
                   own: configuration.booksIncludeOwnOrders ? ownOrders[symbol] ?? [] : [], at: t,
                   configuration: configuration)
        return FeatureVector(schemaHash: schema.hash, symbol: symbol, time: t, values: values.values, warm: values.warm)
    }

    mutating func restore(now: Int64, symbols: [SymbolFeatures], detectors: [CascadeDetector], instruments: InstrumentTable) {
        self.now = now
        self.symbols = symbols
        self.detectors = detectors
        openEpisodes = detectors.count { $0.open != nil }
        deferred = nil
        symbolIndex = SymbolIndexed()
        unresolvedRestored = symbols.count
        unresolvedCheckedAt = -1
        resolveSymbols(in: instruments)
        detectorIndex = Dictionary(uniqueKeysWithValues: detectors.enumerated().map {
            (Self.detectorKey($0.element.symbol, $0.element.source), $0.offset)
        })
    }

    /// Gives each restored symbol that `instruments` knows its slot (the table must be the one inputs come with, or an
    /// earlier state of it: ids are its). ``apply(_:at:feed:instruments:detectorsFirst:)`` does this itself; call it
    /// before a query (``vector(for:at:feed:)``) when the table learned a restored symbol after the last input.
    public mutating func resolveSymbols(in instruments: InstrumentTable) {
        guard unresolvedRestored > 0, instruments.instruments.count != unresolvedCheckedAt else { return }
        resolveRestored(in: instruments)
    }

    /// ``resolveSymbols(in:)`` without the check of the table's size.
    private mutating func resolveRestored(in instruments: InstrumentTable) {
        unresolvedCheckedAt = instruments.instruments.count
        var resolved = Array(repeating: false, count: symbols.count)
        for id in symbolIndex.keys { if let slot = symbolIndex[id] { resolved[slot] = true } }
        for (slot, symbol) in symbols.enumerated() where !resolved[slot] {
            if let id = instruments.lookup(symbol.name) { symbolIndex[id] = slot }
        }
        unresolvedRestored = symbols.count - symbolIndex.keys.count
    }

    // MARK: - Inputs

    private mutating func index(of id: SymbolID, instruments: InstrumentTable) -> Int {
        if let i = symbolIndex[id] {
            assert(symbols[i].name == instruments[id].symbol, "slot \(i) holds \(symbols[i].name), not \(instruments[id].symbol)")
            return i
        }
        // `apply` resolved the restored symbols this table knows; again whatever its size (a table of the same size
        // with other names), so a restored name is never added twice.
        if unresolvedRestored > 0 {
            resolveRestored(in: instruments)
            if let i = symbolIndex[id] { return i }
        }
        let name = instruments[id].symbol
        symbols.append(SymbolFeatures(name: name, configuration: configuration))
        symbolIndex[id] = symbols.count - 1
        return symbols.count - 1
    }

    /// Closes episodes whose deadline passed (only detectors with an open episode have anything to do).
    private mutating func closeDueEpisodes(at t: Int64) {
        assert(openEpisodes == detectors.count { $0.open != nil }, "open episodes miscounted")
        guard openEpisodes > 0 else { return }
        for d in detectors.indices where detectors[d].open != nil {
            collectChanges(ofDetector: d) { $0.advance(to: t) }
        }
    }

    /// Every change of a detector goes through here, which keeps ``openEpisodes``.
    private mutating func changeDetector(_ d: Int, _ change: (inout CascadeDetector) -> Void) {
        let wasOpen = detectors[d].open != nil
        change(&detectors[d])
        let isOpen = detectors[d].open != nil
        if wasOpen != isOpen { openEpisodes += isOpen ? 1 : -1 }
    }

    /// ``changeDetector(_:_:)`` for a change that reports episode starts and ends: they join ``changes``.
    private mutating func collectChanges(ofDetector d: Int, _ change: (inout CascadeDetector) -> [DetectorChange]) {
        var changed: [DetectorChange] = []
        changeDetector(d) { changed = change(&$0) }
        if !changed.isEmpty { changes += changed }
    }

    static func tracked(_ stream: FeedStream) -> SymbolFeatures.Stream? {
        switch stream {
        case .trades: .trades
        case .liquidations: .liquidations
        case .ticker: .ticker
        case .book, .klines: nil
        }
    }

    /// A frame of stream `s` at `t`. A stream that was stopped (or never seen) is observed again from here: its
    /// minute bins settle the minutes up to here as observed only until it stopped, and restart. A liquidation stream
    /// silent for longer than the detector's `maxSilence` is treated the same way from its last frame (a
    /// liquidation-only recording has nothing else to judge by).
    private mutating func frame(_ s: SymbolFeatures.Stream, symbol i: Int, at t: Int64) {
        let o = symbols[i].observations[s.rawValue]
        if s == .liquidations, o.since != nil, let last = o.last, t - last > configuration.detector.maxSilenceNanoseconds {
            stop(s, symbol: i, at: last, detectors: false)
        }
        let stopped = symbols[i].observations[s.rawValue]
        if stopped.since == nil {
            moveBins(s, symbol: i, to: t, observedUntil: stopped.stoppedAt ?? t)
            restartBins(s, symbol: i, since: t)
            symbols[i].observations[s.rawValue] = .init(since: t, last: t, stoppedAt: nil)
        } else {
            moveBins(s, symbol: i, to: t, observedUntil: nil)
            symbols[i].observations[s.rawValue].last = t
        }
    }

    /// A `connect` listing stream `s`: observed from `t`. A stream still running when its connection restarts was cut
    /// off without a disconnect (a crash): it stopped at its last frame.
    private mutating func connect(_ s: SymbolFeatures.Stream, symbol i: Int, at t: Int64) {
        let o = symbols[i].observations[s.rawValue]
        if o.since != nil { stop(s, symbol: i, at: o.last ?? t, detectors: true) }
        let stopped = symbols[i].observations[s.rawValue]
        moveBins(s, symbol: i, to: t, observedUntil: stopped.stoppedAt ?? t)
        restartBins(s, symbol: i, since: t)
        symbols[i].observations[s.rawValue] = .init(since: t, last: stopped.last, stoppedAt: nil)
    }

    private mutating func moveBins(_ s: SymbolFeatures.Stream, symbol i: Int, to t: Int64, observedUntil: Int64?) {
        switch s {
        case .trades:
            symbols[i].tradeNotionalBins.advance(to: t, observedUntil: observedUntil)
            symbols[i].tradeCountBins.advance(to: t, observedUntil: observedUntil)
        case .liquidations:
            symbols[i].liquidationBins.advance(to: t, observedUntil: observedUntil)
        case .ticker:
            break
        }
    }

    private mutating func restartBins(_ s: SymbolFeatures.Stream, symbol i: Int, since t: Int64) {
        switch s {
        case .trades:
            symbols[i].tradeNotionalBins.restart(since: t)
            symbols[i].tradeCountBins.restart(since: t)
        case .liquidations:
            symbols[i].liquidationBins.restart(since: t)
        case .ticker:
            break
        }
    }

    /// Stream `s` stops being observed at `t` (a disconnect, a lost frame, or the last input before a gap). Its bins
    /// are settled at its next frame or connect, when it is known how long it was away; state that would carry
    /// across the gap (the last close, the last liquidation, an open episode) is dropped now.
    private mutating func stop(_ s: SymbolFeatures.Stream, symbol i: Int, at t: Int64, detectors: Bool) {
        let o = symbols[i].observations[s.rawValue]
        guard o.since != nil else { return }
        var until = t
        // A disconnect after a silence no live connection has: the recording had stopped at the symbol's last input.
        if let last = symbols[i].lastInput, symbols[i].hasMarketStreams, t - last > configuration.maxStreamSilenceNanoseconds {
            until = min(until, last)
        }
        symbols[i].observations[s.rawValue] = .init(since: nil, last: o.last, stoppedAt: until)
        switch s {
        case .trades:
            symbols[i].bars.reset()
            symbols[i].largePrintsSince = nil
        case .liquidations:
            symbols[i].lastLongLiquidation = nil
            symbols[i].lastShortLiquidation = nil
            symbols[i].lastLiquidationRank = nil
            if detectors {
                let now = now     // a copy: the closure below must not read `self` while the detector is changed
                for d in symbols[i].detectorSlots.known {
                    collectChanges(ofDetector: d) { $0.stopObserving(at: now, observedUntil: until) }
                }
            }
        case .ticker:
            break
        }
    }

    /// The touch is no longer followed (book out of sync or resynced): order-flow imbalance restarts.
    private mutating func resetTouch(symbol i: Int) {
        symbols[i].lastTop = nil
        symbols[i].ofiSince = nil
    }

    private mutating func addTrades(_ list: [Trade], symbol i: Int, at t: Int64) {
        var buy: Int64 = 0, sell: Int64 = 0, buys: Int64 = 0, sells: Int64 = 0, qty: Int64 = 0, large: Int64 = 0
        let baseline = symbols[i].baselineNotional(warmup: configuration.baselineWarmupMinutes)
        let largeFrom = baseline.map { $0 / 1000 * Int64(configuration.largePrintPermille) }
        // Large prints are counted from the first trade that had a baseline to compare with.
        if largeFrom == nil { symbols[i].largePrintsSince = nil } else if symbols[i].largePrintsSince == nil {
            symbols[i].largePrintsSince = t
        }
        for trade in list where !trade.isRPI {
            let notional = Self.notional(trade.price, trade.qty)
            if trade.takerSide == .buy {
                buy &+= notional
                buys += 1
            } else {
                sell &+= notional
                sells += 1
            }
            qty &+= trade.qty.units
            if let largeFrom, notional >= largeFrom, largeFrom > 0 { large += 1 }
            symbols[i].bars.add(price: trade.price.units, at: t)
        }
        guard buys + sells > 0 else { return }
        symbols[i].buys.add(buy, weight: buys, at: t)
        symbols[i].sells.add(sell, weight: sells, at: t)
        symbols[i].quantities.add(qty, weight: buys + sells, at: t)
        if large > 0 { symbols[i].largePrints.add(large, at: t) }
        symbols[i].tradeNotionalBins.add(buy &+ sell, at: t)
        symbols[i].tradeCountBins.add(buys + sells, at: t)
    }

    /// The source of a liquidation frame (not empty), recorded in the symbol's state.
    private mutating func liquidationSource(_ list: [Liquidation], symbol i: Int) -> LiquidationSource {
        // One frame comes from one topic; it is `allLiquidation` only if some event is dated after the topic began.
        var latest = list[0].updatedTime
        for event in list where event.updatedTime > latest { latest = event.updatedTime }
        let source = LiquidationSource.classify(topic: list[0].source, eventTime: latest)
        if source == .all { symbols[i].sawAllLiquidations = true }
        return source
    }

    /// The features' half of a liquidation frame (its detector's is ``detect(_:source:symbol:at:)``).
    private mutating func addLiquidations(_ list: [Liquidation], source: LiquidationSource, symbol i: Int, at t: Int64) {
        // A symbol on both topics: the throttled one is a sample of the complete one, so it feeds only its own
        // detector (thresholds are per source) and is not counted twice in the features.
        if source == .all || !symbols[i].sawAllLiquidations {
            for event in list {
                let notional = Int64(event.notional.units)
                if event.liquidatedSide == .long {
                    symbols[i].liquidatedLongs.add(notional, at: t)
                    symbols[i].lastLongLiquidation = t
                } else {
                    symbols[i].liquidatedShorts.add(notional, at: t)
                    symbols[i].lastShortLiquidation = t
                }
                symbols[i].liquidationBins.add(notional, at: t)
                // Ranked against the earlier ones only, then added.
                symbols[i].lastLiquidationRank = symbols[i].liquidationSizes.count >= configuration.liquidationRankMinimum
                    ? symbols[i].liquidationSizes.rank(of: notional) : nil
                symbols[i].liquidationSizes.add(notional, at: t)
            }
        }
    }

    /// A liquidation frame (not empty) into its source's detector, created at its first frame.
    private mutating func detect(_ list: [Liquidation], source: LiquidationSource, symbol i: Int, at t: Int64, staging: Bool) -> Int {
        let d: Int
        if let known = symbols[i].detectorSlots[source] {
            d = known
        } else {
            let key = Self.detectorKey(symbols[i].name, source)
            if let restored = detectorIndex[key] {
                d = restored
            } else {
                detectors.append(CascadeDetector(symbol: symbols[i].name, source: source, rule: configuration.detector))
                d = detectors.count - 1
                detectorIndex[key] = d
            }
            symbols[i].detectorSlots[source] = d
        }
        collectChanges(ofDetector: d) { $0.ingest(list, at: t, staging: staging) }
        return d
    }

    private mutating func addTicker(_ update: TickerUpdate, symbol i: Int, at t: Int64) {
        guard let oi = update.fields.openInterest else { return }
        symbols[i].oiTimes.append(t)
        symbols[i].oiValues.append(oi.units)
    }

    private mutating func addBook(_ update: BookUpdate, symbol i: Int, feed: FeedState, at t: Int64) {
        // Order-flow imbalance reads the book the features read: the deepest synced one.
        guard let book = feed.deepestBook(update.symbol, syncedOnly: true) else { return resetTouch(symbol: i) }
        guard book.depth == update.depth else { return }
        if update.replacesBook { symbols[i].bookStale = false }
        let own = configuration.booksIncludeOwnOrders ? ownOrders[symbols[i].name] ?? [] : []
        guard let bid = EffectiveLevels(book: book, side: .bid, own: own).first,
              let ask = EffectiveLevels(book: book, side: .ask, own: own).first else { return resetTouch(symbol: i) }
        let top = SymbolFeatures.Top(bid: bid.price, bidQty: bid.qty, ask: ask.price, askQty: ask.qty, depth: book.depth)
        if let p = symbols[i].lastTop, p.depth == top.depth {
            // Cont, Kukanov & Stoikov (2014): bid-side minus ask-side order-flow contribution of one update.
            var e: Int64 = 0
            if top.bid >= p.bid { e += top.bidQty }
            if top.bid <= p.bid { e -= p.bidQty }
            if top.ask <= p.ask { e -= top.askQty }
            if top.ask >= p.ask { e += p.askQty }
            symbols[i].ofi.add(e, at: t)
        } else {
            // A new touch series (first book, after a resync or another depth): flow is counted from here.
            symbols[i].ofi = WindowedSums(windows: SymbolFeatures.ofiWindows.map { .seconds($0) })
            symbols[i].ofiSince = t
        }
        symbols[i].lastTop = top
    }

    static func detectorKey(_ symbol: String, _ source: LiquidationSource) -> String { symbol + "|" + source.rawValue }

    /// price × qty in 1e-8 USDT.
    @inline(__always) static func notional(_ price: Price, _ qty: Quantity) -> Int64 {
        Int64(truncatingIfNeeded: Int128(price.units) * Int128(qty.units) / 1_000_000)
    }
}

/// A book side's levels with our own orders taken out (a level left empty is skipped).
struct EffectiveLevels: Sequence {
    let book: OrderBook
    let side: BookSide
    let own: [OwnOrder]

    struct Level {
        var price: Int64
        var qty: Int64
    }

    struct Iterator: IteratorProtocol {
        let levels: EffectiveLevels
        let count: Int
        var k = 0
        mutating func next() -> Level? {
            while k < count {
                let level = levels.book.level(levels.side, fromBest: k)
                k += 1
                var qty = level.size.units
                for order in levels.own where order.side == levels.side && order.price == level.price {
                    qty -= order.qty.units
                }
                if qty > 0 { return Level(price: level.price.units, qty: qty) }
            }
            return nil
        }
    }

    func makeIterator() -> Iterator { Iterator(levels: self, count: book.levelCount(side)) }

    var first: Level? {
        var iterator = makeIterator()
        return iterator.next()
    }
}

/// A liquidation frame whose symbol half waits (see ``FeatureEngine/completeDeferred()``).
struct DeferredLiquidations: Sendable {
    var symbol: Int
    /// The detector the frame went to (its baselines' staged values move in too).
    var detector: Int
    var list: [Liquidation]
    var source: LiquidationSource
    var t: Int64
}
