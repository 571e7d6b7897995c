/// `result` of `POST /v5/order/create-batch`: one entry per request item, in request order.
///
/// An entry with an empty `orderId` is an item Bybit refused; its reason is the same index of
/// `retExtInfo.list`. Pair them with ``BybitResponse/outcomes(for:)``.
public struct BybitBatchOrderResult: Hashable, Sendable, Decodable {
    /// One entry of `result.list`.
    public struct Item: Hashable, Sendable, Decodable {
        /// `category`.
        public var category: String
        /// `symbol`.
        public var symbol: String
        /// `orderId` (`""` when the item failed).
        public var orderId: String
        /// `orderLinkId`.
        public var orderLinkId: String

        enum CodingKeys: String, CodingKey { case category, symbol, orderId, orderLinkId }

        /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            category = try c.text(.category) ?? ""
            symbol = try c.text(.symbol) ?? ""
            orderId = try c.text(.orderId) ?? ""
            orderLinkId = try c.text(.orderLinkId) ?? ""
        }
    }

    /// `list`.
    public var list: [Item]

    enum CodingKeys: String, CodingKey { case list }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        list = try c.decodeIfPresent([Item].self, forKey: .list) ?? []
    }
}
