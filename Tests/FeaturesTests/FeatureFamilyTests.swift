import CascadeCore
import CascadeTesting
import FeatureReplay
import Features
import Foundation
import MarketData
import Testing

@Suite struct FlowFeatureTests {
    /// Trades at t0 (buy 1 @ 100 = 100 USDT: observation starts on a minute, so that minute counts), t0+70 s
    /// (sell 3 @ 100 = 300) and, unless `upTo` stops earlier, t0+120.5 s (buy 2 @ 100 = 200).
    func harness(upTo last: Int = 3, silence: Int64 = 600_000_000_000) -> EngineHarness {
        // Trades 70 s apart with nothing else from the symbol: allowed here by a 10-minute silence limit.
        var h = EngineHarness {
            $0.baselineWarmupMinutes = 2
            $0.maxStreamSilenceNanoseconds = silence
        }
        let b = h.builder
        let trades = [(Side.buy, "1", 0.0), (.sell, "3", 70), (.buy, "2", 120.5)]
        for (side, qty, at) in trades.prefix(last) { h.apply(.trades([b.trade(side, "100", qty, at: 0)]), at: t0 + s(at)) }
        return h
    }

    @Test func notionalIsARateAgainstTheMedianBaselineMinute() {
        var h = harness()
        let v = h.vector(at: t0 + s(121))
        // Completed minutes: 100 and 300 USDT; the nearest-rank median is 100 USDT a minute.
        #expect(h.value(v, "flow.buy_1s") == 120)          // 200 USDT in 1 s = 12,000 a minute = 120 × 100
        #expect(h.value(v, "flow.sell_1s") == 0)
        #expect(h.value(v, "flow.imbalance_1s") == 1)
        #expect(h.value(v, "flow.buy_60s") == 2)           // (61, 121]: 200 USDT in 60 s
        #expect(h.value(v, "flow.sell_60s") == 3)          // the sell at 70 s is inside
        #expect(close(h.value(v, "flow.imbalance_60s"), -0.2))
        let warm = h.warm(v, "flow.buy_60s")
        #expect(warm)
    }

    @Test func aWindowExcludesItsLeftEdge() {
        var h = harness()
        // (70, 130]: the sell received at exactly 70 s has left; 1 ns earlier it is still in.
        let inside = h.vector(at: t0 + s(130) - 1)
        #expect(h.value(inside, "flow.sell_60s") == 3)
        let outside = h.vector(at: t0 + s(130))
        #expect(h.value(outside, "flow.sell_60s") == 0)
        #expect(close(h.value(outside, "flow.imbalance_60s"), 1))
    }

    @Test func beforeTheBaselineIsWarmRatiosAreNaNAndNotWarm() {
        var h = harness(upTo: 2)
        let v = h.vector(at: t0 + s(100))          // one completed minute < 2
        #expect(h.value(v, "flow.buy_60s").isNaN)
        let warm = h.warm(v, "flow.buy_60s")
        #expect(!warm)
        #expect(!v.isReady)
        // The imbalance needs no baseline: defined and warm.
        #expect(h.value(v, "flow.imbalance_60s") == -1)     // (40, 100]: only the sell at 70 s
    }

    @Test func aSymbolSilentLongerThanTheLimitWasNotRecordedSoItsMinutesAreMissing() {
        // With the default 60 s limit, the 70 s without any input from the symbol is a gap: the minute before it
        // counts, the minutes of the gap do not, and the windows restart at the next trade.
        var h = harness(silence: 60_000_000_000)
        let v = h.vector(at: t0 + s(121))
        #expect(h.value(v, "flow.buy_60s").isNaN)      // one counted minute (the first) < 2
        let warm = h.warm(v, "flow.imbalance_60s")
        #expect(!warm)                                   // observed again only since the trade at 70 s: 51 s < 60 s
        #expect(close(h.value(v, "flow.imbalance_60s"), -0.2))   // still computed from what was observed
    }

    @Test func noTradesInAWindowIsNaNImbalanceNotZero() {
        var h = harness()
        let v = h.vector(at: t0 + s(200))
        #expect(h.value(v, "flow.imbalance_1s").isNaN)
        #expect(h.value(v, "flow.buy_1s") == 0)
    }
}

@Suite struct LiquidationFeatureTests {
    /// Bybit frames through the production decoder: `S=Buy` is a liquidated long.
    func frame(_ side: String, qty: String, price: String, at t: Int64) -> [UInt8] {
        let ms = t / 1_000_000
        return Array(#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"\#(side)","v":"\#(qty)","p":"\#(price)"}]}"#.utf8)
    }

    func replay() -> FeatureReplay {
        var c = FeatureConfiguration()
        c.baselineWarmupMinutes = 2
        var r = FeatureReplay(configuration: c)
        r.ingest(frame("Buy", qty: "1", price: "100", at: t0), at: LocalTime(nanoseconds: t0))
        r.ingest(frame("Sell", qty: "2", price: "100", at: t0 + s(70)), at: LocalTime(nanoseconds: t0 + s(70)))
        r.ingest(frame("Buy", qty: "3", price: "100", at: t0 + s(121)), at: LocalTime(nanoseconds: t0 + s(121)))
        return r
    }

    func value(_ r: FeatureReplay, _ v: FeatureVector, _ name: String) -> Double { v.values[r.engine.schema.index(of: name)!] }

    @Test func sidesAndNotionalRatesAgainstTheMeanLiquidatedMinute() throws {
        var r = replay()
        let v = try #require(r.vectors(at: t0 + s(121)).first)
        // Completed minutes: 100 and 200 USDT liquidated: mean 150 a minute.
        #expect(value(r, v, "liq.long_60s") == 2)                 // (61, 121]: 300 USDT of longs / 150
        #expect(close(value(r, v, "liq.short_60s"), 200.0 / 150))
        #expect(value(r, v, "liq.long_1s") == 120)                // 300 in 1 s = 18,000 a minute / 150
        #expect(value(r, v, "liq.count_long_60s") == 1)
        #expect(value(r, v, "liq.count_short_60s") == 1)
        #expect(close(value(r, v, "liq.imbalance_60s"), 0.2))
        #expect(value(r, v, "liq.since_last_long_s") == 0)
        #expect(value(r, v, "liq.since_last_short_s") == 51)
        // Not yet 300 s observed: the 300 s window is not warm.
        #expect(!v.warm[r.engine.schema.index(of: "liq.long_300s")!])
        #expect(v.warm[r.engine.schema.index(of: "liq.long_60s")!])
    }

    @Test func theDetectorIsNotArmedSoEpisodeFeaturesAreNaN() throws {
        var r = replay()
        let v = try #require(r.vectors(at: t0 + s(125)).first)
        #expect(value(r, v, "liq.episode_active").isNaN)
        #expect(!v.warm[r.engine.schema.index(of: "liq.episode_active")!])
        #expect(value(r, v, "liq.since_last_long_s") == 4)
    }

    @Test func the2024FramesOnTheAllLiquidationTopicAreClassifiedThrottled() {
        let r = replay()
        #expect(r.engine.allDetectors.map(\.source) == [.throttled])
    }
}

@Suite struct BookFeatureTests {
    @Test func ownOrdersAreSubtractedSoLiveAndReplayedBooksGiveTheSameFeatures() {
        let replayed = (bids: [("100.0", "2"), ("99.9", "1")], asks: [("100.1", "1.5"), ("100.2", "4")])
        // The live book holds our bid of 0.5 at 100.0 and our lone bid of 0.3 at 100.05 (a level only we are on).
        let live = (bids: [("100.05", "0.3"), ("100.0", "2.5"), ("99.9", "1")], asks: replayed.asks)
        /// A warm baseline (200 USDT a minute) so depth and touch features are numbers, then the book at 61 s.
        func run(_ bids: [(String, String)], includesOwn: Bool, own: [OwnOrder]) -> (EngineHarness, FeatureVector) {
            var h = EngineHarness {
                $0.baselineWarmupMinutes = 1
                $0.booksIncludeOwnOrders = includesOwn
            }
            h.engine.setOwnOrders(own, symbol: "BTCUSDT")
            var b = h.builder
            h.apply(.trades([b.trade(.buy, "100", "1", at: 0)]), at: t0)
            h.apply(.trades([b.trade(.buy, "100", "1", at: 0)]), at: t0 + s(59))
            h.apply(.trades([b.trade(.buy, "100", "1", at: 0)]), at: t0 + s(60.5))
            h.apply(.book(b.book(.snapshot, ts: 1, bids: bids, asks: replayed.asks)), at: t0 + s(61))
            return (h, h.vector(at: t0 + s(61)))
        }
        let mine = MarketBuilder()
        let own = [OwnOrder(side: .bid, price: mine.p("100.0"), qty: mine.q("0.5")),
                   OwnOrder(side: .bid, price: mine.p("100.05"), qty: mine.q("0.3"))]
        let (a, va) = run(replayed.bids, includesOwn: false, own: own)
        let (b, vb) = run(live.bids, includesOwn: true, own: own)
        for name in a.engine.schema.features.map(\.name) where name.hasPrefix("book.") {
            #expect(a.value(va, name).bitPattern == b.value(vb, name).bitPattern, "\(name)")
        }
        // Hand values: spread 0.1 over mid 100.05 = 9.995 bps; imbalance at 1 level (2 − 1.5)/3.5. The baseline minute
        // is 200 USDT (two 100 USDT trades in minute 0); 10 bps below the mid (99.94995) holds the bid 100.0 × 2 =
        // 200 USDT: 1.0; the touch bid is the same 200 USDT: 1.0.
        #expect(close(a.value(va, "book.spread_bps"), 0.1 / 100.05 * 10_000))
        #expect(close(a.value(va, "book.imbalance_l1"), 0.5 / 3.5))
        #expect(close(a.value(va, "book.depth_bid_10bps"), 1))
        #expect(close(a.value(va, "book.touch_bid"), 1))
        // Not subtracting in the live engine would see our 100.05 bid as the touch and our 0.5 in the queue.
        let (c, vc) = run(live.bids, includesOwn: false, own: own)
        #expect(c.value(vc, "book.spread_bps") != a.value(va, "book.spread_bps"))
        #expect(c.value(vc, "book.depth_bid_10bps") != a.value(va, "book.depth_bid_10bps"))
    }

    /// Each symbol's vector reads its own book, whichever order the symbols were met in (the engine's slots by
    /// symbol id): ETHUSDT (id 1), SOLUSDT (id 2) and BTCUSDT (id 0) met in that order take slots 0, 1 and 2, a
    /// rotation, so reading the table in the wrong direction gives another symbol's book.
    @Test func eachSymbolsVectorReadsItsOwnBook() {
        var h = EngineHarness()
        let eth = h.instruments.id(for: "ETHUSDT"), sol = h.instruments.id(for: "SOLUSDT")
        var e = MarketBuilder(instrument: Instrument(id: eth, symbol: "ETHUSDT"))
        var o = MarketBuilder(instrument: Instrument(id: sol, symbol: "SOLUSDT"))
        var b = h.builder
        h.apply(.book(e.book(.snapshot, ts: 1, bids: [("2000.0", "1")], asks: [("2000.2", "1")])), at: t0)
        h.apply(.book(o.book(.snapshot, ts: 1, bids: [("150.0", "1")], asks: [("150.3", "1")])), at: t0)
        h.apply(.book(b.book(.snapshot, ts: 1, bids: [("100.0", "1")], asks: [("100.1", "1")])), at: t0)
        let ve = h.vector(at: t0, symbol: "ETHUSDT"), vo = h.vector(at: t0, symbol: "SOLUSDT"), vb = h.vector(at: t0, symbol: "BTCUSDT")
        #expect(close(h.value(ve, "book.spread_bps"), 0.2 / 2000.1 * 10_000))
        #expect(close(h.value(vo, "book.spread_bps"), 0.3 / 150.15 * 10_000))
        #expect(close(h.value(vb, "book.spread_bps"), 0.1 / 100.05 * 10_000))
    }

    @Test func depthOutsideTheSpanTheBookCoversIsNaNNotZero() {
        // A 2-deep book cut at 99.9 / 100.2: within 2 bps of mid 100.05 is covered (99.03… no: 100.03 … 100.07),
        // within 10 bps (99.95 … 100.15) the bid side reaches 99.95 > 99.9: covered; ask side 100.15 < 100.2: covered.
        var h = EngineHarness()
        h.builder.depth = 2
        let bookh = h.builder.book(.snapshot, ts: 1, bids: [("100.0", "2"), ("99.9", "1")], asks: [("100.1", "1.5"), ("100.2", "4")])
        h.apply(.book(bookh), at: t0)
        let v = h.vector(at: t0)
        #expect(h.value(v, "book.coverage_bid_bps") > 10)
        #expect(close(h.value(v, "book.coverage_bid_bps"), 0.15 / 100.05 * 10_000))
        // Depth needs a baseline to be a ratio: not warm, NaN.
        #expect(h.value(v, "book.depth_bid_2bps").isNaN)
        // Imbalance at 5 levels of a book cut at 2: unknown levels, NaN.
        #expect(h.value(v, "book.imbalance_l5").isNaN)
        #expect(close(h.value(v, "book.imbalance_l1"), 0.5 / 3.5))
    }
}

@Suite struct FundingFeatureTests {
    @Test func timeToFundingFollowsTheTickerWhenTheIntervalChanges() {
        var h = EngineHarness()
        let b = h.builder
        // Exchange time 03:17:00.250 (not on any 8 h grid), next funding 08:00 → 4 h 42 min 59.75 s.
        let exchange: Int64 = 1_709_608_620_250
        var f = TickerFields()
        f.nextFundingTime = ExchangeTime(milliseconds: 1_709_625_600_000)
        f.fundingIntervalHours = 8
        f.fundingRate = try! Rate("0.0001")
        f.markPrice = b.p("100.5")
        f.indexPrice = b.p("100")
        let local = exchange * 1_000_000 + 1_500_000_000     // our clock 1.5 s ahead of the exchange's
        h.apply(.ticker(TickerUpdate(symbol: b.symbol, kind: .snapshot, fields: f, crossSequence: nil,
                                     exchangeTime: ExchangeTime(milliseconds: exchange), localTime: LocalTime(nanoseconds: local))),
                at: local)
        var v = h.vector(at: local + s(10))
        #expect(close(h.value(v, "funding.to_next_s"), 16_979.75 - 10))
        #expect(h.value(v, "funding.interval_h") == 8)
        #expect(close(h.value(v, "funding.rate_bps"), 1))
        #expect(close(h.value(v, "funding.basis_bps"), 50))
        // The rate hit its cap: Bybit switches the symbol to hourly funding, next at 04:00.
        var d = TickerFields()
        d.fundingIntervalHours = 1
        d.nextFundingTime = ExchangeTime(milliseconds: 1_709_611_200_000)
        h.apply(.ticker(TickerUpdate(symbol: b.symbol, kind: .delta, fields: d, crossSequence: nil,
                                     exchangeTime: ExchangeTime(milliseconds: exchange + 60_000),
                                     localTime: LocalTime(nanoseconds: local + s(60)))), at: local + s(60))
        v = h.vector(at: local + s(60))
        #expect(close(h.value(v, "funding.to_next_s"), 2_519.75))   // 04:00:00 − 03:18:00.250
        #expect(h.value(v, "funding.interval_h") == 1)
        // Past the funding time without a new ticker: unknown, not negative.
        v = h.vector(at: local + s(60) + s(2_600))
        #expect(h.value(v, "funding.to_next_s").isNaN)
    }
}

@Suite struct SchemaTests {
    @Test func namesAreUniqueAndEveryVectorFollowsTheSchema() {
        var h = EngineHarness()
        h.apply(.trades([h.builder.trade(.buy, "100", "1", at: 0)]), at: t0)
        let v = h.vector(at: t0)
        let names = h.engine.schema.features.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(v.values.count == names.count && v.warm.count == names.count)
        #expect(Set(h.engine.schema.features.map(\.family)) == ["book", "flow", "volatility", "liquidation", "oi_funding", "time"])
        #expect(h.engine.schema.features.allSatisfy { !$0.doc.isEmpty && !$0.warmup.isEmpty })
    }

    @Test func theHashChangesWithTheParametersAndIsStable() {
        let a = FeatureEngine().schema, b = FeatureEngine().schema
        var c = FeatureConfiguration()
        c.baselineWarmupMinutes = 5
        #expect(a.hash == b.hash && a.hash.count == 64)
        #expect(FeatureEngine(configuration: c).schema.hash != a.hash)
    }

    @Test func savedStateOfAnotherConfigurationIsRefused() throws {
        var h = EngineHarness()
        h.apply(.trades([h.builder.trade(.buy, "100", "1", at: 0)]), at: t0)
        let saved = try h.engine.savedState()
        var c = FeatureConfiguration()
        c.baselineWarmupMinutes = 5
        #expect(throws: FeatureStateError.self) { try FeatureEngine(restoring: saved, configuration: c) }
        let restored = try FeatureEngine(restoring: saved, configuration: FeatureConfiguration())
        #expect(restored.symbolNames == ["BTCUSDT"])
    }

    /// A symbol's detector slots are saved as the two-entry array they were saved as before they were held inline
    /// (`[all, throttled]`, null when none), so states saved by earlier builds restore; a damaged entry is refused.
    @Test func detectorSlotsAreSavedAsATwoEntryArray() throws {
        // Dated before `allLiquidation` existed, the harness's liquidations are the throttled topic's; a year later,
        // `allLiquidation`'s.
        let afterLaunch: Int64 = (LiquidationSource.allLiquidationLaunchMilliseconds + 86_400_000) * 1_000_000
        for (t, slots) in [(t0, "[null,0]"), (afterLaunch, "[0,null]")] {
            var h = EngineHarness()
            h.apply(h.liquidation(.long, 5_000, at: t), at: t)
            let saved = try h.engine.savedState()
            let text = String(decoding: saved, as: UTF8.self)
            #expect(text.contains("\"detectorSlots\":\(slots)"), "expected detectorSlots \(slots)")
            for damaged in ["[0]", "[0,null,null]", "{\"all\":0}"] {
                let replaced = text.replacingOccurrences(of: "\"detectorSlots\":\(slots)", with: "\"detectorSlots\":\(damaged)")
                #expect(replaced != text)
                #expect(throws: FeatureStateError.self) { try FeatureEngine(restoring: Array(replaced.utf8), configuration: FeatureConfiguration()) }
            }
            #expect(try FeatureEngine(restoring: saved, configuration: FeatureConfiguration()).savedState() == saved)
        }
    }

    /// A boundary for every stream and a lost frame reach the symbols a restored engine holds before their next frame,
    /// and a query reads their books, as on the run that saved the state: the restore gives each symbol the table
    /// knows its slot (two symbols met in the reverse of their ids' order, so a slot is not its id); one the table
    /// learns only later gets its slot at the first input after.
    @Test func aRestoredEngineHearsABoundaryBeforeItsSymbolsNextFrame() throws {
        var h = EngineHarness()
        let eth = h.instruments.id(for: "ETHUSDT")
        var e = MarketBuilder(instrument: Instrument(id: eth, symbol: "ETHUSDT"))
        for s in 0..<120 {
            let t = t0 + Int64(s) * 1_000_000_000
            h.apply(.trades([e.trade(.sell, "2000", "1", at: t / 1_000_000)]), at: t)
            h.apply(.trades([h.builder.trade(s % 2 == 0 ? .buy : .sell, "100", "1", at: t / 1_000_000)]), at: t)
            if s % 7 == 0 { h.apply(h.liquidation(.long, 5_000, at: t), at: t) }
        }
        let bookAt = t0 + 119 * 1_000_000_000
        h.apply(.book(e.book(.snapshot, ts: bookAt / 1_000_000, bids: [("2000.0", "1")], asks: [("2000.2", "1")])), at: bookAt)
        h.apply(.book(h.builder.book(.snapshot, ts: bookAt / 1_000_000, bids: [("100.0", "1")], asks: [("100.1", "1")])), at: bookAt)
        let saved = try h.engine.savedState()
        var restored = h
        restored.engine = try FeatureReplay(restoring: saved, configuration: FeatureConfiguration(), instruments: h.instruments).engine
        // The table at restore knows only BTCUSDT: ETHUSDT gets its slot once an input's table knows it.
        var partial = InstrumentTable()
        _ = partial.id(for: "BTCUSDT")
        var late = h
        late.engine = try FeatureEngine(restoring: saved, configuration: FeatureConfiguration(), instruments: partial)
        let later = t0 + 130 * 1_000_000_000
        /// The restored runs' saved states and vectors at `t` against the original's (`late` only once it has had an input).
        func same(at t: Int64, late includesLate: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let runs = includesLate ? [restored, late] : [restored]
            for run in runs { #expect(try run.engine.savedState() == h.engine.savedState(), sourceLocation: sourceLocation) }
            for symbol in ["BTCUSDT", "ETHUSDT"] {
                let original = h.vector(at: t, symbol: symbol).values.map(\.bitPattern)
                #expect(restored.vector(at: t, symbol: symbol).values.map(\.bitPattern) == original, "\(symbol)", sourceLocation: sourceLocation)
                let lateValues = late.vector(at: t, symbol: symbol).values.map(\.bitPattern)    // queried in any case: the same clock
                if includesLate { #expect(lateValues == original, "\(symbol), late", sourceLocation: sourceLocation) }
            }
        }
        try same(at: bookAt + 1, late: false)
        for run in [0, 1, 2] {
            func step(_ apply: (inout EngineHarness) -> Void) {
                switch run {
                case 0: apply(&h)
                case 1: apply(&restored)
                default: apply(&late)
                }
            }
            step { $0.apply(input: .lost(.trades(eth), reason: "bad frame"), at: later) }
            step { $0.apply(input: .session(.disconnect, streams: nil, at: LocalTime(nanoseconds: later + 1_000_000_000)), at: later + 1_000_000_000) }
            step { $0.apply(input: .session(.connect, streams: nil, at: LocalTime(nanoseconds: later + 2_000_000_000)), at: later + 2_000_000_000) }
            step { $0.apply(.trades([$0.builder.trade(.buy, "101", "2", at: later / 1_000_000 + 3_000)]), at: later + 3_000_000_000) }
        }
        try same(at: later + 4_000_000_000, late: true)
    }
}
