public import CascadeCore

/// One converted frame: a Bybit V5 public message (or a `_cascade.*` frame) and its receive time.
public struct ImportedFrame: Sendable, Hashable {
    /// Receive time: the source's `local_timestamp` × 1000.
    public var localTime: LocalTime
    /// Compact JSON text of the message.
    public var bytes: [UInt8]
    /// The frame's topic (counted in the report).
    public var topic: String

    /// Creates a frame.
    public init(localTime: LocalTime, bytes: [UInt8], topic: String) {
        self.localTime = localTime
        self.bytes = bytes
        self.topic = topic
    }
}

/// A converter of one input file into frames in non-decreasing receive time.
protocol FrameProducer: AnyObject {
    /// The input's data type (the merge's tie order).
    var dataType: TardisDataType { get }
    /// The input file's counters (final once ``next()`` returned nil).
    var inputStats: TardisImportReport.InputStats { get }
    /// The next frame, or nil when the input is exhausted.
    func next() throws(TardisImportError) -> ImportedFrame?
}

extension Int64 {
    /// Microseconds to nanoseconds (the row source keeps microseconds below `Int64.max / 1000`).
    var microsecondsAsLocalTime: LocalTime { LocalTime(nanoseconds: self * 1_000) }
    /// Microseconds to whole milliseconds (floor; times are never negative here).
    var microsecondsToMilliseconds: Int64 { self / 1_000 }
}
