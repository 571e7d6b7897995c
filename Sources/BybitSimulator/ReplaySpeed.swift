/// How fast the simulator replays recorded receive times.
public enum ReplaySpeed: Sendable, Equatable, CustomStringConvertible {
    /// Frames are sent at their recorded pace.
    case realTime
    /// `factor` times faster than recorded (e.g. 10).
    case accelerated(Double)
    /// No pacing: as fast as the subscribers read.
    case asFastAsPossible

    /// Parses `1`, `10`, `0.5` or `max`.
    public init?(_ text: String) {
        if text == "max" {
            self = .asFastAsPossible
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
        }
    }

    /// Wall time to wait for a stretch of recorded time, or nil when not paced.
    func wallNanoseconds(forRecorded ns: Int64) -> Int64? {
        switch self {
        case .realTime: ns
        case let .accelerated(f): Int64(Double(ns) / f)
        case .asFastAsPossible: nil
        }
    }
}
