#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import CascadeCore
import Recording

/// `cascade import`: turns recorded market data into a rotating, manifest-described recording, exactly
/// as the live recorder would have written it.
///
/// `--from frames` (the default) reads frames-format lines (plain or gzip, file or stdin). `--from tardis`
/// converts Tardis.dev CSV files of Bybit USDT perpetuals into Bybit V5 public frames (see
/// ``Importers/TardisImport``), so imported history goes down the same path as live recordings.
///
/// Also the crash-safety test harness: it reports every completed flush on stderr as
/// `flushed <total frames on disk>`, so a test can `kill -9` it after K frames and check that the
/// files hold at least those K frames.
struct ImportCommand: ParsableCommand {
    /// What the input is.
    enum Source: String, ExpressibleByArgument, CaseIterable {
        /// Frames-format lines `<recv_ns> <json>`.
        case frames
        /// Tardis.dev downloadable CSV files (exchange `bybit`).
        case tardis
    }

    /// Command name and help.
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Record frames-format lines, or convert Tardis.dev CSV files, into rotating .frames.gz files with manifests.",
        discussion: """
            --from frames (default): INPUT is a file (plain text or gzip, detected from the content) or - for stdin. \
            --from tardis: no INPUT; give --symbol and at least one of --book (incremental_book_L2), --trades, \
            --liquidations, --ticker (derivative_ticker), each a Tardis CSV file of exchange bybit, plain or gzip; \
            they are merged by receive time (local_timestamp) into orderbook.50, publicTrade, allLiquidation and \
            tickers frames. --instruments (a /v5/market/instruments-info response) prints prices and sizes with \
            Bybit's decimals and starts every file with it; without it values keep their exact CSV value. \
            Files are named <prefix>-<UTC time of their first frame>.frames.gz; time comes only from \
            the receive times in the input. After every flush, `flushed <frames>` goes to stderr.
            """)

    /// Input format.
    @Option(help: "Input format: frames (default) or tardis.")
    var from: Source = .frames

    /// Input path, or `-` for standard input (`--from frames` only).
    @Argument(help: "Input file, or - for stdin (--from frames).")
    var input: String?

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

    /// Symbol of a Tardis import.
    @Option(help: "Bybit symbol to import, e.g. BTCUSDT (--from tardis).")
    var symbol: String?

    /// Tardis `incremental_book_L2` file.
    @Option(help: "Tardis incremental_book_L2 CSV (.csv or .csv.gz) → orderbook.50 (--from tardis).")
    var book: String?

    /// Tardis `trades` file.
    @Option(help: "Tardis trades CSV → publicTrade (--from tardis).")
    var trades: String?

    /// Tardis `liquidations` file.
    @Option(help: "Tardis liquidations CSV (per symbol or grouped) → allLiquidation (--from tardis).")
    var liquidations: String?

    /// Tardis `derivative_ticker` file.
    @Option(help: "Tardis derivative_ticker CSV → tickers (--from tardis).")
    var ticker: String?

    /// Instruments-info document for a Tardis import.
    @Option(help: "Instruments-info JSON (REST /v5/market/instruments-info response) listing the symbol (--from tardis).")
    var instruments: String?

    /// Malformed rows allowed before a Tardis import stops.
    @Option(name: .customLong("max-malformed"), help: "Stop after this many malformed rows (default: no limit; they are always counted) (--from tardis).")
    var maxMalformed: Int?

    /// Rejects values that would make the recorder misbehave.
    func validate() throws {
        guard rotateMinutes >= 0, rotateMB >= 0 else { throw ValidationError("rotation limits must be >= 0") }
        guard flushFrames > 0 else { throw ValidationError("--flush-frames must be > 0") }
        guard (1...9).contains(level) else { throw ValidationError("--level must be within 1...9") }
        let tardisInputs = [book, trades, liquidations, ticker].compactMap { $0 }
        switch from {
        case .frames:
            guard input != nil else { throw ValidationError("give INPUT (a frames file, or - for stdin)") }
            guard tardisInputs.isEmpty, symbol == nil, instruments == nil, maxMalformed == nil else {
                throw ValidationError("--symbol, --book, --trades, --liquidations, --ticker, --instruments and --max-malformed need --from tardis")
            }
        case .tardis:
            guard input == nil else { throw ValidationError("--from tardis takes no INPUT; give --book, --trades, --liquidations or --ticker") }
            guard symbol != nil else { throw ValidationError("--from tardis needs --symbol, e.g. --symbol BTCUSDT") }
            guard !tardisInputs.isEmpty else { throw ValidationError("--from tardis needs at least one of --book, --trades, --liquidations, --ticker") }
            if let maxMalformed, maxMalformed < 0 { throw ValidationError("--max-malformed must be >= 0") }
        }
    }

    /// Streams the input through a ``Recorder``.
    func run() throws {
        switch from {
        case .frames: try importFrames(input ?? "-")
        case .tardis: try importTardis()
        }
    }

    /// The recorder both sources write through (same rotation, flush and `flushed N` reporting).
    func makeRecorder(createdBy: String) throws -> Recorder {
        let recorder = try Recorder(
            directory: out, filePrefix: prefix,
            rotation: RotationPolicy(
                maxAgeNanoseconds: rotateMinutes == 0 ? nil : Int64(rotateMinutes) * 60_000_000_000,
                maxBytes: rotateMB == 0 ? nil : Int64(rotateMB) * 1024 * 1024),
            flushPolicy: FlushPolicy(maxFrames: flushFrames, maxAgeNanoseconds: nil, sync: fsync),
            compressionLevel: Int32(level), createdBy: createdBy)
        recorder.onFlush = { recorder in
            Self.printToStandardError("flushed \(recorder.stats.framesFlushed)\n")
        }
        return recorder
    }

    /// `--from frames`: frames-format lines, byte for byte.
    private func importFrames(_ input: String) throws {
        var reader = input == "-"
            ? FrameFileReader(fileDescriptor: 0, name: "stdin")
            : try FrameFileReader(path: input)
        let recorder = try makeRecorder(createdBy: "cascade import")
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
