import CascadeCore
import CascadeTesting
import Foundation
import Recording
import RecordingAudit
import Testing

/// What `../shared/data/bybit-v5-frames/README.md` publishes about one file (counts from
/// `shared/tools/check_frames.py`).
struct PublishedCounts: Sendable, CustomTestStringConvertible {
    var file: String
    var symbol: String
    var frames: Int
    /// Frames per topic.
    var topics: [String: Int]
    /// Level entries (snapshot + delta) per book topic.
    var levelEntries: [String: Int]
    var trades = 0, buys = 0, sells = 0
    var liquidatedLongs = 0, liquidatedShorts = 0
    /// "orderbook.50 at the end" as printed in the README: [price, size].
    var bestBid: [String]?
    var bestAsk: [String]?
    var first: String
    var last: String

    var testDescription: String { file }
    var path: String { SharedData.root.appendingPathComponent("data/bybit-v5-frames/\(file)").path }

    static let btc2023 = PublishedCounts(
        file: "binance-derived/btcusdt_2023-04-04T2358.frames.gz", symbol: "BTCUSDT", frames: 27_487,
        topics: ["orderbook.50.BTCUSDT": 13_669, "orderbook.200.BTCUSDT": 5_069, "publicTrade.BTCUSDT": 4_162, "tickers.BTCUSDT": 4_587],
        levelEntries: ["orderbook.50.BTCUSDT": 100 + 97_345, "orderbook.200.BTCUSDT": 400 + 142_780],
        trades: 12_934, buys: 6_480, sells: 6_454, bestBid: ["28140.10", "8.251"], bestAsk: ["28140.20", "7.212"],
        first: "2023-04-04 23:58:20.442Z", last: "2023-04-05 00:06:54.683Z")
    static let btc2024 = PublishedCounts(
        file: "binance-derived/btcusdt_2024-07-18T2357.frames.gz", symbol: "BTCUSDT", frames: 20_309,
        topics: ["orderbook.50.BTCUSDT": 7_898, "orderbook.200.BTCUSDT": 4_701, "publicTrade.BTCUSDT": 3_714, "tickers.BTCUSDT": 3_996],
        levelEntries: ["orderbook.50.BTCUSDT": 100 + 82_141, "orderbook.200.BTCUSDT": 400 + 159_812],
        trades: 10_701, buys: 4_195, sells: 6_506, bestBid: ["63867.40", "0.002"], bestAsk: ["63867.50", "5.045"],
        first: "2024-07-18 23:57:01.295Z", last: "2024-07-19 00:05:00.760Z")
    static let eth2024 = PublishedCounts(
        file: "binance-derived/ethusdt_2024-07-18T2357.frames.gz", symbol: "ETHUSDT", frames: 20_604,
        topics: ["orderbook.50.ETHUSDT": 8_162, "orderbook.200.ETHUSDT": 4_722, "publicTrade.ETHUSDT": 3_570, "tickers.ETHUSDT": 4_150],
        levelEntries: ["orderbook.50.ETHUSDT": 100 + 82_828, "orderbook.200.ETHUSDT": 400 + 157_801],
        trades: 13_655, buys: 4_892, sells: 8_763, bestBid: ["3418.62", "0.007"], bestAsk: ["3418.63", "12.271"],
        first: "2024-07-18 23:57:01.186Z", last: "2024-07-19 00:05:00.763Z")
    static let liquidations = PublishedCounts(
        file: "liquidations/btcusdt_2024-02-12_2024-05-13.frames.gz", symbol: "BTCUSDT", frames: 25_111,
        topics: ["allLiquidation.BTCUSDT": 25_111], levelEntries: [:], liquidatedLongs: 12_037, liquidatedShorts: 14_337,
        first: "2024-02-12 16:45:33.999Z", last: "2024-05-13 22:44:50.001Z")

    static let all = [btc2023, btc2024, eth2024, liquidations]
}

/// `cascade replay --json` over the real recordings reports exactly what their README publishes.
@Suite("cascade replay on the shared recordings")
struct ReplayRealFilesTests {
    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"), arguments: PublishedCounts.all)
    func replayReportMatchesThePublishedCounts(_ e: PublishedCounts) throws {
        let result = try ChildProcess.run(["replay", "--json", e.path])
        try #require(result.succeeded, "replay failed: \(result.standardError)")
        let report = try decodeReport(result)

        #expect(report.frames == e.frames)
        #expect(report.files == [AuditReport.FileSummary(path: e.path, frames: e.frames, malformedLines: 0, tornTail: 0, corruptMembers: 0)])
        #expect(report.decodeErrors.isEmpty, "decode errors: \(report.decodeErrors)")
        #expect(report.unknownTopics.isEmpty, "unknown topics: \(report.unknownTopics)")
        #expect(report.receiveTimeRegressions == 0 && report.controlFrames == 0)
        #expect(report.firstLocal == e.first && report.lastLocal == e.last)

        #expect(report.topics.count == e.topics.count, "\(report.topics.map(\.topic))")
        #expect(Dictionary(report.topics.map { ($0.topic, $0.frames) }, uniquingKeysWith: +) == e.topics)
        #expect(report.topics.allSatisfy { $0.decodeErrors == 0 })
        for (topic, entries) in e.levelEntries {
            #expect(report.topics.first { $0.topic == topic }?.levelUpdates == entries, "\(topic)")
        }

        #expect(report.books.map(\.topic).sorted() == e.levelEntries.keys.sorted())
        for book in report.books {
            #expect(book.synced && book.state == "synced", "\(book.topic): \(book.state)")
            #expect(book.snapshots == 1 && book.restartSnapshots == 0 && book.deltas == e.topics[book.topic]! - 1, "\(book.topic)")
            #expect(book.updateIDJumps == 0 && book.updateIDRegressions == 0 && book.sequenceRegressions == 0, "\(book.topic)")
            #expect(book.crossedBooks == 0 && book.resyncsRequested == 0 && book.deltasIgnoredUntilSnapshot == 0, "\(book.topic)")
            #expect(book.deletesOfMissingLevels == 0 && book.overDepth == 0, "\(book.topic)")
            #expect(book.levelUpdates == e.levelEntries[book.topic], "\(book.topic)")
        }
        if e.bestBid != nil {
            let top = try #require(report.books.first { $0.topic == "orderbook.50.\(e.symbol)" })
            #expect(canonicalLevel(top.bestBid) == canonicalLevel(e.bestBid))
            #expect(canonicalLevel(top.bestAsk) == canonicalLevel(e.bestAsk))
        }

        #expect(report.symbols.map(\.symbol) == [e.symbol])
        let symbol = try #require(report.symbols.first)
        #expect(symbol.trades == e.trades && symbol.buyTakerTrades == e.buys && symbol.sellTakerTrades == e.sells)
        #expect(symbol.liquidationsLongs == e.liquidatedLongs && symbol.liquidationsShorts == e.liquidatedShorts)
        if e.topics.keys.contains(where: { $0.hasPrefix("allLiquidation.") }) {
            #expect(symbol.liquidationsLongs + symbol.liquidationsShorts == 26_374)
        }
    }
}

/// `--symbol` and `--from`/`--to` select frames before they reach the auditor.
@Suite("cascade replay filters")
struct ReplayFilterTests {
    static let btc = PublishedCounts.btc2024
    static let eth = PublishedCounts.eth2024

    /// Receive times of every frame of a file, read directly (the independent count for the filters).
    static func receiveTimes(_ path: String) throws -> [Int64] {
        var reader = try FrameFileReader(path: path)
        var times: [Int64] = []
        while let line = try reader.next() { times.append(line.localTime.nanoseconds) }
        return times
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func symbolFilterKeepsExactlyTheOtherFilesFrames() throws {
        let result = try ChildProcess.run(["replay", "--json", "--symbol", "ETHUSDT", Self.btc.path, Self.eth.path])
        try #require(result.succeeded, "replay failed: \(result.standardError)")
        let report = try decodeReport(result)
        #expect(report.frames == Self.eth.frames)
        #expect(report.files.map(\.frames) == [0, Self.eth.frames])
        #expect(Dictionary(report.topics.map { ($0.topic, $0.frames) }, uniquingKeysWith: +) == Self.eth.topics)
        #expect(report.symbols.map(\.symbol) == ["ETHUSDT"])
        #expect(report.books.map(\.topic) == ["orderbook.200.ETHUSDT", "orderbook.50.ETHUSDT"])
        #expect(report.firstLocal == Self.eth.first && report.lastLocal == Self.eth.last)
        #expect(report.decodeErrors.isEmpty && report.unknownTopics.isEmpty)
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func timeWindowKeepsOnlyFramesInsideItWhetherGivenAsUTCOrNanoseconds() throws {
        let from = "2024-07-18T23:59:00Z", to = "2024-07-19T00:01:30.5Z"
        let fromNs = try #require(UTCFormat.parseNanoseconds(from))
        let toNs = try #require(UTCFormat.parseNanoseconds(to))
        #expect(toNs - fromNs == 150_500_000_000)
        let inWindow = try [Self.btc.path, Self.eth.path].map { path in
            try Self.receiveTimes(path).filter { $0 >= fromNs && $0 < toNs }.count
        }

        let utc = try ChildProcess.run(["replay", "--json", "--from", from, "--to", to, Self.btc.path, Self.eth.path])
        try #require(utc.succeeded, "replay failed: \(utc.standardError)")
        var report = try decodeReport(utc)
        #expect(report.frames == inWindow.reduce(0, +))
        #expect(report.files.map(\.frames) == inWindow)
        #expect(report.frames > 0 && report.frames < Self.btc.frames + Self.eth.frames)
        // Times print as `2024-07-18 23:59:00.000Z`: fixed width, so text order is time order.
        let lower = LocalTime(nanoseconds: fromNs).description, upper = LocalTime(nanoseconds: toNs).description
        let first = try #require(report.firstLocal), last = try #require(report.lastLocal)
        #expect(first >= lower && last < upper, "\(first) … \(last) outside [\(lower), \(upper))")
        for topic in report.topics {
            #expect((topic.firstLocal ?? "") >= lower && (topic.lastLocal ?? "~") < upper, "\(topic.topic)")
        }
        #expect(report.symbols.map(\.symbol) == ["BTCUSDT", "ETHUSDT"])

        let nanoseconds = try ChildProcess.run(["replay", "--json", "--from", String(fromNs), "--to", String(toNs), Self.btc.path, Self.eth.path])
        try #require(nanoseconds.succeeded, "replay failed: \(nanoseconds.standardError)")
        var same = try decodeReport(nanoseconds)
        report.throughput = nil
        same.throughput = nil
        #expect(same == report)
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func toIsExclusiveAndFromInclusiveAtAFramesExactReceiveTime() throws {
        let times = try Self.receiveTimes(Self.eth.path)
        let cut = times[times.count / 2]
        let before = times.filter { $0 < cut }.count
        #expect(before > 0 && before < times.count)

        let head = try ChildProcess.run(["replay", "--json", "--to", String(cut), Self.eth.path])
        let tail = try ChildProcess.run(["replay", "--json", "--from", String(cut), Self.eth.path])
        try #require(head.succeeded && tail.succeeded, "\(head.standardError) \(tail.standardError)")
        let a = try decodeReport(head), b = try decodeReport(tail)
        #expect(a.frames == before)
        #expect(b.frames == times.count - before)
        #expect(b.firstLocal == LocalTime(nanoseconds: cut).description)
    }
}
