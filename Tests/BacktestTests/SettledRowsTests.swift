import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Recording
import Testing

/// A paper session hands its rows out as they settle (so months of trading are not held in memory); what it writes
/// must be exactly what one backtest of the same frames writes at the end.
@Suite struct SettledRowsTests {
    @Test func rowsHandedOutAsTheySettleAddUpToTheBacktestsFiles() throws {
        let dir = try TemporaryDirectory("settled-rows")
        defer { dir.remove() }
        let path = dir.file("market.frames.gz")
        let market = cascadeMarket(seed: 4, settleTenthsBps: 95)
        try market.write(to: path)
        let configuration = try BacktestConfiguration.parse(Array(placeboConfiguration.utf8), name: "settled")
        let whole = try BacktestRunner(paths: [path], configuration: configuration, journal: InMemoryJournal()).run()
        let expected = Dictionary(uniqueKeysWithValues: BacktestOutput.files(whole, configuration: configuration, paths: [path]).map { ($0.name, $0.text) })

        // The same frames pushed one by one, on the exchange clock as the backtest puts them (receive − 20 ms here),
        // the settled rows taken once a second with a short hold (several takes happen inside and between ladders).
        let topics = try FrameInventory.topics(paths: [path])
        var session = try BacktestRunner(paths: [path], configuration: configuration, journal: InMemoryJournal()).session(topics: Set(topics.keys))
        var trades = BacktestOutput.tradesHeader, fills = BacktestOutput.fillsHeader, decisions = ""
        var lastSecond: Int64 = .min
        var takes = 0
        for (receive, json) in market.frames() {
            let at = LocalTime(nanoseconds: receive - 20_000_000)
            try session.ingest(Array(json.utf8), at: at)
            guard at.nanoseconds / 1_000_000_000 != lastSecond else { continue }
            lastSecond = at.nanoseconds / 1_000_000_000
            let settled = session.takeSettled(holdMilliseconds: 90_000)
            if !settled.trades.isEmpty { takes += 1 }
            trades += BacktestOutput.tradeRows(settled.trades)
            fills += BacktestOutput.fillRows(settled.fills)
            decisions += BacktestOutput.decisionLines(settled.decisions)
        }
        let rest = try session.finish()
        #expect(takes >= 5 && rest.settled.ladders >= 5, "trade rows were handed out before the end: \(takes) takes")
        #expect(rest.trades.count < whole.trades.count && rest.fills.count < whole.fills.count && rest.decisions.count < whole.decisions.count,
                "\(rest.trades.count)/\(whole.trades.count) \(rest.fills.count)/\(whole.fills.count) \(rest.decisions.count)/\(whole.decisions.count)")
        trades += BacktestOutput.tradeRows(rest.trades)
        fills += BacktestOutput.fillRows(rest.fills)
        decisions += BacktestOutput.decisionLines(rest.decisions)
        #expect(trades == expected["trades.csv"])
        #expect(fills == expected["fills.csv"])
        #expect(decisions == expected["decisions.jsonl"])
        let summary = BacktestOutput.summaryFiles(rest, configuration: configuration, paths: [path])
        // Line for line, but for the file's clock offset (a session is told its frames' times; the backtest measured
        // them from the file).
        let json = try #require(summary.first { $0.name == "summary.json" }?.text).split(separator: "\n")
        let want = try #require(expected["summary.json"]).split(separator: "\n")
        #expect(json.count == want.count)
        for (a, b) in zip(json, want) where !a.contains("clockOffsetsMs") { #expect(a == b) }
        #expect(summary.first { $0.name == "summary.txt" }?.text == expected["summary.txt"])
    }
}
