public import CascadeCore
public import BybitV5
public import MarketData
import Foundation

/// Settings of an audit.
public struct AuditConfiguration: Sendable {
    /// Receive-time silence above which a book or ticker topic counts a gap.
    public var streamGapMilliseconds: Int64 = 2_000
    /// Silence above which an event-driven topic (trades, liquidations) counts a gap (informational).
    public var eventGapMilliseconds: Int64 = 60_000
    public var updateIDPolicy: UpdateIDPolicy = .monotonic
    /// Per-depth overrides of ``updateIDPolicy`` (e.g. strict for 50, monotonic for 200).
    public var updateIDPolicyByDepth: [Int: UpdateIDPolicy] = [:]
    /// How many of the largest gaps to list per topic.
    public var largestGapsListed = 5
    /// How many session events to list.
    public var sessionEventsListed = 200
    public init() {}
}

/// Replays frames through the production decoder and ``MarketData/FeedState`` (the books, tickers and stream trust
/// the simulator and the recorder use too), and counts what a user needs to trust a recording.
///
/// It is fed frames in receive-time order (from the `Replayer`) and never looks ahead.
public struct RecordingAuditor {
    public private(set) var decoder: BybitPublicDecoder
    public let configuration: AuditConfiguration

    struct TopicCounters {
        var name: String
        var frames = 0
        var levelUpdates = 0
        var decodeErrors = 0
        var firstLocal: Int64?
        var lastLocal: Int64?
        var gapsAboveThreshold = 0
        var largestGaps: [(start: Int64, ms: Int64)] = []
        var offsets = OffsetHistogram()
        var eventDriven = false
        var gapThreshold: Int64 = 0
    }
    struct SymbolCounters {
        var trades = 0, buys = 0, sells = 0
        var volume = Int128(0)
        var notional = USDT.zero
        var longs = 0, shorts = 0
        var longNotional = USDT.zero, shortNotional = USDT.zero
        var offGridPrices = 0, offGridQuantities = 0
    }

    var topicCounters: [Int: TopicCounters] = [:]
    /// Books, tickers and stream trust.
    public private(set) var feed: FeedState
    var symbolCounters: [SymbolID: SymbolCounters] = [:]
    var report = AuditReport()
    var firstLocal: Int64?
    var lastLocal: Int64?
    var bytes = 0

    public init(configuration: AuditConfiguration = AuditConfiguration(), instruments: InstrumentTable = InstrumentTable()) {
        self.configuration = configuration
        self.decoder = BybitPublicDecoder(instruments: instruments)
        var feedConfiguration = FeedState.Configuration()
        feedConfiguration.updateIDPolicy = configuration.updateIDPolicy
        feedConfiguration.updateIDPolicyByDepth = configuration.updateIDPolicyByDepth
        feed = FeedState(configuration: feedConfiguration)
    }

    /// Bytes of frame JSON seen so far.
    public var bytesSeen: Int { bytes }

    /// Audits one frame.
    public mutating func ingest(_ frame: UnsafeBufferPointer<UInt8>, localTime: LocalTime) {
        report.frames += 1
        bytes += frame.count
        let t = localTime.nanoseconds
        if firstLocal == nil { firstLocal = t }
        if let last = lastLocal, t < last { report.receiveTimeRegressions += 1 }
        lastLocal = max(lastLocal ?? t, t)

        let message: BybitPublicMessage
        do {
            message = try decoder.decode(frame, localTime: localTime)
        } catch {
            recordError(error, frame: frame)
            return
        }
        switch message {
        case let .book(update):
            let index = touchTopic(localTime: t, exchangeTime: update.exchangeTime)
            topicCounters[index]!.levelUpdates += update.bids.count + update.asks.count
            report.levelUpdates += update.bids.count + update.asks.count
            feed.apply(.book(update))
            if let rules = decoder.instruments[update.symbol].rules {
                checkGrid(update.bids, rules: rules, symbol: update.symbol)
                checkGrid(update.asks, rules: rules, symbol: update.symbol)
            }
        case let .trades(trades):
            guard let first = trades.first else {
                _ = touchTopic(localTime: t, exchangeTime: nil)
                return
            }
            _ = touchTopic(localTime: t, exchangeTime: first.exchangeTime)
            let instrument = decoder.instruments[first.symbol]
            var c = symbolCounters[first.symbol, default: SymbolCounters()]
            for trade in trades {
                c.trades += 1
                if trade.takerSide == .buy { c.buys += 1 } else { c.sells += 1 }
                c.volume += Int128(trade.qty.units)
                c.notional = c.notional + (instrument.notional(price: trade.price, qty: trade.qty) ?? .zero)
                if let rules = instrument.rules {
                    if !rules.isOnPriceGrid(trade.price) { c.offGridPrices += 1 }
                    if !rules.isOnQuantityGrid(trade.qty) { c.offGridQuantities += 1 }
                }
            }
            symbolCounters[first.symbol] = c
        case let .liquidations(list):
            _ = touchTopic(localTime: t, exchangeTime: list.first?.exchangeTime)
            for liquidation in list {
                var c = symbolCounters[liquidation.symbol, default: SymbolCounters()]
                if liquidation.liquidatedSide == .long {
                    c.longs += 1
                    c.longNotional = c.longNotional + liquidation.notional
                } else {
                    c.shorts += 1
                    c.shortNotional = c.shortNotional + liquidation.notional
                }
                symbolCounters[liquidation.symbol] = c
            }
        case let .ticker(update):
            _ = touchTopic(localTime: t, exchangeTime: update.exchangeTime)
            if symbolCounters[update.symbol] == nil { symbolCounters[update.symbol] = SymbolCounters() }
            feed.apply(.ticker(update))
        case let .klines(list):
            _ = touchTopic(localTime: t, exchangeTime: list.first?.exchangeTime)
        case .control:
            report.controlFrames += 1
        case let .local(name, data):
            _ = touchTopic(localTime: t, exchangeTime: nil)
            report.localFrames["_cascade." + name, default: 0] += 1
            handleLocal(name: name, data: data, localTime: localTime)
        }
    }

    private mutating func recordError(_ error: BybitFrameError, frame: UnsafeBufferPointer<UInt8>) {
        if case let .unknownTopic(name) = error {
            report.unknownTopics[name, default: 0] += 1
            return
        }
        report.decodeErrors[error.counterName, default: 0] += 1
        // Attribute the error to its topic when the topic itself could be read: same key as good frames.
        guard let name = BybitTopic.name(in: frame), let index = decoder.topicIndex(named: name) else { return }
        ensureCounters(index)
        topicCounters[index]!.decodeErrors += 1
        // A lost message leaves state that cannot be trusted: the book needs a new snapshot, and a ticker misses
        // fields until its next snapshot (live, the client answers both by resubscribing). FeedState decides.
        if let input = decoder.feedInput(forError: error, frame: frame) { feed.apply(input) }
    }

    private mutating func touchTopic(localTime t: Int64, exchangeTime: ExchangeTime?) -> Int {
        let index = decoder.lastTopicIndex
        ensureCounters(index)
        // Counted in place: a copy out of the dictionary would duplicate the offset histogram per frame.
        Self.count(&topicCounters[index]!, localTime: t, exchangeTime: exchangeTime, listed: configuration.largestGapsListed)
        return index
    }

    private static func count(_ c: inout TopicCounters, localTime t: Int64, exchangeTime: ExchangeTime?, listed: Int) {
        c.frames += 1
        if let last = c.lastLocal {
            let gap = (t - last) / 1_000_000
            if gap > c.gapThreshold {
                c.gapsAboveThreshold += 1
                c.largestGaps.append((last, gap))
                c.largestGaps.sort { $0.ms > $1.ms || ($0.ms == $1.ms && $0.start < $1.start) }
                if c.largestGaps.count > listed { c.largestGaps.removeLast() }
            }
        }
        if c.firstLocal == nil { c.firstLocal = t }
        c.lastLocal = t
        if let exchangeTime { c.offsets.add(t / 1_000_000 - exchangeTime.milliseconds) }
    }

    private mutating func ensureCounters(_ index: Int) {
        guard topicCounters[index] == nil else { return }
        let topic = decoder.topic(at: index)
        var counters = TopicCounters(name: topic.name)
        switch topic {
        case .publicTrade, .allLiquidation, .legacyLiquidation, .local, .kline:
            counters.eventDriven = true
            counters.gapThreshold = configuration.eventGapMilliseconds
        default:
            counters.gapThreshold = configuration.streamGapMilliseconds
        }
        topicCounters[index] = counters
    }

    private mutating func checkGrid(_ levels: [BookLevel], rules: InstrumentRules, symbol: SymbolID) {
        var prices = 0, quantities = 0
        for level in levels {
            if !rules.isOnPriceGrid(level.price) { prices += 1 }
            if level.size.units != 0 && !rules.isOnQuantityGrid(level.size) { quantities += 1 }
        }
        if prices + quantities > 0 {
            symbolCounters[symbol, default: SymbolCounters()].offGridPrices += prices
            symbolCounters[symbol, default: SymbolCounters()].offGridQuantities += quantities
        }
    }

    private mutating func handleLocal(name: String, data: [UInt8], localTime: LocalTime) {
        switch name {
        case "instruments":
            report.instrumentSnapshots += 1
            if !decoder.installInstruments(data) { report.decodeErrors["invalid_instruments_snapshot", default: 0] += 1 }
        case "session":
            report.sessionEventsTotal += 1
            let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any]
            let event = (object?["event"] as? String) ?? "unknown"
            let topic = object?["topic"] as? String
            // A session boundary restarts its streams: the next book message must be a snapshot, so deltas in
            // between are not update-id anomalies (FeedState applies the same rule for the simulator and recorder).
            if let input = decoder.feedInput(for: .local(name: name, data: data), localTime: localTime) { feed.apply(input) }
            guard report.sessionEvents.count < configuration.sessionEventsListed else { return }
            report.sessionEvents.append(.init(local: localTime.description, event: event + (topic.map { " " + $0 } ?? "")))
        default:
            break
        }
    }
}
