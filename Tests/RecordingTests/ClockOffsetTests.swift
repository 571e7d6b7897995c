import CascadeCore
import CascadeTesting
import Foundation
import Recording
import Testing

/// Files recorded on different clocks merge in exchange order once each file's offset is removed.
@Suite struct ClockOffsetTests {
    /// Frames with exchange ts `ts` (ms) received `offset + delay` later, delay seeded in 1…40 ms; receive times
    /// only grow (a recorder writes in receive order) and start after `after` (ns: the previous file's last frame).
    @discardableResult
    func write(_ path: String, tag: String, ts: [Int64], offsetMs: Int64, seed: UInt64, after: Int64 = 0) throws -> Int64 {
        var rng = SeededRandom(seed: seed)
        let writer = try FrameFileWriter(path: path)
        var last = after
        for t in ts {
            let received = max(last + 1, (t + offsetMs + Int64(1 + rng.next() % 40)) * 1_000_000)
            last = received
            try writer.append(localTime: LocalTime(nanoseconds: received),
                              json: Array(#"{"topic":"publicTrade.\#(tag)","ts":\#(t),"data":[]}"#.utf8))
        }
        try writer.close()
        return last
    }

    @Test func theMedianOffsetIsEstimatedAndRemovedBeforeMerging() throws {
        let dir = try TemporaryDirectory("offset")
        defer { dir.remove() }
        let a = dir.file("a.frames.gz"), b = dir.file("b.frames.gz")
        // A's recorder runs 1.5 s fast, B's is on time; their frames interleave every 50 ms on the exchange.
        try write(a, tag: "AAAUSDT", ts: stride(from: 1_000_000, to: 1_010_000, by: 100).map { $0 }, offsetMs: 1_500, seed: 1)
        try write(b, tag: "BBBUSDT", ts: stride(from: 1_000_050, to: 1_010_050, by: 100).map { $0 }, offsetMs: 0, seed: 2)
        let offsetA = try #require(try ClockOffset.estimate(path: a))
        let offsetB = try #require(try ClockOffset.estimate(path: b))
        // Offset + median delay (1…40 ms, median ~20 ms).
        #expect(abs(offsetA / 1_000_000 - 1_520) <= 5 && abs(offsetB / 1_000_000 - 20) <= 5)
        func order(_ corrections: [Int64]) throws -> [String] {
            var replayer = try Replayer(paths: [a, b], options: ReplayOptions(clockCorrections: corrections))
            var tags: [String] = []
            while let f = try replayer.next() { tags.append(String(decoding: f.bytes, as: UTF8.self).contains("AAA") ? "A" : "B") }
            return tags
        }
        // Uncorrected, A's frames all come 1.5 s late: the first 15 of B's come before any of A's.
        #expect(try order([]).prefix(15).allSatisfy { $0 == "B" })
        // Corrected, the merge follows the exchange: A, B, A, B, … (delays never exceed the 50 ms spacing here).
        let corrected = try order([offsetA, offsetB])
        #expect(corrected.count == 200 && corrected.enumerated().filter { $0.element == ($0.offset % 2 == 0 ? "A" : "B") }.count >= 190)
    }

    @Test func filesOfOneDirectoryShareOneOffset() throws {
        let root = try TemporaryDirectory("offset")
        defer { root.remove() }
        let one = root.file("r1"), two = root.file("r2")
        for d in [one, two] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        // Rotation of one recorder (offset 1.5 s): estimates differ by the seeded delays; a second recorder on time.
        let endA = try write(one + "/a.frames.gz", tag: "AAAUSDT", ts: Array(stride(from: 1_000_000, to: 1_002_000, by: 10)), offsetMs: 1_500, seed: 3)
        let endB = try write(one + "/b.frames.gz", tag: "AAAUSDT", ts: Array(stride(from: 1_002_000, to: 1_004_000, by: 10)), offsetMs: 1_500, seed: 4, after: endA)
        try write(one + "/c.frames.gz", tag: "AAAUSDT", ts: Array(stride(from: 1_004_000, to: 1_006_000, by: 10)), offsetMs: 1_500, seed: 5, after: endB)
        try write(two + "/a.frames.gz", tag: "BBBUSDT", ts: Array(stride(from: 1_000_005, to: 1_002_000, by: 10)), offsetMs: 0, seed: 6)
        let paths = [one + "/a.frames.gz", one + "/b.frames.gz", one + "/c.frames.gz", two + "/a.frames.gz"]
        let offsets = try ClockOffset.perSource(paths: paths)
        #expect(offsets[0] != nil && offsets[0] == offsets[1] && offsets[1] == offsets[2] && offsets[3] != offsets[0])
        // The recorder's own frames keep their recorded (receive) order across the file seams.
        var replayer = try Replayer(paths: paths, options: ReplayOptions(clockCorrections: offsets.map { $0 ?? 0 }))
        var last: Int64 = 0
        while let f = try replayer.next() {
            let text = String(decoding: f.bytes, as: UTF8.self)
            guard text.contains("AAA") else { continue }
            #expect(f.localTime.nanoseconds > last)
            last = f.localTime.nanoseconds
        }
    }

    @Test func aFileWithoutTimestampsHasNoOffset() throws {
        let dir = try TemporaryDirectory("offset")
        defer { dir.remove() }
        let path = dir.file("x.frames.gz")
        let writer = try FrameFileWriter(path: path)
        try writer.append(localTime: LocalTime(nanoseconds: 1_000), json: Array(#"{"topic":"_cascade.session","data":{}}"#.utf8))
        try writer.close()
        #expect(try ClockOffset.estimate(path: path) == nil)
    }
}
