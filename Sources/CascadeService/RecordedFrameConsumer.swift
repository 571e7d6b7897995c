public import CascadeCore

/// Takes the frames a ``RecordService`` records, in the order it records them, on the service's writer task.
public protocol RecordedFrameConsumer: AnyObject, Sendable {
    /// One recorded line's JSON, with its receive time.
    func recorded(_ bytes: [UInt8], at: LocalTime)
    /// No frame is due: time has reached `until` (the service's 1 s timer).
    func idle(until: LocalTime)
    /// Set once the consumer cannot go on; the service then stops and throws it.
    var failure: (any Error)? { get }
    /// After the last frame, on shutdown.
    func finish() throws
}
