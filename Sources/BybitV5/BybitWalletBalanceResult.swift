/// `result` of `GET /v5/account/wallet-balance`: `{"list": [account]}`.
public struct BybitWalletBalanceResult: Hashable, Sendable, Decodable {
    /// `list`: one entry per account type asked for.
    public var list: [BybitWallet]

    /// The `UNIFIED` account, or the first one listed.
    public var unified: BybitWallet? { list.first { $0.accountType == "UNIFIED" } ?? list.first }
}
