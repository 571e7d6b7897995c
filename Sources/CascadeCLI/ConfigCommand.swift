import ArgumentParser
import Backtest
import Foundation

/// `cascade config`: validate a configuration file before a node starts on it.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check a configuration file, or print the defaults (docs/configuration.md lists every key).",
        subcommands: [Check.self, Defaults.self])

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate FILE: every problem one line (exit 1), or the effective configuration and its SHA-256.")

        @Argument(help: "The configuration file (JSON).")
        var file: String

        func run() throws {
            let configuration = try CLIParsing.configuration(file)
            FileHandle.standardOutput.write(Data("""
                \(file): ok, sha256 \(BacktestOutput.configurationHash(configuration))
                effective configuration (defaults filled in):
                \(configuration.prettyJSON)
                """.utf8))
        }
    }

    struct Defaults: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every key at its default (config/cascade.example.json).")

        func run() throws {
            FileHandle.standardOutput.write(Data(BacktestConfiguration().prettyJSON.utf8))
        }
    }
}
