/// A request that cannot be built because Bybit would reject it for a reason known before sending.
public enum BybitRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A numeric parameter outside its documented range (`limit`, `timeWindow`, a batch size).
    case outOfRange(parameter: String, value: Int, allowed: ClosedRange<Int>)
    /// A `Limit` order without a price.
    case missingPrice
    /// A price that is zero or negative where a real price is required.
    case nonPositivePrice(parameter: String)
    /// A negative quantity, or zero without `reduceOnly` and `closeOnTrigger` (the only documented use of `"0"`).
    case invalidQuantity
    /// An `orderLinkId` longer than 36 characters or outside `[A-Za-z0-9_-]`.
    case invalidOrderLinkId(String)
    /// An amend that changes nothing.
    case nothingToAmend

    /// A one-line human-readable form for logs.
    public var description: String {
        switch self {
        case let .outOfRange(parameter, value, allowed):
            "\(parameter) = \(value) is outside \(allowed.lowerBound)...\(allowed.upperBound)"
        case .missingPrice: "a Limit order needs a price"
        case let .nonPositivePrice(parameter): "\(parameter) must be positive"
        case .invalidQuantity: "qty must be positive (or zero with reduceOnly and closeOnTrigger)"
        case let .invalidOrderLinkId(id): "orderLinkId \"\(id)\" must be 1-36 characters of [A-Za-z0-9_-]"
        case .nothingToAmend: "an amend must change qty, price, trigger price, take profit or stop loss"
        }
    }
}
