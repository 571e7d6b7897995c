import CascadeCore
import MarketData
import BybitV5

extension RecordingAuditor {
    /// The report so far (books and tickers as they stand now).
    public func finish(files: [AuditReport.FileSummary] = [], elapsedSeconds: Double? = nil) -> AuditReport {
        var r = report
        r.files = files
        r.firstLocal = firstLocal.map { LocalTime(nanoseconds: $0).description }
        r.lastLocal = lastLocal.map { LocalTime(nanoseconds: $0).description }
        if let a = firstLocal, let b = lastLocal { r.spanSeconds = Double(b - a) / 1e9 }
        r.topics = topicCounters.values.map { c in
            AuditReport.TopicSummary(
                topic: c.name, frames: c.frames, levelUpdates: c.levelUpdates, decodeErrors: c.decodeErrors,
                firstLocal: c.firstLocal.map { LocalTime(nanoseconds: $0).description },
                lastLocal: c.lastLocal.map { LocalTime(nanoseconds: $0).description },
                gapsAboveThreshold: c.gapsAboveThreshold, gapThresholdMs: c.gapThreshold,
                largestGaps: c.largestGaps.map { .init(start: LocalTime(nanoseconds: $0.start).description, milliseconds: $0.ms) },
                receiveMinusExchangeMs: c.offsets.summary, eventDriven: c.eventDriven)
        }.sorted { $0.topic < $1.topic }
        r.books = feed.books.map { book in
            let instrument = decoder.instruments[book.symbol]
            let state: String
            switch book.state {
            case .synced: state = "synced"
            case .awaitingSnapshot: state = "awaiting snapshot"
            case let .needsResync(error): state = "needs resync (\(error))"
            }
            let s = book.stats
            return AuditReport.BookSummary(
                topic: "orderbook.\(book.depth).\(instrument.symbol)", synced: book.isSynced, state: state,
                bestBid: book.bestBid.map { [instrument.format($0.price), instrument.format($0.size)] },
                bestAsk: book.bestAsk.map { [instrument.format($0.price), instrument.format($0.size)] },
                levels: [book.bidCount, book.askCount], lastUpdateID: book.lastUpdateID, lastSequence: book.lastSequence,
                lastExchangeTime: book.lastExchangeTime?.description, snapshots: s.snapshots,
                restartSnapshots: s.restartSnapshots, deltas: s.deltas, levelUpdates: s.levelUpdates,
                resyncsRequested: s.resyncsRequested, updateIDJumps: s.updateIDJumps,
                updateIDRegressions: s.updateIDRegressions, sequenceRegressions: s.sequenceRegressions,
                crossedBooks: s.crossedBooks, deletesOfMissingLevels: s.deletesOfMissingLevels,
                deltasIgnoredUntilSnapshot: s.deltasIgnoredUntilSnapshot, overDepth: s.overDepth)
        }.sorted { $0.topic < $1.topic }
        r.symbols = symbolCounters.map { id, c in
            let instrument = decoder.instruments[id]
            return AuditReport.SymbolSummary(
                symbol: instrument.symbol, trades: c.trades, buyTakerTrades: c.buys, sellTakerTrades: c.sells,
                tradeVolume: FixedDecimal.format(wide: c.volume, digits: Quantity.digits,
                                                 minimumFractionDigits: min(instrument.rules?.qtyDecimals ?? 0, Quantity.digits)), tradeNotionalUSDT: c.notional.description,
                liquidationsLongs: c.longs, liquidationsShorts: c.shorts,
                liquidatedLongNotionalUSDT: c.longNotional.description, liquidatedShortNotionalUSDT: c.shortNotional.description,
                offGridPrices: c.offGridPrices, offGridQuantities: c.offGridQuantities, rulesKnown: instrument.rules != nil,
                lastPrice: feed.tickers[id]?.fields.lastPrice.map(instrument.format),
                markPrice: feed.tickers[id]?.fields.markPrice.map(instrument.format),
                fundingRate: feed.tickers[id]?.fields.fundingRate?.description)
        }.sorted { $0.symbol < $1.symbol }
        if let elapsedSeconds, elapsedSeconds > 0 {
            r.throughput = .init(seconds: elapsedSeconds, framesPerSecond: Double(r.frames) / elapsedSeconds,
                                 levelUpdatesPerSecond: Double(r.levelUpdates) / elapsedSeconds,
                                 megabytesPerSecond: Double(bytes) / 1e6 / elapsedSeconds)
        }
        return r
    }
}

/// Counts of `receive − exchange` offsets in 1 ms buckets, stored sparsely (a recording's offsets cluster in a
/// few hundred distinct milliseconds, so memory stays small even for thousands of topics).
struct OffsetHistogram {
    var buckets: [Int64: Int] = [:]
    var count = 0

    mutating func add(_ ms: Int64) {
        buckets[ms, default: 0] += 1
        count += 1
    }

    func quantile(_ q: Double, sorted: [(key: Int64, value: Int)]) -> Int64 {
        let target = Int((Double(count - 1) * q).rounded(.down))
        var seen = 0
        for (ms, n) in sorted {
            seen += n
            if seen > target { return ms }
        }
        return sorted.last?.key ?? 0
    }

    var summary: AuditReport.OffsetSummary? {
        guard count > 0 else { return nil }
        let sorted = buckets.sorted { $0.key < $1.key }
        return .init(median: quantile(0.5, sorted: sorted), p5: quantile(0.05, sorted: sorted),
                     p95: quantile(0.95, sorted: sorted), samples: count)
    }
}
