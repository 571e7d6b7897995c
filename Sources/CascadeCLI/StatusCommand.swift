import ArgumentParser
import CascadeService
import Foundation

/// `cascade status DATA`: the node's state from its status file, and whether a node holds the data directory.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a node's state (positions, open orders, risk mode, wallet, feed) from its data directory.",
        discussion: "Reads the newest session's status.json, which the node rewrites every second; the journal next to it (journal.sqlite) holds the full record (`cascade journal FILE`).")

    @Argument(help: "The node's data directory (cascade paper --data).")
    var data: String = "cascade-data"

    func run() throws {
        // The live node's directory, or the newest paper session: whichever status file was written last.
        var candidates = ((try? FileManager.default.contentsOfDirectory(atPath: data + "/paper")) ?? []).sorted().suffix(1).map { data + "/paper/" + $0 }
        if FileManager.default.fileExists(atPath: data + "/live/status.json") { candidates.append(data + "/live") }
        func modified(_ dir: String) -> Date {
            ((try? FileManager.default.attributesOfItem(atPath: dir + "/status.json"))?[.modificationDate] as? Date) ?? .distantPast
        }
        guard let session = candidates.max(by: { modified($0) < modified($1) }) else {
            throw CLIError("\(data): no node session found (no \(data)/paper/<start>/ or \(data)/live/)")
        }
        // The lock tells whether a node runs: taking it succeeds only when none holds it (released at once).
        let running: String
        do {
            _ = try DataDirectoryLock(directory: data)
            running = "no node is running on \(data); the last state it wrote:"
        } catch {
            running = "\(error.description.replacingOccurrences(of: ": one node per data directory", with: "")); its state:"
        }
        guard let bytes = FileManager.default.contents(atPath: session + "/status.json"),
              let object = try? JSONSerialization.jsonObject(with: bytes) as? [String: Any] else {
            throw CLIError("\(session)/status.json is missing or unreadable (the node writes it once a second)")
        }
        print(running)
        print("  session      \(session)")
        for key in ["node", "riskMode", "depositUsdt", "walletUsdt", "openOrders", "fills", "episodesDetected", "frames"] {
            if let value = object[key] { print("  \(key.padding(toLength: 16, withPad: " ", startingAt: 0)) \(value)") }
        }
        let positions = object["positions"] as? [String: Any] ?? [:]
        print("  positions        \(positions.isEmpty ? "flat" : positions.keys.sorted().map { "\($0) \(positions[$0]!)" }.joined(separator: ", "))")
        let alarms = object["alarms"] as? [String] ?? []
        print("  alarms           \(alarms.isEmpty ? "none" : alarms.joined(separator: "; "))")
        if let updated = object["updatedAtMs"] as? Int64 ?? (object["updatedAtMs"] as? NSNumber)?.int64Value,
           let exchange = (object["lastExchangeTimeMs"] as? NSNumber)?.int64Value {
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            print("  status age       \(max(0, now - updated)) ms; last market event \(exchange > 0 ? "\(max(0, now - exchange)) ms ago" : "none yet")")
        }
    }
}
