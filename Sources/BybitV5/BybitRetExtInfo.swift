/// The `retExtInfo` member of a REST response: usually `{}`, and for batch endpoints one status per request item.
public struct BybitRetExtInfo: Hashable, Sendable, Decodable {
    /// Per-item status of a batch request, in the order of the request's items.
    public struct Item: Hashable, Sendable, Decodable {
        /// The item's own retCode (`0` when that order was accepted).
        public var code: BybitRetCode
        /// The item's message (`"OK"`, `"position idx not match position mode"`, …).
        public var msg: String

        /// An item status as given.
        public init(code: BybitRetCode, msg: String) {
            self.code = code
            self.msg = msg
        }

        enum CodingKeys: String, CodingKey { case code, msg }

        /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            code = try c.decode(BybitRetCode.self, forKey: .code)
            msg = try c.decodeIfPresent(String.self, forKey: .msg) ?? ""
        }
    }

    /// `retExtInfo.list`; empty for `{}` (every non-batch endpoint).
    public var list: [Item]

    /// Statuses as given.
    public init(list: [Item] = []) { self.list = list }

    /// The `{}` of non-batch responses.
    public static let empty = BybitRetExtInfo()

    enum CodingKeys: String, CodingKey { case list }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        list = try c.decodeIfPresent([Item].self, forKey: .list) ?? []
    }
}
