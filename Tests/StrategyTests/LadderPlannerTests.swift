import CascadeCore
import Strategy
import Testing

@Suite struct LadderPlannerTests {
    /// BTCUSDT's rules: tick 0.10, step 0.001, min 0.001, max 1,190, min notional 5 USDT.
    let rules = InstrumentRules(tickSize: Price(units: 10_000_000), qtyStep: Quantity(units: 1_000), minOrderQty: Quantity(units: 1_000),
                                maxOrderQty: Quantity(units: 1_190_000_000), maxMarketOrderQty: Quantity(units: 500_000_000),
                                minNotional: USDT(units: Int64(500_000_000)), priceDecimals: 2, qtyDecimals: 3, status: "Trading",
                                fundingIntervalMinutes: 480, settleCoin: "USDT", minPrice: Price(units: 10_000_000),
                                maxPrice: Price(units: 199_999_980_000_000))
    func p(_ text: String) -> Price { Price(units: try! FixedDecimal.parse(text, digits: 8)) }
    func usdt(_ n: Int64) -> USDT { USDT(units: Int128(n) * 100_000_000) }

    @Test func longsLiquidatedBuyBelowTheMidRoundedDownAndSizedDown() {
        // Touch 60,000.00 / 60,000.10: mid 60,000.05.
        let plan = LadderPlanner.plan(liquidated: .long, bestBid: p("60000.00"), bestAsk: p("60000.10"), offsets: [0, 10, 25],
                                      notional: usdt(1_000), rules: rules)
        // δ 0: 60,000.05 → down to 60,000.00 (the bid: joins the queue, does not cross the ask).
        // δ 10: 60,000.05 × 0.999 = 59,940.04995 → 59,940.00.  δ 25: × 0.9975 = 59,850.049875 → 59,850.00.
        #expect(plan.layers.map(\.price) == [p("60000.00"), p("59940.00"), p("59850.00")])
        #expect(plan.layers.allSatisfy { $0.side == .buy })
        // 1,000 USDT / 60,000 = 0.016666… → 0.016; / 59,940 = 0.016683… → 0.016; / 59,850 = 0.016708… → 0.016.
        #expect(plan.layers.map(\.qty) == [Quantity(units: 16_000), Quantity(units: 16_000), Quantity(units: 16_000)])
        #expect(plan.skipped.isEmpty)
    }

    @Test func shortsLiquidatedSellAboveTheMidRoundedUp() {
        let plan = LadderPlanner.plan(liquidated: .short, bestBid: p("60000.00"), bestAsk: p("60000.10"), offsets: [10],
                                      notional: usdt(1_000), rules: rules)
        // 60,000.05 × 1.001 = 60,060.05005 → up to 60,060.10.
        #expect(plan.layers.map(\.price) == [p("60060.10")])
        #expect(plan.layers.first?.side == .sell)
    }

    @Test func layersThatWouldCrossTieOrFallUnderTheMinimumsAreSkippedWithTheReason() {
        // A locked touch 100.5 / 100.5 on a tick of 0.5: the buy at δ 0 rounds to 100.5, the ask itself: skipped.
        var coarse = rules
        coarse.tickSize = p("0.5")
        let tight = LadderPlanner.plan(liquidated: .long, bestBid: p("100.5"), bestAsk: p("100.5"), offsets: [0], notional: usdt(100),
                                       rules: coarse)
        #expect(tight.skipped.first?.reason == .wouldCross)
        // The same δ twice (1 bp: 59,994.049995 → 59,994.00): the second is a duplicate of layer 0.
        let same = LadderPlanner.plan(liquidated: .long, bestBid: p("60000.00"), bestAsk: p("60000.10"), offsets: [1, 1],
                                      notional: usdt(1_000), rules: rules)
        #expect(same.layers.count == 1)
        #expect(same.skipped.first?.reason == .samePriceAsLayer(0))
        // 50 USDT at 60,000 is 0.000833 BTC: under the 0.001 minimum, skipped (never rounded up).
        let small = LadderPlanner.plan(liquidated: .long, bestBid: p("60000.00"), bestAsk: p("60000.10"), offsets: [10],
                                       notional: usdt(50), rules: rules)
        #expect(small.layers.isEmpty && small.skipped.first?.reason == .belowMinOrderQty)
        // At a price of 4,000, 0.001 is 4 USDT: under the 5 USDT minimum notional.
        let cheap = LadderPlanner.plan(liquidated: .long, bestBid: p("4000.00"), bestAsk: p("4000.10"), offsets: [0],
                                       notional: usdt(4) + USDT(units: Int64(90_000_000)), rules: rules)
        #expect(cheap.skipped.first?.reason == .belowMinNotional)
    }
}
