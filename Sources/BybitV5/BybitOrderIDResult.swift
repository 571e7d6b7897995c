/// `result` of create, amend and cancel: `{"orderId": "…", "orderLinkId": "…"}`.
///
/// Acceptance only: the order's fate arrives on the `order` stream (or a query).
public struct BybitOrderIDResult: Hashable, Sendable, Decodable {
    /// `orderId`.
    public var orderId: String
    /// `orderLinkId` (`""` when the order has none).
    public var orderLinkId: String

    /// Ids as given.
    public init(orderId: String, orderLinkId: String) {
        self.orderId = orderId
        self.orderLinkId = orderLinkId
    }

    enum CodingKeys: String, CodingKey { case orderId, orderLinkId }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        orderId = try c.decodeIfPresent(String.self, forKey: .orderId) ?? ""
        orderLinkId = try c.decodeIfPresent(String.self, forKey: .orderLinkId) ?? ""
    }
}
