/// How an amend or cancel names its order: Bybit's `orderId` or the client's `orderLinkId`.
///
/// An enum rather than two optionals, so a request naming neither cannot be built.
public enum BybitOrderReference: Hashable, Sendable {
    /// Bybit's `orderId`.
    case orderId(String)
    /// The client's `orderLinkId`.
    case orderLinkId(String)
}
