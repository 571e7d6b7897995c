public import CascadeCore

/// One recorded WebSocket frame, owning its bytes.
public struct FrameRecord: Sendable, Hashable {
    /// When this machine received the frame.
    public var localTime: LocalTime
    /// The exact JSON text of the frame as received, without the line's trailing newline.
    public var bytes: [UInt8]

    /// Creates a record from a receive time and the frame's JSON bytes.
    public init(localTime: LocalTime, bytes: [UInt8]) {
        self.localTime = localTime
        self.bytes = bytes
    }
}

/// One line read by ``FrameFileReader``: a view into the reader's buffer, valid until the reader's
/// next call to `next()`.
///
/// A view rather than an array because the reader runs at tens of thousands of lines per
/// millisecond-budget and must not allocate per line; call ``bytes`` or ``record`` to keep a copy.
public struct FrameLine {
    /// When this machine received the frame.
    public var localTime: LocalTime
    /// The JSON text of the frame (no newline). Invalid after the reader advances.
    public var json: UnsafeRawBufferPointer
    /// 1-based line number in the decompressed file, counting malformed lines too.
    public var lineNumber: Int

    /// Creates a line view (used by readers and tests).
    public init(localTime: LocalTime, json: UnsafeRawBufferPointer, lineNumber: Int) {
        self.localTime = localTime
        self.json = json
        self.lineNumber = lineNumber
    }

    /// A copy of the JSON bytes that outlives the reader's buffer.
    public var bytes: [UInt8] { Array(json) }

    /// An owning copy of this line.
    public var record: FrameRecord { FrameRecord(localTime: localTime, bytes: bytes) }
}
