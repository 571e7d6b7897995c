import ArgumentParser
import Backtest
import Foundation
import Logging
import ServiceLifecycle

/// What the node commands share: comma-separated option values, and running a node to its end.
enum CLIParsing {
    /// Runs a node's services until they stop, then closes its journal on either outcome (a clean file even when the
    /// node stopped on an error); an error is rethrown as "`name` stopped: …".
    static func runNode(_ group: ServiceGroup, name: String, logger: Logger, closeJournal: () throws -> Void) async throws {
        var stopped: (any Error)?
        do { try await group.run() } catch { stopped = error }
        do { try closeJournal() } catch { logger.error("\(error)") }
        if let stopped { throw CLIError("\(name) stopped: \(stopped)") }
    }

    /// `BTCUSDT, ETHUSDT` → `["BTCUSDT", "ETHUSDT"]` (blanks dropped).
    static func symbols(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Book depths, nil when one is not an integer.
    static func depths(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    /// The public feed's options as `cascade record` and `cascade paper` take them.
    static func validateFeed(symbols: String, depths: String, endpoint: String, rest: String) throws {
        if self.symbols(symbols).isEmpty { throw ValidationError("--symbols is empty") }
        guard let d = self.depths(depths), !d.isEmpty, d.allSatisfy({ [1, 50, 200, 1000].contains($0) }) else {
            throw ValidationError("--depths must list 1, 50, 200 or 1000")
        }
        if !(endpoint.hasPrefix("ws://") || endpoint.hasPrefix("wss://")) { throw ValidationError("--endpoint must be ws:// or wss://") }
        if !(rest.hasPrefix("http://") || rest.hasPrefix("https://")) { throw ValidationError("--rest must be http:// or https://") }
    }

    /// The configuration file the user named, or the defaults; every problem of the file one line of the error.
    static func configuration(_ path: String?) throws -> BacktestConfiguration {
        guard let path else { return BacktestConfiguration() }
        do { return try BacktestConfiguration.load(path: path) } catch { throw CLIError("\(error)") }
    }

    /// Writes the effective configuration to `directory/config.json` (a node's record of what it ran with; it holds
    /// no secret) and returns the banner's line: the file named, its hash, where the copy is.
    static func writeEffective(_ configuration: BacktestConfiguration, source: String?, to directory: String) throws -> String {
        let path = (directory as NSString).appendingPathComponent("config.json")
        do { try Data(configuration.prettyJSON.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
        return "\(source ?? "defaults"), sha256 \(BacktestOutput.configurationHash(configuration).prefix(16)), effective copy \(path)"
    }
}
