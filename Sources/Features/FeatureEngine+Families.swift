import CascadeCore
import MarketData
import Foundation

/// A book with our own orders taken out, read once per vector.
struct BookView {
    var bids: [EffectiveLevels.Level]
    var asks: [EffectiveLevels.Level]
    /// Whether the book shows every level of a side (fewer levels than its depth) or only the best `depth`.
    var bidComplete: Bool
    var askComplete: Bool
    /// The farthest raw level of each side: the edge of the span the book covers.
    var worstBid: Int64
    var worstAsk: Int64
    var mid: Double

    init?(book: OrderBook, own: [OwnOrder]) {
        bids = Array(EffectiveLevels(book: book, side: .bid, own: own))
        asks = Array(EffectiveLevels(book: book, side: .ask, own: own))
        guard let b = bids.first, let a = asks.first,
              let wb = book.worstLevel(.bid), let wa = book.worstLevel(.ask) else { return nil }
        bidComplete = book.levelCount(.bid) < book.depth
        askComplete = book.levelCount(.ask) < book.depth
        worstBid = wb.price.units
        worstAsk = wa.price.units
        mid = (Double(b.price) + Double(a.price)) / 2
    }

    /// (Σ bid − Σ ask) / (Σ bid + Σ ask) over the best `n` levels; NaN when a side shows fewer than `n` levels
    /// because the book is cut there.
    func imbalance(_ n: Int) -> Double {
        if (bids.count < n && !bidComplete) || (asks.count < n && !askComplete) { return .nan }
        let b = bids.prefix(n).reduce(0.0) { $0 + Double($1.qty) }
        let a = asks.prefix(n).reduce(0.0) { $0 + Double($1.qty) }
        return b + a > 0 ? (b - a) / (b + a) : .nan
    }

    /// Notional (1e-8 USDT, as Double) within `bps` of the mid on `side`; NaN when the band reaches past the span
    /// the book covers (the levels there are unknown, not empty).
    func depth(_ side: BookSide, bps: Double) -> Double {
        let edge = side == .bid ? mid * (1 - bps / 10_000) : mid * (1 + bps / 10_000)
        let covered = side == .bid ? (bidComplete || Double(worstBid) <= edge) : (askComplete || Double(worstAsk) >= edge)
        guard covered else { return .nan }
        var sum = 0.0
        for level in side == .bid ? bids : asks {
            let inside = side == .bid ? Double(level.price) >= edge : Double(level.price) <= edge
            if !inside { break }
            sum += Double(level.price) * Double(level.qty) / 1e6
        }
        return sum
    }

    /// Distance in bps from the mid to the farthest level of `side`.
    func coverage(_ side: BookSide) -> Double {
        side == .bid ? (mid - Double(worstBid)) / mid * 10_000 : (Double(worstAsk) - mid) / mid * 10_000
    }
}

extension FeatureEngine {
    /// Writes one symbol's features in schema order. The schema is this function run with a collector that reads
    /// only the descriptors, so a feature's name, unit, window and value live on one line.
    static func write<S: FeatureSink>(
        _ s: inout S, state: SymbolFeatures, reference: SymbolFeatures?, detector: CascadeDetector?, book: OrderBook?,
        ticker: TickerState?, own: [OwnOrder], at t: Int64, configuration c: FeatureConfiguration
    ) {
        let view = book.flatMap { BookView(book: $0, own: own) }
        let bookWarm = view != nil && !state.bookStale
        let nan = Double.nan
        let warmupText = "\(c.baselineWarmupMinutes) min of baseline"
        let baseline = state.baselineNotional(warmup: c.baselineWarmupMinutes).flatMap { $0 > 0 ? Double($0) : nil }
        func observed(_ since: Int64?, _ seconds: Int) -> Bool {
            since.map { t - $0 >= Int64(seconds) * 1_000_000_000 } ?? false
        }
        /// A window's notional as a rate against the baseline minute (1 = a typical minute's pace).
        func rate(_ notional: Int64, _ seconds: Int, _ base: Double?) -> Double {
            base.map { Double(notional) * 60 / (Double(seconds) * $0) } ?? nan
        }
        func ratio(_ a: Int64, _ b: Int64) -> Double { a + b > 0 ? Double(a - b) / Double(a + b) : nan }

        // Book: the deepest synced book, our own orders taken out.
        s.emit(FeatureDescriptor("book.spread_bps", .bps, warmup: "book synced", family: "book",
                                 doc: "best ask − best bid over the mid"),
               view.map { (Double($0.asks[0].price) - Double($0.bids[0].price)) / $0.mid * 10_000 } ?? nan, warm: bookWarm)
        for n in [1, 5, 20] {
            s.emit(FeatureDescriptor("book.imbalance_l\(n)", .ratio, warmup: "book synced", family: "book",
                                     doc: "(bid size − ask size)/(sum) over the best \(n) levels; NaN past a cut book"),
                   view?.imbalance(n) ?? nan, warm: bookWarm)
        }
        s.emit(FeatureDescriptor("book.microprice_mid_bps", .bps, warmup: "book synced", family: "book",
                                 doc: "size-weighted microprice minus mid, over the mid"),
               view.map { v in
                   let b = v.bids[0], a = v.asks[0]
                   let micro = (Double(b.price) * Double(a.qty) + Double(a.price) * Double(b.qty)) / Double(a.qty + b.qty)
                   return (micro - v.mid) / v.mid * 10_000
               } ?? nan, warm: bookWarm)
        for bps in [2, 10] {
            for side in [BookSide.bid, .ask] {
                let name = side == .bid ? "bid" : "ask"
                s.emit(FeatureDescriptor("book.depth_\(name)_\(bps)bps", .baselineRatio, warmup: "book synced, " + warmupText,
                                         family: "book",
                                         doc: "\(name) notional within \(bps) bps of mid over the baseline minute; NaN past the book's span"),
                       view.map { v in baseline.map { v.depth(side, bps: Double(bps)) / $0 } ?? nan } ?? nan,
                       warm: bookWarm && baseline != nil)
            }
        }
        for side in [BookSide.bid, .ask] {
            let name = side == .bid ? "bid" : "ask"
            s.emit(FeatureDescriptor("book.coverage_\(name)_bps", .bps, warmup: "book synced", family: "book",
                                     doc: "distance from mid to the farthest \(name) level the book shows"),
                   view?.coverage(side) ?? nan, warm: bookWarm)
        }
        for side in [BookSide.bid, .ask] {
            let name = side == .bid ? "bid" : "ask"
            s.emit(FeatureDescriptor("book.touch_\(name)", .baselineRatio, warmup: "book synced, " + warmupText, family: "book",
                                     doc: "notional queued at the best \(name) over the baseline minute"),
                   view.map { v in
                       let l = side == .bid ? v.bids[0] : v.asks[0]
                       return baseline.map { Double(l.price) * Double(l.qty) / 1e6 / $0 } ?? nan
                   } ?? nan, warm: bookWarm && baseline != nil)
        }

        // Flow: taker trades (RPI prints excluded), as rates against the baseline minute.
        for (k, w) in SymbolFeatures.flowWindows.enumerated() {
            let warm = observed(state.tradesSince, w)
            s.emit(FeatureDescriptor("flow.buy_\(w)s", .baselineRatio, window: w, warmup: "\(w) s observed, " + warmupText,
                                     family: "flow", doc: "taker-buy notional per minute over \(w) s, over the baseline minute"),
                   rate(state.buys.sum(k), w, baseline), warm: warm && baseline != nil)
            s.emit(FeatureDescriptor("flow.sell_\(w)s", .baselineRatio, window: w, warmup: "\(w) s observed, " + warmupText,
                                     family: "flow", doc: "taker-sell notional per minute over \(w) s, over the baseline minute"),
                   rate(state.sells.sum(k), w, baseline), warm: warm && baseline != nil)
            s.emit(FeatureDescriptor("flow.imbalance_\(w)s", .ratio, window: w, warmup: "\(w) s observed", family: "flow",
                                     doc: "(buy − sell)/(buy + sell) taker notional over \(w) s; NaN without trades"),
                   ratio(state.buys.sum(k), state.sells.sum(k)), warm: warm)
        }
        for (k, w) in SymbolFeatures.ofiWindows.enumerated() {
            s.emit(FeatureDescriptor("flow.ofi_\(w)s", .baselineRatio, window: w, warmup: "\(w) s observed, book synced, " + warmupText,
                                     family: "flow",
                                     doc: "order-flow imbalance at the touch (Cont et al.) × mid per minute over \(w) s, over the baseline minute"),
                   view.map { v in rate(Int64((Double(state.ofi.sum(k)) * v.mid / 1e6).rounded()), w, baseline) } ?? nan,
                   warm: observed(state.ofiSince, w) && bookWarm && baseline != nil)
        }
        let countBaseline = state.tradeCountBins.count >= c.baselineWarmupMinutes
            ? state.tradeCountBins.percentile(50).flatMap { $0 > 0 ? Double($0) : nil } : nil
        for w in SymbolFeatures.intensityWindows {
            let k = SymbolFeatures.flowWindows.firstIndex(of: w)!
            s.emit(FeatureDescriptor("flow.intensity_\(w)s", .baselineRatio, window: w, warmup: "\(w) s observed, " + warmupText,
                                     family: "flow", doc: "trades per minute over \(w) s, over the baseline minute's trade count"),
                   rate(state.buys.weight(k) + state.sells.weight(k), w, countBaseline),
                   warm: observed(state.tradesSince, w) && countBaseline != nil)
        }
        for (k, w) in SymbolFeatures.vwapWindows.enumerated() {
            let f = SymbolFeatures.flowWindows.firstIndex(of: w)!
            s.emit(FeatureDescriptor("flow.vwap_dev_\(w)s_bps", .bps, window: w, warmup: "\(w) s observed, book synced", family: "flow",
                                     doc: "mid minus the \(w) s taker VWAP, over the VWAP; NaN without trades"),
                   view.map { v in
                       let q = state.quantities.sum(k)
                       guard q > 0 else { return nan }
                       let vwap = Double(state.buys.sum(f) + state.sells.sum(f)) / Double(q) * 1e6
                       return (v.mid - vwap) / vwap * 10_000
                   } ?? nan, warm: observed(state.tradesSince, w) && bookWarm)
        }
        s.emit(FeatureDescriptor("flow.large_prints_60s", .count, window: 60, warmup: "60 s observed, " + warmupText, family: "flow",
                                 doc: "trades of at least \(c.largePrintPermille)‰ of the baseline minute's notional, over 60 s"),
               Double(state.largePrints.sum(0)), warm: observed(state.largePrintsSince, 60) && observed(state.tradesSince, 60))

        // Volatility: 1 s bars from trades, closed when the second has passed.
        let barWindows = Array(Set(SymbolFeatures.volatilityWindows + SymbolFeatures.rangeWindows)).sorted()
        for w in SymbolFeatures.volatilityWindows {
            let k = barWindows.firstIndex(of: w)!
            s.emit(FeatureDescriptor("vol.rv_\(w)s_bps", .bps, window: w, warmup: "\(w) s observed", family: "volatility",
                                     doc: "realised volatility: √Σ squared log returns of 1 s bar closes over \(w) s"),
                   sqrt(Double(state.bars.squaredReturns.sum(k)) / SecondBars.scale) * 10_000, warm: observed(state.tradesSince, w))
        }
        for w in SymbolFeatures.rangeWindows {
            let k = barWindows.firstIndex(of: w)!
            s.emit(FeatureDescriptor("vol.parkinson_\(w)s_bps", .bps, window: w, warmup: "\(w) s observed", family: "volatility",
                                     doc: "Parkinson: √(Σ ln(H/L)² / 4 ln 2) over the 1 s bars of \(w) s"),
                   sqrt(Double(state.bars.parkinson.sum(k)) / SecondBars.scale / (4 * log(2.0))) * 10_000,
                   warm: observed(state.tradesSince, w))
            s.emit(FeatureDescriptor("vol.garman_klass_\(w)s_bps", .bps, window: w, warmup: "\(w) s observed", family: "volatility",
                                     doc: "Garman-Klass: √Σ (½ ln(H/L)² − (2 ln 2 − 1) ln(C/O)²) over the 1 s bars of \(w) s"),
                   sqrt(max(0, Double(state.bars.garmanKlass.sum(k))) / SecondBars.scale) * 10_000,
                   warm: observed(state.tradesSince, w))
        }

        // Liquidations: notional by liquidated side, as rates against the symbol's mean liquidated minute.
        let liquidationBase = state.liquidationBins.count >= c.baselineWarmupMinutes
            ? state.liquidationBins.mean.flatMap { $0 > 0 ? $0 : nil } : nil
        let liqWarmup = "\(c.baselineWarmupMinutes) min of liquidation baseline"
        for (k, w) in SymbolFeatures.liquidationWindows.enumerated() {
            let warm = observed(state.liquidationsSince, w) && liquidationBase != nil
            s.emit(FeatureDescriptor("liq.long_\(w)s", .baselineRatio, window: w, warmup: "\(w) s observed, " + liqWarmup, family: "liquidation",
                                     doc: "liquidated-long notional per minute over \(w) s, over the mean liquidated minute"),
                   rate(state.liquidatedLongs.sum(k), w, liquidationBase), warm: warm)
            s.emit(FeatureDescriptor("liq.short_\(w)s", .baselineRatio, window: w, warmup: "\(w) s observed, " + liqWarmup, family: "liquidation",
                                     doc: "liquidated-short notional per minute over \(w) s, over the mean liquidated minute"),
                   rate(state.liquidatedShorts.sum(k), w, liquidationBase), warm: warm)
        }
        let k60 = SymbolFeatures.liquidationWindows.firstIndex(of: 60)!
        s.emit(FeatureDescriptor("liq.count_long_60s", .count, window: 60, warmup: "60 s observed", family: "liquidation",
                                 doc: "liquidations of longs over 60 s"),
               Double(state.liquidatedLongs.weight(k60)), warm: observed(state.liquidationsSince, 60))
        s.emit(FeatureDescriptor("liq.count_short_60s", .count, window: 60, warmup: "60 s observed", family: "liquidation",
                                 doc: "liquidations of shorts over 60 s"),
               Double(state.liquidatedShorts.weight(k60)), warm: observed(state.liquidationsSince, 60))
        for w in SymbolFeatures.liquidationImbalanceWindows {
            let k = SymbolFeatures.liquidationWindows.firstIndex(of: w)!
            s.emit(FeatureDescriptor("liq.imbalance_\(w)s", .ratio, window: w, warmup: "\(w) s observed", family: "liquidation",
                                     doc: "(long − short)/(long + short) liquidated notional over \(w) s; NaN without any"),
                   ratio(state.liquidatedLongs.sum(k), state.liquidatedShorts.sum(k)), warm: observed(state.liquidationsSince, w))
        }
        s.emit(FeatureDescriptor("liq.size_pctl_last", .ratio, warmup: "\(c.liquidationRankMinimum) liquidations ranked",
                                 family: "liquidation",
                                 doc: "mid-rank of the last liquidation's notional among the symbol's previous \(c.liquidationRankDays) days (0.5 % log buckets)"),
               state.lastLiquidationRank ?? nan, warm: state.liquidationSizes.count >= c.liquidationRankMinimum)
        s.emit(FeatureDescriptor("liq.since_last_long_s", .seconds, warmup: "observed", family: "liquidation",
                                 doc: "seconds since the last liquidated long; NaN when none since observation began"),
               state.lastLongLiquidation.map { Double(t - $0) / 1e9 } ?? nan, warm: state.liquidationsSince != nil)
        s.emit(FeatureDescriptor("liq.since_last_short_s", .seconds, warmup: "observed", family: "liquidation",
                                 doc: "seconds since the last liquidated short; NaN when none since observation began"),
               state.lastShortLiquidation.map { Double(t - $0) / 1e9 } ?? nan, warm: state.liquidationsSince != nil)
        let armed = detector?.isArmed ?? false
        let episode = detector?.open.flatMap { $0.isOpen(at: t) ? $0 : nil }
        s.emit(FeatureDescriptor("liq.episode_active", .flag, warmup: "detector armed", family: "liquidation",
                                 doc: "1 while the symbol's cascade detector has an open episode"),
               armed ? (episode == nil ? 0 : 1) : nan, warm: armed)
        s.emit(FeatureDescriptor("liq.episode_side", .side, warmup: "detector armed", family: "liquidation",
                                 doc: "+1 longs liquidated, −1 shorts liquidated, 0 no open episode"),
               armed ? (episode.map { $0.side == .long ? 1 : -1 } ?? 0) : nan, warm: armed)
        s.emit(FeatureDescriptor("liq.episode_age_s", .seconds, warmup: "detector armed", family: "liquidation",
                                 doc: "seconds since the open episode started; NaN without one"),
               episode.map { Double(t - $0.start) / 1e9 } ?? nan, warm: armed)
        let referenceBase = reference.flatMap { r in
            r.liquidationBins.count >= c.baselineWarmupMinutes ? r.liquidationBins.mean.flatMap { $0 > 0 ? $0 : nil } : nil
        }
        s.emit(FeatureDescriptor("cross.\(c.referenceSymbol.lowercased())_liq_60s", .baselineRatio, window: 60,
                                 warmup: "60 s observed, " + liqWarmup, family: "liquidation",
                                 doc: "\(c.referenceSymbol)'s liquidated notional per minute over 60 s, over its mean liquidated minute"),
               reference.map { r in rate(r.liquidatedLongs.sum(k60) + r.liquidatedShorts.sum(k60), 60, referenceBase) } ?? nan,
               warm: observed(reference?.liquidationsSince, 60) && referenceBase != nil)

        // Open interest and funding, from the ticker.
        let oiNow = state.openInterest(asOf: t)
        for w in SymbolFeatures.oiWindows {
            let then = state.openInterest(asOf: t - Int64(w) * 1_000_000_000)
            s.emit(FeatureDescriptor("oi.change_\(w)s_bps", .bps, window: w, warmup: "\(w) s of open interest", family: "oi_funding",
                                     doc: "change of open interest over \(w) s, over its value then"),
                   { guard let oiNow, let then, then > 0 else { return nan }
                     return Double(oiNow - then) / Double(then) * 10_000 }(),
                   warm: then != nil && observed(state.tickerSince, w))
        }
        let fields = ticker?.fields
        let tickerWarm = (ticker?.hasSnapshot ?? false) && state.tickerSince != nil && !state.tickerStale
        s.emit(FeatureDescriptor("funding.rate_bps", .bps, warmup: "ticker snapshot", family: "oi_funding",
                                 doc: "current funding rate"),
               fields?.fundingRate.map { Double($0.units) / 1e6 } ?? nan, warm: tickerWarm && fields?.fundingRate != nil)
        s.emit(FeatureDescriptor("funding.basis_bps", .bps, warmup: "ticker snapshot", family: "oi_funding",
                                 doc: "mark − index over the index"),
               { guard let m = fields?.markPrice, let i = fields?.indexPrice, i.units > 0 else { return nan }
                 return Double(m.units - i.units) / Double(i.units) * 10_000 }(),
               warm: tickerWarm && fields?.markPrice != nil && fields?.indexPrice != nil)
        s.emit(FeatureDescriptor("funding.to_next_s", .seconds, warmup: "ticker snapshot", family: "oi_funding",
                                 doc: "seconds to the ticker's nextFundingTime (exchange clock carried from the last ticker); NaN once past"),
               { guard let next = fields?.nextFundingTime, let ex = ticker?.lastExchangeTime, let local = ticker?.lastLocalTime
                 else { return nan }
                 let exchangeNow = Double(ex.milliseconds) + Double(t - local.nanoseconds) / 1e6
                 let left = (Double(next.milliseconds) - exchangeNow) / 1e3
                 return left >= 0 ? left : nan }(),
               warm: tickerWarm && fields?.nextFundingTime != nil)
        s.emit(FeatureDescriptor("funding.interval_h", .hours, warmup: "ticker snapshot", family: "oi_funding",
                                 doc: "funding interval the ticker states (it changes when the rate hits its cap)"),
               fields?.fundingIntervalHours.map(Double.init) ?? nan, warm: tickerWarm && fields?.fundingIntervalHours != nil)

        // Time of day and week, on receive time (UTC).
        let seconds = floorDivide(t, 1_000_000_000)
        let dayAngle = 2 * Double.pi * Double(((seconds % 86_400) + 86_400) % 86_400) / 86_400
        // 1970-01-01 was a Thursday: Monday is day 0.
        let weekday = ((floorDivide(seconds, 86_400) + 3) % 7 + 7) % 7
        let weekAngle = 2 * Double.pi * Double(weekday) / 7
        s.emit(FeatureDescriptor("time.hour_sin", .cyclic, warmup: "none", family: "time", doc: "sin of the UTC time of day"),
               sin(dayAngle), warm: true)
        s.emit(FeatureDescriptor("time.hour_cos", .cyclic, warmup: "none", family: "time", doc: "cos of the UTC time of day"),
               cos(dayAngle), warm: true)
        s.emit(FeatureDescriptor("time.dow_sin", .cyclic, warmup: "none", family: "time", doc: "sin of the UTC day of week (Monday 0)"),
               sin(weekAngle), warm: true)
        s.emit(FeatureDescriptor("time.dow_cos", .cyclic, warmup: "none", family: "time", doc: "cos of the UTC day of week (Monday 0)"),
               cos(weekAngle), warm: true)
    }
}
