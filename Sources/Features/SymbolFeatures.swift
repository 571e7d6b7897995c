import CascadeCore

/// The rolling state behind one symbol's features. Every window and baseline holds integers (notional in 1e-8
/// USDT, quantities in 1e-6, volatility terms in 1e-16), so state is exact, serialisable and independent of when it
/// was queried.
struct SymbolFeatures: Sendable, Codable, Equatable {
    static let flowWindows: [Int] = [1, 5, 30, 60]
    static let ofiWindows: [Int] = [5, 30]
    static let intensityWindows: [Int] = [5, 60]
    static let vwapWindows: [Int] = [30, 60]
    static let volatilityWindows: [Int] = [10, 60, 300]
    static let rangeWindows: [Int] = [60, 300]
    static let liquidationWindows: [Int] = [1, 5, 30, 60, 300]
    static let liquidationImbalanceWindows: [Int] = [60, 300]
    static let oiWindows: [Int] = [60, 300]

    struct Top: Sendable, Codable, Equatable {
        var bid: Int64, bidQty: Int64, ask: Int64, askQty: Int64
    }

    var name: String
    /// First input of any stream of the symbol: where observation is assumed to start without a session marker.
    var firstSeen: Int64
    /// Start of the current observed span per stream (nil: not observed now).
    var tradesSince: Int64?
    var liquidationsSince: Int64?
    var tickerSince: Int64?

    var buys: WindowedSums
    var sells: WindowedSums
    var quantities: WindowedSums
    var largePrints: WindowedSums
    var ofi: WindowedSums
    var lastTop: Top?
    var tradeNotionalBins: MinuteBins
    var tradeCountBins: MinuteBins
    var bars: SecondBars

    var liquidatedLongs: WindowedSums
    var liquidatedShorts: WindowedSums
    var liquidationBins: MinuteBins
    var liquidationSizes: RollingRank
    var lastLiquidationRank: Double?
    var lastLongLiquidation: Int64?
    var lastShortLiquidation: Int64?
    /// The source of the symbol's latest liquidation frame (whose detector the episode features read).
    var liquidationSource: LiquidationSource?
    /// The engine's detector index per source (`all`, `throttled`), looked up once.
    var detectorSlots: [Int?] = [nil, nil]

    var oiTimes: [Int64] = []
    var oiValues: [Int64] = []

    init(name: String, firstSeen: Int64, configuration: FeatureConfiguration) {
        func windows(_ seconds: [Int]) -> WindowedSums { WindowedSums(windows: seconds.map { .seconds($0) }) }
        self.name = name
        self.firstSeen = firstSeen
        tradesSince = firstSeen
        liquidationsSince = firstSeen
        tickerSince = firstSeen
        buys = windows(Self.flowWindows)
        sells = windows(Self.flowWindows)
        quantities = windows(Self.vwapWindows)
        largePrints = windows([60])
        ofi = windows(Self.ofiWindows)
        tradeNotionalBins = MinuteBins(capacity: configuration.baselineMinutes)
        tradeNotionalBins.observe(since: firstSeen)
        tradeCountBins = tradeNotionalBins
        bars = SecondBars(windows: Array(Set(Self.volatilityWindows + Self.rangeWindows)).sorted().map { .seconds($0) })
        liquidatedLongs = windows(Self.liquidationWindows)
        liquidatedShorts = windows(Self.liquidationWindows)
        liquidationBins = MinuteBins(capacity: configuration.baselineMinutes)
        liquidationBins.observe(since: firstSeen)
        liquidationSizes = RollingRank(horizon: .seconds(Int64(configuration.liquidationRankDays) * 86_400))
    }

    /// Moves every window and baseline to `t` (integer state: the order of advances never changes a value).
    mutating func advance(to t: Int64) {
        buys.advance(to: t)
        sells.advance(to: t)
        quantities.advance(to: t)
        largePrints.advance(to: t)
        ofi.advance(to: t)
        tradeNotionalBins.advance(to: t)
        tradeCountBins.advance(to: t)
        bars.advance(to: t)
        liquidatedLongs.advance(to: t)
        liquidatedShorts.advance(to: t)
        liquidationBins.advance(to: t)
        liquidationSizes.advance(to: t)
        // Keep one open-interest sample at or before the longest window's edge.
        let edge = t - Int64(Self.oiWindows.last!) * 1_000_000_000
        var drop = 0
        while drop + 1 < oiTimes.count && oiTimes[drop + 1] <= edge { drop += 1 }
        if drop > 0 {
            oiTimes.removeFirst(drop)
            oiValues.removeFirst(drop)
        }
    }

    /// Median completed minute of traded notional (1e-8 USDT), once warm.
    func baselineNotional(warmup: Int) -> Int64? {
        tradeNotionalBins.count >= warmup ? tradeNotionalBins.percentile(50) : nil
    }

    /// Open interest as of `t` (the last sample at or before it).
    func openInterest(asOf t: Int64) -> Int64? {
        var lo = 0, hi = oiTimes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if oiTimes[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : oiValues[lo - 1]
    }
}
