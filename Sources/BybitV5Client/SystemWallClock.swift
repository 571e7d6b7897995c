#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CascadeCore

/// `CLOCK_REALTIME` with nanosecond resolution: the receive-time stamp of every frame.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> LocalTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return LocalTime(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }
}
