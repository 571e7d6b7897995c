#if canImport(Glibc)
import Glibc
#endif
import CascadeCore
import CascadeTesting
import Foundation
import Recording
import Testing

/// `cascade paper` against `cascade sim` replaying a named synthetic cascade at its recorded pace (the paper node
/// trades on receive times, so the replay is real time: about 140 s).
@Suite(.serialized) struct PaperAgainstSimTests {
    /// One layer at 5 bps, far take-profit and stop, out by time after 10 s; a detector armed after one minute.
    static let configuration = #"""
    {"depositUsdt": "100000",
     "ladder": {"offsetsBps": [5], "layerNotionalUsdt": "1000", "entryTtlMs": 30000},
     "exits": {"stopBps": 200, "takeProfitBps": 200, "maxHoldMs": 10000},
     "detector": {"baselineMinutes": 2, "minimumHistoryMinutes": 1}}
    """#

    /// Two cascades, 5 s and 122 s in, of opposite sides (seed 11: longs, then shorts). The first starts the
    /// detector's history (its first liquidation frame, in minute 0); minute 0 counts once minute 2 begins (the
    /// baseline lags one minute), so the second is detected: its side's baseline is all zeros.
    static let market = SyntheticCascadeMarket(seed: 11, shape: .cascades(count: 2, spacingSeconds: 117, offsetBps: 5, settleTenthsBps: 20,
                                                                         noiseTenthsBps: 0, backgroundStepTicks: 0),
                                               warmUpSeconds: 5)

    static func fills(_ csv: String) -> [String] {
        // role, side, price, qty of each fill (columns named in the header).
        let lines = csv.split(separator: "\n").map(String.init)
        guard let header = lines.first?.split(separator: ",").map(String.init),
              let role = header.firstIndex(of: "role"), let side = header.firstIndex(of: "side"),
              let price = header.firstIndex(of: "price"), let qty = header.firstIndex(of: "qty") else { return [] }
        return lines.dropFirst().map { line in
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return [f[role], f[side], f[price], f[qty]].joined(separator: " ")
        }
    }

    @Test func paperTradesALadderWithItsStopAndExitsAndItsRecordingBacktestsTheSame() throws {
        let dir = try TemporaryDirectory("paper-sim")
        defer { dir.remove() }
        let source = dir.file("market.frames.gz")
        try Self.market.write(to: source)
        let config = dir.file("config.json")
        try writeBytes(Array(Self.configuration.utf8), to: config)
        // The same data backtested: what the paper node must reproduce.
        let reference = dir.file("reference")
        let backtest = try ChildProcess.run(["backtest", "--data", source, "--config", config, "--out", reference, "--no-report"])
        #expect(backtest.succeeded, "\(backtest.errorLines.suffix(5))")
        let expected = Self.fills(try String(contentsOfFile: reference + "/fills.csv", encoding: .utf8))
        #expect(expected.map { $0.split(separator: " ").first.map(String.init) ?? "" } == ["entry", "timeExit"], "\(expected)")

        let (sim, port) = try RecordAgainstSimTests.startSim(source, speed: "1")
        defer { sim.killNine(); sim.waitForExit(timeout: 30) }
        let data = dir.file("node")
        let paper = try ChildProcess(["paper", "--symbols", "BTCUSDT", "--balance-usdt", "100000", "--config", config, "--data", data,
                                      "--endpoint", "ws://127.0.0.1:\(port)/v5/public/linear", "--rest", "http://127.0.0.1:\(port)"])
        try paper.start()
        var stopped = false
        defer { if !stopped { paper.killNine(); paper.waitForExit(timeout: 30) } }
        // A second node on the same data directory refuses to start.
        #expect(paper.waitForErrorLines(timeout: 30) { _ in FileManager.default.fileExists(atPath: data + "/cascade.lock") })
        let second = try ChildProcess.run(["paper", "--symbols", "BTCUSDT", "--balance-usdt", "100000", "--data", data,
                                           "--endpoint", "ws://127.0.0.1:\(port)/v5/public/linear", "--rest", "http://127.0.0.1:\(port)"], timeout: 30)
        #expect(!second.succeeded && second.standardError.contains("another cascade node is running on \(data)"), "\(second.standardError)")
        // The entry fills at the second cascade (122 s in), the time exit 10 s later.
        let exited = paper.waitForErrorLines(timeout: 150) { lines in lines.contains { $0.contains("paper fill: BTCUSDT timeExit") } }
        #expect(exited, "\(paper.errorLines.suffix(10))")
        _ = kill(paper.pid, SIGINT)
        stopped = true
        #expect(paper.waitForExit(timeout: 60))
        #expect(paper.result.status == 0, "\(paper.errorLines.suffix(10))")
        #expect(paper.result.standardOutput.contains("balance    100000 USDT"))

        let sessions = try FileManager.default.contentsOfDirectory(atPath: data + "/paper")
        let session = data + "/paper/" + (try #require(sessions.first))
        #expect(sessions.count == 1)
        // The ladder carried its stop; the journal holds the run.
        let decisions = try String(contentsOfFile: session + "/decisions.jsonl", encoding: .utf8)
        #expect(decisions.contains(#""action":"enter""#) && decisions.contains("stop "), "\(decisions.prefix(400))")
        let journal = try ChildProcess.run(["journal", session + "/journal.sqlite"])
        #expect(journal.succeeded, "\(journal.errorLines.suffix(5))")
        let fills = Self.fills(try String(contentsOfFile: session + "/fills.csv", encoding: .utf8))
        #expect(fills == expected)
        // The recording replays: a backtest of it trades as the paper node did.
        let recorded = try TemporaryDirectory.dataFiles(in: session + "/recording")
        #expect(!recorded.isEmpty)
        #expect(try FrameManifest.read(forDataFile: try #require(recorded.first)).createdBy == "cascade paper")
        let replayed = dir.file("replayed")
        let again = try ChildProcess.run(["backtest", "--data"] + recorded + ["--config", config, "--out", replayed, "--no-report"])
        #expect(again.succeeded, "\(again.errorLines.suffix(5))")
        #expect(Self.fills(try String(contentsOfFile: replayed + "/fills.csv", encoding: .utf8)) == fills)
    }
}

