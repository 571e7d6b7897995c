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
        /// Depth of the book it was read from.
        var depth: Int
    }

    /// The streams whose observation is tracked (books are tracked by `FeedState`'s sync).
    enum Stream: Int, Sendable, Codable, CaseIterable {
        case trades, liquidations, ticker
    }

    /// When a stream has been observed without interruption since, and its last frame.
    struct Observation: Sendable, Codable, Equatable {
        var since: Int64?
        var last: Int64?
        /// When it stopped being observed (nil while observed or never seen).
        var stoppedAt: Int64?
    }

    var name: String
    var observations = Array(repeating: Observation(), count: Stream.allCases.count)
    /// Start of the current observed span per stream (nil: not observed now, or never seen).
    var tradesSince: Int64? { observations[Stream.trades.rawValue].since }
    var liquidationsSince: Int64? { observations[Stream.liquidations.rawValue].since }
    var tickerSince: Int64? { observations[Stream.ticker.rawValue].since }
    /// Latest input of any stream (rows of `cascade features` stop when it is too old).
    var lastInput: Int64?
    /// True once a book, trade or ticker frame was seen: the symbol-wide silence rule applies.
    var hasMarketStreams = false
    /// After a gap without session marks, the book and ticker `FeedState` kept missed deltas: not warm until the next
    /// snapshot.
    var bookStale = false
    var tickerStale = false
    /// Since when large prints have been counted (a baseline existed at each trade since).
    var largePrintsSince: Int64?
    /// Since when the touch has been followed without a break (order-flow imbalance).
    var ofiSince: Int64?
    /// True once `allLiquidation` frames were seen: throttled ones then only feed their own detector.
    var sawAllLiquidations = false
    /// The engine's detector index per source, looked up once. Declared next to `sawAllLiquidations`, which a
    /// liquidation frame writes just before reading it, so the two are likely on one cache line (Swift lays a struct's
    /// stored properties out in declaration order today, but does not promise it).
    var detectorSlots = DetectorSlots()

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

    var oiTimes: [Int64] = []
    var oiValues: [Int64] = []
    private var oiHead = 0

    init(name: String, configuration: FeatureConfiguration) {
        func windows(_ seconds: [Int]) -> WindowedSums { WindowedSums(windows: seconds.map { .seconds($0) }) }
        self.name = name
        buys = windows(Self.flowWindows)
        sells = windows(Self.flowWindows)
        quantities = windows(Self.vwapWindows)
        largePrints = windows([60])
        ofi = windows(Self.ofiWindows)
        tradeNotionalBins = MinuteBins(capacity: configuration.baselineMinutes)
        tradeCountBins = MinuteBins(capacity: configuration.baselineMinutes)    // its own buffers (see MinuteBins.init)
        bars = SecondBars(windows: Array(Set(Self.volatilityWindows + Self.rangeWindows)).sorted().map { .seconds($0) })
        liquidatedLongs = windows(Self.liquidationWindows)
        liquidatedShorts = windows(Self.liquidationWindows)
        liquidationBins = MinuteBins(capacity: configuration.baselineMinutes)
        liquidationSizes = RollingRank(horizon: .seconds(Int64(configuration.liquidationRankDays) * 86_400))
    }

    /// Moves every window to `t`. Minute baselines move only with their own stream's frames (see
    /// `FeatureEngine.observe`): a silence must be judged a gap before its minutes are filled with zeros.
    mutating func advance(to t: Int64) {
        buys.advance(to: t)
        sells.advance(to: t)
        quantities.advance(to: t)
        largePrints.advance(to: t)
        ofi.advance(to: t)
        bars.advance(to: t)
        liquidatedLongs.advance(to: t)
        liquidatedShorts.advance(to: t)
        liquidationSizes.advance(to: t)
        // Keep one open-interest sample at or before the longest window's edge.
        let edge = t - Int64(Self.oiWindows.last!) * 1_000_000_000
        while oiHead + 1 < oiTimes.count && oiTimes[oiHead + 1] <= edge { oiHead += 1 }
        if oiHead > 256 && oiHead * 2 > oiTimes.count {
            oiTimes.removeFirst(oiHead)
            oiValues.removeFirst(oiHead)
            oiHead = 0
        }
    }

    /// Median completed minute of traded notional (1e-8 USDT), once warm.
    func baselineNotional(warmup: Int) -> Int64? {
        tradeNotionalBins.count >= warmup ? tradeNotionalBins.percentile(50) : nil
    }

    /// Open interest as of `t` (the last sample at or before it), only from the ticker's current observed span.
    func openInterest(asOf t: Int64) -> Int64? {
        guard let since = tickerSince else { return nil }
        return openInterestSample(asOf: t).flatMap { $0.time >= since ? $0.value : nil }
    }

    private func openInterestSample(asOf t: Int64) -> (time: Int64, value: Int64)? {
        var lo = oiHead, hi = oiTimes.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if oiTimes[mid] <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == oiHead ? nil : (oiTimes[lo - 1], oiValues[lo - 1])
    }
}

/// The engine's detector index per liquidation source of one symbol, held inline: a cascade's first frame reads it
/// (the detector's half runs before the symbol's windows), and as an array (`[Int?]`) it was a buffer of its own, one
/// more cold line. Saved as that array was (`[all, throttled]`, null when none), so saved states read the same.
struct DetectorSlots: Sendable, Codable, Equatable {
    private var all: Int?
    private var throttled: Int?

    init() {}

    subscript(source: LiquidationSource) -> Int? {
        get {
            switch source {
            case .all: all
            case .throttled: throttled
            }
        }
        set {
            switch source {
            case .all: all = newValue
            case .throttled: throttled = newValue
            }
        }
    }

    /// The detectors this symbol has, `all` first.
    var known: [Int] { [all, throttled].compactMap { $0 } }

    init(from decoder: any Decoder) throws {
        let list = try [Int?](from: decoder)
        guard list.count == 2 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "detector slots: \(list.count) entries, not 2"))
        }
        all = list[0]
        throttled = list[1]
    }

    func encode(to encoder: any Encoder) throws { try [all, throttled].encode(to: encoder) }
}
