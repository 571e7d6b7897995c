/// `orderStatus` (enum.mdx): the complete documented set, so an unknown value is a decode error.
public enum BybitOrderStatus: String, Hashable, Sendable, CaseIterable {
    /// Open: accepted and resting.
    case new = "New"
    /// Open: partly filled, the rest resting.
    case partiallyFilled = "PartiallyFilled"
    /// Open: a conditional order waiting for its trigger.
    case untriggered = "Untriggered"
    /// Closed: rejected by the matching engine.
    case rejected = "Rejected"
    /// Closed: partly filled then cancelled (spot only).
    case partiallyFilledCanceled = "PartiallyFilledCanceled"
    /// Closed: completely filled.
    case filled = "Filled"
    /// Closed: cancelled ("in derivatives, orders with this status may have an executed qty").
    case cancelled = "Cancelled"
    /// Closed: a conditional order that triggered (it continues as a new active order).
    case triggered = "Triggered"
    /// Closed: a conditional order cancelled before it triggered.
    case deactivated = "Deactivated"

    /// True for `New`, `PartiallyFilled` and `Untriggered`: the order can still trade or trigger.
    public var isOpen: Bool {
        switch self {
        case .new, .partiallyFilled, .untriggered: true
        default: false
        }
    }
}
