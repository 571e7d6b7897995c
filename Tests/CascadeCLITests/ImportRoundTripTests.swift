import CascadeCore
import CascadeTesting
import Foundation
import Recording
import RecordingAudit
import Testing

/// `cascade import` then reading back: the recording is the input, byte for byte, and its manifests
/// tell the truth about the files.
@Suite("cascade import round trip")
struct ImportRoundTripTests {
    static let frameCount = 3_000

    /// Checks one output file against its manifest and returns the file's frames.
    static func verifiedFrames(of path: String, flushFrames: Int) throws -> (frames: [FrameRecord], manifest: FrameManifest) {
        let manifest = try FrameManifest.read(forDataFile: path)
        let read = try readFrames(path)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber).int64Value
        #expect(manifest.format == FrameManifest.formatV1)
        #expect(manifest.file == URL(fileURLWithPath: path).lastPathComponent)
        #expect(manifest.sha256 == (try FrameManifest.sha256Hex(ofFile: path)))
        #expect(manifest.bytes == size)
        #expect(manifest.frames == read.frames.count)
        #expect(manifest.gzipMembers == read.stats.gzipMembers)
        // One member per `--flush-frames` frames, plus one for the remainder at close.
        #expect(manifest.gzipMembers == (read.frames.count + flushFrames - 1) / flushFrames)
        #expect(manifest.firstLocalTimeNs == read.frames.first?.localTime.nanoseconds)
        #expect(manifest.lastLocalTimeNs == read.frames.last?.localTime.nanoseconds)
        #expect(manifest.framesPerTopic.values.reduce(0, +) + manifest.framesWithoutTopic == manifest.frames)
        #expect(manifest.closedCleanly)
        #expect(manifest.createdBy == "cascade import")
        #expect(read.stats.isClean && read.stats.unterminatedFinalLine == 0)
        return (read.frames, manifest)
    }

    @Test func importedFramesReadBackByteIdenticallyFromOneManifestedFile() throws {
        let dir = try TemporaryDirectory("import-one")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xCA5C_0001)
        let frames = feed.frames(Self.frameCount)
        let input = dir.file("input.txt")
        try writeBytes(plainText(frames), to: input)
        let out = dir.file("out")

        let result = try ChildProcess.run([
            "import", input, "--out", out, "--prefix", "rec",
            "--flush-frames", "100", "--rotate-mb", "0", "--rotate-minutes", "0",
        ])
        #expect(result.succeeded, "import failed: \(result.standardError)")

        let files = try TemporaryDirectory.dataFiles(in: out)
        try #require(files.count == 1, "expected one file, got \(files)")
        #expect(URL(fileURLWithPath: files[0]).lastPathComponent == "rec-\(fileStamp(frames[0].localTime)).frames.gz")
        #expect(try TemporaryDirectory.manifestFiles(in: out) == [URL(fileURLWithPath: files[0]).lastPathComponent + ".manifest.json"])
        let (read, manifest) = try Self.verifiedFrames(of: files[0], flushFrames: 100)
        #expect(firstDifference(read, frames) == nil)
        #expect(manifest.frames == Self.frameCount)
        #expect(manifest.gzipMembers == Self.frameCount / 100)
        #expect(manifest.framesPerTopic == feed.framesPerTopic)
        #expect(manifest.framesWithoutTopic == 0)

        // The Replayer (what `cascade replay` uses) returns the same sequence.
        var replayer = try Replayer(paths: files)
        var replayed: [FrameRecord] = []
        while let frame = try replayer.next() { replayed.append(FrameRecord(localTime: frame.localTime, bytes: frame.bytes)) }
        #expect(firstDifference(replayed, frames) == nil)

        // One `flushed N` line per member, in order, each after the member was written.
        #expect(result.errorLines == (1...(Self.frameCount / 100)).map { "flushed \($0 * 100)" })
        #expect(result.standardOutput.contains("imported \(Self.frameCount) frames into 1 file(s)"))
        #expect(result.standardOutput.contains("sha256=\(manifest.sha256)"))
    }

    @Test func gzipInputImportsToTheSameBytesAsPlainText() throws {
        let dir = try TemporaryDirectory("import-gzip")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xCA5C_0002)
        let text = plainText(feed.frames(1_000))
        try writeBytes(text, to: dir.file("input.txt"))
        try writeBytes(try Gzip.compress(text), to: dir.file("input.txt.gz"))

        var shas: [[String]] = []
        for (input, out) in [("input.txt", "plain"), ("input.txt.gz", "gzip")] {
            let result = try ChildProcess.run([
                "import", dir.file(input), "--out", dir.file(out), "--flush-frames", "250", "--rotate-minutes", "0",
            ])
            #expect(result.succeeded, "import of \(input) failed: \(result.standardError)")
            let files = try TemporaryDirectory.dataFiles(in: dir.file(out))
            shas.append(try files.map { URL(fileURLWithPath: $0).lastPathComponent + " " + (try FrameManifest.sha256Hex(ofFile: $0)) })
        }
        #expect(shas.count == 2 && shas[0].count == 1)
        #expect(shas.first == shas.last)
    }

    @Test func rotationByReceiveMinutesSplitsFilesThatReplayToEveryInputFrame() throws {
        let dir = try TemporaryDirectory("import-rotate")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xCA5C_0003)
        let frames = feed.frames(Self.frameCount)
        let span = frames.last!.localTime.nanoseconds - frames.first!.localTime.nanoseconds
        try #require(span > 4 * 60_000_000_000, "the feed must span several minutes of receive time")
        let input = dir.file("input.txt")
        try writeBytes(plainText(frames), to: input)
        let out = dir.file("out")

        let result = try ChildProcess.run([
            "import", input, "--out", out, "--prefix", "rot",
            "--flush-frames", "100", "--rotate-mb", "0", "--rotate-minutes", "1",
        ])
        #expect(result.succeeded, "import failed: \(result.standardError)")

        // Expected split: a new file at the first frame 60 s or more after the open file's first frame.
        var expected: [[FrameRecord]] = []
        for frame in frames {
            if let first = expected.last?.first, frame.localTime.nanoseconds - first.localTime.nanoseconds < 60_000_000_000 {
                expected[expected.count - 1].append(frame)
            } else {
                expected.append([frame])
            }
        }
        let files = try TemporaryDirectory.dataFiles(in: out)
        #expect(files.count >= 5)
        #expect(files.map { URL(fileURLWithPath: $0).lastPathComponent }
            == expected.map { "rot-\(fileStamp($0[0].localTime)).frames.gz" })
        var all: [FrameRecord] = []
        var manifests: [FrameManifest] = []
        for (path, part) in zip(files, expected) {
            let (read, manifest) = try Self.verifiedFrames(of: path, flushFrames: 100)
            #expect(firstDifference(read, part) == nil, "\(path)")
            all += read
            manifests.append(manifest)
        }
        #expect(firstDifference(all, frames) == nil)
        #expect(manifests.map(\.frames).reduce(0, +) == Self.frameCount)

        // `cascade replay --json` over every file reports every frame and what the feed contained.
        let replay = try ChildProcess.run(["replay", "--json"] + files)
        #expect(replay.succeeded, "replay failed: \(replay.standardError)")
        let report = try decodeReport(replay)
        #expect(report.frames == Self.frameCount)
        #expect(report.files.map(\.frames) == manifests.map(\.frames))
        #expect(report.files.allSatisfy { $0.malformedLines == 0 && $0.tornTail == 0 && $0.corruptMembers == 0 })
        #expect(report.decodeErrors.isEmpty && report.unknownTopics.isEmpty)
        #expect(report.receiveTimeRegressions == 0)
        #expect(report.firstLocal == frames.first!.localTime.description)
        #expect(report.lastLocal == frames.last!.localTime.description)
        #expect(Dictionary(report.topics.map { ($0.topic, $0.frames) }, uniquingKeysWith: +) == feed.framesPerTopic)
        #expect(report.topics.count == feed.framesPerTopic.count)
        #expect(report.localFrames == ["_cascade.session": 1])
        #expect(report.sessionEventsTotal == 1 && report.sessionEvents.first?.event == "connect")
        for (topic, generator) in [("orderbook.50.BTCUSDT", feed.btcBook), ("orderbook.200.ETHUSDT", feed.ethBook)] {
            let book = try #require(report.books.first { $0.topic == topic }, "no book \(topic)")
            let reference = try #require(generator.referenceBest)
            #expect(book.synced && book.snapshots == 1 && book.deltas == feed.framesPerTopic[topic]! - 1, "\(topic)")
            #expect(book.updateIDJumps == 0 && book.updateIDRegressions == 0 && book.sequenceRegressions == 0, "\(topic)")
            #expect(book.crossedBooks == 0 && book.resyncsRequested == 0 && book.deletesOfMissingLevels == 0, "\(topic)")
            #expect(book.levels == [generator.referenceLevelCounts.bids, generator.referenceLevelCounts.asks], "\(topic)")
            #expect(canonicalLevel(book.bestBid) == canonicalLevel([reference.bid.0, reference.bid.1]), "\(topic)")
            #expect(canonicalLevel(book.bestAsk) == canonicalLevel([reference.ask.0, reference.ask.1]), "\(topic)")
        }
        #expect(report.symbols.map(\.symbol) == ["BTCUSDT", "ETHUSDT"])
        for summary in report.symbols {
            let trades = try #require(feed.trades[summary.symbol])
            #expect(summary.buyTakerTrades == trades.buys && summary.sellTakerTrades == trades.sells, "\(summary.symbol)")
            #expect(summary.trades == trades.buys + trades.sells, "\(summary.symbol)")
        }

        // Files given in reverse order merge to the same stream (receive time first, file order only breaks ties).
        let reversed = try ChildProcess.run(["replay", "--json"] + files.reversed())
        #expect(reversed.succeeded)
        let other = try decodeReport(reversed)
        #expect(other.frames == report.frames && other.topics == report.topics && other.books == report.books)
        #expect(other.symbols == report.symbols && other.firstLocal == report.firstLocal && other.lastLocal == report.lastLocal)
    }
}
