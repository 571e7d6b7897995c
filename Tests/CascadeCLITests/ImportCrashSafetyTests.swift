#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CascadeCore
import CascadeTesting
import Foundation
import Recording
import Testing

/// `kill -9` of `cascade import` reading stdin: every frame it reported as flushed is on disk and
/// reads back byte-identically; only the unflushed tail is lost, and a torn member is one counted error.
@Suite("cascade import survives kill -9")
struct ImportCrashSafetyTests {
    static let flushFrames = 200

    static func importArguments(out: String) -> [String] {
        ["import", "-", "--out", out, "--prefix", "crash", "--flush-frames", String(flushFrames),
         "--rotate-minutes", "0", "--rotate-mb", "0"]
    }

    /// Kills the child, waits for it (bounded) and checks that SIGKILL is what ended it.
    static func killAndReap(_ child: ChildProcess) {
        child.killNine()
        child.waitForExit(timeout: 30)
        let result = child.result
        #expect(result.reason == .uncaughtSignal && result.status == SIGKILL,
                "expected death by SIGKILL, got \(result.reason) \(result.status); stderr: \(result.standardError)")
    }

    @Test func killNineBetweenFlushesKeepsExactlyTheFlushedFrames() throws {
        let dir = try TemporaryDirectory("kill-quiet")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xC7A5_0001)
        let frames = feed.frames(1_150)
        let out = dir.file("out")
        let child = try ChildProcess(Self.importArguments(out: out), standardInputPipe: true)
        try child.start()

        // 1,000 frames = 5 flushes; wait until the importer says they are on disk.
        let wrote = child.writeToStandardInput(plainText(frames[0..<1_000]))
        let flushed = child.waitForErrorLines(timeout: 60) { largestFlushed($0) >= 1_000 }
        // 150 more frames stay below the next flush (at 1,200): they are in memory only.
        let wroteMore = wrote && flushed && child.writeToStandardInput(plainText(frames[1_000...]))
        Self.killAndReap(child)
        try #require(wrote && flushed && wroteMore, "importer did not report `flushed 1000`; stderr: \(child.errorLines)")
        #expect(child.errorLines == (1...5).map { "flushed \($0 * 200)" })

        let files = try TemporaryDirectory.dataFiles(in: out)
        try #require(files.count == 1, "expected one data file, got \(files)")
        #expect(try TemporaryDirectory.manifestFiles(in: out).isEmpty, "a killed importer cannot have closed its file")
        let read = try readFrames(files[0])
        // Nothing is written between flushes, so the file is exactly the five complete members.
        #expect(read.frames.count == 1_000)
        #expect(firstDifference(read.frames, frames.prefix(1_000)) == nil)
        #expect(read.stats.tornTail == 0 && read.stats.corruptMembers == 0 && read.stats.malformedLines == 0)
        #expect(read.stats.gzipMembers == 5)

        // The orphan gets a manifest rebuilt from its data, marked as not closed cleanly.
        let rebuilt = try FrameManifest.rebuild(dataFile: files[0], createdBy: "test")
        #expect(!rebuilt.closedCleanly)
        #expect(rebuilt.frames == 1_000 && rebuilt.gzipMembers == 5)
        #expect(rebuilt.sha256 == (try FrameManifest.sha256Hex(ofFile: files[0])))
        #expect(rebuilt.firstLocalTimeNs == frames[0].localTime.nanoseconds)
        #expect(rebuilt.lastLocalTimeNs == frames[999].localTime.nanoseconds)

        // A kill inside the last write leaves a torn member: cut copies of the file to make one.
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: files[0])))
        for cut in [1, 8, 200] {
            let torn = dir.file("torn-\(cut).frames.gz")
            try writeBytes(Array(bytes.dropLast(cut)), to: torn)
            let damaged = try readFrames(torn)
            #expect(damaged.stats.tornTail == 1, "cut \(cut)")
            #expect(damaged.stats.corruptMembers == 0 && damaged.stats.malformedLines == 0, "cut \(cut)")
            #expect(damaged.stats.gzipMembers == 4, "cut \(cut)")
            // The four complete members always come back; lines of the torn one only up to the cut.
            #expect(damaged.frames.count >= 1_000 - Self.flushFrames && damaged.frames.count <= 1_000, "cut \(cut)")
            #expect(firstDifference(damaged.frames, frames.prefix(damaged.frames.count)) == nil, "cut \(cut)")
        }
    }

    @Test func killNineWhileStreamingKeepsEveryFrameReportedFlushed() throws {
        let dir = try TemporaryDirectory("kill-stream")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0xC7A5_0002)
        let frames = feed.frames(8_000)
        let out = dir.file("out")
        let child = try ChildProcess(Self.importArguments(out: out), standardInputPipe: true)
        try child.start()

        // Keep feeding while the importer flushes; kill it as soon as it has flushed 1,000 frames,
        // so the kill lands while it is reading, compressing or writing.
        let writer = child.writeToStandardInputInBackground(plainText(frames))
        let reached = child.waitForErrorLines(timeout: 60) { largestFlushed($0) >= 1_000 }
        Self.killAndReap(child)
        #expect(writer.wait(timeout: .now() + 30) == .success, "stdin writer did not stop")
        try #require(reached, "importer did not report `flushed 1000`; stderr: \(child.errorLines)")

        // Every `flushed N` printed before death (the line follows the write) is a promise.
        let promised = largestFlushed(child.errorLines)
        let files = try TemporaryDirectory.dataFiles(in: out)
        try #require(files.count == 1, "expected one data file, got \(files)")
        #expect(try TemporaryDirectory.manifestFiles(in: out).isEmpty)
        let read = try readFrames(files[0])
        #expect(read.frames.count >= promised, "flushed \(promised) but only \(read.frames.count) readable")
        #expect(read.frames.count <= frames.count)
        #expect(firstDifference(read.frames, frames.prefix(read.frames.count)) == nil)
        #expect(read.stats.tornTail <= 1 && read.stats.corruptMembers == 0 && read.stats.malformedLines == 0)
        #expect(read.stats.gzipMembers >= promised / Self.flushFrames)
    }
}
