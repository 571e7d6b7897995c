public import CascadeCore

/// The exchange-side protection of a ladder, on the instrument's grid.
///
/// Every entry of one ladder carries the same `stopLoss` with `tpslMode=Full`: Bybit keeps one position-level stop,
/// resized as layers fill and cancelled when the position closes, so a fill while the process is down is already
/// protected, and the ladder uses one of Bybit's 10 conditional orders per symbol however many layers it has. The
/// stop sits `stopBps` beyond the deepest layer, rounded **towards the entry** so the loss per unit never exceeds the
/// configured distance. The take-profit is a reduce-only limit `takeProfitBps` beyond the average entry, rounded
/// **away from the entry** so it never takes less than the configured gain.
public enum ProtectionPlanner {
    /// Why no protection could be planned.
    public enum Failure: Error, Hashable, Sendable {
        case noLayers
        /// The rounded price is not positive or outside the instrument's price limits.
        case priceOutOfRange(Price)
    }

    /// The stop-loss trigger for a ladder of `side` (entries) whose layers are at `prices`.
    public static func stopLoss(side: Side, layerPrices prices: [Price], stopBps: Int, rules: InstrumentRules) throws(Failure) -> Price {
        guard let deepest = side == .buy ? prices.min() : prices.max() else { throw .noLayers }
        // A long's stop is below its deepest buy; rounded up (towards the entry). A short's above, rounded down.
        let scaled = Int128(deepest.units) * Int128(side == .buy ? 10_000 - stopBps : 10_000 + stopBps)
        let price = onGrid(scaled, divisor: 10_000, rules: rules, roundUp: side == .buy)
        guard price.units > 0, rules.isWithinPriceLimits(price) else { throw .priceOutOfRange(price) }
        return price
    }

    /// The take-profit limit price of a position entered on `side` at `averageEntry`.
    public static func takeProfit(side: Side, averageEntry: Price, takeProfitBps: Int, rules: InstrumentRules) throws(Failure) -> Price {
        // A long sells above its entry, rounded up (away); a short buys below, rounded down.
        let scaled = Int128(averageEntry.units) * Int128(side == .buy ? 10_000 + takeProfitBps : 10_000 - takeProfitBps)
        let price = onGrid(scaled, divisor: 10_000, rules: rules, roundUp: side == .buy)
        guard price.units > 0, rules.isWithinPriceLimits(price) else { throw .priceOutOfRange(price) }
        return price
    }

    static func onGrid(_ scaled: Int128, divisor: Int128, rules: InstrumentRules, roundUp: Bool) -> Price {
        let denominator = divisor * Int128(rules.tickSize.units)
        let ticks = roundUp ? -floorDivide(-scaled, denominator) : floorDivide(scaled, denominator)
        return Price(units: Int64(ticks * Int128(rules.tickSize.units)))
    }
}
