import Backtest
import Foundation

/// Comma-separated option values the node commands share.
enum CLIParsing {
    /// `BTCUSDT, ETHUSDT` → `["BTCUSDT", "ETHUSDT"]` (blanks dropped).
    static func symbols(_ text: String) -> [String] {
        text.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Book depths, nil when one is not an integer.
    static func depths(_ text: String) -> [Int]? {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        return parts.contains(nil) ? nil : parts.compactMap { $0 }
    }

    /// The configuration file the user named, or the defaults; every problem of the file one line of the error.
    static func configuration(_ path: String?) throws -> BacktestConfiguration {
        guard let path else { return BacktestConfiguration() }
        do { return try BacktestConfiguration.load(path: path) } catch { throw CLIError("\(error)") }
    }
}
