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
    private var symbolIndex: [SymbolID: Int] = [:]
    var detectors: [CascadeDetector] = []
    private var detectorIndex: [String: Int] = [:]
    /// Detector starts and ends not yet taken by ``drainDetectorChanges()``.
    private var changes: [DetectorChange] = []
    /// Own resting orders per symbol name (see ``FeatureConfiguration/booksIncludeOwnOrders``).
    private var ownOrders: [String: [OwnOrder]] = [:]
    /// Latest input time.
    public private(set) var now: Int64 = .min

    public init(configuration: FeatureConfiguration = FeatureConfiguration()) {
        self.configuration = configuration
        var collector = SchemaCollector()
        let placeholder = SymbolFeatures(name: "", firstSeen: 0, configuration: configuration)
        Self.write(&collector, state: placeholder, reference: nil, detector: nil, book: nil, ticker: nil, own: [],
                   at: 0, configuration: configuration)
        schema = FeatureSchema(features: collector.features)
    }

    /// The symbols seen, in order met.
    public var symbolNames: [String] { symbols.map(\.name) }

    /// Every detector, in order created.
    public var allDetectors: [CascadeDetector] { detectors }

    /// Takes the detector changes since the last call, in the order they happened.
    public mutating func drainDetectorChanges() -> [DetectorChange] {
        defer { changes.removeAll(keepingCapacity: true) }
        return changes
    }

    /// Sets our resting orders on `symbol` (replacing the previous set): subtracted from book features when books
    /// include them.
    public mutating func setOwnOrders(_ orders: [OwnOrder], symbol: String) {
        ownOrders[symbol] = orders
    }

    /// Applies one input received at `t` (after ``MarketData/FeedState`` applied it).
    public mutating func apply(_ input: FeedInput, at t: Int64, feed: FeedState, instruments: InstrumentTable) {
        let t = max(t, now)
        now = t
        advanceDetectors(to: t)
        switch input {
        case let .event(event):
            guard let id = event.symbol else { return }
            let i = index(of: id, at: t, instruments: instruments)
            symbols[i].advance(to: t)
            switch event {
            case let .trades(list): addTrades(list, symbol: i, at: t)
            case let .liquidations(list): addLiquidations(list, symbol: i, at: t)
            case let .ticker(update): addTicker(update, symbol: i, at: t)
            case let .book(update): addBook(update, symbol: i, feed: feed)
            case .klines: break
            }
        case let .lost(stream, _):
            guard let stream, let i = symbolIndex[stream.symbol] else { return }
            interrupt(stream, symbol: i, at: t)
            resume(stream, symbol: i, at: t)
        case let .session(boundary, streams, _):
            let affected = streams ?? symbols.indices.flatMap { i -> [FeedStream] in
                symbolIndex.filter { $0.value == i }.map(\.key).flatMap { id in
                    [FeedStream.trades(id), .liquidations(id), .ticker(id)]
                }
            }
            for stream in affected {
                guard let i = symbolIndex[stream.symbol] else { continue }
                switch boundary {
                case .disconnect: interrupt(stream, symbol: i, at: t)
                case .connect: resume(stream, symbol: i, at: t)
                case .resync: break
                }
            }
        }
    }

    /// Moves the clock to `t` without an input: detectors close episodes whose deadline passed.
    public mutating func advance(to t: Int64) {
        now = max(t, now)
        advanceDetectors(to: now)
    }

    /// The vector of `symbol` as of receive time `t` (≥ the last input), or nil for a symbol never seen.
    public mutating func vector(for symbol: String, at t: Int64, feed: FeedState) -> FeatureVector? {
        guard let i = symbols.firstIndex(where: { $0.name == symbol }) else { return nil }
        let t = max(t, now)
        advanceDetectors(to: t)
        symbols[i].advance(to: t)
        let referenceIndex = symbols.firstIndex { $0.name == configuration.referenceSymbol }
        if let r = referenceIndex { symbols[r].advance(to: t) }
        let id = symbolIndex.first { $0.value == i }?.key
        let book = id.flatMap { feed.deepestBook($0, syncedOnly: true) }
        let ticker = id.flatMap { feed.tickers[$0] }
        let detector = symbols[i].liquidationSource.flatMap { detectorIndex[Self.detectorKey(symbol, $0)] }
            .map { detectors[$0] }
        var values = ValueCollector(capacity: schema.features.count)
        Self.write(&values, state: symbols[i], reference: referenceIndex.map { symbols[$0] }, detector: detector,
                   book: book, ticker: ticker,
                   own: configuration.booksIncludeOwnOrders ? ownOrders[symbol] ?? [] : [], at: t,
                   configuration: configuration)
        return FeatureVector(schemaHash: schema.hash, symbol: symbol, time: t, values: values.values, warm: values.warm)
    }

    mutating func restore(now: Int64, symbols: [SymbolFeatures], detectors: [CascadeDetector]) {
        self.now = now
        self.symbols = symbols
        self.detectors = detectors
        symbolIndex = [:]
        detectorIndex = Dictionary(uniqueKeysWithValues: detectors.enumerated().map {
            (Self.detectorKey($0.element.symbol, $0.element.source), $0.offset)
        })
    }

    // MARK: - Inputs

    private mutating func index(of id: SymbolID, at t: Int64, instruments: InstrumentTable) -> Int {
        if let i = symbolIndex[id] { return i }
        let name = instruments[id].symbol
        if let restored = symbols.firstIndex(where: { $0.name == name }) {
            symbolIndex[id] = restored
            return restored
        }
        symbols.append(SymbolFeatures(name: name, firstSeen: t, configuration: configuration))
        symbolIndex[id] = symbols.count - 1
        return symbols.count - 1
    }

    private mutating func advanceDetectors(to t: Int64) {
        for d in detectors.indices {
            let closed = detectors[d].advance(to: t)
            if !closed.isEmpty { changes += closed }
        }
    }

    private mutating func interrupt(_ stream: FeedStream, symbol i: Int, at t: Int64) {
        switch stream {
        case .trades:
            symbols[i].tradesSince = nil
            symbols[i].tradeNotionalBins.stopObserving(at: t)
            symbols[i].tradeCountBins.stopObserving(at: t)
            symbols[i].lastTop = nil
        case .liquidations:
            symbols[i].liquidationsSince = nil
            symbols[i].liquidationBins.stopObserving(at: t)
            let name = symbols[i].name
            for d in detectors.indices where detectors[d].symbol == name {
                changes += detectors[d].stopObserving(at: t)
            }
        case .ticker:
            symbols[i].tickerSince = nil
        case .book:
            symbols[i].lastTop = nil
        case .klines:
            break
        }
    }

    private mutating func resume(_ stream: FeedStream, symbol i: Int, at t: Int64) {
        switch stream {
        case .trades:
            symbols[i].tradesSince = t
            symbols[i].tradeNotionalBins.observe(since: t)
            symbols[i].tradeCountBins.observe(since: t)
        case .liquidations:
            symbols[i].liquidationsSince = t
            symbols[i].liquidationBins.observe(since: t)
        case .ticker:
            symbols[i].tickerSince = t
        case .book, .klines:
            break
        }
    }

    private mutating func addTrades(_ list: [Trade], symbol i: Int, at t: Int64) {
        var buy: Int64 = 0, sell: Int64 = 0, buys: Int64 = 0, sells: Int64 = 0, qty: Int64 = 0, large: Int64 = 0
        let baseline = symbols[i].baselineNotional(warmup: configuration.baselineWarmupMinutes)
        let largeFrom = baseline.map { $0 / 1000 * Int64(configuration.largePrintPermille) }
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

    private mutating func addLiquidations(_ list: [Liquidation], symbol i: Int, at t: Int64) {
        guard let first = list.first else { return }
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
        // One frame comes from one topic; it is `allLiquidation` only if some event is dated after the topic began.
        var latest = first.updatedTime
        for event in list where event.updatedTime > latest { latest = event.updatedTime }
        let source = LiquidationSource.classify(topic: first.source, eventTime: latest)
        symbols[i].liquidationSource = source
        let slot = source == .all ? 0 : 1
        let d: Int
        if let known = symbols[i].detectorSlots[slot] {
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
            symbols[i].detectorSlots[slot] = d
        }
        changes += detectors[d].ingest(list, at: t)
    }

    private mutating func addTicker(_ update: TickerUpdate, symbol i: Int, at t: Int64) {
        guard let oi = update.fields.openInterest else { return }
        symbols[i].oiTimes.append(t)
        symbols[i].oiValues.append(oi.units)
    }

    private mutating func addBook(_ update: BookUpdate, symbol i: Int, feed: FeedState) {
        // Order-flow imbalance reads the book the features read: the deepest synced one.
        guard let book = feed.deepestBook(update.symbol, syncedOnly: true), book.depth == update.depth else { return }
        let own = configuration.booksIncludeOwnOrders ? ownOrders[symbols[i].name] ?? [] : []
        guard let bid = EffectiveLevels(book: book, side: .bid, own: own).first,
              let ask = EffectiveLevels(book: book, side: .ask, own: own).first else {
            symbols[i].lastTop = nil
            return
        }
        let top = SymbolFeatures.Top(bid: bid.price, bidQty: bid.qty, ask: ask.price, askQty: ask.qty)
        if let p = symbols[i].lastTop {
            // Cont, Kukanov & Stoikov (2014): bid-side minus ask-side order-flow contribution of one update.
            var e: Int64 = 0
            if top.bid >= p.bid { e += top.bidQty }
            if top.bid <= p.bid { e -= p.bidQty }
            if top.ask <= p.ask { e -= top.askQty }
            if top.ask >= p.ask { e += p.askQty }
            symbols[i].ofi.add(e, at: update.localTime.nanoseconds)
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
