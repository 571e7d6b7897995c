import CascadeTesting
import CascadeCore
import Foundation
import Recording
import Testing

@Suite("Rotating recorder and manifests")
struct RecorderTests {
    /// Frame files of a directory in name order (names sort by first-frame time).
    private static func dataFiles(in dir: TemporaryDirectory) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".frames.gz") }.sorted().map { dir.file($0) }
    }

    /// Checks every file against its manifest and returns all frames in file-name order.
    private static func verifyManifests(in dir: TemporaryDirectory) throws -> [FrameRecord] {
        var all: [FrameRecord] = []
        for path in try dataFiles(in: dir) {
            let manifest = try FrameManifest.read(forDataFile: path)
            let read = try readAll(path)
            #expect(manifest.format == "cascade-frames-v1")
            #expect(manifest.file == URL(fileURLWithPath: path).lastPathComponent)
            #expect(manifest.sha256 == (try FrameManifest.sha256Hex(ofFile: path)))
            #expect(manifest.bytes == Int64(try fileBytes(path).count))
            #expect(manifest.frames == read.frames.count)
            #expect(manifest.gzipMembers == read.stats.gzipMembers)
            #expect(manifest.firstLocalTimeNs == read.frames.first?.localTime.nanoseconds)
            #expect(manifest.lastLocalTimeNs == read.frames.last?.localTime.nanoseconds)
            #expect(manifest.framesPerTopic.values.reduce(0, +) + manifest.framesWithoutTopic == manifest.frames)
            #expect(manifest.closedCleanly)
            #expect(read.stats.isClean)
            all += read.frames
        }
        return all
    }

    @Test func rotationBySizeGivesSeveralFilesWhoseManifestsMatch() throws {
        let dir = try TemporaryDirectory("rotsize")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 20)
        let frames = gen.frames(3_000)
        let recorder = try Recorder(
            directory: dir.path, filePrefix: "rec",
            rotation: RotationPolicy(maxAgeNanoseconds: nil, maxBytes: 64 * 1024),
            flushPolicy: FlushPolicy(maxFrames: 50, maxAgeNanoseconds: nil))
        for f in frames { try recorder.record(localTime: f.localTime, json: f.bytes) }
        try recorder.close()
        try recorder.close()  // idempotent

        let files = try Self.dataFiles(in: dir)
        #expect(files.count >= 4)
        #expect(recorder.stats.filesClosed == files.count)
        #expect(recorder.stats.framesFlushed == frames.count)
        #expect(try Self.verifyManifests(in: dir) == frames)
        // Size is checked before each frame, so a file exceeds the limit by at most one member.
        for manifest in recorder.closedFiles.dropLast() { #expect(manifest.bytes >= 64 * 1024) }
        #expect(recorder.closedFiles.map(\.frames).reduce(0, +) == frames.count)
        #expect(recorder.stats.bytesWritten == recorder.closedFiles.map(\.bytes).reduce(0, +))
    }

    @Test func rotationByAgeUsesReceiveTimesAndNamesFilesAfterTheirFirstFrame() throws {
        let dir = try TemporaryDirectory("rotage")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 21, startNanoseconds: 1_721_347_021_295_123_456)
        let frames = gen.frames(2_000, maxStepNanoseconds: 60_000_000)  // ~60 s of receive time
        let recorder = try Recorder(
            directory: dir.path, filePrefix: "rec",
            rotation: RotationPolicy(maxAgeNanoseconds: 10_000_000_000, maxBytes: nil),
            flushPolicy: FlushPolicy(maxFrames: nil, maxAgeNanoseconds: 1_000_000_000))
        for f in frames { try recorder.record(localTime: f.localTime, json: f.bytes) }
        try recorder.close()

        #expect(try Self.verifyManifests(in: dir) == frames)
        let manifests = recorder.closedFiles
        #expect(manifests.count >= 5)
        #expect(manifests.first?.file == "rec-20240718T235701.295.frames.gz")
        for m in manifests {
            #expect(m.lastLocalTimeNs! - m.firstLocalTimeNs! < 10_000_000_000)
        }
        // About one member per second of receive time (flush age 1 s); the last file may be short.
        for m in manifests.dropLast() { #expect(m.gzipMembers >= 5) }
        #expect(Set(manifests.map(\.file)).count == manifests.count)
    }

    @Test func collidingFileNamesGetASuffix() throws {
        let dir = try TemporaryDirectory("collide")
        defer { dir.remove() }
        try writeBytes([0], to: dir.file("rec-19700101T000000.001.frames.gz"))
        let recorder = try Recorder(directory: dir.path, filePrefix: "rec",
                                    rotation: RotationPolicy(maxAgeNanoseconds: nil, maxBytes: 1))
        // maxBytes 1: every flushed frame rotates, and all frames share one millisecond.
        for i in 0..<3 {
            try recorder.record(localTime: LocalTime(nanoseconds: 1_000_000 + Int64(i)), json: Array(#"{"topic":"t.X"}"#.utf8))
            try recorder.flush()
        }
        try recorder.close()
        #expect(recorder.closedFiles.map(\.file) == [
            "rec-19700101T000000.001-1.frames.gz", "rec-19700101T000000.001-2.frames.gz",
            "rec-19700101T000000.001-3.frames.gz",
        ])
        #expect(try fileBytes(dir.file("rec-19700101T000000.001.frames.gz")) == [0])
    }

    @Test func pseudoTopicFramesAreJSONWithReservedTopicAndMillisecondTs() throws {
        let dir = try TemporaryDirectory("pseudo")
        defer { dir.remove() }
        let recorder = try Recorder(directory: dir.path)
        let t = LocalTime(nanoseconds: 1_721_347_021_295_999_999)
        try recorder.recordCascade(topic: .session, localTime: t, dataJSON: Array(#"{"event":"start","id":7}"#.utf8))
        try recorder.recordCascade(topic: .clock, localTime: t, dataJSON: Array("[1,2]".utf8))
        try recorder.recordCascade(topic: .rest, localTime: t, dataJSON: Array(#""x""#.utf8))
        try recorder.close()

        let frames = try readAll(try Self.dataFiles(in: dir)[0]).frames
        #expect(frames.count == 3)
        let objects = try frames.map { try JSONSerialization.jsonObject(with: Data($0.bytes)) as? [String: Any] }
        #expect(objects.map { $0?["topic"] as? String } == ["_cascade.session", "_cascade.clock", "_cascade.rest"])
        #expect(objects.allSatisfy { ($0?["ts"] as? NSNumber)?.int64Value == 1_721_347_021_295 })
        let data = objects[0]?["data"] as? [String: Any]
        #expect(data?["event"] as? String == "start")
        #expect(frames.allSatisfy { $0.localTime == t })
        #expect(FrameTopic.topic(of: frames[0].bytes) == "_cascade.session")
        #expect(recorder.closedFiles[0].framesPerTopic == ["_cascade.session": 1, "_cascade.clock": 1, "_cascade.rest": 1])
        #expect(CascadePseudoTopic.instruments.rawValue == "_cascade.instruments")
    }

    @Test func newFileHookWritesAnInstrumentsSnapshotFirstInEveryFile() throws {
        let dir = try TemporaryDirectory("hook")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 22)
        let recorder = try Recorder(directory: dir.path, filePrefix: "rec",
                                    rotation: RotationPolicy(maxAgeNanoseconds: nil, maxBytes: 16 * 1024),
                                    flushPolicy: FlushPolicy(maxFrames: 20, maxAgeNanoseconds: nil))
        var hookCalls = 0
        recorder.onNewFile = { (r: Recorder) throws(RecordingError) in
            hookCalls += 1
            try r.recordCascade(topic: .instruments, localTime: LocalTime(nanoseconds: 42),
                                dataJSON: Array(#"{"list":[]}"#.utf8))
        }
        let frames = gen.frames(500)
        for f in frames { try recorder.record(localTime: f.localTime, json: f.bytes) }
        try recorder.close()

        let files = try Self.dataFiles(in: dir)
        #expect(files.count >= 2)
        #expect(hookCalls == files.count)
        var exchangeFrames: [FrameRecord] = []
        for path in files {
            let read = try readAll(path).frames
            #expect(FrameTopic.topic(of: read[0].bytes) == "_cascade.instruments")
            #expect(read.dropFirst().allSatisfy { FrameTopic.topic(of: $0.bytes) != "_cascade.instruments" })
            exchangeFrames += read.dropFirst()
        }
        #expect(exchangeFrames == frames)
        _ = try Self.verifyManifests(in: dir)
    }

    @Test func tickFlushesQuietFeedsAndClosesOldFiles() throws {
        let dir = try TemporaryDirectory("tick")
        defer { dir.remove() }
        let recorder = try Recorder(directory: dir.path, filePrefix: "rec",
                                    rotation: RotationPolicy(maxAgeNanoseconds: 60_000_000_000, maxBytes: nil),
                                    flushPolicy: FlushPolicy(maxFrames: 1000, maxAgeNanoseconds: 1_000_000_000))
        var flushes: [Int] = []
        recorder.onFlush = { flushes.append($0.stats.framesFlushed) }
        try recorder.record(localTime: LocalTime(nanoseconds: 1_000_000_000), json: Array(#"{"topic":"t.X"}"#.utf8))
        try recorder.tick(now: LocalTime(nanoseconds: 1_500_000_000))
        #expect(flushes.isEmpty)
        try recorder.tick(now: LocalTime(nanoseconds: 2_000_000_000))
        #expect(flushes == [1])
        try recorder.tick(now: LocalTime(nanoseconds: 61_000_000_000))
        #expect(recorder.currentFilePath == nil)
        #expect(recorder.closedFiles.count == 1)
        try recorder.close()
    }

    @Test func manifestRebuiltFromAnOrphanedFileMatchesTheDataOnDisk() throws {
        let dir = try TemporaryDirectory("rebuild")
        defer { dir.remove() }
        var gen = SeededFrameGenerator(seed: 23)
        let frames = gen.frames(300)
        let path = dir.file("orphan.frames.gz")
        let boundaries = try writeFrames(frames, to: path, memberSizes: [100])
        let bytes = try fileBytes(path)
        try writeBytes(bytes.dropLast(5), to: path)  // torn, as after kill -9 during a write
        let manifest = try FrameManifest.rebuild(dataFile: path, createdBy: "test")
        #expect(!manifest.closedCleanly)
        #expect(manifest.bytes == Int64(bytes.count - 5))
        #expect(manifest.sha256 == (try FrameManifest.sha256Hex(ofFile: path)))
        #expect(manifest.gzipMembers == boundaries.count - 1)
        #expect(manifest.frames >= boundaries[boundaries.count - 2].frames)
        try manifest.write(forDataFile: path)
        #expect(try FrameManifest.read(forDataFile: path) == manifest)
    }
}

@Suite("Recorder input validation")
struct RecorderValidationTests {
    @Test func invalidFrameIsRefusedWithoutOpeningAFileAndRecordingContinues() throws {
        let dir = try TemporaryDirectory("recinvalid")
        defer { dir.remove() }
        let recorder = try Recorder(directory: dir.path)
        #expect(throws: RecordingError.invalidFrame(reason: "JSON contains a newline")) {
            try recorder.record(localTime: LocalTime(nanoseconds: 1), json: Array("{\n}".utf8))
        }
        #expect(recorder.currentFilePath == nil)
        try recorder.record(localTime: LocalTime(nanoseconds: 2), json: Array(#"{"topic":"t.X"}"#.utf8))
        try recorder.close()
        #expect(recorder.closedFiles.map(\.frames) == [1])
        #expect(throws: RecordingError.self) {
            try recorder.record(localTime: LocalTime(nanoseconds: 3), json: Array("{}".utf8))
        }
    }
}
