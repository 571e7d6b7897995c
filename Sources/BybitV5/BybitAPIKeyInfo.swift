/// `result` of `GET /v5/user/query-api`: what the startup check needs to know about the key.
public struct BybitAPIKeyInfo: Hashable, Sendable, Decodable {
    /// `apiKey`.
    public var apiKey: String
    /// `readOnly`: `1` → `true`.
    public var readOnly: Bool
    /// `permissions`: permission group → granted permissions (e.g. `"ContractTrade": ["Order", "Position"]`).
    public var permissions: [String: [String]]
    /// `ips`: bound IP addresses (`["*"]` when unbound).
    public var ips: [String]
    /// `deadlineDay`: remaining valid days (keys without an IP binding expire).
    public var deadlineDay: Int?
    /// `expiredAt` as Bybit prints it (ISO 8601), or `nil`.
    public var expiredAt: String?
    /// `uta`: `1` when the account is a unified trading account.
    public var isUnifiedTradingAccount: Bool?

    enum CodingKeys: String, CodingKey { case apiKey, readOnly, permissions, ips, deadlineDay, expiredAt, uta }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiKey = try c.decodeIfPresent(String.self, forKey: .apiKey) ?? ""
        readOnly = try (c.decodeIfPresent(Int.self, forKey: .readOnly) ?? 0) == 1
        permissions = try c.decodeIfPresent([String: [String]].self, forKey: .permissions) ?? [:]
        ips = try c.decodeIfPresent([String].self, forKey: .ips) ?? []
        deadlineDay = try c.decodeIfPresent(Int.self, forKey: .deadlineDay)
        expiredAt = try c.decodeIfPresent(String.self, forKey: .expiredAt)
        isUnifiedTradingAccount = try c.decodeIfPresent(Int.self, forKey: .uta).map { $0 == 1 }
    }
}
