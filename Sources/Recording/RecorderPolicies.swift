/// When ``Recorder`` closes the open file and starts a new one.
///
/// Both limits apply; whichever is reached first rotates. Age is measured on frame receive times
/// (first frame of the file to the current frame), never on the wall clock, so a replayed import
/// rotates exactly as the live recording did.
public struct RotationPolicy: Sendable, Hashable {
    /// Rotate when the current frame is this much later than the file's first frame (nil: never).
    public var maxAgeNanoseconds: Int64?
    /// Rotate once the compressed file reaches this size (nil: never).
    public var maxBytes: Int64?

    /// Creates a policy; the defaults (1 hour, 256 MiB) keep files easy to move and replay.
    public init(maxAgeNanoseconds: Int64? = 3_600_000_000_000, maxBytes: Int64? = 256 * 1024 * 1024) {
        self.maxAgeNanoseconds = maxAgeNanoseconds
        self.maxBytes = maxBytes
    }
}

/// When ``Recorder`` completes a gzip member and writes it.
///
/// This bounds what a crash loses: at most `maxFrames` frames, or the frames of the last
/// `maxAgeNanoseconds` of receive time. Smaller values cost compression ratio (each member
/// restarts the dictionary) and write calls.
public struct FlushPolicy: Sendable, Hashable {
    /// Flush after this many unflushed frames (nil: no frame limit).
    public var maxFrames: Int?
    /// Flush when the oldest unflushed frame is this much older than the newest (nil: no limit).
    public var maxAgeNanoseconds: Int64?
    /// `fsync` after each flush (survives power loss, not only process death; costs latency).
    public var sync: Bool

    /// Creates a policy; defaults: 1000 frames or 1 second, no fsync.
    public init(maxFrames: Int? = 1000, maxAgeNanoseconds: Int64? = 1_000_000_000, sync: Bool = false) {
        self.maxFrames = maxFrames
        self.maxAgeNanoseconds = maxAgeNanoseconds
        self.sync = sync
    }
}

/// Running totals of a ``Recorder``.
public struct RecorderStats: Sendable, Hashable {
    /// Frames accepted by `record`.
    public var framesRecorded = 0
    /// Frames inside gzip members completely written to disk.
    public var framesFlushed = 0
    /// Flushes that wrote a member.
    public var flushes = 0
    /// Files opened.
    public var filesOpened = 0
    /// Files closed with a manifest.
    public var filesClosed = 0
    /// Compressed bytes written over all files.
    public var bytesWritten: Int64 = 0
    /// Frames whose receive time was earlier than the previous frame's (local clock stepped back);
    /// recorded as received, counted so the operator can look at clock discipline.
    public var framesWithDecreasingTime = 0

    /// Creates zeroed statistics.
    public init() {}
}
