/// How fast the simulator replays recorded receive times.
public enum ReplaySpeed: Sendable, Equatable, CustomStringConvertible {
    /// Frames are sent at their recorded pace.
    case realTime
    /// `factor` times faster than recorded (e.g. 10).
    case accelerated(Double)
    /// No pacing: as fast as the subscribers read.
    case asFastAsPossible
    /// The replay clock moves only when a client asks (`POST /_cascade/advance`): tests decide what happens when.
    case lockstep

    /// Parses `1`, `10`, `0.5`, `max` or `lockstep`.
    public init?(_ text: String) {
        if text == "max" {
            self = .asFastAsPossible
        } else if text == "lockstep" {
            self = .lockstep
        } else if let factor = Double(text), factor > 0, factor.isFinite {
            self = factor == 1 ? .realTime : .accelerated(factor)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .realTime: "1×"
        case let .accelerated(f): "\(f)×"
        case .asFastAsPossible: "max"
        case .lockstep: "lockstep"
        }
    }

    /// Wall time to wait for a stretch of recorded time, or nil when not paced.
    func wallNanoseconds(forRecorded ns: Int64) -> Int64? {
        switch self {
        case .realTime: ns
        case let .accelerated(f): Int64(Double(ns) / f)
        case .asFastAsPossible, .lockstep: nil
        }
    }
}
