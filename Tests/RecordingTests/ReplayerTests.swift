import CascadeTesting
import CascadeCore
import Foundation
import Recording
import Testing

@Suite("Replayer k-way merge")
struct ReplayerTests {
    /// (receive ns, JSON) lines of three files with interleaved and equal receive times.
    static let files: [[(Int64, String)]] = [
        [(10, #"{"topic":"orderbook.50.BTCUSDT","n":"a1"}"#), (20, #"{"topic":"tickers.ETHUSDT","n":"a2"}"#),
         (20, #"{"topic":"_cascade.session","ts":0,"data":{}}"#), (30, #"{"topic":"publicTrade.BTCUSDT","n":"a4"}"#),
         (50, #"{"op":"pong"}"#)],
        [(10, #"{"topic":"publicTrade.ETHUSDT","n":"b1"}"#), (20, #"{"topic":"orderbook.50.BTCUSDT","n":"b2"}"#),
         (40, #"{"topic":"tickers.SOLUSDT","n":"b3"}"#), (50, #"{"topic":"orderbook.200.ETHUSDT","n":"b4"}"#)],
        [(5, #"{"topic":"_cascade.instruments","ts":0,"data":[]}"#), (20, #"{"topic":"tickers.BTCUSDT","n":"c2"}"#),
         (50, #"{"topic":"publicTrade.SOLUSDT","n":"c3"}"#), (60, #"{"topic":"orderbook.50.ETHUSDT","n":"c4"}"#)],
    ]

    private static func writeFiles(in dir: TemporaryDirectory) throws -> [String] {
        try files.enumerated().map { index, lines in
            let path = dir.file("f\(index).frames.gz")
            let frames = lines.map { FrameRecord(localTime: LocalTime(nanoseconds: $0.0), bytes: Array($0.1.utf8)) }
            try writeFrames(frames, to: path, memberSizes: [2])
            return path
        }
    }

    private static func replay(_ paths: [String], _ options: ReplayOptions = ReplayOptions()) throws -> [(Int, Int, Int64)] {
        var replayer = try Replayer(paths: paths, options: options)
        var out: [(Int, Int, Int64)] = []
        while let frame = try replayer.next() {
            // The view must still hold this frame's bytes: compare with the source line.
            #expect(String(decoding: frame.json, as: UTF8.self) == files[frame.fileIndex][frame.lineNumber - 1].1)
            out.append((frame.fileIndex, frame.lineNumber, frame.localTime.nanoseconds))
        }
        return out
    }

    @Test func mergeOrdersByReceiveTimeThenFileIndexThenLineNumber() throws {
        let dir = try TemporaryDirectory("merge")
        defer { dir.remove() }
        let paths = try Self.writeFiles(in: dir)
        let merged = try Self.replay(paths)
        let expected: [(Int, Int, Int64)] = [
            (2, 1, 5), (0, 1, 10), (1, 1, 10), (0, 2, 20), (0, 3, 20), (1, 2, 20), (2, 2, 20),
            (0, 4, 30), (1, 3, 40), (0, 5, 50), (1, 4, 50), (2, 3, 50), (2, 4, 60),
        ]
        #expect(merged.map { "\($0)" } == expected.map { "\($0)" })
    }

    @Test func fromIsInclusiveAndToIsExclusive() throws {
        let dir = try TemporaryDirectory("window")
        defer { dir.remove() }
        let paths = try Self.writeFiles(in: dir)
        let merged = try Self.replay(paths, ReplayOptions(from: LocalTime(nanoseconds: 20), to: LocalTime(nanoseconds: 50)))
        #expect(merged.map(\.2) == [20, 20, 20, 20, 30, 40])
    }

    @Test func symbolFilterKeepsMatchingTopicsAndAlwaysCascadeFrames() throws {
        let dir = try TemporaryDirectory("symbols")
        defer { dir.remove() }
        let paths = try Self.writeFiles(in: dir)
        var replayer = try Replayer(paths: paths, options: ReplayOptions(symbols: ["ETHUSDT"]))
        var topics: [String] = []
        while let frame = try replayer.next() { topics.append(FrameTopic.topic(of: frame.json) ?? "-") }
        #expect(topics == [
            "_cascade.instruments", "publicTrade.ETHUSDT", "tickers.ETHUSDT", "_cascade.session",
            "orderbook.200.ETHUSDT", "orderbook.50.ETHUSDT",
        ])
        #expect(replayer.framesFilteredOut == 13 - topics.count)
        #expect(replayer.totalStats.frames == 13)
        #expect(replayer.fileStats.map(\.frames) == [5, 4, 4])
    }

    @Test func seededFilesMergeIntoTheSortedUnionOfTheirLines() throws {
        let dir = try TemporaryDirectory("seeded")
        defer { dir.remove() }
        var all: [(time: Int64, file: Int, line: Int, bytes: [UInt8])] = []
        var paths: [String] = []
        for file in 0..<3 {
            // Coarse 1 ms steps from a shared start: many equal times across files.
            var gen = SeededFrameGenerator(seed: 30 + UInt64(file), startNanoseconds: 1_000_000_000)
            let frames = gen.frames(1_500, maxStepNanoseconds: 2_000_000).map {
                FrameRecord(localTime: LocalTime(nanoseconds: $0.localTime.nanoseconds / 1_000_000 * 1_000_000), bytes: $0.bytes)
            }
            let path = dir.file("s\(file).frames.gz")
            try writeFrames(frames, to: path, memberSizes: [97])
            paths.append(path)
            for (i, f) in frames.enumerated() { all.append((f.localTime.nanoseconds, file, i + 1, f.bytes)) }
        }
        all.sort { ($0.time, $0.file, $0.line) < ($1.time, $1.file, $1.line) }
        var replayer = try Replayer(paths: paths, chunkSize: 8 * 1024)
        var index = 0
        while let frame = try replayer.next() {
            let want = all[index]
            #expect(frame.localTime.nanoseconds == want.time && frame.fileIndex == want.file && frame.lineNumber == want.line)
            #expect(frame.bytes == want.bytes)
            index += 1
        }
        #expect(index == all.count)
        #expect(replayer.totalStats.isClean)
    }
}
