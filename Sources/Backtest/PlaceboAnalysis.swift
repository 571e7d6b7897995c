public import CascadeCore

/// The strategy against its placebos, per episode, on the same probes (docs/backtest.md, "Placebos").
///
/// The metric is net PnL per episode after fees and funding (USDT), every episode counted, traded or not. The
/// strategy's figure is the mean over the real episodes, each traded in isolation with the side the detector saw.
/// Each placebo is `draws` seeded draws of the same count of episodes:
/// - `randomDirection`: the real episode times, each side a coin flip (the test that sank the public study);
/// - `matchedTimes`: for each real episode, a grid time at least `exclusionMilliseconds` from every real episode of
///   the same symbol, the same symbol and side, drawn among the `neighbours` nearest in volatility (timing is all that
///   differs; an episode without a volatility sample draws from all of them, counted as unmatched);
/// - `fixedCadence`: every k-th grid time (k = that symbol's grid times / its episodes) from a random phase, each side
///   a coin flip (no signal at all).
/// Grid probes the data cut short (unfinished) are left out of the pools. The strategy beats a placebo when at most
/// `significanceBps` of the draws reach its mean (p-value with the +1 correction) and the lower end of its
/// block-bootstrap interval is above the placebo's median draw. It passes only when it beats all three and that
/// lower end is above zero.
public struct PlaceboAnalysis: Sendable {
    public struct Interval: Sendable, Hashable {
        public var low: USDT
        public var high: USDT
        /// What a block is: "1 UTC day", or a fixed length when the data spans fewer than 10 days.
        public var block: String
        public var blocks: Int
    }

    public struct Placebo: Sendable, Hashable {
        public var name: String
        public var what: String
        /// Each draw's mean (empty when the data offers no candidate: the reason is in `unavailable`).
        public var drawMeans: [USDT]
        public var unavailable: String?
        public var median: USDT?
        public var p95: USDT?
        /// (1 + draws at or above the strategy's mean) / (draws + 1), in bps.
        public var pValueBps: Int?
        public var beaten: Bool
    }

    public var episodes: Int
    public var strategyMean: USDT
    public var strategyTraded: Int
    /// Mirrors (the other side at the real times) that filled: a mirror that never fills earns 0, which makes the
    /// random-direction placebo "trade about half the episodes".
    public var mirrorsTraded: Int
    /// Real probes and grid probes the data (or the probe's life) ended with a position or order still open.
    public var realUnfinished: Int
    public var gridUnfinished: Int
    /// Real episodes without a volatility sample (matched among all quiet times of their symbol and side).
    public var unmatched: Int
    /// The smallest matched pool.
    public var smallestPool: Int
    /// Detector episodes of another source, an untraded symbol or without rules (not probed).
    public var episodesNotTraded: Int
    /// The real episodes' probes and their mirrors, for the report's audit table.
    public var episodeProbes: [ProbeOutcome]
    public var interval: Interval?
    public var placebos: [Placebo]
    public var settings: PlaceboSettings

    /// Non-empty blocks of time an interval needs.
    public static let minimumBlocks = 5

    /// True only when every placebo was tested and beaten.
    public var beatsAll: Bool { episodes > 0 && interval != nil && placebos.allSatisfy { $0.beaten } }
    /// Beats every placebo and its interval lies above zero.
    public var passes: Bool { beatsAll && (interval?.low ?? .zero) > .zero }

    /// The report's first sentence.
    public var verdict: String {
        if episodes == 0 { return "NO VERDICT: the data holds no episode the engine would trade, so nothing can be compared with a placebo." }
        guard let interval else {
            return "NO VERDICT: \(episodes) episode(s) in fewer than \(Self.minimumBlocks) blocks of time, too few for an interval; nothing in this report is evidence of an edge."
        }
        let figure = "mean net per episode \(strategyMean) USDT, interval [\(interval.low), \(interval.high)], \(episodes) episodes traded alone"
        let notBeaten = placebos.filter { !$0.beaten }
        if notBeaten.isEmpty {
            if passes {
                return "The strategy beats all \(placebos.count) placebos (one-sided \(Self.percent(settings.significanceBps)) each, \(settings.draws) draws; \(figure))."
            }
            return "THE STRATEGY BEATS ITS PLACEBOS BUT DOES NOT MAKE MONEY: its interval is not above zero (\(figure))."
        }
        let names = notBeaten.map { $0.unavailable == nil ? $0.name : "\($0.name) (not testable: \($0.unavailable!))" }
        return "THE STRATEGY DOES NOT BEAT ITS PLACEBOS: not distinguishable from \(names.joined(separator: ", ")) (\(figure)). Treat every other figure in this report as noise."
    }

    static func percent(_ bps: Int) -> String { bps % 100 == 0 ? "\(bps / 100)%" : "\(bps / 100).\(String(format2(bps % 100)))%" }
    static func format2(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }

    public init(_ probes: ProbeSet, settings: PlaceboSettings) {
        self.settings = settings
        let real = probes.real
        let mirrors = Dictionary(probes.outcomes.filter { $0.kind == .episode && !$0.realSide }.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        episodes = real.count
        episodesNotTraded = probes.episodesNotTraded
        episodeProbes = probes.outcomes.filter { $0.kind == .episode }
        strategyTraded = real.count(where: { $0.fills > 0 })
        mirrorsTraded = mirrors.values.count(where: { $0.fills > 0 })
        realUnfinished = real.count(where: { !$0.finished })
        gridUnfinished = probes.outcomes.count(where: { $0.kind == .grid && !$0.finished })
        let strategyMean = Self.mean(real.map(\.net))
        self.strategyMean = strategyMean
        var random = SeededRandom(seed: settings.seed)
        let interval = real.isEmpty ? nil : Self.bootstrap(real, first: probes.firstTime ?? 0, last: probes.lastTime ?? 0,
                                                       resamples: settings.bootstrapResamples, significanceBps: settings.significanceBps,
                                                       random: &random)
        self.interval = interval
        var placebos: [Placebo] = []
        // Random direction at the real times.
        placebos.append(Self.placebo("randomDirection", "the real episode times, each side a coin flip", draws: settings.draws,
                                     unavailable: real.isEmpty ? "no episode" : nil, random: &random) { random in
            Self.mean(real.map { outcome in
                random.next() & 1 == 0 ? outcome.net : (mirrors[outcome.index]?.net ?? .zero)
            })
        })
        // Non-episode grid times matched on volatility, same symbol and side.
        // Grid probes the data cut short are left out: they would count their exits as never paid.
        let grid = probes.outcomes.filter { $0.kind == .grid && $0.finished }
        let quiet = grid.filter { g in
            g.volatilityBps != nil && !real.contains { $0.symbol == g.symbol && abs($0.time - g.time) < settings.exclusionMilliseconds }
        }
        var pools: [[ProbeOutcome]] = []
        var unmatched = 0
        for outcome in real {
            let same = quiet.filter { $0.symbol == outcome.symbol && $0.liquidated == outcome.liquidated }
            guard let v = outcome.volatilityBps else {
                unmatched += 1
                pools.append(same)
                continue
            }
            let nearest = same.sorted { (abs($0.volatilityBps! - v), $0.time) < (abs($1.volatilityBps! - v), $1.time) }
            pools.append(Array(nearest.prefix(max(1, settings.neighbours))))
        }
        self.unmatched = unmatched
        smallestPool = pools.map(\.count).min() ?? 0
        let emptyPool = pools.contains { $0.isEmpty }
        placebos.append(Self.placebo("matchedTimes", "non-episode times of the same symbol and side, nearest in volatility",
                                     draws: settings.draws,
                                     unavailable: real.isEmpty ? "no episode" : emptyPool ? "no non-episode time of the same symbol and side for every episode" : nil,
                                     random: &random) { random in
            Self.mean(pools.map { $0[Int(random.next() % UInt64($0.count))].net })
        })
        // Fixed cadence from a random phase, each side a coin flip.
        var slots: [String: [Int: [PositionSide: USDT]]] = [:]
        for g in grid { slots[g.symbol, default: [:]][g.index, default: [:]][g.liquidated] = g.net }
        let counts = Dictionary(real.map { ($0.symbol, 1) }, uniquingKeysWith: +)
        let cadenceSymbols = counts.keys.sorted().filter { !(slots[$0]?.isEmpty ?? true) }
        placebos.append(Self.placebo("fixedCadence", "grid times at a fixed spacing from a random phase, each side a coin flip",
                                     draws: settings.draws,
                                     unavailable: real.isEmpty ? "no episode" : cadenceSymbols.isEmpty ? "no grid time" : nil,
                                     random: &random) { random in
            var values: [USDT] = []
            for symbol in cadenceSymbols {
                let indices = slots[symbol]!.keys.sorted()
                let spacing = max(1, indices.count / counts[symbol]!)
                var k = Int(random.next() % UInt64(spacing))
                while k < indices.count {
                    let sides = slots[symbol]![indices[k]]!
                    let side: PositionSide = random.next() & 1 == 0 ? .long : .short
                    values.append(sides[side] ?? sides.values.first!)
                    k += spacing
                }
            }
            return Self.mean(values)
        })
        for i in placebos.indices where placebos[i].unavailable == nil {
            let draws = placebos[i].drawMeans
            let reached = draws.count(where: { $0 >= strategyMean })
            let p = (1 + reached) * 10_000 / (draws.count + 1)
            placebos[i].pValueBps = p
            placebos[i].beaten = p <= settings.significanceBps && (interval.map { $0.low > placebos[i].median! } ?? false)
        }
        self.placebos = placebos
    }

    static func placebo(_ name: String, _ what: String, draws: Int, unavailable: String?, random: inout SeededRandom,
                        _ draw: (inout SeededRandom) -> USDT) -> Placebo {
        guard unavailable == nil else {
            return Placebo(name: name, what: what, drawMeans: [], unavailable: unavailable, median: nil, p95: nil, pValueBps: nil, beaten: false)
        }
        let means = (0..<draws).map { _ in draw(&random) }
        let sorted = means.sorted()
        return Placebo(name: name, what: what, drawMeans: means, unavailable: nil, median: sorted[sorted.count / 2],
                       p95: sorted[min(sorted.count - 1, sorted.count * 95 / 100)], pValueBps: nil, beaten: false)
    }

    /// Mean of exact amounts, rounded toward zero to the unit.
    static func mean(_ values: [USDT]) -> USDT {
        guard !values.isEmpty else { return .zero }
        return USDT(units: values.reduce(USDT.zero, +).units / Int128(values.count))
    }

    /// Block bootstrap of the mean: blocks are UTC days when the data spans at least 10 of them, otherwise a tenth of
    /// the span (stated in the report). Only blocks holding episodes are resampled, with replacement; fewer than
    /// `minimumBlocks` of them give no interval (nil). The interval is at `significanceBps` each side.
    static func bootstrap(_ outcomes: [ProbeOutcome], first: Int64, last: Int64, resamples: Int, significanceBps: Int,
                          random: inout SeededRandom) -> Interval? {
        let day: Int64 = 86_400_000
        let span = max(1, last - first + 1)
        let byDay = span >= 10 * day
        let length = byDay ? day : max(1, (span + 9) / 10)
        let origin = byDay ? first / day * day : first
        var byBlock: [Int64: [USDT]] = [:]
        for o in outcomes { byBlock[max(0, (o.time - origin) / length), default: []].append(o.net) }
        let blocks = byBlock.keys.sorted().map { byBlock[$0]! }
        guard blocks.count >= minimumBlocks else { return nil }
        var means: [USDT] = []
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var total = USDT.zero
            var n = 0
            for _ in 0..<blocks.count {
                let block = blocks[Int(random.next() % UInt64(blocks.count))]
                total = total + block.reduce(USDT.zero, +)
                n += block.count
            }
            means.append(USDT(units: total.units / Int128(n)))
        }
        means.sort()
        let tail = resamples * significanceBps / 10_000
        return Interval(low: means[min(resamples - 1, tail)], high: means[max(0, resamples - 1 - tail)],
                        block: byDay ? "1 UTC day" : "\(length / 1_000) s (the data spans under 10 days)", blocks: blocks.count)
    }
}
