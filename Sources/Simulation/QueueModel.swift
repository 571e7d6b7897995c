/// How the queue ahead of a resting order moves when the displayed size at its price changes without our knowing
/// why. Prints at the order's price always advance the queue (every model): they are the only certain evidence.
public protocol QueueModel: Sendable {
    /// The queue ahead of a new order at a level that displays `displayed` (nil: beyond the visible book).
    func arrival(displayed: Int64?) -> Int64?
    /// The displayed size at the order's price went from `old` to `new` with `traded` printed there since the last
    /// update; returns the new queue ahead (never above `new`).
    func depthChanged(ahead: Int64, old: Int64, new: Int64, traded: Int64) -> Int64
    /// True when ``depthChanged(ahead:old:new:traded:)`` reads `old` (the engine then looks the sizes up first).
    var readsSizesBefore: Bool { get }
}

/// Conservative (default): only prints advance the queue. A displayed size that shrinks without a print is assumed
/// to be cancellations *behind* us; the queue never exceeds what is displayed.
public struct TradesOnlyQueue: QueueModel {
    public init() {}
    public func arrival(displayed: Int64?) -> Int64? { displayed }
    public func depthChanged(ahead: Int64, old: Int64, new: Int64, traded: Int64) -> Int64 { max(0, min(ahead, new)) }
    public var readsSizesBefore: Bool { false }
}

/// Prints, plus a share of unexplained decreases: with `ahead` in front of us out of `old` displayed, a decrease of d
/// not explained by prints advances us by d × ahead / old (cancellations spread uniformly over the queue, the
/// split hftbacktest draws at random, made deterministic).
public struct ProportionalCancelsQueue: QueueModel {
    public init() {}
    public func arrival(displayed: Int64?) -> Int64? { displayed }
    public func depthChanged(ahead: Int64, old: Int64, new: Int64, traded: Int64) -> Int64 {
        var next = ahead
        if old > new, old > 0 {
            let unexplained = max(0, old - new - traded)
            next -= Int64((Int128(unexplained) * Int128(ahead)) / Int128(old))
        }
        return max(0, min(next, new))
    }
    public var readsSizesBefore: Bool { true }
}

/// The queue model a configuration names.
public enum QueueModelChoice: QueueModel, Hashable {
    case tradesOnly
    case proportionalCancels

    public func arrival(displayed: Int64?) -> Int64? { displayed }
    public func depthChanged(ahead: Int64, old: Int64, new: Int64, traded: Int64) -> Int64 {
        switch self {
        case .tradesOnly: TradesOnlyQueue().depthChanged(ahead: ahead, old: old, new: new, traded: traded)
        case .proportionalCancels: ProportionalCancelsQueue().depthChanged(ahead: ahead, old: old, new: new, traded: traded)
        }
    }
    public var readsSizesBefore: Bool { self == .proportionalCancels }
}
