public import CascadeCore
import Execution
import Foundation
import Recording
import Simulation

/// One rerun of the backtest at a multiple of the configured size.
public struct CapacityRow: Sendable, Hashable {
    public var multiplier: Int
    public var episodes: Int
    public var layersPlaced: Int
    public var layersFilled: Int
    public var fills: Int
    public var net: USDT
    public init(multiplier: Int, result: BacktestResult) {
        self.multiplier = multiplier
        episodes = result.episodesDetected
        layersPlaced = result.layers.count
        layersFilled = result.layers.count(where: { $0.filledQty.units > 0 })
        fills = result.fills.count
        net = result.trades.reduce(USDT.zero) { $0 + $1.net }
    }
}

/// The strategy per episode with a single layer at one δ, on the same probes as the placebos.
public struct SweepRow: Sendable, Hashable {
    public var offsetBps: Int
    public var episodes: Int
    public var traded: Int
    public var mean: USDT
    public init(offsetBps: Int, probes: ProbeSet) {
        self.offsetBps = offsetBps
        let real = probes.real
        episodes = real.count
        traded = real.count(where: { $0.fills > 0 })
        mean = PlaceboAnalysis.mean(real.map(\.net))
    }
}

/// `report.json` and `report.html`: provenance, configuration hash, code version, the latency and fill models and
/// the verdict against the placebos come first; then the summary, the tables, capacity and the offset sweep. Every
/// figure carries its sample size. Deterministic: same inputs and seeds, same bytes.
public struct BacktestReport: Sendable {
    public struct Source: Sendable, Hashable {
        public var file: String
        /// `recorded (cascade record)`, `imported (…)`, `synthetic (…)`, or `unknown (no manifest)`.
        public var kind: String
    }

    public var result: BacktestResult
    public var configuration: BacktestConfiguration
    public var sources: [Source]
    public var placebo: PlaceboAnalysis?
    public var capacity: [CapacityRow]
    public var sweep: [SweepRow]

    /// Sharpe and Sortino need at least this many UTC days of data; SQN this many trades.
    public static let minimumDays = 30
    public static let minimumTrades = 30

    public init(result: BacktestResult, configuration: BacktestConfiguration, paths: [String], placebo: PlaceboAnalysis?,
                capacity: [CapacityRow] = [], sweep: [SweepRow] = []) {
        // The report reads every row: a session that handed rows out (a paper node) has no report.
        precondition(result.settled == SettledRows(), "a report needs a result that kept all its rows")
        self.result = result
        self.configuration = configuration
        sources = paths.map { Self.source($0) }
        self.placebo = placebo
        self.capacity = capacity
        self.sweep = sweep
    }

    static func source(_ path: String) -> Source {
        let file = (path as NSString).lastPathComponent
        guard let manifest = try? FrameManifest.read(forDataFile: path) else { return Source(file: file, kind: "unknown (no manifest)") }
        if manifest.createdBy.hasPrefix("synthetic") { return Source(file: file, kind: manifest.createdBy) }
        if let provenance = manifest.provenance {
            let inputs = provenance.inputs.map { "\($0.role) \($0.file)" }.joined(separator: ", ")
            return Source(file: file, kind: "imported (\(manifest.createdBy): \(inputs))")
        }
        return Source(file: file, kind: "recorded (\(manifest.createdBy))")
    }

    /// True when any input is synthetic or of unknown origin: no figure is then evidence about a real market.
    public var notRealData: Bool { sources.contains { !$0.kind.hasPrefix("recorded") && !$0.kind.hasPrefix("imported") } }

    // MARK: - Figures

    struct Summary {
        var trades = 0, wins = 0, losses = 0
        var grossWin = USDT.zero, grossLoss = USDT.zero, net = USDT.zero, fees = USDT.zero, funding = USDT.zero
        var expectancy = USDT.zero
        var sqn: Double?
        var days = 0
        var sharpe: Double?, sortino: Double?
        var maxDrawdown = USDT.zero
        var equity: [(Int64, USDT)] = []
    }

    var summary: Summary {
        var s = Summary()
        let traded = result.trades.filter { $0.entryQty.units > 0 }.sorted {
            ($0.lastFill?.milliseconds ?? 0, $0.ladder) < ($1.lastFill?.milliseconds ?? 0, $1.ladder)
        }
        s.trades = traded.count
        for t in traded {
            if t.net.units > 0 { s.wins += 1; s.grossWin = s.grossWin + t.net } else { s.losses += 1; s.grossLoss = s.grossLoss - t.net }
            s.net = s.net + t.net
            s.fees = s.fees + t.fees
            s.funding = s.funding + t.funding
        }
        s.expectancy = PlaceboAnalysis.mean(traded.map(\.net))
        if s.trades >= Self.minimumTrades {
            // Van Tharp's SQN, with n capped at 100 so that it does not grow with the sample alone.
            let values = traded.map { Double($0.net.units) }
            let mean = values.reduce(0, +) / Double(values.count)
            let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
            s.sqn = sd > 0 ? Double(min(values.count, 100)).squareRoot() * mean / sd : nil
        }
        // Equity after each closed trade; drawdown from the running peak.
        let first = result.firstTime?.milliseconds ?? 0
        var equity = result.deposit
        var peak = equity
        s.equity.append((first, equity))
        for t in traded {
            equity = equity + t.net
            peak = max(peak, equity)
            s.maxDrawdown = max(s.maxDrawdown, peak - equity)
            s.equity.append((t.lastFill?.milliseconds ?? first, equity))
        }
        // Daily returns over every UTC day of the data (days without trades count as 0).
        let day: Int64 = 86_400_000
        if let from = result.firstTime?.milliseconds, let to = result.lastTime?.milliseconds {
            s.days = Int(to / day - from / day) + 1
            if s.days >= Self.minimumDays, s.trades >= Self.minimumTrades, result.deposit.units > 0 {
                var daily = Array(repeating: 0.0, count: s.days)
                for t in traded { daily[Int(((t.lastFill?.milliseconds ?? from) / day) - from / day)] += Double(t.net.units) / Double(result.deposit.units) }
                let mean = daily.reduce(0, +) / Double(daily.count)
                let sd = (daily.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(daily.count - 1)).squareRoot()
                let downside = (daily.map { min(0, $0) * min(0, $0) }.reduce(0, +) / Double(daily.count - 1)).squareRoot()
                s.sharpe = sd > 0 ? mean / sd * 365.0.squareRoot() : nil
                s.sortino = downside > 0 ? mean / downside * 365.0.squareRoot() : nil
            }
        }
        return s
    }

    struct LayerRow {
        var offsetBps = 0, placed = 0, accepted = 0, filled = 0, postOnlyRejected = 0, rejected = 0, unfilled = 0
        var timeToFillMs: [Int64] = []
        var queueAhead: [Int64] = []
        /// Mean queue ahead (quantity units), summed wide so large-quantity coins cannot overflow.
        var meanQueueAhead: String { queueAhead.isEmpty ? "n/a" : BacktestReport.qty(Int64(queueAhead.reduce(Int128(0)) { $0 + Int128($1) } / Int128(queueAhead.count))) }
        var markouts: [[Int64]] = Array(repeating: [], count: BacktestRunner.markoutSeconds.count)
    }

    var layerRows: [LayerRow] {
        var rows: [Int: LayerRow] = [:]
        var byPrice: [String: Int] = [:]   // "ladder price" → offset
        for layer in result.layers {
            var row = rows[layer.offsetBps] ?? LayerRow(offsetBps: layer.offsetBps)
            row.placed += 1
            if layer.acceptedAt != nil { row.accepted += 1 }
            switch layer.outcome {
            case "filled", "partial": row.filled += 1
            case "postOnlyRejected": row.postOnlyRejected += 1
            case "rejected": row.rejected += 1
            default: row.unfilled += 1
            }
            if let f = layer.firstFill { row.timeToFillMs.append(f.milliseconds - layer.decidedAt.milliseconds) }
            if let q = layer.queueAhead { row.queueAhead.append(q.units) }
            rows[layer.offsetBps] = row
            byPrice["\(layer.ladder) \(layer.price.units)"] = layer.offsetBps
        }
        for fill in result.fills where fill.role == "entry" {
            guard let ladder = fill.ladder, let offset = byPrice["\(ladder) \(fill.price.units)"] else { continue }
            for (h, m) in fill.markouts.enumerated() { if let m { rows[offset]!.markouts[h].append(m) } }
        }
        return rows.keys.sorted().map { rows[$0]! }
    }

    struct Group { var key: String; var count: Int; var net: USDT }

    var exitRows: [Group] {
        var groups: [String: Group] = [:]
        for t in result.trades where t.entryQty.units > 0 {
            let key = t.exitReason ?? "open at the end"
            var g = groups[key] ?? Group(key: key, count: 0, net: .zero)
            g.count += 1
            g.net = g.net + t.net
            groups[key] = g
        }
        return groups.keys.sorted().map { groups[$0]! }
    }

    var entryRows: [Group] {
        var counts: [String: Int] = [:]
        for d in result.decisions where d.episode != nil && ["enter", "skip", "skipLayer"].contains(d.action) {
            counts["\(d.action): \(d.reason)", default: 0] += 1
        }
        return counts.keys.sorted().map { Group(key: $0, count: counts[$0]!, net: .zero) }
    }

    // MARK: - Formatting

    static func time(_ ms: Int64?) -> String { ms.map { UTCFormat.milliseconds($0) } ?? "" }
    static func ratio(_ num: Int, _ den: Int) -> String { den == 0 ? "n/a" : "\(FixedDecimal.format(Int64(num * 10_000 / den), digits: 2, minimumFractionDigits: 2))%" }
    static func double(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "n/a" }
    static func bps(_ hundredths: Int64) -> String { FixedDecimal.format(hundredths, digits: 2, minimumFractionDigits: 2) }
    static func meanBps(_ values: [Int64]) -> String { values.isEmpty ? "n/a" : bps(values.reduce(0, +) / Int64(values.count)) }
    static func median(_ values: [Int64]) -> Int64? { values.isEmpty ? nil : values.sorted()[values.count / 2] }
    static func qty(_ units: Int64) -> String { FixedDecimal.format(units, digits: Quantity.digits) }
    static func quote(_ s: String) -> String { BacktestOutput.quote(s) }
    static func latency(_ model: LatencyModel) -> String {
        switch model {
        case let .constant(ms): "constant \(ms) ms"
        case let .sampled(samples, seed): "sampled from \(samples.count) values (seed \(seed))"
        }
    }
    var models: [(String, String)] {
        let v = configuration.venue
        return [("entry latency", Self.latency(v.entryLatency)), ("acknowledgement latency", Self.latency(v.acknowledgementLatency)),
                ("order sender", configuration.sender == .sequential
                    ? "sequential (as the live node sends: one call at a time per lane, entries in one, what takes risk off in the other, each call after the previous answer in its lane; creates and amends at or past the \(configuration.live.sendDeadlineMilliseconds) ms send deadline refused unsent\(configuration.live.batchEntries ? "; a decision's entry creates of one symbol in one create-batch call" : ""))"
                    : "concurrent (every command of a decision leaves at once: optimistic, no node sends this way)"),
                ("fill rule", v.fill == .strictCross
                    ? "strictCross (prints at the price fill after the queue ahead, prints through it fill, and so does the opposite book strictly through it; a touch does not)"
                    : "printsOnly (only prints fill: at the price after the queue ahead, or through it)"),
                ("queue model", v.queue == .tradesOnly
                    ? "tradesOnly (prints at the price advance the queue ahead; it is capped at the displayed size)"
                    : "proportionalCancels (prints, plus a share of unexplained decreases)"),
                ("fees", "maker \(v.fees.maker), taker \(v.fees.taker)")]
    }

    /// Why a ratio is missing: too few trades or days, or no variance to divide by.
    func ratioNote(_ value: Double?, _ s: Summary, needsDays: Bool) -> String {
        if let value { return Self.double(value) }
        if s.trades < Self.minimumTrades { return "insufficient sample: \(s.trades) trades (needs \(Self.minimumTrades))" }
        if needsDays, s.days < Self.minimumDays { return "insufficient sample: \(s.days) days (needs \(Self.minimumDays))" }
        return "undefined: no variance"
    }

    /// Gross wins over gross losses (from the summary already computed: it is not derived twice).
    static func profitFactor(_ s: Summary) -> String {
        if s.grossLoss.units == 0 { return s.grossWin.units == 0 ? "n/a" : "no losing trade" }
        return FixedDecimal.format(Int64(s.grossWin.units * 100 / s.grossLoss.units), digits: 2, minimumFractionDigits: 2)
    }

    // MARK: - JSON

    public var json: String {
        let s = summary
        var lines: [String] = []
        lines.append("\"report\":\"cascade backtest\"")
        lines.append("\"provenance\":[\(sources.map { "{\"file\":\(Self.quote($0.file)),\"kind\":\(Self.quote($0.kind))}" }.joined(separator: ","))]")
        lines.append("\"notRealData\":\(notRealData)")
        lines.append("\"configurationSha256\":\(Self.quote(BacktestOutput.configurationHash(configuration)))")
        lines.append("\"codeVersion\":\(Self.quote(CascadeVersion.current))")
        lines.append("\"models\":{\(models.map { "\(Self.quote($0.0)):\(Self.quote($0.1))" }.joined(separator: ","))}")
        lines.append("\"verdict\":\(Self.quote(placebo?.verdict ?? "NO VERDICT: the placebo pass did not run."))")
        lines.append("\"beatsAllPlacebos\":\(placebo?.beatsAll ?? false),\"passes\":\(placebo?.passes ?? false)")
        lines.append("\"scope\":\"the verdict compares each episode traded alone (probes); the summary and tables below are the sequential backtest, with the risk limits across episodes\"")
        if let p = placebo {
            var placebos: [String] = []
            for x in p.placebos {
                placebos.append("{\"name\":\(Self.quote(x.name)),\"what\":\(Self.quote(x.what)),\"draws\":\(x.drawMeans.count),"
                    + "\"unavailable\":\(x.unavailable.map(Self.quote) ?? "null"),\"medianUsdt\":\(x.median.map { Self.quote("\($0)") } ?? "null"),"
                    + "\"p95Usdt\":\(x.p95.map { Self.quote("\($0)") } ?? "null"),\"pValueBps\":\(x.pValueBps.map(String.init) ?? "null"),"
                    + "\"beaten\":\(x.beaten)}")
            }
            let interval = p.interval.map {
                "{\"lowUsdt\":\(Self.quote("\($0.low)")),\"highUsdt\":\(Self.quote("\($0.high)")),\"block\":\(Self.quote($0.block)),\"blocks\":\($0.blocks)}"
            } ?? "null"
            let audit = p.episodeProbes.map { o in
                "{\"index\":\(o.index),\"symbol\":\(Self.quote(o.symbol)),\"time\":\(Self.quote(Self.time(o.time))),\"liquidated\":\"\(o.liquidated)\","
                    + "\"realSide\":\(o.realSide),\"decision\":\(Self.quote(o.decision)),\"fills\":\(o.fills),\"finished\":\(o.finished),"
                    + "\"volatilityBps\":\(o.volatilityBps.map(String.init) ?? "null"),\"netUsdt\":\(Self.quote("\(o.net)"))}"
            }
            lines.append("\"placeboTest\":{\"metric\":\"net PnL per episode after fees and funding, each episode traded alone from a flat account\","
                + "\"episodes\":\(p.episodes),\"episodesTraded\":\(p.strategyTraded),\"episodesNotTraded\":\(p.episodesNotTraded),"
                + "\"mirrorsTraded\":\(p.mirrorsTraded),\"realUnfinished\":\(p.realUnfinished),\"gridUnfinished\":\(p.gridUnfinished),"
                + "\"unmatched\":\(p.unmatched),\"smallestMatchedPool\":\(p.smallestPool),"
                + "\"strategyMeanUsdt\":\(Self.quote("\(p.strategyMean)")),\"passes\":\(p.passes),"
                + "\"interval\":\(interval),\"significanceBps\":\(p.settings.significanceBps),\"seed\":\(p.settings.seed),"
                + "\"placebos\":[\(placebos.joined(separator: ","))],\"probes\":[\(audit.joined(separator: ","))]}")
        }
        lines.append("\"summary\":{\"from\":\(Self.quote(Self.time(result.firstTime?.milliseconds))),\"to\":\(Self.quote(Self.time(result.lastTime?.milliseconds))),"
            + "\"days\":\(s.days),\"episodes\":\(result.episodesDetected),\"trades\":\(s.trades),\"wins\":\(s.wins),\"losses\":\(s.losses),"
            + "\"winRate\":\(Self.quote(Self.ratio(s.wins, s.trades))),\"profitFactor\":\(Self.quote(Self.profitFactor(s))),"
            + "\"expectancyUsdt\":\(Self.quote("\(s.expectancy)")),\"sqn\":\(Self.quote(ratioNote(s.sqn, s, needsDays: false))),"
            + "\"sharpe\":\(Self.quote(ratioNote(s.sharpe, s, needsDays: true))),\"sortino\":\(Self.quote(ratioNote(s.sortino, s, needsDays: true))),"
            + "\"equityAtEndUsdt\":\(result.finalEquity.map { Self.quote("\($0)") } ?? "null"),\"openAtEnd\":\(result.enginePositions.count),"
            + "\"maxDrawdownClosedTradesUsdt\":\(Self.quote("\(s.maxDrawdown)")),\"feesUsdt\":\(Self.quote("\(s.fees)")),\"fundingUsdt\":\(Self.quote("\(s.funding)")),"
            + "\"netUsdt\":\(Self.quote("\(s.net)")),\"depositUsdt\":\(Self.quote("\(result.deposit)"))}")
        lines.append("\"perEpisode\":[" + result.trades.map { t in
            "{\"episode\":\(Self.quote(t.episode)),\"symbol\":\(Self.quote(t.symbol)),\"side\":\"\(t.side)\",\"opened\":\(Self.quote(Self.time(t.opened.milliseconds))),"
                + "\"layersPlaced\":\(t.layersPlaced),\"layersFilled\":\(t.layersFilled),\"exitReason\":\(t.exitReason.map(Self.quote) ?? "null"),"
                + "\"feesUsdt\":\(Self.quote("\(t.fees)")),\"fundingUsdt\":\(Self.quote("\(t.funding)")),\"netUsdt\":\(Self.quote("\(t.net)"))}"
        }.joined(separator: ",") + "]")
        lines.append("\"perLayer\":[" + layerRows.map { r in
            "{\"offsetBps\":\(r.offsetBps),\"placed\":\(r.placed),\"accepted\":\(r.accepted),\"filled\":\(r.filled),\"fillRate\":\(Self.quote(Self.ratio(r.filled, r.placed))),"
                + "\"postOnlyRejected\":\(r.postOnlyRejected),\"rejected\":\(r.rejected),\"unfilledCancelled\":\(r.unfilled),"
                + "\"medianTimeToFillMs\":\(Self.median(r.timeToFillMs).map(String.init) ?? "null"),\"timeToFillN\":\(r.timeToFillMs.count),"
                + "\"meanQueueAheadQty\":\(Self.quote(r.meanQueueAhead)),\"queueAheadN\":\(r.queueAhead.count),"
                + "\"markoutsBps\":{\(zip(BacktestRunner.markoutSeconds, r.markouts).map { "\"\($0.0)s\":{\"mean\":\(Self.quote(Self.meanBps($0.1))),\"n\":\($0.1.count)}" }.joined(separator: ","))}}"
        }.joined(separator: ",") + "]")
        lines.append("\"perExitReason\":[" + exitRows.map { "{\"reason\":\(Self.quote($0.key)),\"trades\":\($0.count),\"netUsdt\":\(Self.quote("\($0.net)"))}" }.joined(separator: ",") + "]")
        lines.append("\"perEntryDecision\":[" + entryRows.map { "{\"decision\":\(Self.quote($0.key)),\"count\":\($0.count)}" }.joined(separator: ",") + "]")
        lines.append("\"capacity\":[" + capacity.map { c in
            "{\"multiplier\":\(c.multiplier),\"episodes\":\(c.episodes),\"layersPlaced\":\(c.layersPlaced),\"layersFilled\":\(c.layersFilled),"
                + "\"fillRate\":\(Self.quote(Self.ratio(c.layersFilled, c.layersPlaced))),\"fills\":\(c.fills),\"netUsdt\":\(Self.quote("\(c.net)")),"
                + "\"netPerMultipleUsdt\":\(Self.quote("\(USDT(units: c.net.units / Int128(c.multiplier)))"))}"
        }.joined(separator: ",") + "]")
        lines.append("\"offsetSweep\":{\"note\":\"sensitivity only: choosing the best row after seeing it is look-ahead, never the result\",\"rows\":["
            + sweep.map { "{\"offsetBps\":\($0.offsetBps),\"episodes\":\($0.episodes),\"traded\":\($0.traded),\"meanNetPerEpisodeUsdt\":\(Self.quote("\($0.mean)"))}" }
                .joined(separator: ",") + "]}")
        lines.append("\"equity\":[" + s.equity.map { "[\(Self.quote(Self.time($0.0))),\(Self.quote("\($0.1)"))]" }.joined(separator: ",") + "]")
        return "{\n  " + lines.joined(separator: ",\n  ") + "\n}\n"
    }
}

extension BacktestRunner {
    /// The report's other passes over the same data, after the backtest itself: the placebo probes, the capacity
    /// reruns (the whole account `m` times larger: deposit, layer size and absolute risk caps, so that only the
    /// market's depth differs) and the one-layer offset sweep on the real episodes.
    public func report(for result: BacktestResult, step: ((String) -> Void)? = nil) throws -> BacktestReport {
        step?("placebos")
        let probes = try probePass(configuration.placebos)
        let analysis = PlaceboAnalysis(probes, settings: configuration.placebos)
        var capacity: [CapacityRow] = []
        for m in configuration.capacityMultipliers {
            if m == 1 {
                capacity.append(CapacityRow(multiplier: 1, result: result))
                continue
            }
            step?("capacity \(m)×")
            var c = configuration
            let k = Int128(m)
            c.deposit = USDT(units: c.deposit.units * k)
            c.engine.layerNotional = USDT(units: c.engine.layerNotional.units * k)
            for path in [\RiskLimits.orderNotional, \.positionPerSymbol, \.portfolioExposure, \.episodeNotional] {
                c.engine.limits[keyPath: path].absolute = c.engine.limits[keyPath: path].absolute.map { $0 * Int64(m) }
            }
            c.engine.dailyLoss.absolute = c.engine.dailyLoss.absolute.map { $0 * Int64(m) }
            c.engine.maxDrawdown.absolute = c.engine.maxDrawdown.absolute.map { $0 * Int64(m) }
            let rerun = try BacktestRunner(paths: paths, configuration: c, journal: InMemoryJournal()).run()
            capacity.append(CapacityRow(multiplier: m, result: rerun))
        }
        var sweep: [SweepRow] = []
        for offset in configuration.sweepOffsetsBps {
            step?("offset sweep \(offset) bps")
            var c = configuration
            c.engine.offsetsBps = [offset]
            var settings = configuration.placebos
            settings.gridMilliseconds = 0
            let set = try BacktestRunner(paths: paths, configuration: c, journal: InMemoryJournal()).probePass(settings)
            sweep.append(SweepRow(offsetBps: offset, probes: set))
        }
        return BacktestReport(result: result, configuration: configuration, paths: paths, placebo: analysis, capacity: capacity, sweep: sweep)
    }
}
