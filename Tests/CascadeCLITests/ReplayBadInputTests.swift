import CascadeCore
import CascadeTesting
import Foundation
import Recording
import RecordingAudit
import Testing

/// `cascade replay` refuses unusable arguments with one readable message and a non-zero exit, and
/// counts (never crashes on) damaged content inside a readable file.
@Suite("cascade replay on bad input")
struct ReplayBadInputTests {
    /// Checks a refused run: a normal non-zero exit, nothing on stdout, exactly one `Error:` line
    /// on stderr, containing every one of `needles`.
    static func expectRefused(_ result: CommandResult, mentioning needles: [String]) {
        #expect(result.finishedInTime && result.reason == .exit, "crashed or hung: \(result.reason) \(result.status)")
        #expect(result.status != 0)
        #expect(result.standardOutput.isEmpty, "stdout: \(result.standardOutput)")
        let errors = result.errorLines.filter { $0.hasPrefix("Error:") }
        #expect(errors.count == 1, "stderr: \(result.standardError)")
        for needle in needles {
            #expect(errors.first?.contains(needle) == true, "\(needle) not in: \(result.standardError)")
        }
    }

    /// A small valid recording, so argument errors are the only thing wrong.
    static func validFile(in dir: TemporaryDirectory) throws -> String {
        var feed = SyntheticFeed(seed: 0xBAD_0000)
        let path = dir.file("good.frames")
        try writeBytes(plainText(feed.frames(20)), to: path)
        return path
    }

    @Test func missingFileIsRefusedWithOneMessageNamingIt() throws {
        let dir = try TemporaryDirectory("replay-missing")
        defer { dir.remove() }
        let good = try Self.validFile(in: dir)
        let missing = dir.file("no-such.frames.gz")
        Self.expectRefused(try ChildProcess.run(["replay", missing]), mentioning: [missing, "No such file"])
        // One missing file among good ones still refuses the whole replay (no partial report).
        Self.expectRefused(try ChildProcess.run(["replay", "--json", good, missing]), mentioning: [missing])
        // A directory is not a frames file.
        Self.expectRefused(try ChildProcess.run(["replay", dir.path]), mentioning: [dir.path])
    }

    @Test(arguments: [
        ("--from", "garbage"), ("--to", "2024-13-01"), ("--from", "2024-07-18T25:00:00Z"), ("--to", "12:00"),
        ("--update-id-policy", "loose"),
    ])
    func invalidOptionIsRefusedWithOneMessageNamingIt(option: String, value: String) throws {
        let dir = try TemporaryDirectory("replay-option")
        defer { dir.remove() }
        let good = try Self.validFile(in: dir)
        let needles = option == "--update-id-policy" ? [option] : [option, value]
        Self.expectRefused(try ChildProcess.run(["replay", option, value, good]), mentioning: needles)
    }

    @Test(arguments: [false, true])
    func damagedLinesAndFramesAreCountedAndEveryGoodFrameIsKept(gzip: Bool) throws {
        let dir = try TemporaryDirectory("replay-damaged")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xBAD_0001)
        let frames = feed.frames(400)
        let firstTrade = try #require(frames.firstIndex { FrameTopic.topic(of: $0.bytes) == "publicTrade.BTCUSDT" })
        let insertAt = max(200, firstTrade + 1)
        let tradeJSON = String(decoding: frames[firstTrade].bytes, as: UTF8.self)
        let t = frames[insertAt - 1].localTime.nanoseconds
        let malformed = [
            "\(t)",                                    // no space, no JSON
            "t\(t) {\"topic\":\"publicTrade.BTCUSDT\"}",  // time is not digits
            "",                                        // empty line
            "\(t) ",                                   // empty JSON
        ]
        let truncated = [
            "\(t) \(tradeJSON.prefix(tradeJSON.utf8.count / 2))",
            "\(t) \(tradeJSON.dropLast(3))",
        ]
        let unknown = Array(repeating: "\(t) {\"topic\":\"foo.BTCUSDT\",\"ts\":\(t / 1_000_000),\"data\":{}}", count: 3)
        var text = plainText(frames[..<insertAt])
        for line in malformed + truncated + unknown { text += Array((line + "\n").utf8) }
        text += plainText(frames[insertAt...])

        let path = dir.file(gzip ? "damaged.frames.gz" : "damaged.frames")
        if gzip {
            // Three members, as our recorder writes them (one per flush).
            let third = text.count / 3
            let cuts = [0, third, 2 * third, text.count]
            try writeBytes(try (0..<3).flatMap { try Gzip.compress(Array(text[cuts[$0]..<cuts[$0 + 1]])) }, to: path)
        } else {
            try writeBytes(text, to: path)
        }

        let result = try ChildProcess.run(["replay", "--json", path])
        try #require(result.succeeded, "replay failed: \(result.standardError)")
        let report = try decodeReport(result)
        let readable = frames.count + truncated.count + unknown.count
        #expect(report.files == [AuditReport.FileSummary(path: path, frames: readable, malformedLines: malformed.count,
                                                         tornTail: 0, corruptMembers: 0)])
        #expect(report.frames == readable)
        #expect(report.decodeErrors == ["truncated": truncated.count])
        #expect(report.unknownTopics == ["foo.BTCUSDT": unknown.count])
        #expect(report.topics.count == feed.framesPerTopic.count, "\(report.topics.map(\.topic))")
        #expect(Dictionary(report.topics.map { ($0.topic, $0.frames) }, uniquingKeysWith: +) == feed.framesPerTopic)
        #expect(report.topics.first { $0.topic == "publicTrade.BTCUSDT" }?.decodeErrors == truncated.count)
        #expect(report.books.allSatisfy { $0.synced && $0.updateIDJumps == 0 && $0.updateIDRegressions == 0 })
        for summary in report.symbols {
            let trades = try #require(feed.trades[summary.symbol])
            #expect(summary.buyTakerTrades == trades.buys && summary.sellTakerTrades == trades.sells, "\(summary.symbol)")
        }
    }

    @Test func tornAndCorruptGzipMembersAreReportedPerFileWithTheFramesBeforeThem() throws {
        let dir = try TemporaryDirectory("replay-members")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xBAD_0002)
        let frames = feed.frames(300)
        let members = try [frames[0..<100], frames[100..<200], frames[200..<300]].map { try Gzip.compress(plainText($0)) }

        // Torn: the third member cut in half, as a kill inside its write leaves it.
        let torn = dir.file("torn.frames.gz")
        try writeBytes(members[0] + members[1] + Array(members[2].prefix(members[2].count / 2)), to: torn)
        // Corrupt: the second member's compression-method byte is not deflate; reading stops there.
        var bad = members[1]
        bad[2] = 9
        let corrupt = dir.file("corrupt.frames.gz")
        try writeBytes(members[0] + bad + members[2], to: corrupt)

        let result = try ChildProcess.run(["replay", "--json", torn, corrupt])
        try #require(result.succeeded, "replay failed: \(result.standardError)")
        let report = try decodeReport(result)
        try #require(report.files.count == 2)
        let (t, c) = (report.files[0], report.files[1])
        #expect(t.tornTail == 1 && t.corruptMembers == 0 && t.malformedLines == 0)
        #expect(t.frames >= 200 && t.frames < 300, "torn file gave \(t.frames) frames")
        #expect(c.corruptMembers == 1 && c.tornTail == 0 && c.malformedLines == 0)
        #expect(c.frames == 100)
        #expect(report.frames == t.frames + c.frames)
        #expect(report.decodeErrors.isEmpty)
    }

    /// Regression: a topic whose first frame is damaged was once listed twice (errors keyed apart from good frames).
    @Test
    func aTopicWhoseFirstFrameIsDamagedIsReportedOnceWithAllItsErrors() throws {
        let dir = try TemporaryDirectory("replay-first-damaged")
        defer { dir.remove() }
        let t = 1_721_347_021_295_000_000
        let good = #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1721347021300,"data":[{"T":1721347021299,"s":"BTCUSDT","S":"Sell","v":"0.002","p":"64000.10","L":"PlusTick","i":"2","BT":false}]}"#
        let cut = #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":17213470"#
        let path = dir.file("first-damaged.frames")
        try writeBytes(Array("\(t) \(cut)\n\(t + 1) \(good)\n\(t + 2) \(cut)\n".utf8), to: path)

        var reports: [AuditReport] = []
        for _ in 0..<3 {
            let result = try ChildProcess.run(["replay", "--json", path])
            try #require(result.succeeded, "replay failed: \(result.standardError)")
            var report = try decodeReport(result)
            report.throughput = nil
            reports.append(report)
        }
        let topics = reports[0].topics
        #expect(topics.map(\.topic) == ["publicTrade.BTCUSDT"])
        #expect(topics.first?.frames == 1 && topics.first?.decodeErrors == 2 && topics.first?.eventDriven == true)
        #expect(reports.allSatisfy { $0 == reports[0] }, "two runs over the same file must report the same")
    }
}
