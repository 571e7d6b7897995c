#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Recording

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
    private let inflater = GzipInflater()
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
                if inflater.memberInProgress { throw .badCompression(file: name, message: "the file ends inside a gzip member (truncated)") }
                finish()
                return
            }
        }
        var out = [UInt8](repeating: 0, count: chunkSize)
        let inCount = input.count - inputStart
        // The buffer closures are not typed-throws: the result comes out as a value.
        let result = input.withUnsafeBytes { inBytes in
            out.withUnsafeMutableBytes { outBytes in
                Result { () throws(GzipInflater.Failure) in
                    try inflater.inflate(inBytes.baseAddress! + inputStart, count: inCount,
                                         into: outBytes.baseAddress!, capacity: outBytes.count)
                }
            }
        }
        let step: GzipInflater.Step
        switch result {
        case let .success(s): step = s
        case let .failure(error): throw .badCompression(file: name, message: "\(error.message) (\(error.code))")
        }
        // Damage is an error here: a converted recording must not silently stop short.
        if let damage = step.damage { throw .badCompression(file: name, message: damage) }
        inputStart += step.consumed
        text.append(contentsOf: out[0..<step.produced])
        // No progress means zlib needs more input: read it, or report the truncation (a member that ended,
        // CRC and length checked by zlib, is followed by the next one, if any).
        if step.consumed == 0 && step.produced == 0 && !step.memberEnded {
            if endOfInput { throw .badCompression(file: name, message: "the file ends inside a gzip member (truncated)") }
            try refill()
        }
    }

    private func finish() {
        finished = true
        inflater.release()
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

    private static func errnoText(_ e: Int32) -> String {
        guard let s = strerror(e) else { return "errno \(e)" }
        return "\(String(cString: s)) (errno \(e))"
    }
}
