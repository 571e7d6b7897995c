/// The source of local receive times. Pure targets never read a clock: drivers pass one in, and tests
/// pass a fake one.
public protocol WallClock: Sendable {
    /// Nanoseconds since the Unix epoch on this machine's real-time clock.
    func now() -> LocalTime
}
