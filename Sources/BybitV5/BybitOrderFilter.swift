/// `orderFilter` of order queries and cancel-all: which kinds of orders are meant.
public enum BybitOrderFilter: String, Hashable, Sendable, CaseIterable {
    /// Active (non-conditional) orders.
    case order = "Order"
    /// Conditional orders (including TP/SL and trailing stops).
    case stopOrder = "StopOrder"
    /// TP/SL orders.
    case tpslOrder = "tpslOrder"
    /// Open orders (cancel-all, order history).
    case openOrder = "OpenOrder"
}
