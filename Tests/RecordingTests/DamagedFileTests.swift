import CascadeTesting
import CascadeCore
import Foundation
import Recording
import Testing

@Suite("Damaged and malformed frame files")
struct DamagedFileTests {
    /// A file of several members, its frames and the (offset, frames) after each flush.
    private static func multiMemberFile(in dir: TemporaryDirectory, seed: UInt64)
        throws -> (path: String, frames: [FrameRecord], boundaries: [(offset: Int64, frames: Int)], bytes: [UInt8]) {
        var gen = SeededFrameGenerator(seed: seed)
        let frames = gen.frames(400)
        let path = dir.file("whole.frames.gz")
        let boundaries = try writeFrames(frames, to: path, memberSizes: [60, 1, 90, 25])
        return (path, frames, boundaries, try fileBytes(path))
    }

    @Test func truncationInsideTheLastMemberKeepsEveryFlushedFrameAndCountsOneTornTail() throws {
        let dir = try TemporaryDirectory("torn")
        defer { dir.remove() }
        let file = try Self.multiMemberFile(in: dir, seed: 10)
        var gen = SeededFrameGenerator(seed: 11)
        // Seeded cut points anywhere in the file, plus the bytes around every member boundary.
        var cuts = (0..<150).map { _ in gen.int(in: 1...(file.bytes.count - 1)) }
        for b in file.boundaries.map({ Int($0.offset) }) { cuts += [b - 1, b + 1, b + 9, b + 10] }
        let boundaryOffsets = Set(file.boundaries.map { Int($0.offset) })
        for cut in cuts where cut > 0 && cut < file.bytes.count && !boundaryOffsets.contains(cut) {
            let path = dir.file("cut.frames.gz")
            try writeBytes(file.bytes[0..<cut], to: path)
            let result = try readAll(path)
            // Frames of the members completed before the cut; the torn member may add complete lines.
            let flushed = file.boundaries.last(where: { $0.offset <= Int64(cut) })?.frames ?? 0
            #expect(result.stats.tornTail == 1, "cut at \(cut)")
            #expect(result.stats.corruptMembers == 0, "cut at \(cut)")
            #expect(result.frames.count >= flushed, "cut at \(cut)")
            #expect(result.frames == Array(file.frames.prefix(result.frames.count)), "cut at \(cut)")
        }
    }

    @Test func truncationAtAMemberBoundaryIsACleanShorterFile() throws {
        let dir = try TemporaryDirectory("boundary")
        defer { dir.remove() }
        let file = try Self.multiMemberFile(in: dir, seed: 12)
        for boundary in file.boundaries {
            let path = dir.file("cut.frames.gz")
            try writeBytes(file.bytes[0..<Int(boundary.offset)], to: path)
            let result = try readAll(path)
            #expect(result.stats.isClean)
            #expect(result.frames == Array(file.frames.prefix(boundary.frames)))
        }
    }

    @Test func crcMismatchCountsOneCorruptMemberAndKeepsEarlierMembers() throws {
        let dir = try TemporaryDirectory("crc")
        defer { dir.remove() }
        let file = try Self.multiMemberFile(in: dir, seed: 13)
        var bytes = file.bytes
        // The trailer of the third member: CRC-32 then ISIZE, the member's last 8 bytes.
        let crcByte = Int(file.boundaries[2].offset) - 8
        bytes[crcByte] ^= 0x5A
        let path = dir.file("crc.frames.gz")
        try writeBytes(bytes, to: path)
        let result = try readAll(path)
        #expect(result.stats.corruptMembers == 1)
        #expect(result.stats.tornTail == 0)
        #expect(result.stats.gzipMembers == 2)
        #expect(result.frames.count >= file.boundaries[1].frames)
        #expect(result.frames.count <= file.boundaries[2].frames)
        #expect(result.frames == Array(file.frames.prefix(result.frames.count)))
    }

    @Test func flippedBytesInsideDeflateDataAreCountedWithoutCrashing() throws {
        let dir = try TemporaryDirectory("flip")
        defer { dir.remove() }
        let file = try Self.multiMemberFile(in: dir, seed: 14)
        var gen = SeededFrameGenerator(seed: 15)
        let memberStart = Int(file.boundaries[1].offset)
        let memberEnd = Int(file.boundaries[2].offset)
        for _ in 0..<40 {
            var bytes = file.bytes
            // Past the 10-byte gzip header, whose mtime/OS bytes are legitimately unchecked.
            let at = gen.int(in: (memberStart + 10)...(memberEnd - 1))
            bytes[at] ^= UInt8(1 << gen.int(in: 0...7))
            let path = dir.file("flip.frames.gz")
            try writeBytes(bytes, to: path)
            let result = try readAll(path)
            // A bad code is a data error; a length change can run the stream into EOF (torn).
            #expect(result.stats.corruptMembers + result.stats.tornTail == 1, "flip at \(at)")
            #expect(result.frames.count >= file.boundaries[1].frames, "flip at \(at)")
            #expect(Array(result.frames.prefix(file.boundaries[1].frames)) == Array(file.frames.prefix(file.boundaries[1].frames)))
        }
    }

    @Test func malformedLinesAreCountedAndSkippedWithLineNumbersKept() throws {
        let dir = try TemporaryDirectory("malformed")
        defer { dir.remove() }
        let lines = [
            #"100 {"topic":"a.X"}"#, #"abc {"topic":"a.X"}"#, "200", "300 ", "", #" {"topic":"a.X"}"#,
            #"99999999999999999999 {"topic":"a.X"}"#, #"-5 {"topic":"a.X"}"#, #"12x {"topic":"a.X"}"#,
            #"9223372036854775807 {"topic":"b.Y"}"#,
        ]
        let text = lines.joined(separator: "\n") + "\n"
        let gzPath = dir.file("m.frames.gz")
        try writeBytes(try Gzip.compress(Array(text.utf8)), to: gzPath)
        let txtPath = dir.file("m.txt")
        try writeBytes(Array(text.utf8), to: txtPath)
        for path in [gzPath, txtPath] {
            let result = try readAll(path)
            #expect(result.frames.map(\.localTime.nanoseconds) == [100, Int64.max])
            #expect(result.frames.map { String(decoding: $0.bytes, as: UTF8.self) } == [#"{"topic":"a.X"}"#, #"{"topic":"b.Y"}"#])
            #expect(result.lineNumbers == [1, 10])
            #expect(result.stats.malformedLines == 8)
            #expect(result.stats.lines == 10)
            #expect(result.stats.tornTail == 0 && result.stats.corruptMembers == 0)
        }
    }

    @Test func missingFinalNewlineInACompleteMemberStillReturnsTheLine() throws {
        let dir = try TemporaryDirectory("nonewline")
        defer { dir.remove() }
        let path = dir.file("n.frames.gz")
        try writeBytes(try Gzip.compress(Array("1 {\"a\":1}\n2 {\"b\":2}".utf8)), to: path)
        let result = try readAll(path)
        #expect(result.frames.map(\.localTime.nanoseconds) == [1, 2])
        #expect(result.stats.unterminatedFinalLine == 1)
        #expect(result.stats.isClean)
    }

    @Test func partialLastLineOfATornMemberIsDropped() throws {
        let dir = try TemporaryDirectory("tornline")
        defer { dir.remove() }
        let member = try Gzip.compress(Array("1 {\"a\":1}\n2 {\"b\":2}".utf8), level: 0)  // stored: cut lands in the text
        let path = dir.file("t.frames.gz")
        try writeBytes(member.dropLast(8), to: path)  // everything but the trailer
        let result = try readAll(path)
        #expect(result.frames.map(\.localTime.nanoseconds) == [1])
        #expect(result.stats.tornTail == 1)
        #expect(result.stats.unterminatedFinalLine == 0)
    }
}
