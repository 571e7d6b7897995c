#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CascadeCore

/// Streams the frames of one frames-format-v1 file in constant memory.
///
/// Reads the file in chunks, inflates gzip member after member (single-member files from other
/// tools and our multi-member files alike), splits lines and returns them one at a time as views
/// into a reused buffer. Damage is counted in ``stats`` rather than thrown; see ``ReaderStats``.
/// Only real I/O errors (`read(2)` failing) and zlib running out of memory throw.
///
/// Copies of a reader share one position (the state lives in a reference); use one copy.
public struct FrameFileReader {
    /// How the bytes of the file are encoded.
    public enum Compression: Sendable {
        /// gzip, one or more members.
        case gzip
        /// Plain text lines.
        case none
        /// gzip if the input starts with the gzip magic `1f 8b`, else plain text (for stdin).
        case automatic
    }

    private let core: ReaderCore

    /// Opens `path`. `chunkSize` is the `read(2)` size; memory stays about twice that plus the
    /// longest line, whatever the file size.
    public init(path: String, compression: Compression = .automatic, chunkSize: Int = 256 * 1024) throws(RecordingError) {
        let fd = try POSIXIO.openForReading(path)
        core = ReaderCore(fd: fd, name: path, compression: compression, chunkSize: chunkSize, ownsDescriptor: true)
    }

    /// Reads from an already open descriptor (e.g. 0 for stdin); `name` is used in errors.
    /// The descriptor is closed at the end only when `closeWhenDone` is true.
    public init(fileDescriptor: Int32, name: String, compression: Compression = .automatic,
                chunkSize: Int = 256 * 1024, closeWhenDone: Bool = false) {
        core = ReaderCore(fd: fileDescriptor, name: name, compression: compression, chunkSize: chunkSize,
                          ownsDescriptor: closeWhenDone)
    }

    /// Name or path given at creation.
    public var path: String { core.name }

    /// Counters so far (final once `next()` returned nil).
    public var stats: ReaderStats { core.stats }

    /// The next valid frame, or nil at the end of the file (or at a torn or corrupt end).
    /// The returned view is valid until the next call.
    public mutating func next() throws(RecordingError) -> FrameLine? {
        try core.next()
    }
}

/// The reader's state; a class so the `z_stream` and buffers have stable addresses.
private final class ReaderCore {
    let name: String
    var stats = ReaderStats()

    private enum Mode { case undecided, gzip, plain }
    private enum Ending { case clean, torn, corrupt }

    private var fd: Int32
    private let ownsDescriptor: Bool
    private var mode: Mode
    private let chunkSize: Int
    /// Compressed input; zlib consumes it through `next_in`.
    private var input: ByteBuffer
    /// Decompressed text; lines are returned as views into it.
    private var output: ByteBuffer
    private let inflater = GzipInflater()
    private var endOfInput = false
    private var ending: Ending?
    private var lineNumber = 0

    init(fd: Int32, name: String, compression: FrameFileReader.Compression, chunkSize: Int, ownsDescriptor: Bool) {
        self.fd = fd
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        self.chunkSize = max(chunkSize, 4096)
        input = ByteBuffer(capacity: self.chunkSize)
        output = ByteBuffer(capacity: self.chunkSize)
        switch compression {
        case .gzip: mode = .gzip
        case .none: mode = .plain
        case .automatic: mode = .undecided
        }
    }

    deinit {
        closeDescriptor()
    }

    func next() throws(RecordingError) -> FrameLine? {
        while true {
            // A complete line already decoded? memchr is the fastest newline search available.
            let available = output.count
            if available > 0, let nl = memchr(output.base + output.start, 0x0A, available) {
                let lineStart = output.base + output.start
                let length = UnsafeRawPointer(nl) - UnsafeRawPointer(lineStart)
                output.start += length + 1
                if let line = parse(UnsafeRawPointer(lineStart), length) { return line }
                continue
            }
            if let ending {
                if let last = finishPartialLine(ending) { return last }
                releaseBuffers()
                return nil
            }
            try produce()
        }
    }

    /// Handles the bytes after the last `\n` once the input has ended.
    private func finishPartialLine(_ ending: Ending) -> FrameLine? {
        let length = output.count
        guard length > 0 else { return nil }
        let lineStart = output.base + output.start
        output.start = output.end
        // A torn or corrupt end means the writer never finished this line: drop it silently
        // (it is accounted for by tornTail / corruptMembers).
        guard ending == .clean else { return nil }
        stats.unterminatedFinalLine += 1
        return parse(UnsafeRawPointer(lineStart), length)
    }

    /// `<ascii digits> <json>`; anything else is counted as malformed and skipped.
    private func parse(_ line: UnsafeRawPointer, _ length: Int) -> FrameLine? {
        lineNumber += 1
        stats.lines += 1
        var i = 0
        var value: Int64 = 0
        while i < length {
            let c = line.load(fromByteOffset: i, as: UInt8.self)
            if c == 0x20 { break }
            let digit = Int64(c) &- 0x30
            // 19 digits can overflow Int64; reject rather than wrap.
            guard digit >= 0, digit <= 9, value <= (Int64.max - digit) / 10 else {
                stats.malformedLines += 1
                return nil
            }
            value = value * 10 + digit
            i += 1
        }
        guard i > 0, i < length - 1 else {  // no digits, no space, or empty JSON
            stats.malformedLines += 1
            return nil
        }
        stats.frames += 1
        return FrameLine(localTime: LocalTime(nanoseconds: value),
                         json: UnsafeRawBufferPointer(start: line + i + 1, count: length - i - 1),
                         lineNumber: lineNumber)
    }

    /// Adds decoded bytes to `output`, or sets `ending`.
    private func produce() throws(RecordingError) {
        // Room for at least one chunk: compaction moves the partial line to the front, growth
        // only happens for a line longer than the buffer.
        output.reserveSpare(chunkSize / 2)
        switch mode {
        case .undecided:
            try decideMode()
        case .plain:
            let n = try POSIXIO.readSome(fd, output.endPointer, output.spare, path: name)
            stats.bytesRead += Int64(n)
            if n == 0 { end(.clean) } else { output.end += n }
        case .gzip:
            try inflateSome()
        }
    }

    private func decideMode() throws(RecordingError) {
        // A pipe may deliver fewer than two bytes per read; keep reading until the magic is decidable.
        while input.count < 2 && !endOfInput { try refillInput() }
        let isGzip = input.count >= 2
            && input.base.load(fromByteOffset: input.start, as: UInt8.self) == 0x1F
            && input.base.load(fromByteOffset: input.start + 1, as: UInt8.self) == 0x8B
        if isGzip {
            mode = .gzip
        } else {
            mode = .plain
            output.append(input.base + input.start, input.count)
            input.removeAll()
            if endOfInput { end(.clean) }
        }
    }

    private func refillInput() throws(RecordingError) {
        input.reserveSpare(chunkSize)
        let n = try POSIXIO.readSome(fd, input.endPointer, input.spare, path: name)
        stats.bytesRead += Int64(n)
        if n == 0 { endOfInput = true } else { input.end += n }
    }

    private func inflateSome() throws(RecordingError) {
        if input.count == 0 {
            if !endOfInput {
                input.removeAll()
                try refillInput()
            }
            if input.count == 0 {
                // Input ended. Inside a member means the writer was killed mid-write.
                if inflater.memberInProgress {
                    stats.tornTail = 1
                    end(.torn)
                } else {
                    end(.clean)
                }
                return
            }
        }
        let step: GzipInflater.Step
        do throws(GzipInflater.Failure) {
            // An empty step (Z_BUF_ERROR) needs more input: the next call reads it or detects the torn end.
            step = try inflater.inflate(input.base + input.start, count: input.count, into: output.endPointer, capacity: output.spare)
        } catch {
            throw .zlib(code: error.code, message: error.message)
        }
        input.start += step.consumed
        output.end += step.produced
        if step.damage != nil {
            stats.corruptMembers += 1
            end(.corrupt)
        } else if step.memberEnded {
            // A complete member (CRC-32 and length verified); the next bytes, if any, start another member
            // (our writer's flush boundaries).
            stats.gzipMembers += 1
        }
    }

    private func end(_ kind: Ending) {
        ending = kind
        // Release zlib's ~40 KiB and the descriptor as soon as the file is done: a replay over
        // many files keeps only the unfinished ones open.
        inflater.release()
        closeDescriptor()
    }

    /// At the end no view into the buffers is outstanding: give the memory back, which matters
    /// when a replay keeps hundreds of finished readers around.
    private func releaseBuffers() {
        guard output.capacity > 16 else { return }
        input = ByteBuffer(capacity: 16)
        output = ByteBuffer(capacity: 16)
    }

    private func closeDescriptor() {
        if ownsDescriptor && fd >= 0 { POSIXIO.closeQuietly(fd) }
        fd = -1
    }
}
