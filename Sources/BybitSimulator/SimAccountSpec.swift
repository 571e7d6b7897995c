public import CascadeCore
import Foundation

/// One account of the simulator: the API key that signs for it and its USDT deposit.
///
/// Loaded from the file `cascade sim --accounts FILE` names (JSON, see README):
/// `{"accounts":[{"name":"alice","apiKey":"k1","apiSecret":"s1","depositUSDT":"25000"}]}`.
/// Secrets stay in memory: never logged, never echoed in an answer.
public struct SimAccountSpec: Sendable, Hashable {
    public var name: String
    public var apiKey: String
    public var apiSecret: String
    public var deposit: USDT

    public init(name: String, apiKey: String, apiSecret: String, deposit: USDT) {
        self.name = name
        self.apiKey = apiKey
        self.apiSecret = apiSecret
        self.deposit = deposit
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
            out.append(SimAccountSpec(name: name, apiKey: key, apiSecret: secret, deposit: deposit))
        }
        return out
    }
}
