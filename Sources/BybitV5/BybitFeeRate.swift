public import CascadeCore

/// One entry of `GET /v5/account/fee-rate`: the account's rates for a symbol.
public struct BybitFeeRate: Hashable, Sendable, Decodable {
    /// `symbol`.
    public var symbol: String
    /// `takerFeeRate` (e.g. `0.00055`).
    public var takerFeeRate: Rate
    /// `makerFeeRate` (e.g. `0.0002`; negative for a rebate).
    public var makerFeeRate: Rate

    enum CodingKeys: String, CodingKey { case symbol, takerFeeRate, makerFeeRate }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let f = c.fields
        symbol = try c.text(.symbol) ?? ""
        takerFeeRate = try f.required(f.rate(c.text(.takerFeeRate), "takerFeeRate"), "takerFeeRate")
        makerFeeRate = try f.required(f.rate(c.text(.makerFeeRate), "makerFeeRate"), "makerFeeRate")
    }
}
