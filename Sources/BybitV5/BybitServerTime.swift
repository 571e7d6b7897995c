public import CascadeCore

/// `result` of `GET /v5/market/time`: `{"timeSecond":"1688639403","timeNano":"1688639403423213947"}`.
public struct BybitServerTime: Hashable, Sendable, Decodable {
    /// `timeNano`: Bybit's clock in nanoseconds since the epoch.
    public var nanoseconds: Int64
    /// `timeSecond`.
    public var seconds: Int64

    /// Bybit's clock in milliseconds (what `X-BAPI-TIMESTAMP` is compared against), truncated.
    public var exchangeTime: ExchangeTime { ExchangeTime(milliseconds: nanoseconds / 1_000_000) }

    enum CodingKeys: String, CodingKey { case timeSecond, timeNano }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let f = c.fields
        func integer(_ key: CodingKeys) throws -> Int64 {
            let text = try f.requiredString(c.text(key), key.stringValue)
            guard let value = Int64(text), value >= 0 else { throw BybitDecodeError.invalidValue(field: f.name(key.stringValue), value: text) }
            return value
        }
        seconds = try integer(.timeSecond)
        nanoseconds = try integer(.timeNano)
    }
}
