#if canImport(Glibc)
import Glibc
#endif
import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Recording
import Storage
import Testing

/// `cascade paper` and `cascade live` against one `cascade sim` replaying a named synthetic cascade at its recorded
/// pace (the nodes trade on receive times, so the replay is real time: about 140 s), and the live node's refusals.
@Suite(.serialized) struct PaperAgainstSimTests {
    static let configuration = SyntheticCascadeMarket.endToEndConfiguration
    static let market = SyntheticCascadeMarket.endToEnd

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

    @Test func paperTradesALadderWithItsStopAndExitsAndItsRecordingBacktestsTheSame() async throws {
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

        // The test's detector has a two-minute baseline, so whether the second cascade stands out depends on where the
        // replay's minutes fall: the simulator rebases the recording (which starts on a whole minute) to its first
        // subscription. First subscriptions 55–57 s into a minute leave the first cascade alone in a whole baseline
        // minute, which the second then does not exceed (measured by backtesting the recording shifted second by
        // second; every other phase trades). The nodes therefore start within the first 45 s of a wall-clock minute.
        let phase = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
        if phase >= 45 { try await Task.sleep(for: .milliseconds(Int((60 - phase) * 1_000) + 100)) }
        let (sim, port) = try RecordAgainstSimTests.startSim(source, speed: "1")
        defer { sim.killNine(); sim.waitForExit(timeout: 30) }
        // The live node trades the same replay through the simulator's trading half, with its test key.
        let keys = dir.file("keys.json")
        try writeBytes(Array(#"{"apiKey":"cascade-test-key","apiSecret":"cascade-test-secret"}"#.utf8), to: keys)
        let liveData = dir.file("live-node")
        let liveArguments = ["live", "--symbols", "BTCUSDT", "--config", config, "--data", liveData, "--keys-file", keys,
                             "--endpoint", "ws://127.0.0.1:\(port)/v5/public/linear", "--rest", "http://127.0.0.1:\(port)",
                             "--confirm-real-money"]
        let crashing = try ChildProcess(liveArguments)
        try crashing.start()
        // kill -9 as soon as the ladder is decided (its entry sent, its fill not yet journaled), then a restart on
        // the same data directory: watched on its own thread while the paper node runs.
        let restarted = Task.detached { () -> (entered: Bool, crashLog: String, node: ChildProcess?) in
            let entered = crashing.waitForErrorLines(timeout: 200) { lines in lines.contains { $0.contains("decision: enter") } }
            crashing.killNine()
            crashing.waitForExit(timeout: 30)
            let node = entered ? try? ChildProcess(liveArguments) : nil
            try? node?.start()
            return (entered, crashing.errorLines.joined(separator: "\n"), node)
        }
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
        stopped = true
        #expect(paper.interrupt(timeout: 60))
        #expect(paper.result.status == 0, "\(paper.errorLines.suffix(10))")
        #expect(paper.result.standardOutput.contains("balance    100000 USDT"))

        let sessions = try FileManager.default.contentsOfDirectory(atPath: data + "/paper")
        let session = data + "/paper/" + (try #require(sessions.first))
        #expect(sessions.count == 1)
        // A clean stop closes the journal: its write-ahead log is folded into the file.
        #expect(SQLiteOrderJournal.logIsEmpty(session + "/journal.sqlite"))
        // The ladder carried its stop; the journal holds the run.
        let decisions = try String(contentsOfFile: session + "/decisions.jsonl", encoding: .utf8)
        #expect(decisions.contains(#""action":"enter""#) && decisions.contains("stop "), "\(decisions.prefix(400))")
        let journal = try ChildProcess.run(["journal", session + "/journal.sqlite"])
        #expect(journal.succeeded, "\(journal.errorLines.suffix(5))")
        let fills = Self.fills(try String(contentsOfFile: session + "/fills.csv", encoding: .utf8))
        #expect(fills == expected)
        // The live node: the same ladder, with its stop at Bybit (the simulator), placed; then kill -9 before the
        // entry's fill is journaled, and a restart on the same data directory that reconciles and finishes the ladder.
        let (entered, crashLog, node) = await restarted.value
        #expect(entered && crashLog.contains("stop ") && !crashLog.contains("decision: timeExit"), "\(crashLog.suffix(2_000))")
        let live = try #require(node)
        var liveStopped = false
        defer { if !liveStopped { live.killNine(); live.waitForExit(timeout: 30) } }
        let liveExited = live.waitForErrorLines(timeout: 60) { lines in lines.contains { $0.contains("decision: ladderClosed") } }
        #expect(liveExited, "\(live.errorLines.suffix(10))")
        liveStopped = true
        #expect(live.interrupt(timeout: 60))
        #expect(live.result.status == 0, "\(live.errorLines.suffix(10))")
        #expect(SQLiteOrderJournal.logIsEmpty(liveData + "/live/journal.sqlite"))
        let liveLog = live.errorLines.joined(separator: "\n")
        #expect(liveLog.contains("order(s) the journal left in flight: looking them up at Bybit"), "\(live.errorLines.suffix(20))")
        #expect(liveLog.contains("shutdown: resting entries cancelled by id; positions with a confirmed stop kept, the others closed"))
        // After the crash and the restart, whichever side of the send the kill fell on: the entry was either never at
        // Bybit (found by neither list: rejected, no fill) or filled and exited by time (both fills once); the
        // journal's position is the venue's (flat) and nothing is left open.
        let liveJournal = try ChildProcess.run(["journal", liveData + "/live/journal.sqlite"])
        let summary = liveJournal.standardOutput
        let neverSent = summary.contains("orders 1: rejected 1") && summary.contains("fills applied 0")
        let filledAndExited = summary.contains("fills applied 2") && summary.contains("position BTCUSDT 0.000 flat")
            && liveLog.contains("decision: timeExit")
        #expect(liveJournal.succeeded && (neverSent || filledAndExited) && summary.contains("open: none")
                && summary.contains("last run 2"), "\(summary)")
        #expect(try !TemporaryDirectory.dataFiles(in: liveData + "/live/recording").isEmpty)

        // The recording replays: a backtest of it trades as the paper node did.
        let recorded = try TemporaryDirectory.dataFiles(in: session + "/recording")
        #expect(!recorded.isEmpty)
        #expect(try FrameManifest.read(forDataFile: try #require(recorded.first)).createdBy == "cascade paper")
        let replayed = dir.file("replayed")
        let again = try ChildProcess.run(["backtest", "--data"] + recorded + ["--config", config, "--out", replayed, "--no-report"])
        #expect(again.succeeded, "\(again.errorLines.suffix(5))")
        #expect(Self.fills(try String(contentsOfFile: replayed + "/fills.csv", encoding: .utf8)) == fills)
    }

    /// Live refuses to start without a key, without the confirmation flag, with a key that may withdraw (the
    /// simulator's accounts file presents one), and on a bad configuration, each with one readable line.
    @Test func liveRefusesWhatItMustRefuse() throws {
        let dir = try TemporaryDirectory("live-refusals")
        defer { dir.remove() }
        let source = dir.file("market.frames.gz")
        try Self.market.write(to: source)
        let accounts = dir.file("accounts.json")
        try writeBytes(Array(#"""
            {"accounts":[{"name":"withdrawer","apiKey":"wd-key","apiSecret":"wd-secret","depositUSDT":"1000",
              "permissions":{"ContractTrade":["Order","Position"],"Wallet":["AccountTransfer","Withdraw"]}},
             {"name":"dcp","apiKey":"dcp-key","apiSecret":"dcp-secret","depositUSDT":"1000","dcp":true},
             {"name":"plain","apiKey":"plain-key","apiSecret":"plain-secret","depositUSDT":"1000"}]}
            """#.utf8), to: accounts)
        let (sim, port) = try RecordAgainstSimTests.startSim(source, options: ["--accounts", accounts])
        defer { sim.killNine(); sim.waitForExit(timeout: 30) }
        let hosts = ["--endpoint", "ws://127.0.0.1:\(port)/v5/public/linear", "--rest", "http://127.0.0.1:\(port)"]
        var keyFiles = 0
        func keysFile(_ key: String, _ secret: String) throws -> String {
            keyFiles += 1
            let path = dir.file("keys-\(keyFiles).json")   // not named after the key: the output must not hold it
            try writeBytes(Array(#"{"apiKey":"\#(key)","apiSecret":"\#(secret)"}"#.utf8), to: path)
            return path
        }
        // No key: BYBIT_API_KEY is not set for the child.
        let noKey = try ChildProcess.run(["live", "--data", dir.file("a")] + hosts + ["--confirm-real-money"], timeout: 60)
        #expect(!noKey.succeeded && noKey.standardError.contains("live trading needs an API key"), "\(noKey.standardError)")
        let unconfirmed = try ChildProcess.run(["live", "--data", dir.file("b"), "--keys-file", try keysFile("wd-key", "wd-secret")] + hosts,
                                               timeout: 60)
        #expect(!unconfirmed.succeeded && unconfirmed.standardError.contains("add --confirm-real-money"), "\(unconfirmed.standardError)")
        let withdrawer = try ChildProcess.run(["live", "--data", dir.file("c"), "--keys-file", try keysFile("wd-key", "wd-secret"),
                                               "--confirm-real-money"] + hosts, timeout: 60)
        #expect(!withdrawer.succeeded && withdrawer.standardError.contains("refused to start")
                && withdrawer.standardError.contains("the API key may AccountTransfer, Withdraw (Wallet)"), "\(withdrawer.standardError)")
        // A journal that still holds an order not ended in a symbol the node no longer trades (ETHUSDT; it trades
        // BTCUSDT): refused, naming the symbol and the order, before the account checks and before anything is journaled.
        let untradedData = dir.file("f")
        try FileManager.default.createDirectory(atPath: untradedData + "/live", withIntermediateDirectories: true)
        let untradedJournal = try SQLiteOrderJournal(path: untradedData + "/live/journal.sqlite")
        var decision = Decision(time: ExchangeTime(milliseconds: 1_700_000_000_000))
        decision.intents = [OrderIntent(id: try OrderLinkID(node: "bt", run: 1, episode: 1, role: .entry, layer: 0, attempt: 0), symbol: "ETHUSDT",
                                        spec: OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: 300_000_000_000),
                                                        qty: Quantity(units: 1_000_000)), ladder: 1)]
        try untradedJournal.commit([.started(run: 1, node: "bt", startingBalance: USDT(units: 100_000_000_000),
                                             at: ExchangeTime(milliseconds: 1_700_000_000_000)), .decision(decision)])
        try untradedJournal.close()
        let untraded = try ChildProcess.run(["live", "--data", untradedData, "--symbols", "BTCUSDT", "--keys-file", try keysFile("plain-key", "plain-secret"),
                                             "--confirm-real-money"] + hosts, timeout: 60)
        #expect(!untraded.succeeded && untraded.standardError.contains("refused to start")
                && untraded.standardError.contains("ETHUSDT: the journal holds 1 order not ended (c1bt_1_1_E0_0), "), "\(untraded.standardError)")
        #expect(try SQLiteOrderJournal(path: untradedData + "/live/journal.sqlite").entries().count == 2)
        let config = dir.file("bad.json")
        try writeBytes(Array(#"{"ladder": {"offsetsBps": "five"}, "colour": 1}"#.utf8), to: config)
        let bad = try ChildProcess.run(["live", "--data", dir.file("d"), "--config", config, "--keys-file", try keysFile("wd-key", "wd-secret"),
                                        "--confirm-real-money"] + hosts, timeout: 60)
        #expect(!bad.succeeded && bad.errorLines.count >= 2 && bad.standardError.contains("colour"), "\(bad.standardError)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("d") + "/live/journal.sqlite"))
        // An account with Bybit's disconnect-cancel gets it armed (and `dcp.future`); one without runs the watchdog only.
        for (key, expected) in [("dcp-key", "Bybit disconnect-cancel armed (10 s)"), ("plain-key", "local watchdog only")] {
            let keys = try keysFile(key, key.replacingOccurrences(of: "-key", with: "-secret"))
            let data = dir.file("e-\(keyFiles)")   // not named after the key either
            let node = try ChildProcess(["live", "--data", data, "--keys-file", keys,
                                         "--confirm-real-money"] + hosts)
            try node.start()
            // Started: the banner is out and the private stream trusted.
            let started = node.waitForErrorLines(timeout: 60) { lines in lines.contains { $0.contains("private stream trusted") } }
            #expect(node.interrupt(timeout: 60))
            #expect(started && node.result.standardOutput.contains(expected), "\(node.result.standardOutput) \(node.errorLines.suffix(5))")
            // The effective configuration is written and announced; the key is named by its source, never shown.
            let secret = key.replacingOccurrences(of: "-key", with: "-secret")
            let written = try String(contentsOfFile: data + "/live/config.json", encoding: .utf8)
            #expect(try BacktestConfiguration.parse(Array(written.utf8), name: "config.json").canonicalJSON == BacktestConfiguration().canonicalJSON)
            #expect(node.result.standardOutput.contains("config      defaults, sha256 ") && node.result.standardOutput.contains("key source  --keys-file"))
            for (name, text) in [("stdout", node.result.standardOutput), ("stderr", node.result.standardError), ("config.json", written)] {
                #expect(!text.contains(secret) && !text.contains(key), "the key reached \(name): \(text.components(separatedBy: "\n").filter { $0.contains(key) || $0.contains(secret) })")
            }
        }
    }
}
