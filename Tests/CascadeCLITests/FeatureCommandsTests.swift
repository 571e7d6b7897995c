import CascadeTesting
import Foundation
import Testing

/// `cascade detect` and `cascade features` run as a user runs them, on a small synthetic recording written here.
/// Serialized: each test blocks a thread while its `cascade` process runs, and the suite shares two cores with
/// real-time loopback tests.
@Suite("cascade detect / features", .serialized)
struct FeatureCommandsTests {
    static let start: Int64 = 1_709_611_200_000          // 2024-03-05 04:00:00 UTC (ms)

    static func liquidation(_ ms: Int64, side: String, qty: String) -> String {
        "\(ms * 1_000_000) {\"topic\":\"allLiquidation.BTCUSDT\",\"type\":\"snapshot\",\"ts\":\(ms),\"data\":[{\"T\":\(ms),\"s\":\"BTCUSDT\",\"S\":\"\(side)\",\"v\":\"\(qty)\",\"p\":\"60000\"}]}"
    }

    static func trade(_ ms: Int64) -> String {
        "\(ms * 1_000_000) {\"topic\":\"publicTrade.BTCUSDT\",\"type\":\"snapshot\",\"ts\":\(ms),\"data\":[{\"T\":\(ms),\"s\":\"BTCUSDT\",\"S\":\"Buy\",\"v\":\"0.010\",\"p\":\"60000.10\",\"i\":\"t\(ms)\",\"BT\":false}]}"
    }

    static func book(_ ms: Int64, mid: Int, update: Int) -> String {
        "\(ms * 1_000_000) {\"topic\":\"orderbook.1.BTCUSDT\",\"type\":\"snapshot\",\"ts\":\(ms),\"data\":{\"s\":\"BTCUSDT\",\"b\":[[\"\(mid - 1)\",\"1\"]],\"a\":[[\"\(mid + 1)\",\"1\"]],\"u\":\(update),\"seq\":\(update)},\"cts\":\(ms)}"
    }

    /// 1,442 minutes of one 0.1 BTC long liquidation a minute, then 2 BTC of longs in 10 s: one episode.
    static func recording(_ dir: TemporaryDirectory, trailingTrade: Bool = true, mids: [(Int64, Int)] = [],
                          minutes: Int64 = 1_442) throws -> String {
        var lines: [String] = []
        for k in 0..<minutes {
            lines.append(trade(start + k * 60_000 + 10_000))
            lines.append(liquidation(start + k * 60_000 + 30_000, side: "Buy", qty: "0.100"))
        }
        let burst = start + minutes * 60_000 + 45_000
        lines.append(liquidation(burst, side: "Buy", qty: "1.000"))
        lines.append(liquidation(burst + 10_000, side: "Buy", qty: "1.000"))
        if trailingTrade { lines.append(trade(burst + 200_000)) }
        for (k, (offset, mid)) in mids.enumerated() { lines.append(book(burst + offset, mid: mid, update: k + 1)) }
        lines.sort { Int64($0.prefix { $0 != " " })! < Int64($1.prefix { $0 != " " })! }
        let path = dir.file("synthetic.frames")
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func detectFindsTheOneEpisodeAndWritesItAsAJSONLine() throws {
        let dir = try TemporaryDirectory("detect")
        defer { dir.remove() }
        let data = try Self.recording(dir)
        let out = dir.file("episodes.jsonl")
        let result = try ChildProcess.run(["detect", "--data", data, "--out", out])
        #expect(result.succeeded, "\(result.standardError)")
        #expect(result.standardOutput.contains("BTCUSDT throttled: armed; 1 episodes (1 longs liquidated, 0 shorts)"),
                "\(result.standardOutput)")
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        let burst = (Self.start + 1_442 * 60_000 + 45_000) * 1_000_000
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("{\"id\":\"BTCUSDT-throttled-long-\(burst)\"") == true)
        // 1 BTC at 45 s (the window holds nothing else: minute 1,442 has no baseline event), then 1 BTC at 55 s;
        // quiet 30 s after the last event.
        #expect(lines.first?.contains("\"end_ns\":\(burst + 40_000_000_000),\"end_reason\":\"quiet\",\"notional\":\"120000.00000000\",\"events\":2") == true,
                "\(lines.first ?? "")")
    }

    @Test func withABookTheMidMovesDuringAndAfterAnEpisodeAreMeasured() throws {
        let dir = try TemporaryDirectory("detect-book")
        defer { dir.remove() }
        // Mid 60,000 from before the start (45 s after the minute) to 20 s in, then 59,700 (−50 bps by the end at
        // +40 s), 59,760 from +43 s (5 s after the end: +10.05 bps), 59,820 from +60 s (30 and 60 s after: +20.10).
        let data = try Self.recording(dir, mids: [(-30_000, 60_000), (20_000, 59_700), (43_000, 59_760), (60_000, 59_820),
                                                  (150_000, 59_820)])
        let out = dir.file("episodes.jsonl")
        let result = try ChildProcess.run(["detect", "--data", data, "--out", out])
        #expect(result.succeeded, "\(result.standardError)")
        let line = try String(contentsOfFile: out, encoding: .utf8)
        #expect(line.contains("\"mid_move_bps_during\":-50.0,\"mid_move_bps_after_1s\":0.0,\"mid_move_bps_after_5s\":10.05,"
            + "\"mid_move_bps_after_30s\":20.1,\"mid_move_bps_after_60s\":20.1}"), "\(line)")
    }

    @Test func anEpisodeStillOpenWhenTheDataEndsIsWrittenAsItStandsWithoutAnEnd() throws {
        let dir = try TemporaryDirectory("detect-open")
        defer { dir.remove() }
        let data = try Self.recording(dir, trailingTrade: false)
        let out = dir.file("episodes.jsonl")
        let result = try ChildProcess.run(["detect", "--data", data, "--out", out])
        #expect(result.succeeded, "\(result.standardError)")
        let line = try String(contentsOfFile: out, encoding: .utf8)
        // The data ends 10 s after the episode's last event: before its quiet deadline, so no end is invented.
        #expect(line.contains("\"end_ns\":null,\"end_reason\":null,\"notional\":\"120000.00000000\",\"events\":2"), "\(line)")
        #expect(result.standardOutput.contains("open at end of data 1"), "\(result.standardOutput)")
    }

    @Test func featuresWritesTheCSVWithItsSchemaAndTheStateRoundTrips() throws {
        let dir = try TemporaryDirectory("features")
        defer { dir.remove() }
        let data = try Self.recording(dir)
        let csv = dir.file("f.csv"), state = dir.file("state.json")
        let result = try ChildProcess.run(["features", "--data", data, "--out", csv, "--at", "every:1h", "--save-state", state])
        #expect(result.succeeded, "\(result.standardError)")
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: csv + ".schema.json"))) as? [String: Any]
        let names = (schema?["features"] as? [[String: Any]])?.compactMap { $0["name"] as? String } ?? []
        #expect(rows.first == Substring("time_ns,time_utc,symbol,ready," + names.joined(separator: ",")))
        #expect(rows.count == 1 + 24)      // 05:00 … next day 04:00: one row an hour (the data spans 24 h 6 min from 04:00:10)
        #expect(names.count == 70)
        // Features again on top of the state: every frame is already in it, so no decision time and no row.
        let csv2 = dir.file("g.csv")
        let overlap = try ChildProcess.run(["features", "--data", data, "--out", csv2, "--at", "every:1h", "--state", state])
        #expect(overlap.succeeded, "\(overlap.standardError)")
        #expect(try String(contentsOfFile: csv2, encoding: .utf8).split(separator: "\n").count == 1)
        // A saved state continues; one of another configuration is refused with one readable line.
        // The same data again on top of the state that already holds it: skipped and said, never counted twice.
        let again = try ChildProcess.run(["detect", "--data", data, "--state", state])
        #expect(again.succeeded, "\(again.standardError)")
        #expect(again.standardOutput.contains("skipped 2887 frames received at or before the saved state's clock"),
                "\(again.standardOutput)")
        let refused = try ChildProcess.run(["detect", "--data", data, "--state", state, "--baseline-warmup-minutes", "5"])
        #expect(!refused.succeeded)
        #expect(refused.standardError.contains("rebuild it from recordings"), "\(refused.standardError)")
    }

    @Test func theLeakageCheckPassesAndFailsOnAPeekingFeature() throws {
        let dir = try TemporaryDirectory("leakage")
        defer { dir.remove() }
        // Thirty minutes are enough to check the check (the detector does not arm; the features do).
        let data = try Self.recording(dir, minutes: 30)
        let clean = try ChildProcess.run(["features", "--data", data, "--check-leakage", "--leakage-samples", "50",
                                          "--baseline-warmup-minutes", "2"])
        #expect(clean.succeeded, "\(clean.standardOutput)\(clean.standardError)")
        #expect(clean.standardOutput.contains("PASS"))
        let peeking = try ChildProcess.run(["features", "--data", data, "--check-leakage", "--leakage-samples", "50",
                                            "--inject-peeking-feature"])
        #expect(!peeking.succeeded)
        #expect(peeking.standardError.contains("leakage check FAILED"), "\(peeking.standardError)")
    }
}
