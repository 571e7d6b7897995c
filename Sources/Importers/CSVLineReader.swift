#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CZlib
import Crypto

/// Reads the lines of a text file that may be gzip-compressed (detected from the first two bytes,
/// `1f 8b`, never from the name), in constant memory, and hashes the file's bytes as it goes.
///
/// Unlike the frames reader, damage is an error here: a converted recording must not silently stop
/// short because an input was truncated. Multi-member gzip files are read member after member.
final class CSVLineReader {
    /// Where the bytes come from.
    enum Source {
        case file(path: String)
        case memory([UInt8])
    }

    /// Name used in errors (the path, or the name given to in-memory input).
    let name: String
    /// Bytes read from the source so far (compressed size for gzip).
    private(set) var bytesRead: Int64 = 0
    /// 1-based number of the line last returned.
    private(set) var lineNumber = 0

    private var fd: Int32 = -1
    private var memory: [UInt8] = []
    private var memoryOffset = 0
    private var hasher = SHA256()
    private var digest: String?

    private enum Mode { case undecided, gzip, plain }
    private var mode = Mode.undecided
    private var input: [UInt8] = []
    private var inputStart = 0
    private var endOfInput = false
    private var text: [UInt8] = []
    private var textStart = 0
    private var finished = false
    private var stream: UnsafeMutablePointer<z_stream>?
    private var memberInProgress = false
    private let chunkSize = 256 * 1024

    /// Opens the source; a file that cannot be opened is an error now, not at the first read.
    init(_ source: Source, name: String) throws(TardisImportError) {
        self.name = name
        switch source {
        case let .file(path):
            fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw .unreadable(file: name, message: Self.errnoText(errno)) }
        case let .memory(bytes):
            memory = bytes
        }
    }

    deinit {
        releaseStream()
        if fd >= 0 { close(fd) }
    }

    /// Lower-case hex SHA-256 of every byte of the source; available once ``nextLine(into:)`` returned false.
    var sha256: String? { digest }

    /// Copies the next line (without `\n` and a trailing `\r`) into `line`; false at the end of the input.
    func nextLine(into line: inout [UInt8]) throws(TardisImportError) -> Bool {
        while true {
            if let nl = text[textStart...].firstIndex(of: 0x0A) {
                var end = nl
                if end > textStart && text[end - 1] == 0x0D { end -= 1 }
                line.removeAll(keepingCapacity: true)
                line.append(contentsOf: text[textStart..<end])
                textStart = nl + 1
                lineNumber += 1
                return true
            }
            if finished {
                // A last line without `\n` is still a line (CSV writers differ on the final newline).
                guard textStart < text.count else { return false }
                var end = text.count
                if text[end - 1] == 0x0D { end -= 1 }
                line.removeAll(keepingCapacity: true)
                line.append(contentsOf: text[textStart..<end])
                textStart = text.count
                lineNumber += 1
                return true
            }
            // Keep only the unfinished line before decoding more.
            if textStart > 0 {
                text.removeSubrange(0..<textStart)
                textStart = 0
            }
            try produce()
        }
    }

    // MARK: - Decoding

    private func produce() throws(TardisImportError) {
        switch mode {
        case .undecided:
            while input.count - inputStart < 2 && !endOfInput { try refill() }
            let available = input.count - inputStart
            mode = available >= 2 && input[inputStart] == 0x1F && input[inputStart + 1] == 0x8B ? .gzip : .plain
            if mode == .plain && available == 0 && endOfInput { finish() }
        case .plain:
            if inputStart < input.count {
                text.append(contentsOf: input[inputStart...])
                input.removeAll(keepingCapacity: true)
                inputStart = 0
            } else if endOfInput {
                finish()
            } else {
                try refill()
            }
        case .gzip:
            try inflateSome()
        }
    }

    private func refill() throws(TardisImportError) {
        if inputStart > 0 {
            input.removeSubrange(0..<inputStart)
            inputStart = 0
        }
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        let n: Int
        if fd >= 0 {
            var got = 0
            repeat {
                got = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            } while got < 0 && errno == EINTR
            guard got >= 0 else { throw .unreadable(file: name, message: Self.errnoText(errno)) }
            n = got
        } else {
            n = min(chunkSize, memory.count - memoryOffset)
            chunk.withUnsafeMutableBytes { dst in
                memory.withUnsafeBytes { src in
                    if n > 0 { dst.baseAddress!.copyMemory(from: src.baseAddress! + memoryOffset, byteCount: n) }
                }
            }
            memoryOffset += n
        }
        if n == 0 {
            endOfInput = true
            return
        }
        chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        bytesRead += Int64(n)
        input.append(contentsOf: chunk[0..<n])
    }

    private func inflateSome() throws(TardisImportError) {
        if inputStart >= input.count {
            if !endOfInput { try refill() }
            if inputStart >= input.count {
                if memberInProgress { throw .badCompression(file: name, message: "the file ends inside a gzip member (truncated)") }
                finish()
                return
            }
        }
        let s = try openStream()
        memberInProgress = true
        var out = [UInt8](repeating: 0, count: chunkSize)
        let inCount = input.count - inputStart
        var produced = 0
        var consumed = 0
        let rc: Int32 = input.withUnsafeMutableBytes { inBytes in
            out.withUnsafeMutableBytes { outBytes in
                s.pointee.next_in = inBytes.baseAddress!.advanced(by: inputStart).assumingMemoryBound(to: Bytef.self)
                s.pointee.avail_in = UInt32(inCount)
                s.pointee.next_out = outBytes.baseAddress!.assumingMemoryBound(to: Bytef.self)
                s.pointee.avail_out = UInt32(outBytes.count)
                let rc = inflate(s, Z_NO_FLUSH)
                consumed = inCount - Int(s.pointee.avail_in)
                produced = outBytes.count - Int(s.pointee.avail_out)
                return rc
            }
        }
        inputStart += consumed
        text.append(contentsOf: out[0..<produced])
        switch rc {
        case Z_OK, Z_BUF_ERROR:
            // No progress means zlib needs more input: read it, or report the truncation.
            if consumed == 0 && produced == 0 {
                if endOfInput { throw .badCompression(file: name, message: "the file ends inside a gzip member (truncated)") }
                try refill()
            }
        case Z_STREAM_END:
            // Member complete (CRC and length checked by zlib); more bytes start another member.
            memberInProgress = false
            inflateReset(s)
        default:
            let message = s.pointee.msg.map { String(cString: $0) } ?? "zlib status \(rc)"
            throw .badCompression(file: name, message: message)
        }
    }

    private func openStream() throws(TardisImportError) -> UnsafeMutablePointer<z_stream> {
        if let stream { return stream }
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        // 15 + 16: gzip wrapper, full window.
        let rc = inflateInit2_(s, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            s.deinitialize(count: 1)
            s.deallocate()
            throw .badCompression(file: name, message: "inflateInit2 failed (\(rc))")
        }
        stream = s
        return s
    }

    private func finish() {
        finished = true
        releaseStream()
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        memory = []
        digest = hasher.finalize().map { b in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
        }.joined()
    }

    private func releaseStream() {
        guard let s = stream else { return }
        inflateEnd(s)
        s.deinitialize(count: 1)
        s.deallocate()
        stream = nil
    }

    private static func errnoText(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "errno \(e)" }
        return "\(String(cString: s)) (errno \(e))"
    }
}
