import CZlib

/// A zlib inflate stream that reads gzip members one after another (windowBits 15 + 16, the full 32 KiB
/// window any writer may have used): our recorder's multi-member files and single-member files from other
/// tools alike. The one inflate loop behind ``FrameFileReader`` and the importers' CSV reader; each caller
/// decides what a damaged or truncated stream means (the frames reader counts it, the CSV reader refuses the file).
///
/// The `z_stream` is allocated at the first ``inflate(_:count:into:capacity:)`` and lives in its own
/// allocation because zlib keeps a back-pointer to it.
public final class GzipInflater {
    /// What one ``inflate(_:count:into:capacity:)`` call did.
    public struct Step: Sendable, Equatable {
        /// Input bytes consumed.
        public var consumed: Int
        /// Output bytes written.
        public var produced: Int
        /// A member ended in this call, its CRC-32 and length verified; the next bytes, if any, start another.
        public var memberEnded: Bool
        /// The bytes are not gzip, or are damaged (header, data, CRC-32 or length): zlib's message. What was
        /// produced before zlib saw it is still counted in ``produced``; nothing more can be inflated.
        public var damage: String?
    }

    /// zlib could not start a stream or ran out of memory: not the data's fault.
    public struct Failure: Error, Equatable, Sendable {
        /// zlib's status code.
        public var code: Int32
        /// What failed.
        public var message: String
    }

    /// True from the first byte given to a member until its end: input ending now means a truncated member.
    public private(set) var memberInProgress = false

    private var stream: UnsafeMutablePointer<z_stream>?

    /// Creates an inflater; zlib's memory is taken at the first call.
    public init() {}

    deinit { release() }

    /// Inflates `count` bytes at `input` into at most `capacity` bytes at `output` (zlib `Z_NO_FLUSH`). A call
    /// that consumes and produces nothing needs more input. Stops at the end of a member (``Step/memberEnded``)
    /// and resets for the next one.
    public func inflate(_ input: UnsafeRawPointer, count: Int, into output: UnsafeMutableRawPointer,
                        capacity: Int) throws(Failure) -> Step {
        let s = try openStream()
        memberInProgress = true
        s.pointee.next_in = UnsafeMutablePointer(mutating: input.assumingMemoryBound(to: Bytef.self))
        s.pointee.avail_in = UInt32(count)
        s.pointee.next_out = output.assumingMemoryBound(to: Bytef.self)
        s.pointee.avail_out = UInt32(capacity)
        let rc = CZlib.inflate(s, Z_NO_FLUSH)
        var step = Step(consumed: count - Int(s.pointee.avail_in), produced: capacity - Int(s.pointee.avail_out),
                        memberEnded: false, damage: nil)
        switch rc {
        case Z_OK, Z_BUF_ERROR:
            break  // Z_BUF_ERROR: no progress possible without more input (or more room)
        case Z_STREAM_END:
            memberInProgress = false
            step.memberEnded = true
            inflateReset(s)
        case Z_MEM_ERROR:
            throw Failure(code: rc, message: "inflate out of memory")
        default:  // Z_DATA_ERROR (bad data, CRC, length, header), Z_NEED_DICT, Z_STREAM_ERROR
            step.damage = s.pointee.msg.map { String(cString: $0) } ?? "zlib status \(rc)"
        }
        return step
    }

    /// Gives zlib's ~40 KiB back now (a finished file need not wait for its reader to go); a later
    /// ``inflate(_:count:into:capacity:)`` starts a fresh stream.
    public func release() {
        memberInProgress = false
        guard let s = stream else { return }
        inflateEnd(s)
        s.deinitialize(count: 1)
        s.deallocate()
        stream = nil
    }

    private func openStream() throws(Failure) -> UnsafeMutablePointer<z_stream> {
        if let stream { return stream }
        let s = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        s.initialize(to: z_stream())
        let rc = inflateInit2_(s, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            s.deinitialize(count: 1)
            s.deallocate()
            throw Failure(code: rc, message: "inflateInit2 failed")
        }
        stream = s
        return s
    }
}
