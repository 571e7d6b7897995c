import CascadeCore
import CascadeTesting
import Foundation
import Recording
import Testing

@Suite("Frame file writer and reader")
struct WriterReaderTests {
    @Test func writtenFramesReadBackByteIdenticalAcrossManyGzipMembers() throws {
        let dir = try TemporaryDirectory("roundtrip")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 1)
        let frames = gen.frames(5_000)
        let path = dir.file("a.frames.gz")
        let boundaries = try writeFrames(frames, to: path, memberSizes: [1, 7, 250, 1000, 33])

        let result = try readAll(path)
        #expect(result.frames == frames)
        #expect(result.lineNumbers == Array(1...frames.count))
        #expect(result.stats.gzipMembers == boundaries.count)
        #expect(result.stats.isClean)
        #expect(result.stats.unterminatedFinalLine == 0)
        #expect(result.stats.bytesRead == boundaries.last!.offset)
    }

    @Test func smallChunkSizeStillSplitsLinesCorrectly() throws {
        let dir = try TemporaryDirectory("chunks")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 2)
        let frames = gen.frames(600)
        let path = dir.file("a.frames.gz")
        try writeFrames(frames, to: path, memberSizes: [13])
        // 4 KiB chunks: many lines (up to ~40 KiB) straddle chunk and buffer boundaries.
        #expect(try readAll(path, chunkSize: 4096).frames == frames)
    }

    @Test func lineLongerThanTheReadBufferIsReturnedWhole() throws {
        let dir = try TemporaryDirectory("longline")
        defer { dir.remove() }
        let big = Array(#"{"topic":"orderbook.1000.BTCUSDT","data":""#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 700_000)
            + Array(#""}"#.utf8)
        let frames = [
            FrameRecord(localTime: LocalTime(nanoseconds: 1), bytes: Array(#"{"a":1}"#.utf8)),
            FrameRecord(localTime: LocalTime(nanoseconds: 2), bytes: big),
            FrameRecord(localTime: LocalTime(nanoseconds: 3), bytes: Array(#"{"b":2}"#.utf8)),
        ]
        let path = dir.file("a.frames.gz")
        try writeFrames(frames, to: path, memberSizes: [2])
        #expect(try readAll(path, chunkSize: 64 * 1024).frames == frames)
    }

    @Test func writerCountsBytesFramesMembersAndHashesWhatItWrote() throws {
        let dir = try TemporaryDirectory("counters")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 3)
        let path = dir.file("a.frames.gz")
        let writer = try FrameFileWriter(path: path, level: 9)
        for frame in gen.frames(300) { try writer.append(localTime: frame.localTime, json: frame.bytes) }
        #expect(writer.framesWritten == 0)
        #expect(writer.pendingFrames == 300)
        try writer.flush()
        try writer.flush()  // nothing pending: must not write an empty member
        for frame in gen.frames(10) { try writer.append(localTime: frame.localTime, json: frame.bytes) }
        try writer.close()
        try writer.close()  // idempotent
        #expect(writer.framesWritten == 310)
        #expect(writer.gzipMembers == 2)
        let bytes = try fileBytes(path)
        #expect(Int64(bytes.count) == writer.bytesWritten)
        #expect(try FrameManifest.sha256Hex(ofFile: path) == writer.sha256Hex)
        #expect(throws: RecordingError.writerClosed(path: path)) {
            try writer.append(localTime: LocalTime(nanoseconds: 1), json: Array("{}".utf8))
        }
    }

    @Test func writerRefusesFramesThatCannotBeOneLine() throws {
        let dir = try TemporaryDirectory("invalid")
        defer { dir.remove() }
        let writer = try FrameFileWriter(path: dir.file("a.frames.gz"))
        #expect(throws: RecordingError.self) { try writer.append(localTime: LocalTime(nanoseconds: 1), json: Array("{\n}".utf8)) }
        #expect(throws: RecordingError.self) { try writer.append(localTime: LocalTime(nanoseconds: 1), json: []) }
        #expect(throws: RecordingError.self) { try writer.append(localTime: LocalTime(nanoseconds: -1), json: Array("{}".utf8)) }
        try writer.append(localTime: LocalTime(nanoseconds: 0), json: Array("{}".utf8))  // still usable
        try writer.close()
        #expect(try readAll(dir.file("a.frames.gz")).frames.count == 1)
    }

    @Test func writerDoesNotOverwriteAnExistingFile() throws {
        let dir = try TemporaryDirectory("exists")
        defer { dir.remove() }
        let path = dir.file("a.frames.gz")
        try writeBytes([1, 2, 3], to: path)
        #expect(throws: RecordingError.fileExists(path: path)) { _ = try FrameFileWriter(path: path) }
        #expect(try fileBytes(path) == [1, 2, 3])
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full"), "needs /dev/full (Linux)"))
    func fullDiskIsReportedAsDiskFullAndStopsTheWriter() throws {
        let writer = try FrameFileWriter(path: "/dev/full", replaceExisting: true)
        try writer.append(localTime: LocalTime(nanoseconds: 5), json: Array(#"{"topic":"x"}"#.utf8))
        #expect(throws: RecordingError.diskFull(path: "/dev/full")) { try writer.flush() }
        #expect(writer.isClosed)
        #expect(writer.framesWritten == 0)
        #expect(throws: RecordingError.writerClosed(path: "/dev/full")) {
            try writer.append(localTime: LocalTime(nanoseconds: 6), json: Array("{}".utf8))
        }
    }

    @Test func emptyFileHasNoFramesAndNoDamage() throws {
        let dir = try TemporaryDirectory("empty")
        defer { dir.remove() }
        let path = dir.file("a.frames.gz")
        try FrameFileWriter(path: path).close()  // opened, never flushed: what a crash before the first flush leaves
        let result = try readAll(path)
        #expect(result.frames.isEmpty)
        #expect(result.stats == ReaderStats())
    }

    @Test func plainTextInputIsDetectedAndRead() throws {
        let dir = try TemporaryDirectory("plain")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 4)
        let frames = gen.frames(200)
        let path = dir.file("a.txt")
        try writeBytes(plainText(frames), to: path)
        let auto = try readAll(path)
        #expect(auto.frames == frames)
        #expect(auto.stats.gzipMembers == 0)
        #expect(try readAll(path, compression: .none).frames == frames)
    }

    @Test func singleMemberFileFromAnotherWriterIsRead() throws {
        let dir = try TemporaryDirectory("single")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 5)
        let frames = gen.frames(1_000)
        let path = dir.file("a.frames.gz")
        try writeBytes(try Gzip.compress(plainText(frames), level: 9), to: path)
        let result = try readAll(path, compression: .gzip)
        #expect(result.frames == frames)
        #expect(result.stats.gzipMembers == 1)
    }

    @Test(.enabled(if: SharedData.executable("gzip") != nil, "needs gzip(1)"))
    func multiMemberFilesDecompressWithStandardGzip() throws {
        let dir = try TemporaryDirectory("gzip1")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 6)
        let frames = gen.frames(700)
        let path = dir.file("a.frames.gz")
        try writeFrames(frames, to: path, memberSizes: [100, 3])
        let text = try SharedData.run(SharedData.executable("gzip")!, ["-dc", path])
        #expect(Array(text) == plainText(frames))
    }
}
