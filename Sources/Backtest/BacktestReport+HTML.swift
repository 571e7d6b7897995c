import CascadeCore
import Foundation

extension BacktestReport {
    /// A self-contained page: inline CSS and SVG, no script, no network.
    public var html: String {
        let s = summary
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Cascade backtest report</title>
        <style>
        body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#111}
        table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}
        th{background:#eee}td:first-child,th:first-child{text-align:left}
        .verdict{font-size:1.2em;font-weight:bold;padding:.8em;border:3px solid}
        .fail{color:#900;border-color:#900;background:#fee}.pass{color:#060;border-color:#060;background:#efe}
        .warn{color:#900;font-weight:bold}
        </style></head><body>
        <h1>Cascade backtest report</h1>

        """
        h += "<table id=\"provenance\"><tr><th>data file</th><th>provenance</th></tr>"
        for source in sources { h += "<tr><td>\(Self.escape(source.file))</td><td>\(Self.escape(source.kind))</td></tr>" }
        h += "</table>\n"
        h += "<p>configuration sha256 <code>\(BacktestOutput.configurationHash(configuration))</code> · code version <code>\(Self.escape(CascadeVersion.current))</code></p>\n"
        h += "<table id=\"models\"><tr><th>model</th><th>used</th></tr>"
        for (name, value) in models { h += "<tr><td>\(Self.escape(name))</td><td>\(Self.escape(value))</td></tr>" }
        h += "</table>\n"
        let beats = placebo?.passes ?? false
        h += "<p id=\"verdict\" class=\"verdict \(beats ? "pass" : "fail")\">\(Self.escape(placebo?.verdict ?? "NO VERDICT: the placebo pass did not run."))</p>\n"
        if notRealData {
            h += "<p class=\"warn\">Some input is synthetic or of unknown origin: no figure in this report is evidence about a real market.</p>\n"
        }
        if let p = placebo {
            h += "<h2>Placebos</h2>\n<p>Metric: net PnL per episode after fees and funding, every episode traded alone from a flat account "
            h += "(n = \(p.episodes) episodes, \(p.strategyTraded) traded; mirrors traded \(p.mirrorsTraded); unfinished: \(p.realUnfinished) real, "
            h += "\(p.gridUnfinished) grid; \(p.unmatched) episodes without a volatility sample; smallest matched pool \(p.smallestPool); "
            h += "\(p.episodesNotTraded) detector episodes the engine would not trade). Strategy mean \(p.strategyMean) USDT"
            if let i = p.interval { h += ", block-bootstrap interval [\(i.low), \(i.high)] USDT (blocks of \(Self.escape(i.block)), \(i.blocks) blocks)" }
            h += ".</p>\n<table id=\"placebos\"><tr><th>placebo</th><th>draws</th><th>median draw (USDT)</th><th>95th pct draw</th><th>p-value</th><th>beaten</th></tr>"
            for x in p.placebos {
                let p = x.pValueBps.map { FixedDecimal.format(Int64($0), digits: 4, minimumFractionDigits: 4) } ?? "n/a"
                h += "<tr><td>\(Self.escape(x.name)): \(Self.escape(x.what))\(x.unavailable.map { " — not testable: " + Self.escape($0) } ?? "")</td>"
                h += "<td>\(x.drawMeans.count)</td><td>\(x.median.map { "\($0)" } ?? "n/a")</td><td>\(x.p95.map { "\($0)" } ?? "n/a")</td><td>\(p)</td>"
                h += "<td>\(x.beaten ? "yes" : "<b>no</b>")</td></tr>"
            }
            h += "</table>\n"
        }
        h += "<h2>Summary (the sequential backtest)</h2>\n<p>The verdict above compares episodes traded alone; these figures are the backtest "
        h += "that trades them in sequence under the risk limits across episodes.</p>\n<table id=\"summary\"><tr><th>figure</th><th>value</th></tr>"
        let rows: [(String, String)] = [
            ("data", "\(Self.time(result.firstTime?.milliseconds)) → \(Self.time(result.lastTime?.milliseconds)) (\(s.days) UTC days)"),
            ("episodes detected", "\(result.episodesDetected)"), ("trades (ladders with a fill)", "\(s.trades)"),
            ("win rate", "\(Self.ratio(s.wins, s.trades)) (\(s.wins) of \(s.trades))"), ("profit factor", Self.profitFactor(s)),
            ("expectancy per trade", "\(s.expectancy) USDT (n = \(s.trades))"),
            ("SQN (n capped at 100)", ratioNote(s.sqn, s, needsDays: false)),
            ("Sharpe (daily, annualised)", ratioNote(s.sharpe, s, needsDays: true)),
            ("Sortino (daily, annualised)", ratioNote(s.sortino, s, needsDays: true)),
            ("max drawdown (closed trades)", "\(s.maxDrawdown) USDT"), ("fees", "\(s.fees) USDT"), ("funding", "\(s.funding) USDT"),
            ("net (closed trades)", "\(s.net) USDT on a deposit of \(result.deposit)"),
            ("equity at the end", result.finalEquity.map { "\($0) USDT (\(result.enginePositions.count) positions open, at mark)" } ?? "unknown: an open position has no mark"),
        ]
        for (k, v) in rows { h += "<tr><td>\(Self.escape(k))</td><td>\(Self.escape(v))</td></tr>" }
        h += "</table>\n"
        h += "<h2>Equity and drawdown</h2>\n" + chart(id: "equity", points: s.equity, stroke: "#c00000")
        var peak = s.equity.first?.1 ?? .zero
        let drawdown = s.equity.map { point -> (Int64, USDT) in
            peak = max(peak, point.1)
            return (point.0, point.1 - peak)
        }
        h += chart(id: "drawdown", points: drawdown, stroke: "#0040c0")
        h += "<h2>Per layer (δ)</h2>\n<table id=\"layers\"><tr><th>δ bps</th><th>placed</th><th>filled</th><th>fill rate</th><th>post-only rejects</th>"
        h += "<th>rejected</th><th>unfilled, cancelled</th><th>median time to fill (ms)</th><th>mean queue ahead</th>"
        h += BacktestRunner.markoutSeconds.map { "<th>markout \($0) s (bps)</th>" }.joined() + "</tr>"
        for r in layerRows {
            h += "<tr><td>\(r.offsetBps)</td><td>\(r.placed)</td><td>\(r.filled)</td><td>\(Self.ratio(r.filled, r.placed))</td><td>\(r.postOnlyRejected)</td>"
            h += "<td>\(r.rejected)</td><td>\(r.unfilled)</td><td>\(Self.median(r.timeToFillMs).map(String.init) ?? "n/a") (n = \(r.timeToFillMs.count))</td>"
            h += "<td>\(r.meanQueueAhead) (n = \(r.queueAhead.count))</td>"
            h += r.markouts.map { "<td>\(Self.meanBps($0)) (n = \($0.count))</td>" }.joined() + "</tr>"
        }
        h += "</table>\n<h2>Per exit reason</h2>\n<table id=\"exits\"><tr><th>exit</th><th>trades</th><th>net (USDT)</th></tr>"
        for g in exitRows { h += "<tr><td>\(Self.escape(g.key))</td><td>\(g.count)</td><td>\(g.net)</td></tr>" }
        h += "</table>\n<h2>Per entry decision</h2>\n<table id=\"entries\"><tr><th>decision: reason</th><th>count</th></tr>"
        for g in entryRows { h += "<tr><td>\(Self.escape(g.key))</td><td>\(g.count)</td></tr>" }
        h += "</table>\n"
        if !capacity.isEmpty {
            h += "<h2>Capacity</h2>\n<table id=\"capacity\"><tr><th>size</th><th>episodes</th><th>layers placed</th><th>layers filled</th><th>fill rate</th><th>fills</th><th>net (USDT)</th><th>net ÷ size</th></tr>"
            for c in capacity {
                h += "<tr><td>\(c.multiplier)×</td><td>\(c.episodes)</td><td>\(c.layersPlaced)</td><td>\(c.layersFilled)</td>"
                h += "<td>\(Self.ratio(c.layersFilled, c.layersPlaced))</td><td>\(c.fills)</td><td>\(c.net)</td><td>\(USDT(units: c.net.units / Int128(c.multiplier)))</td></tr>"
            }
            h += "</table>\n"
        }
        if !sweep.isEmpty {
            h += "<h2>Offset sweep (sensitivity only)</h2>\n<p>Choosing the best row after seeing it is look-ahead: this table is never the result.</p>\n"
            h += "<table id=\"sweep\"><tr><th>single layer δ bps</th><th>episodes</th><th>traded</th><th>mean net per episode (USDT)</th></tr>"
            for r in sweep { h += "<tr><td>\(r.offsetBps)</td><td>\(r.episodes)</td><td>\(r.traded)</td><td>\(r.mean)</td></tr>" }
            h += "</table>\n"
        }
        h += "<h2>Per episode</h2>\n<table id=\"episodes\"><tr><th>episode</th><th>side</th><th>opened</th><th>layers placed</th><th>filled</th><th>exit</th><th>fees</th><th>funding</th><th>net (USDT)</th></tr>"
        for t in result.trades {
            h += "<tr><td>\(Self.escape(t.episode))</td><td>\(t.side)</td><td>\(Self.time(t.opened.milliseconds))</td><td>\(t.layersPlaced)</td>"
            h += "<td>\(t.layersFilled)</td><td>\(Self.escape(t.exitReason ?? ""))</td><td>\(t.fees)</td><td>\(t.funding)</td><td>\(t.net)</td></tr>"
        }
        h += "</table>\n</body></html>\n"
        return h
    }

    /// A line chart as inline SVG (integer coordinates: the same bytes on every run).
    func chart(id: String, points: [(Int64, USDT)], stroke: String) -> String {
        let width: Int64 = 1000, height: Int64 = 220, pad: Int64 = 10
        guard let first = points.first, let last = points.last else { return "<p>No trade: nothing to draw.</p>\n" }
        let t0 = first.0, t1 = max(last.0, first.0 + 1)
        let low = points.map(\.1.units).min()!, high = max(points.map(\.1.units).max()!, low + 1)
        func x(_ t: Int64) -> Int64 { pad + Int64(Int128(t - t0) * Int128(width - 2 * pad) / Int128(t1 - t0)) }
        func y(_ v: Int128) -> Int64 { pad + Int64((high - v) * Int128(height - 2 * pad) / (high - low)) }
        // A step line: each value holds until the next trade closes.
        var path: [String] = []
        var previous: Int64?
        for (t, v) in points {
            if let previous { path.append("\(x(t)),\(previous)") }
            path.append("\(x(t)),\(y(v.units))")
            previous = y(v.units)
        }
        var svg = "<svg id=\"\(id)-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\">"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\" stroke=\"#999999\"/>"
        svg += "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"3\" points=\"\(path.joined(separator: " "))\"/></svg>\n"
        svg += "<p>\(id): \(USDT(units: low)) to \(USDT(units: high)) USDT, \(points.count) points.</p>\n"
        return svg
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
