import CascadeTesting
import Foundation
import Testing

/// `cascade backtest` as a user runs it, on the named synthetic cascade. Serialized: each test blocks a thread
/// while its `cascade` process runs.
@Suite("cascade backtest", .serialized)
struct BacktestCommandTests {
    static let configuration = #"""
    {"depositUsdt": "100000",
     "ladder": {"offsetsBps": [20, 50], "layerNotionalUsdt": "1000", "entryTtlMs": 30000},
     "exits": {"stopBps": 100, "takeProfitBps": 30, "maxHoldMs": 60000},
     "detector": {"baselineMinutes": 10, "minimumHistoryMinutes": 3}}
    """#

    @Test func handWorkedScenarioEndToEndIsByteIdentical() throws {
        let dir = try TemporaryDirectory("backtest-cli")
        defer { dir.remove() }
        let data = dir.file("cascade.frames.gz")
        try SyntheticCascade(seed: 7).write(to: data)
        let config = dir.file("config.json")
        try Data(Self.configuration.utf8).write(to: URL(fileURLWithPath: config))
        var outputs: [[String]] = []
        for run in 1...2 {
            let out = dir.file("out\(run)")
            let result = try ChildProcess.run(["backtest", "--data", data, "--config", config, "--out", out])
            #expect(result.succeeded, "\(result.standardError)")
            #expect(result.standardOutput.contains("net 2.49139296 USDT"))
            #expect(result.standardOutput.contains("engine and simulated venue agree: yes"))
            // One episode gives no interval: the verdict, first, says there is none.
            #expect(result.standardOutput.hasPrefix("NO VERDICT: 1 episode(s) in fewer than 5 blocks of time"), "\(result.standardOutput)")
            outputs.append(try ["trades.csv", "fills.csv", "decisions.jsonl", "summary.json", "summary.txt", "report.json", "report.html"].map {
                try String(contentsOfFile: out + "/" + $0, encoding: .utf8)
            })
        }
        #expect(outputs[0] == outputs[1])
        // The entry's markouts, worked from the scenario: bought 59,880.0. 1 s and 5 s later the bids down to
        // 59,900.0 are gone and the asks untouched: mid (59,850.0 + 60,000.1) / 2 = 59,925.05, +7.52 bps. 30 s and
        // 60 s later (after the reversion) mid (59,999.9 + 60,100.0) / 2 = 60,049.95, +28.38 bps. Exits carry none.
        let fills = outputs[0][1].split(separator: "\n", omittingEmptySubsequences: false)
        #expect(fills[0].hasSuffix(",markout_1s_bps,markout_5s_bps,markout_30s_bps,markout_60s_bps"))
        #expect(fills[1].hasSuffix(",entry,Buy,59880,0.016,maker,0.191616,0,7.52,7.52,28.38,28.38"))
        #expect(fills[2].hasSuffix(",,,,"))
        let trades = outputs[0][0].split(separator: "\n")
        #expect(trades.count == 2)
        #expect(trades[1].hasSuffix(",0.016,59880,0.016,60059.7,2025-06-02 01:06:00.500Z,2025-06-02 01:06:20.000Z,takeProfit,2.8752,0.38380704,0,2.49139296"))
    }

    @Test func badConfigurationStopsWithOneLinePerProblem() throws {
        let dir = try TemporaryDirectory("backtest-cli")
        defer { dir.remove() }
        let config = dir.file("bad.json")
        try Data(#"{"ladder": {"offsetsBps": "20"}, "speed": 3}"#.utf8).write(to: URL(fileURLWithPath: config))
        let result = try ChildProcess.run(["backtest", "--data", dir.file("none.frames.gz"), "--config", config, "--out", dir.file("out")])
        #expect(!result.succeeded)
        #expect(result.standardError.contains("bad.json: ladder.offsetsBps: expected an array of whole numbers"))
        #expect(result.standardError.contains("bad.json: speed: unknown key"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }
}
