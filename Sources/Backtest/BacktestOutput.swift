public import CascadeCore
import BybitV5
import Crypto
public import Execution
import Foundation

/// The files `cascade backtest` writes: `trades.csv` (one row per ladder), `fills.csv`, `decisions.jsonl`,
/// `summary.json`, `summary.txt`, and with a report `report.json` and `report.html`. Byte-identical for the same
/// inputs and configuration: no wall time, sorted keys, seeded draws.
public enum BacktestOutput {
    public static func files(_ r: BacktestResult, configuration: BacktestConfiguration, paths: [String],
                             report: BacktestReport? = nil) -> [(name: String, text: String)] {
        var out = [("trades.csv", trades(r)), ("fills.csv", fills(r)), ("decisions.jsonl", decisions(r))]
            + summaryFiles(r, configuration: configuration, paths: paths, report: report)
        if let report { out += [("report.json", report.json), ("report.html", report.html)] }
        return out
    }

    /// `summary.json` and `summary.txt` (a paper node writes the row files as it goes, and these at the end).
    public static func summaryFiles(_ r: BacktestResult, configuration: BacktestConfiguration, paths: [String],
                                    report: BacktestReport? = nil) -> [(name: String, text: String)] {
        [("summary.json", summaryJSON(r, configuration: configuration, paths: paths)),
         ("summary.txt", summaryText(r, configuration: configuration, report: report))]
    }

    public static func write(_ r: BacktestResult, configuration: BacktestConfiguration, paths: [String], report: BacktestReport? = nil,
                             to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for (name, text) in files(r, configuration: configuration, paths: paths, report: report) {
            try Data(text.utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(name))
        }
    }

    public static func configurationHash(_ configuration: BacktestConfiguration) -> String {
        SHA256.hash(data: Data(configuration.canonicalJSON.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func time(_ t: ExchangeTime?) -> String { t.map { UTCFormat.milliseconds($0.milliseconds) } ?? "" }
    public static func price(_ p: Price) -> String { FixedDecimal.format(p.units, digits: Price.digits) }
    public static func qty(_ q: Quantity) -> String { FixedDecimal.format(q.units, digits: Quantity.digits) }

    static func trades(_ r: BacktestResult) -> String { tradesHeader + tradeRows(r.trades) }

    public static let tradesHeader = "ladder,episode,symbol,side,opened,layers_placed,layers_filled,entry_qty,entry_avg,exit_qty,exit_avg,first_fill,last_fill,exit_reason,price_pnl,fees,funding,net\n"

    public static func tradeRows(_ trades: [BacktestTrade]) -> String {
        var out = ""
        for t in trades {
            let entryAvg = t.entryQty.units > 0 ? price(Price(units: Int64(FixedDecimal.divideRoundingHalfEven(t.entryValue.units * 1_000_000, Int128(t.entryQty.units))))) : ""
            let exitAvg = t.exitQty.units > 0 ? price(Price(units: Int64(FixedDecimal.divideRoundingHalfEven(t.exitValue.units * 1_000_000, Int128(t.exitQty.units))))) : ""
            out += "\(t.ladder),\(t.episode),\(t.symbol),\(t.side),\(time(t.opened)),\(t.layersPlaced),\(t.layersFilled),\(qty(t.entryQty)),\(entryAvg),"
            out += "\(qty(t.exitQty)),\(exitAvg),\(time(t.firstFill)),\(time(t.lastFill)),\(t.exitReason ?? ""),\(t.pricePnl),\(t.fees),\(t.funding),\(t.net)\n"
        }
        return out
    }

    static func fills(_ r: BacktestResult) -> String { fillsHeader + fillRows(r.fills) }

    // Entry fills carry their markouts (bps in the fill's favour, the mid 1/5/30/60 s later); empty when unknown.
    public static let fillsHeader = "time,symbol,ladder,episode,role,side,price,qty,liquidity,fee,closed_pnl" + BacktestRunner.markoutSeconds.map { ",markout_\($0)s_bps" }.joined() + "\n"

    public static func fillRows(_ fills: [BacktestFill]) -> String {
        var out = ""
        for f in fills {
            out += "\(time(f.time)),\(f.symbol),\(f.ladder.map(String.init) ?? ""),\(f.episode ?? ""),\(f.role),\(f.side),\(price(f.price)),"
            out += "\(qty(f.qty)),\(f.liquidity == .maker ? "maker" : "taker"),\(f.fee),\(f.closedPnl)"
            let marks = f.markouts.isEmpty ? Array(repeating: nil, count: BacktestRunner.markoutSeconds.count) : f.markouts
            out += marks.map { $0.map { "," + BacktestReport.bps($0) } ?? "," }.joined() + "\n"
        }
        return out
    }

    static func decisions(_ r: BacktestResult) -> String { decisionLines(r.decisions) }

    public static func decisionLines(_ decisions: [DecisionLogEntry]) -> String {
        var out = ""
        for d in decisions {
            out += "{\"time\":\"\(time(d.time))\",\"symbol\":\(quote(d.symbol)),\"episode\":\(d.episode.map(quote) ?? "null"),"
            out += "\"action\":\(quote(d.action)),\"reason\":\(quote(d.reason)),\"detail\":\(quote(d.detail))}\n"
        }
        return out
    }

    /// The session's totals, rows handed out before the end included.
    public struct Totals: Sendable {
        public var fills = 0, maker = 0, taker = 0, ladders = 0, laddersFilled = 0, wins = 0, losses = 0
        public var fees = USDT.zero, funding = USDT.zero, pricePnl = USDT.zero, net = USDT.zero
    }

    public static func totals(_ r: BacktestResult) -> Totals {
        var all = r.settled
        all.add(fills: r.fills)
        all.add(trades: r.trades)
        var t = Totals()
        t.fills = all.fills
        t.maker = all.makerFills
        t.taker = all.fills - all.makerFills
        t.ladders = all.ladders
        t.laddersFilled = all.laddersFilled
        t.wins = all.wins
        t.losses = all.losses
        t.fees = all.fees
        t.pricePnl = all.pricePnl
        t.funding = all.funding
        t.net = t.pricePnl - t.fees - t.funding
        return t
    }

    static func summaryJSON(_ r: BacktestResult, configuration: BacktestConfiguration, paths: [String]) -> String {
        let t = totals(r)
        var all = r.settled
        all.add(decisions: r.decisions)
        let counts = all.decisionCounts
        let agrees = r.venueWallet == r.engineWallet && r.venuePositions == r.enginePositions
        func object(_ d: [String: Int]) -> String { "{" + d.keys.sorted().map { "\(quote($0)):\(d[$0]!)" }.joined(separator: ",") + "}" }
        func positions(_ d: [String: Int64]) -> String { "{" + d.keys.sorted().map { "\(quote($0)):\(d[$0]!)" }.joined(separator: ",") + "}" }
        var lines: [String] = []
        lines.append("\"data\":[\(paths.map { quote(($0 as NSString).lastPathComponent) }.joined(separator: ","))]")
        lines.append("\"clockOffsetsMs\":[\(r.clockOffsetsMs.map { $0.map(String.init) ?? "null" }.joined(separator: ","))]")
        lines.append("\"configurationSha256\":\(quote(configurationHash(configuration)))")
        lines.append("\"configuration\":\(configuration.canonicalJSON)")
        lines.append("\"run\":\(r.run)")
        lines.append("\"from\":\(quote(time(r.firstTime))),\"to\":\(quote(time(r.lastTime)))")
        lines.append("\"frames\":\(r.frames),\"decodeErrors\":\(object(r.decodeErrors))")
        lines.append("\"episodesDetected\":\(r.episodesDetected),\"ladders\":\(t.ladders),\"laddersFilled\":\(t.laddersFilled)")
        lines.append("\"wins\":\(t.wins),\"losses\":\(t.losses)")
        lines.append("\"fills\":\(t.fills),\"makerFills\":\(t.maker),\"takerFills\":\(t.taker)")
        lines.append("\"pricePnlUsdt\":\(quote("\(t.pricePnl)")),\"feesUsdt\":\(quote("\(t.fees)")),\"fundingUsdt\":\(quote("\(t.funding)")),\"netUsdt\":\(quote("\(t.net)"))")
        lines.append("\"depositUsdt\":\(quote("\(r.deposit)")),\"walletUsdt\":\(quote("\(r.engineWallet)")),\"equityUsdt\":\(r.finalEquity.map { quote("\($0)") } ?? "null")")
        lines.append("\"openPositions\":\(positions(r.enginePositions))")
        lines.append("\"engineAgreesWithVenue\":\(agrees),\"venueWalletUsdt\":\(quote("\(r.venueWallet)")),\"venuePositions\":\(positions(r.venuePositions))")
        lines.append("\"commandsSent\":\(r.commandsSent),\"refusedOnCall\":\(r.refusedOnCall),\"refusedUnsent\":\(r.refusedUnsent),\"withdrawnUnsent\":\(r.withdrawnUnsent),\"rateLimitWaits\":\(r.rateLimitWaits),\"commandsInFlightAtEnd\":\(r.commandsInFlightAtEnd),\"commandsQueuedAtEnd\":\(r.commandsQueuedAtEnd),\"stuckTicks\":\(r.stuckTicks)")
        lines.append("\"quiescentChecks\":\(r.quiescentChecks),\"quiescentMismatches\":\(r.quiescentMismatches),\"longestUnprotectedMs\":\(r.longestUnprotectedMs)")
        lines.append("\"journalEntries\":\(r.journalEntries),\"journalTransactions\":\(r.journalTransactions)")
        lines.append("\"venueNotices\":\(object(r.notices))")
        lines.append("\"decisions\":\(object(counts))")
        lines.append("\"riskMode\":\(quote(r.mode)),\"alarmsRaised\":\(r.alarmsRaised),\"alarms\":[\(r.alarms.map(quote).joined(separator: ","))]")
        return "{\n  " + lines.joined(separator: ",\n  ") + "\n}\n"
    }

    public static func summaryText(_ r: BacktestResult, configuration: BacktestConfiguration, report: BacktestReport? = nil) -> String {
        let t = totals(r)
        let agrees = r.venueWallet == r.engineWallet && r.venuePositions == r.enginePositions
        // The verdict against the placebos comes before any other figure.
        var out = (report?.placebo?.verdict ?? "NO VERDICT: no placebo comparison was run; this summary is not evidence of an edge.") + "\n"
        if report?.notRealData == true { out += "Some input is synthetic or of unknown origin: no figure here is evidence about a real market.\n" }
        out += "Cascade backtest (run \(r.run), configuration \(configurationHash(configuration).prefix(12)))\n"
        out += "data \(time(r.firstTime)) → \(time(r.lastTime)), \(r.frames) frames\n"
        out += "episodes detected \(r.episodesDetected), ladders \(t.ladders), filled \(t.laddersFilled) (\(t.wins) won, \(t.losses) lost)\n"
        out += "fills \(t.fills) (maker \(t.maker), taker \(t.taker))\n"
        out += "price PnL \(t.pricePnl) USDT, fees \(t.fees), funding \(t.funding), net \(t.net) USDT\n"
        out += "wallet \(r.engineWallet) USDT (deposit \(r.deposit)), equity \(r.finalEquity.map { "\($0)" } ?? "unknown: an open position has no mark")\n"
        if !r.enginePositions.isEmpty { out += "open at the end: \(r.enginePositions.keys.sorted().map { "\($0) \(r.enginePositions[$0]!)" }.joined(separator: ", "))\n" }
        out += "engine and simulated venue agree: \(agrees ? "yes" : "NO")"
        out += r.commandsInFlightAtEnd > 0 ? " (\(r.commandsInFlightAtEnd) commands had not reached the venue when the data ended)\n" : "\n"
        if r.refusedUnsent > 0 {
            out += "creates and amends refused unsent: \(r.refusedUnsent) (queued behind earlier calls until their send deadline, as the live node refuses them)\n"
        }
        if r.withdrawnUnsent > 0 {
            out += "commands withdrawn unsent: \(r.withdrawnUnsent) (entries whose cancel was decided while they waited behind an earlier call, and those cancels, as the live node withdraws them)\n"
        }
        if r.rateLimitWaits > 0 {
            out += "calls held for the rate limit: \(r.rateLimitWaits) (an order endpoint's \(configuration.orderRateLimitPerSecond) calls per second spent: one that adds risk waited until a second after the endpoint's latest answer, as the live node's REST client waits after the answer that reported its budget low; one that takes risk off, until the window's end)\n"
        }
        if r.stuckTicks > 0 { out += "stuck timer deadlines: \(r.stuckTicks) (a defect: please report)\n" }
        if r.quiescentMismatches > 0 { out += "engine and venue differed at \(r.quiescentMismatches) of \(r.quiescentChecks) quiescent points (a defect: please report)\n" }
        out += "longest time the venue held a position without a stop: \(r.longestUnprotectedMs) ms\n"
        out += "risk mode at the end: \(r.mode)\n"
        if r.alarmsRaised > r.alarms.count { out += "alarms raised: \(r.alarmsRaised), the last \(r.alarms.count) listed (all are in the journal)\n" }
        for alarm in r.alarms { out += "alarm: \(alarm)\n" }
        for (notice, n) in r.notices.sorted(by: { $0.key < $1.key }) where !notice.hasPrefix("matchingResumed") {
            out += "venue notice ×\(n): \(notice)\n"
        }
        return out
    }

    /// A JSON string literal (Bybit's escaping rules: the same writer the simulator uses).
    static func quote(_ s: String) -> String { "\"" + BybitStreamRequest.escape(s) + "\"" }
}
