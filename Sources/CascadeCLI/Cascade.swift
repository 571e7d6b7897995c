import ArgumentParser
import CascadeCore

/// `cascade`: the command-line entry point. Argument parsing only; the work lives in the library targets.
@main
struct Cascade: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract: "Cascade: liquidation-cascade trading for Bybit USDT perpetuals.",
        discussion: "Only commands that work are listed.",
        version: CascadeVersion.current,
        subcommands: [PaperCommand.self, LiveCommand.self, StatusCommand.self, RecordCommand.self, ReplayCommand.self, SimCommand.self, ImportCommand.self, FeaturesCommand.self, ConfigCommand.self,
                      DetectCommand.self, BacktestCommand.self, JournalCommand.self])
}
