import ArgumentParser
import CascadeService
import Logging
import Recording
import Foundation
import ServiceLifecycle
import UnixSignals

/// `cascade record`: the 24/7 recorder (no API key needed).
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Record Bybit public market data (books, trades, liquidations, tickers) into rotating frames files.",
        discussion: """
            Reconnects forever; writes _cascade.session (connect, disconnect, subscribe, resync), _cascade.instruments \
            (at start and in every new file), _cascade.clock and _cascade.rest (open interest, funding) entries. \
            SIGINT/SIGTERM flush and close the current file with its manifest.
            """)

    @Option(help: "Comma-separated symbols.")
    var symbols: String = "BTCUSDT,ETHUSDT,ICPUSDT"

    @Option(help: "Output directory.")
    var out: String

    @Option(help: "Public WebSocket URL.")
    var endpoint: String = "wss://stream.bybit.com/v5/public/linear"

    @Option(help: "REST base URL.")
    var rest: String = "https://api.bybit.com"

    @Option(help: "Comma-separated book depths (1, 50, 200, 1000).")
    var depths: String = "50,200"

    @Option(help: "File name prefix.")
    var prefix: String = "bybit"

    @Option(name: .customLong("rotate-minutes"), help: "Rotate files after this many minutes.")
    var rotateMinutes: Int = 60

    @Option(name: .customLong("rotate-mb"), help: "Rotate files at this many MiB.")
    var rotateMB: Int = 256

    @Flag(help: "fsync after every flush.")
    var fsync = false

    func validate() throws {
        try CLIParsing.validateFeed(symbols: symbols, depths: depths, endpoint: endpoint, rest: rest)
        if !(1...10_080).contains(rotateMinutes) { throw ValidationError("--rotate-minutes must be 1…10080") }
        if !(1...65_536).contains(rotateMB) { throw ValidationError("--rotate-mb must be 1…65536") }
    }

    var parsedSymbols: [String] { CLIParsing.symbols(symbols) }
    var parsedDepths: [Int]? { CLIParsing.depths(depths) }

    func run() async throws {
        var logger = Logger(label: "cascade.record")
        logger.logLevel = .info
        var configuration = RecordConfiguration(outputDirectory: out)
        configuration.symbols = parsedSymbols
        configuration.depths = parsedDepths ?? [50, 200]
        configuration.endpoint = endpoint
        configuration.rest = rest
        configuration.filePrefix = prefix
        configuration.rotation = RotationPolicy(maxAgeNanoseconds: Int64(rotateMinutes) * 60_000_000_000,
                                                maxBytes: Int64(rotateMB) * 1_048_576)
        configuration.flush = FlushPolicy(maxFrames: 1000, maxAgeNanoseconds: 1_000_000_000, sync: fsync)
        let service = RecordService(configuration: configuration, logger: logger)
        let group = NodeServiceGroup.make([service], logger: logger)
        try await group.run()
    }
}
