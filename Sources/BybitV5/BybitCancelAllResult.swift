/// `result` of `POST /v5/order/cancel-all`: the cancelled orders and a `success` flag (`"1"`/`"0"`).
public struct BybitCancelAllResult: Hashable, Sendable, Decodable {
    /// `list`: the orders cancelled.
    public var list: [BybitOrderIDResult]
    /// `success`: `"1"` → `true`, `"0"` → `false`; `nil` when absent.
    public var success: Bool?

    enum CodingKeys: String, CodingKey { case list, success }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        list = try c.decodeIfPresent([BybitOrderIDResult].self, forKey: .list) ?? []
        switch try c.text(.success) {
        case nil: success = nil
        case "1": success = true
        case "0": success = false
        case let other?: throw BybitDecodeError.invalidValue(field: c.fields.name("success"), value: other)
        }
    }
}
