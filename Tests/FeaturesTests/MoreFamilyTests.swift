import CascadeCore
import CascadeTesting
import Features
import Foundation
import MarketData
import Testing

/// Hand-computed values for the families the first file leaves out: volatility, order flow at the touch, VWAP,
/// intensity, large prints, size percentile, the cross-symbol feature, open interest, time; and depth with a warm
/// baseline.
@Suite struct VolatilityFeatureTests {
    @Test func barsCloseWhenTheirSecondHasPassedAndFeedTheThreeEstimators() {
        var h = EngineHarness()
        let b = h.builder
        // Second 0: open 100, high 101, low 99, close 100.5. Second 1: one trade at 102.
        for (ms, price) in [(100, "100"), (200, "101"), (300, "99"), (400, "100.5"), (1_500, "102")] as [(Int64, String)] {
            h.apply(.trades([b.trade(.buy, price, "1", at: 0)]), at: t0 + ms * 1_000_000)
        }
        // At 1.9 s only bar 0 is closed: no return yet, its range only.
        var v = h.vector(at: t0 + s(1.9))
        #expect(h.value(v, "vol.rv_10s_bps") == 0)
        #expect(close(h.value(v, "vol.parkinson_60s_bps"), sqrt(pow(log(101.0 / 99), 2) / (4 * log(2.0))) * 10_000, 1e-6))
        // At 2 s bar 1 (102) closes: one return ln(102/100.5); its range is zero.
        v = h.vector(at: t0 + s(2))
        #expect(close(h.value(v, "vol.rv_10s_bps"), log(102 / 100.5) * 10_000, 1e-6))
        let gk = 0.5 * pow(log(101.0 / 99), 2) - (2 * log(2.0) - 1) * pow(log(100.5 / 100), 2)
        #expect(close(h.value(v, "vol.garman_klass_60s_bps"), sqrt(gk) * 10_000, 1e-6))
        // Only 2 s observed: computed, not warm.
        let warm = h.warm(v, "vol.rv_10s_bps")
        #expect(!warm)
    }
}

@Suite struct TouchAndFlowTests {
    /// A 100 USDT trade at t0 (observation starts on the minute), a book at 30 s, a 100 USDT sell at 60.5 s that
    /// completes minute 0 (baseline: 100 USDT and 1 trade a minute, warm after 1 minute), then two book deltas.
    func harness() -> EngineHarness {
        var h = EngineHarness { $0.baselineWarmupMinutes = 1 }
        var b = h.builder
        h.apply(.trades([b.trade(.buy, "100", "1", at: 0)]), at: t0)
        let snapshot = b.book(.snapshot, ts: 1, bids: [("100", "2")], asks: [("101", "3")])
        h.apply(.book(snapshot), at: t0 + s(30))
        h.apply(.trades([b.trade(.sell, "100", "1", at: 0)]), at: t0 + s(60.5))
        // Bid queue 2 → 5 at the same price: e = +5 − 2 (bid) − 3 + 3 (ask unchanged) = +3.
        h.apply(.book(b.book(.delta, ts: 2, bids: [("100", "5")], asks: [])), at: t0 + s(61))
        // A better ask 100.5 × 1 arrives: e = +5 − 5 (bid unchanged) − 1 (new ask) = −1.
        h.apply(.book(b.book(.delta, ts: 3, bids: [], asks: [("100.5", "1")])), at: t0 + s(62))
        h.builder = b
        return h
    }

    @Test func orderFlowImbalanceVWAPIntensityAndLargePrintsByHand() {
        var h = harness()
        let v = h.vector(at: t0 + s(62.5))
        // OFI over 5 s: +3 − 1 = 2 BTC at mid 100.25 = 200.5 USDT in 5 s, against 100 USDT a minute.
        #expect(close(h.value(v, "flow.ofi_5s"), 200.5 * 60 / (5 * 100)))
        #expect(close(h.value(v, "flow.ofi_30s"), 200.5 * 60 / (30 * 100)))
        let ofiWarm = h.warm(v, "flow.ofi_30s")
        #expect(ofiWarm)                                                // the touch followed since 30 s
        // VWAP of (32.5, 62.5] is the sell at 100; mid 100.25 is 25 bps above it.
        #expect(close(h.value(v, "flow.vwap_dev_30s_bps"), 25))
        // One trade in 5 s against a median of one a minute: 12 times the pace.
        #expect(close(h.value(v, "flow.intensity_5s"), 12))
        #expect(close(h.value(v, "flow.intensity_60s"), 1))
        // The 100 USDT sell is ≥ 50 ‰ of the 100 USDT baseline minute: one large print, counted since 60.5 s.
        #expect(h.value(v, "flow.large_prints_60s") == 1)
        let largeWarm = h.warm(v, "flow.large_prints_60s")
        #expect(!largeWarm)
    }

    @Test func depthIsAShareOfTheBaselineMinuteWithinTheSpanAndNaNBeyondIt() {
        var h = harness()
        // The book now: bids 100 × 5; asks 100.5 × 1, 101 × 3 (depth 50, so the whole book is shown).
        let v = h.vector(at: t0 + s(62.5))
        // Mid 100.25; 10 bps below is 100.14975: the bid 100 × 5 is outside, so 0, covered (the book is complete).
        #expect(h.value(v, "book.depth_bid_10bps") == 0)
        // 10 bps above is 100.35025: 100.5 is outside too.
        #expect(h.value(v, "book.depth_ask_10bps") == 0)
        #expect(close(h.value(v, "book.touch_bid"), 500.0 / 100))      // 100 × 5 = 500 USDT over 100 a minute
        // A book cut at one level (orderbook.1, 100.2 / 100.3): 10 bps reaches past it, so unknown, not empty.
        var cut = EngineHarness { $0.baselineWarmupMinutes = 1 }
        var b = cut.builder
        cut.apply(.trades([b.trade(.buy, "100", "1", at: 0)]), at: t0)
        cut.apply(.book(b.book(.snapshot, ts: 1, bids: [("100.2", "5")], asks: [("100.3", "1")], depth: 1)), at: t0 + s(30))
        cut.apply(.trades([b.trade(.sell, "100", "1", at: 0)]), at: t0 + s(60.5))
        let w = cut.vector(at: t0 + s(61))
        #expect(cut.value(w, "book.depth_bid_10bps").isNaN)
        #expect(cut.value(w, "book.depth_ask_10bps").isNaN)
        let warm = cut.warm(w, "book.depth_bid_10bps")
        #expect(warm)                                                   // warm, and still NaN: the band is unknown
        // Mid 100.25: 2 bps below (100.23) is inside the span the level covers (down to 100.2) and holds nothing.
        #expect(cut.value(w, "book.depth_bid_2bps") == 0)
    }
}

@Suite struct LiquidationRankAndCrossTests {
    @Test func sizePercentileIsTheMidRankAmongThePreviousWeek() {
        var h = EngineHarness()
        for i in 1...100 { h.apply(h.liquidation(.long, i, at: t0 + s(Double(i))), at: t0 + s(Double(i))) }
        var v = h.vector(at: t0 + s(100))
        // The 100th (100 USDT) ranked against 99 smaller ones: not warm yet (needs 100 ranked), and not ranked.
        #expect(h.value(v, "liq.size_pctl_last").isNaN)
        h.apply(h.liquidation(.short, 50, at: t0 + s(101)), at: t0 + s(101))
        v = h.vector(at: t0 + s(101))
        // 50 among 1…100: 49 below, one equal: (49 + ½) / 100.
        #expect(close(h.value(v, "liq.size_pctl_last"), 0.495))
        let warm = h.warm(v, "liq.size_pctl_last")
        #expect(warm)
    }

    @Test func btcLiquidationsAreAFeatureOfEverySymbol() {
        var h = EngineHarness { $0.baselineWarmupMinutes = 1 }
        let eth = MarketBuilder(instrument: Instrument(id: SymbolID(index: 1), symbol: "ETHUSDT"))
        _ = h.instruments.id(for: "ETHUSDT")
        h.apply(h.liquidation(.long, 100, at: t0), at: t0)
        h.apply(h.liquidation(.short, 200, at: t0 + s(61)), at: t0 + s(61))
        h.apply(.trades([eth.trade(.buy, "3000", "1", at: 0)]), at: t0 + s(61))
        let v = h.vector(at: t0 + s(61), symbol: "ETHUSDT")
        // BTC's minute 0 held 100 USDT (mean 100 a minute); its last 60 s hold the 200 USDT of shorts.
        #expect(close(h.value(v, "cross.btcusdt_liq_60s"), 2))
        // ETH's own liquidation stream was never seen: not warm, not zero.
        #expect(h.value(v, "liq.long_60s").isNaN)
        let warm = h.warm(v, "liq.count_long_60s")
        #expect(!warm)
    }
}

@Suite struct OpenInterestAndTimeTests {
    @Test func openInterestChangeAgainstItsValueAWindowAgo() {
        var h = EngineHarness()
        for k in 0...10 {
            var f = TickerFields()
            f.openInterest = h.builder.q("\(1_000 + 10 * k)")
            let t = t0 + s(Double(30 * k))
            h.apply(.ticker(TickerUpdate(symbol: h.builder.symbol, kind: k == 0 ? .snapshot : .delta, fields: f, crossSequence: nil,
                                         exchangeTime: ExchangeTime(milliseconds: t / 1_000_000), localTime: LocalTime(nanoseconds: t))),
                    at: t)
        }
        let v = h.vector(at: t0 + s(300))
        #expect(close(h.value(v, "oi.change_60s_bps"), 20.0 / 1_080 * 10_000))    // 1,100 now, 1,080 at 240 s
        #expect(close(h.value(v, "oi.change_300s_bps"), 1_000))                   // 1,000 at 0 s
        let warm = h.warm(v, "oi.change_300s_bps")
        #expect(warm)
    }

    @Test func hourAndWeekdayAreCyclicOnUTC() {
        var h = EngineHarness()
        h.apply(.trades([h.builder.trade(.buy, "100", "1", at: 0)]), at: t0)
        // 2024-03-05 04:00 UTC, a Tuesday (Monday is 0).
        let v = h.vector(at: t0)
        #expect(close(h.value(v, "time.hour_sin"), sin(Double.pi / 3)))
        #expect(close(h.value(v, "time.hour_cos"), 0.5))
        #expect(close(h.value(v, "time.dow_sin"), sin(2 * Double.pi / 7)))
        #expect(close(h.value(v, "time.dow_cos"), cos(2 * Double.pi / 7)))
    }
}

@Suite struct InterruptionTests {
    /// A detector armed after 2 minutes of history, so interruption cases stay small.
    func harness() -> EngineHarness {
        EngineHarness { $0.detector.minimumHistoryMinutes = 2 }
    }

    func minute(_ k: Int, _ seconds: Double) -> Int64 { t0 + s(Double(k) * 60 + seconds) }

    /// 100 USDT of longs at 30 s of minutes 0…3, then 1,000 at 3:45: an episode starts (P99 = 100).
    func armedWithAnEpisode() -> EngineHarness {
        var h = harness()
        for k in 0...3 { h.apply(h.liquidation(.long, 100, at: minute(k, 30)), at: minute(k, 30)) }
        h.apply(h.liquidation(.long, 1_000, at: minute(3, 45)), at: minute(3, 45))
        return h
    }

    @Test func anEpisodeOpenAtADisconnectEndsInterruptedThere() {
        var h = armedWithAnEpisode()
        #expect(h.engine.drainDetectorChanges().count == 1)
        h.apply(input: .session(.disconnect, streams: [.liquidations(h.builder.symbol)], at: LocalTime(nanoseconds: minute(3, 50))),
                at: minute(3, 50))
        let changes = h.engine.drainDetectorChanges()
        guard case let .ended(e)? = changes.first else {
            Issue.record("no end: \(changes)")
            return
        }
        #expect(e.endReason == .interrupted && e.end == minute(3, 50))
        // After the reconnect nothing of before the gap is "since the last liquidation".
        h.apply(input: .session(.connect, streams: [.liquidations(h.builder.symbol)], at: LocalTime(nanoseconds: minute(4, 0))),
                at: minute(4, 0))
        let v = h.vector(at: minute(4, 10))
        #expect(h.value(v, "liq.since_last_long_s").isNaN)
        #expect(h.value(v, "liq.episode_active") == 0)
    }

    @Test func aDisconnectInsideALongSilenceLeavesItsMinutesMissing() {
        var h = harness()
        h.apply(h.liquidation(.long, 100, at: minute(0, 30)), at: minute(0, 30))
        // 500 minutes without a frame; the recording marks a disconnect and a connect inside the silence. Minute 0
        // is the only observed one: 1 bin < 2.
        h.apply(input: .session(.disconnect, streams: nil, at: LocalTime(nanoseconds: minute(250, 0))), at: minute(250, 0))
        h.apply(input: .session(.connect, streams: nil, at: LocalTime(nanoseconds: minute(260, 0))), at: minute(260, 0))
        h.apply(h.liquidation(.long, 1_000, at: minute(500, 30)), at: minute(500, 30))
        // Zeros up to the disconnect would arm the detector with a P99 of 0 and start an episode; missing minutes
        // leave it unarmed.
        #expect(h.engine.drainDetectorChanges().isEmpty)
        #expect(h.engine.allDetectors.first?.isArmed == false)
    }

    @Test func aSymbolOnBothTopicsIsNotCountedTwice() {
        var h = harness()
        let march2025: Int64 = 1_741_147_200_000_000_000      // 2025-03-05 04:00 UTC: allLiquidation exists
        for k in 0..<5 {
            let t = march2025 + s(Double(k))
            h.apply(h.liquidation(.long, 100, at: t, source: .all), at: t)
            h.apply(h.liquidation(.long, 100, at: t, source: .throttled), at: t)
        }
        let v = h.vector(at: march2025 + s(5))
        #expect(h.value(v, "liq.count_long_60s") == 5)
        #expect(Set(h.engine.allDetectors.map(\.source)) == [.all, .throttled])
    }

    @Test func anInputStampedBeforeAnAnswerNeverRevisesIt() {
        var h = EngineHarness()
        h.apply(.trades([h.builder.trade(.buy, "100", "1", at: 0)]), at: t0)
        let before = h.vector(at: t0 + s(10))
        // A trade received at 9 s is applied after the query at 10 s: it is applied at 10 s, and counted as late.
        h.apply(.trades([h.builder.trade(.sell, "100", "2", at: 0)]), at: t0 + s(9))
        #expect(h.engine.lateInputs == 1)
        let after = h.vector(at: t0 + s(10.5))
        #expect(h.value(before, "flow.imbalance_5s").isNaN)             // nothing in (5, 10] when asked
        #expect(h.value(after, "flow.imbalance_1s") == -1)              // the late sell sits at 10 s: inside (9.5, 10.5]
    }
}
