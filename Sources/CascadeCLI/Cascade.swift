import ArgumentParser

/// `cascade`: the command-line entry point. Argument parsing only; the work lives in the library targets.
@main
struct Cascade: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cascade",
        abstract: "Cascade: liquidation-cascade trading for Bybit USDT perpetuals.",
        discussion: "Only commands that work are listed; recording from Bybit, backtests and trading arrive with later releases.",
        subcommands: [ReplayCommand.self, ImportCommand.self])
}
