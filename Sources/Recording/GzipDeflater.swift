import CZlib

/// A zlib deflate stream producing gzip members (windowBits 15 + 16), one member per `finish`.
///
/// The `z_stream` lives in its own allocation because zlib keeps a back-pointer to it and rejects
/// calls from a moved copy; a Swift struct field could move.
final class GzipDeflater {
    private let stream: UnsafeMutablePointer<z_stream>

    /// `level` is zlib's 0...9 (or -1 for its default of 6).
    init(level: Int32) throws(RecordingError) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // memLevel 8 and the default strategy are what gzip(1) uses; the header zlib writes for
        // windowBits+16 has no file name and mtime 0, so identical input gives identical bytes.
        let rc = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                               zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw .zlib(code: rc, message: "deflateInit2 failed")
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `count` bytes at `input` into `output`; with `finish` the member is completed
    /// (deflate `Z_FINISH`, trailer with CRC-32 and length) and the stream reset for the next one.
    func compress(_ input: UnsafeRawPointer?, count: Int, finish: Bool, into output: ByteBuffer) throws(RecordingError) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(count)
        let mode = finish ? Z_FINISH : Z_NO_FLUSH
        while true {
            output.reserveSpare(64 * 1024)
            let spare = output.spare
            stream.pointee.next_out = output.endPointer.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(spare)
            let rc = deflate(stream, mode)
            output.end += spare - Int(stream.pointee.avail_out)
            switch rc {
            case Z_STREAM_END:
                deflateReset(stream)
                return
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR only means "no progress possible now", e.g. all input consumed.
                if !finish && stream.pointee.avail_in == 0 && stream.pointee.avail_out != 0 { return }
            default:
                throw .zlib(code: rc, message: String(cString: zError(rc)))
            }
        }
    }
}

/// One-shot gzip helpers, for tools and tests that need a single member in memory.
public enum Gzip {
    /// Compresses `data` into one complete gzip member (no file name, mtime 0: reproducible bytes).
    public static func compress(_ data: [UInt8], level: Int32 = 6) throws(RecordingError) -> [UInt8] {
        let deflater = try GzipDeflater(level: level)
        let output = ByteBuffer(capacity: data.count / 2 + 1024)
        try withBytes(data) { (raw: UnsafeRawBufferPointer) throws(RecordingError) in
            try deflater.compress(raw.baseAddress, count: raw.count, finish: true, into: output)
        }
        return Array(UnsafeRawBufferPointer(start: output.base, count: output.end))
    }
}
