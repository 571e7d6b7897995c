import CascadeCore
import Strategy
import Testing

@Suite struct ProtectionPlannerTests {
    let rules = InstrumentRules(tickSize: Price(units: 10_000_000), qtyStep: Quantity(units: 1_000), minOrderQty: Quantity(units: 1_000),
                                maxOrderQty: Quantity(units: 1_190_000_000), maxMarketOrderQty: Quantity(units: 500_000_000),
                                minNotional: USDT(units: Int64(500_000_000)), priceDecimals: 2, qtyDecimals: 3, status: "Trading",
                                fundingIntervalMinutes: 480, settleCoin: "USDT", minPrice: Price(units: 10_000_000),
                                maxPrice: Price(units: 199_999_980_000_000))
    func p(_ text: String) -> Price { Price(units: try! FixedDecimal.parse(text, digits: 8)) }

    @Test func theStopSitsBeyondTheDeepestLayerRoundedTowardsTheEntry() throws {
        // Buys at 59,940 and 59,850: 50 bps below 59,850 is 59,550.75 → up to 59,550.80 (never further than 50 bps).
        #expect(try ProtectionPlanner.stopLoss(side: .buy, layerPrices: [p("59940"), p("59850")], stopBps: 50, rules: rules)
            == p("59550.80"))
        // Sells at 60,060.10 and 60,150.10: 50 bps above 60,150.10 is 60,450.8505 → down to 60,450.80.
        #expect(try ProtectionPlanner.stopLoss(side: .sell, layerPrices: [p("60060.10"), p("60150.10")], stopBps: 50, rules: rules)
            == p("60450.80"))
        #expect(throws: ProtectionPlanner.Failure.noLayers) {
            try ProtectionPlanner.stopLoss(side: .buy, layerPrices: [], stopBps: 50, rules: rules)
        }
    }

    @Test func theTakeProfitIsRoundedAwayFromTheEntry() throws {
        // Long entered at 59,895.05: +20 bps = 60,014.8401 → up to 60,014.90.
        #expect(try ProtectionPlanner.takeProfit(side: .buy, averageEntry: p("59895.05"), takeProfitBps: 20, rules: rules)
            == p("60014.90"))
        // Short entered at 60,100.00: −20 bps = 59,979.80 exactly (on the grid, unchanged).
        #expect(try ProtectionPlanner.takeProfit(side: .sell, averageEntry: p("60100"), takeProfitBps: 20, rules: rules)
            == p("59979.80"))
        // A stop 10,000 bps below the entry would be at zero: refused, never sent.
        #expect(throws: ProtectionPlanner.Failure.self) {
            try ProtectionPlanner.stopLoss(side: .buy, layerPrices: [p("100")], stopBps: 10_000, rules: rules)
        }
    }
}
