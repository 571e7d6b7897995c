import CascadeCore
import CascadeTesting
import Foundation
import Recording
import Testing

/// The real frames files in `../shared/data/bybit-v5-frames` (absent for most users: skipped).
@Suite("Shared frames files", .enabled(if: SharedData.isAvailable, "../shared/data/bybit-v5-frames is absent"))
struct SharedRecordingFileTests {
    /// Frame counts and receive-time spans from the data README.
    static let expected: [(file: String, frames: Int, first: String, last: String)] = [
        ("binance-derived/btcusdt_2023-04-04T2358.frames.gz", 27_487, "2023-04-04 23:58:20.442Z", "2023-04-05 00:06:54.683Z"),
        ("binance-derived/btcusdt_2024-07-18T2357.frames.gz", 20_309, "2024-07-18 23:57:01.295Z", "2024-07-19 00:05:00.760Z"),
        ("binance-derived/ethusdt_2024-07-18T2357.frames.gz", 20_604, "2024-07-18 23:57:01.186Z", "2024-07-19 00:05:00.763Z"),
        ("liquidations/btcusdt_2024-02-12_2024-05-13.frames.gz", 25_111, "2024-02-12 16:45:33.999Z", "2024-05-13 22:44:50.001Z"),
    ]

    static func path(_ relative: String) -> String {
        SharedData.root.appendingPathComponent("data/bybit-v5-frames").appendingPathComponent(relative).path
    }

    @Test(arguments: expected.indices)
    func realFileHasTheFrameCountAndSpanOfItsREADME(index: Int) throws {
        let e = Self.expected[index]
        var reader = try FrameFileReader(path: Self.path(e.file))
        var first: LocalTime?
        var last = LocalTime(nanoseconds: 0)
        var decreasing = 0
        var withTopic = 0
        while let line = try reader.next() {
            if first == nil { first = line.localTime }
            if line.localTime < last { decreasing += 1 }
            last = line.localTime
            if FrameTopic.topicRange(in: line.json) != nil { withTopic += 1 }
        }
        #expect(reader.stats.frames == e.frames)
        #expect(reader.stats.isClean)
        #expect(reader.stats.gzipMembers == 1)
        #expect(first?.description == e.first)
        #expect(last.description == e.last)
        #expect(decreasing == 0)
        #expect(withTopic == e.frames)
    }

    @Test func realFileSurvivesAMultiMemberRewriteByteForByte() throws {
        let dir = try TemporaryDirectory("realrewrite")
        defer { dir.remove() }
        let source = Self.path(Self.expected[1].file)
        let original = try readAll(source)
        let copy = dir.file("copy.frames.gz")
        let boundaries = try writeFrames(original.frames, to: copy, memberSizes: [1000])
        let reread = try readAll(copy)
        #expect(reread.frames == original.frames)
        #expect(reread.stats.gzipMembers == boundaries.count)
    }

    @Test func replayerMergesTheRealFilesInReceiveTimeOrder() throws {
        let paths = Self.expected.indices.map { Self.path(Self.expected[$0].file) }
        var replayer = try Replayer(paths: Array(paths.prefix(3)), options: ReplayOptions(symbols: ["ETHUSDT"]))
        var count = 0
        var last = LocalTime(nanoseconds: 0)
        while let frame = try replayer.next() {
            #expect(frame.localTime >= last)
            last = frame.localTime
            count += 1
        }
        #expect(count == 20_604)
        #expect(replayer.framesFilteredOut == 27_487 + 20_309)
    }
}
