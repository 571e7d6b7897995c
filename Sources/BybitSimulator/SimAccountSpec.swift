public import CascadeCore
import Foundation

/// One account of the simulator: the API key that signs for it, what `/v5/user/query-api` says about that key,
/// whether the account has Bybit's disconnect-cancel (DCP), and its USDT deposit.
///
/// Loaded from the file `cascade sim --accounts FILE` names (JSON, see README):
/// `{"accounts":[{"name":"alice","apiKey":"k1","apiSecret":"s1","depositUSDT":"25000",
///   "permissions":{"ContractTrade":["Order","Position"],"Wallet":["Withdraw"]},"ips":["*"],"readOnly":0,
///   "expiredAt":"2027-01-01T00:00:00Z","dcp":true}]}` (all but the first four optional).
/// Secrets stay in memory: never logged, never echoed in an answer.
public struct SimAccountSpec: Sendable, Hashable {
    public var name: String
    public var apiKey: String
    public var apiSecret: String
    public var deposit: USDT
    /// Permission group → permissions, as `query-api` lists them (default: derivatives trading only, no withdrawal).
    public var permissions: [String: [String]]
    /// IPs the key is bound to (default `127.0.0.1`: bound, as a live trading key should be); `["*"]`: unbound.
    public var ips: [String]
    public var readOnly: Int
    /// ISO-8601 expiry as `query-api` shows it ("" when none was given).
    public var expiredAt: String
    /// Whether Bybit's disconnect-cancel has been granted to the account (it is granted to few accounts).
    public var dcpGranted: Bool

    public static let defaultPermissions: [String: [String]] = [
        "ContractTrade": ["Order", "Position"], "Derivatives": ["DerivativesTrade"], "Spot": [], "Wallet": [], "Options": [],
        "Exchange": [], "Earn": [], "BlockTrade": [], "Affiliate": [], "NFT": [], "CopyTrading": [],
    ]

    public init(name: String, apiKey: String, apiSecret: String, deposit: USDT, permissions: [String: [String]] = defaultPermissions,
                ips: [String] = ["127.0.0.1"], readOnly: Int = 0, expiredAt: String = "", dcpGranted: Bool = false) {
        self.name = name
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.deposit = deposit
        self.permissions = permissions
        self.ips = ips
        self.readOnly = readOnly
        self.expiredAt = expiredAt
        self.dcpGranted = dcpGranted
    }

    /// The documented default test account: key `cascade-test-key`, secret `cascade-test-secret`, 100,000 USDT.
    /// Not a Bybit key: it only opens the simulator.
    public static let defaultTestAccount = SimAccountSpec(
        name: "default", apiKey: "cascade-test-key", apiSecret: "cascade-test-secret",
        deposit: USDT(units: Int64(100_000) * 100_000_000))

    /// Why an accounts file was refused (one readable line each).
    public struct FileError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses an accounts file. Names and keys must be unique; deposits are exact non-negative decimals.
    public static func parse(_ bytes: [UInt8], source: String) throws(FileError) -> [SimAccountSpec] {
        guard let root = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any],
              let list = root["accounts"] as? [[String: Any]] else {
            throw FileError(description: "\(source): expected {\"accounts\":[{\"name\",\"apiKey\",\"apiSecret\",\"depositUSDT\"},…]}")
        }
        guard !list.isEmpty else { throw FileError(description: "\(source): no accounts") }
        var out: [SimAccountSpec] = []
        for (index, item) in list.enumerated() {
            func text(_ key: String) throws(FileError) -> String {
                guard let v = item[key] as? String, !v.isEmpty else {
                    throw FileError(description: "\(source): accounts[\(index)].\(key) must be a non-empty string")
                }
                return v
            }
            let name = try text("name"), key = try text("apiKey"), secret = try text("apiSecret")
            let depositText = try text("depositUSDT")
            guard let deposit = try? USDT(depositText), deposit.units >= 0 else {
                throw FileError(description: "\(source): accounts[\(index)].depositUSDT \"\(depositText)\" is not a non-negative decimal")
            }
            if out.contains(where: { $0.name == name }) { throw FileError(description: "\(source): account name \"\(name)\" repeated") }
            if out.contains(where: { $0.apiKey == key }) { throw FileError(description: "\(source): accounts[\(index)].apiKey repeated") }
            var spec = SimAccountSpec(name: name, apiKey: key, apiSecret: secret, deposit: deposit)
            if let value = item["permissions"] {
                guard let groups = value as? [String: Any],
                      let parsed = try? groups.mapValues({ v throws -> [String] in
                          guard let list = v as? [String] else { throw FileError(description: "") }
                          return list
                      }) else {
                    throw FileError(description: "\(source): accounts[\(index)].permissions must map groups to lists of strings")
                }
                spec.permissions = parsed
            }
            if let value = item["ips"] {
                guard let ips = value as? [String] else { throw FileError(description: "\(source): accounts[\(index)].ips must be a list of strings") }
                spec.ips = ips
            }
            if let value = item["readOnly"] {
                guard let n = value as? Int, n == 0 || n == 1 else { throw FileError(description: "\(source): accounts[\(index)].readOnly must be 0 or 1") }
                spec.readOnly = n
            }
            if let value = item["expiredAt"] {
                guard let text = value as? String else { throw FileError(description: "\(source): accounts[\(index)].expiredAt must be a string") }
                spec.expiredAt = text
            }
            if let value = item["dcp"] {
                guard let flag = value as? Bool else { throw FileError(description: "\(source): accounts[\(index)].dcp must be true or false") }
                spec.dcpGranted = flag
            }
            out.append(spec)
        }
        return out
    }
}
