/// `result` of `GET /v5/account/fee-rate`: `{"list": [{symbol, takerFeeRate, makerFeeRate}]}`.
public struct BybitFeeRateResult: Hashable, Sendable, Decodable {
    /// `list`.
    public var list: [BybitFeeRate]

    /// The entry of `symbol`, if listed.
    public func rate(for symbol: String) -> BybitFeeRate? { list.first { $0.symbol == symbol } }
}
