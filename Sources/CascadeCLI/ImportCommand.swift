#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import CascadeCore
import Recording

/// `cascade import`: turns frames-format lines (plain or gzip, file or stdin) into a rotating,
/// manifest-described recording, exactly as the live recorder would have written it.
///
/// Also the crash-safety test harness: it reports every completed flush on stderr as
/// `flushed <total frames on disk>`, so a test can `kill -9` it after K frames and check that the
/// files hold at least those K frames.
struct ImportCommand: ParsableCommand {
    /// Command name and help.
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Record frames-format lines (<recv_ns> <json>) into rotating .frames.gz files with manifests.",
        discussion: """
            INPUT is a file (plain text or gzip, detected from the content) or - for stdin. \
            Files are named <prefix>-<UTC time of their first frame>.frames.gz; time comes only from \
            the receive times in the input. After every flush, `flushed <frames>` goes to stderr.
            """)

    /// Input path, or `-` for standard input.
    @Argument(help: "Input file, or - for stdin.")
    var input: String

    /// Output directory (created if missing).
    @Option(help: "Output directory.")
    var out: String

    /// File name prefix.
    @Option(help: "File name prefix.")
    var prefix: String = "frames"

    /// Rotation age in minutes of receive time; 0 disables age rotation.
    @Option(name: .customLong("rotate-minutes"), help: "Rotate after this many minutes of receive time (0: never).")
    var rotateMinutes: Int = 60

    /// Rotation size in MiB of compressed data; 0 disables size rotation.
    @Option(name: .customLong("rotate-mb"), help: "Rotate at this many MiB of compressed data (0: never).")
    var rotateMB: Int = 256

    /// Frames per gzip member.
    @Option(name: .customLong("flush-frames"), help: "Flush (complete a gzip member) every this many frames.")
    var flushFrames: Int = 1000

    /// zlib compression level.
    @Option(help: "zlib compression level 1-9.")
    var level: Int = 6

    /// fsync after every flush.
    @Flag(help: "fsync after every flush (durable across power loss; slower).")
    var fsync = false

    /// Rejects values that would make the recorder misbehave.
    func validate() throws {
        guard rotateMinutes >= 0, rotateMB >= 0 else { throw ValidationError("rotation limits must be >= 0") }
        guard flushFrames > 0 else { throw ValidationError("--flush-frames must be > 0") }
        guard (1...9).contains(level) else { throw ValidationError("--level must be within 1...9") }
    }

    /// Streams the input through a ``Recorder``.
    func run() throws {
        var reader = input == "-"
            ? FrameFileReader(fileDescriptor: 0, name: "stdin")
            : try FrameFileReader(path: input)
        let recorder = try Recorder(
            directory: out, filePrefix: prefix,
            rotation: RotationPolicy(
                maxAgeNanoseconds: rotateMinutes == 0 ? nil : Int64(rotateMinutes) * 60_000_000_000,
                maxBytes: rotateMB == 0 ? nil : Int64(rotateMB) * 1024 * 1024),
            flushPolicy: FlushPolicy(maxFrames: flushFrames, maxAgeNanoseconds: nil, sync: fsync),
            compressionLevel: Int32(level), createdBy: "cascade import")
        recorder.onFlush = { recorder in
            Self.printToStandardError("flushed \(recorder.stats.framesFlushed)\n")
        }
        while let line = try reader.next() {
            try recorder.record(localTime: line.localTime, json: line.json)
        }
        try recorder.close()

        let s = recorder.stats
        let r = reader.stats
        print("imported \(s.framesRecorded) frames into \(s.filesClosed) file(s), \(s.bytesWritten) bytes, \(s.flushes) flushes, in \(out)")
        for manifest in recorder.closedFiles {
            print("  \(manifest.file)  frames=\(manifest.frames) bytes=\(manifest.bytes) sha256=\(manifest.sha256)")
        }
        if !r.isClean || r.unterminatedFinalLine > 0 || s.framesWithDecreasingTime > 0 {
            print("input: malformed lines \(r.malformedLines), torn tail \(r.tornTail), corrupt members \(r.corruptMembers), "
                + "unterminated final line \(r.unterminatedFinalLine), frames with decreasing time \(s.framesWithDecreasingTime)")
        }
    }

    /// Unbuffered write(2) to fd 2: the line must be out before a test's kill -9 can arrive.
    private static func printToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
