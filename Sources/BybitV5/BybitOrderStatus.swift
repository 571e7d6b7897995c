/// `orderStatus` (enum.mdx): the complete documented set, so an unknown value is a decode error.
///
/// Two documented traps (§3.3): a `Cancelled` derivatives order may carry executed quantity (read `cumExecQty`, never
/// assume zero), and a cancel racing a fill can produce two `Filled` messages for one order (dedupe fills by
/// `execId`, not by status).
public enum BybitOrderStatus: String, Hashable, Sendable, CaseIterable {
    /// Open: accepted and resting.
    case new = "New"
    /// Open: partly filled, the rest resting.
    case partiallyFilled = "PartiallyFilled"
    /// Open: a conditional order waiting for its trigger.
    case untriggered = "Untriggered"
    /// Terminal: rejected by the matching engine.
    case rejected = "Rejected"
    /// Terminal: partly filled then cancelled (spot only).
    case partiallyFilledCanceled = "PartiallyFilledCanceled"
    /// Terminal: completely filled.
    case filled = "Filled"
    /// Terminal: cancelled ("in derivatives, orders with this status may have an executed qty").
    case cancelled = "Cancelled"
    /// Transitional: a conditional order whose trigger fired, on its way to `New` ("instantaneous state for
    /// conditional orders from Untriggered to New"): the same order goes on.
    case triggered = "Triggered"
    /// Terminal: a conditional order cancelled before it triggered.
    case deactivated = "Deactivated"

    /// Where an order stands.
    public enum Lifecycle: Hashable, Sendable {
        /// Can still trade or trigger.
        case open
        /// Between two open states (`Triggered`): keep the order, more messages follow.
        case transitional
        /// Ended: no further state, though late fills of a cancel/fill race may still be reported.
        case terminal
    }

    public var lifecycle: Lifecycle {
        switch self {
        case .new, .partiallyFilled, .untriggered: .open
        case .triggered: .transitional
        case .rejected, .partiallyFilledCanceled, .filled, .cancelled, .deactivated: .terminal
        }
    }

    /// True unless the order ended: `Triggered` counts as open (the stop goes on as a new active order), as the
    /// simulator counts it.
    public var isOpen: Bool { lifecycle != .terminal }

    /// How far along its life an order is: a status never goes back to a lower rank (ended orders share the top).
    var progressRank: Int {
        switch self {
        case .untriggered: 0
        case .triggered: 1
        case .new: 2
        case .partiallyFilled: 3
        case .filled, .cancelled, .rejected, .partiallyFilledCanceled, .deactivated: 4
        }
    }
}
