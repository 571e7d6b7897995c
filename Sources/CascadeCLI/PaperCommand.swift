import ArgumentParser
import Backtest
import CascadeCore
import CascadeService
import Features
import Foundation
import Logging
import Recording
import ServiceLifecycle
import Storage
import UnixSignals

/// `cascade paper`: live public Bybit data, the simulated venue for fills, no API key.
struct PaperCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper",
        abstract: "Paper-trade on live public Bybit data: the trading engine against the simulated venue, with the backtest's fill rules.",
        discussion: """
            No API key: the public stream gives the market, the simulated venue (queue position, latency, fees, \
            funding) gives the fills. Each run gets DATA/paper/<UTC start>/ with journal.sqlite, the recording of \
            every public frame it traded on (replay it with `cascade backtest --data DATA/paper/<start>/recording/*`), \
            status.json (`cascade status DATA`) and, on SIGINT/SIGTERM, the backtest's outputs (trades.csv, \
            fills.csv, summary.txt…). One node per data directory. The detector arms only after \
            detector.minimumHistoryMinutes of liquidation history (24 h by default): a fresh node watches first.
            """)

    @Option(help: "Comma-separated symbols.")
    var symbols: String = "BTCUSDT"

    @Option(name: .customLong("balance-usdt"), help: "The paper account's starting balance in USDT (required: no balance is assumed).")
    var balanceUSDT: String?

    @Option(help: "Data directory (journal, recording, status).")
    var data: String = "cascade-data"

    @Option(help: "Configuration file (JSON, docs/configuration.md). Its depositUsdt is replaced by --balance-usdt.")
    var config: String?

    @Option(help: "Public WebSocket URL.")
    var endpoint: String = "wss://stream.bybit.com/v5/public/linear"

    @Option(help: "REST base URL (instrument rules, server time).")
    var rest: String = "https://api.bybit.com"

    @Option(help: "Comma-separated book depths (1, 50, 200, 1000); the venue matches on the deepest.")
    var depths: String = "50"

    func validate() throws {
        try CLIParsing.validateFeed(symbols: symbols, depths: depths, endpoint: endpoint, rest: rest)
        guard let balanceUSDT else {
            throw ValidationError("--balance-usdt is required: the paper account's starting balance is never assumed")
        }
        guard let balance = try? USDT(balanceUSDT), balance > .zero else {
            throw ValidationError("--balance-usdt must be a positive decimal, e.g. 10000")
        }
    }

    var parsedSymbols: [String] { CLIParsing.symbols(symbols) }
    var parsedDepths: [Int]? { CLIParsing.depths(depths) }

    func run() async throws {
        var logger = Logger(label: "cascade.paper")
        logger.logLevel = .info
        var configuration = try CLIParsing.configuration(config)
        configuration.deposit = try USDT(balanceUSDT ?? "")
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(directory: data) } catch { throw CLIError(error.description) }
        let stamp = Self.stamp(Date())
        let directory = URL(fileURLWithPath: data).appendingPathComponent("paper").appendingPathComponent(stamp).path
        let recording = (directory as NSString).appendingPathComponent("recording")
        let journalPath = (directory as NSString).appendingPathComponent("journal.sqlite")
        do { try FileManager.default.createDirectory(atPath: recording, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(directory): \(error.localizedDescription)")
        }
        let journal: SQLiteOrderJournal
        do { journal = try SQLiteOrderJournal(path: journalPath) } catch { throw CLIError("\(journalPath): \(error)") }

        var record = RecordConfiguration(outputDirectory: recording)
        record.symbols = parsedSymbols
        record.depths = parsedDepths ?? [50]
        record.endpoint = endpoint
        record.rest = rest
        record.createdBy = "cascade paper"
        // The clock samples put the recording's receive times on the exchange's clock when it is backtested.
        record.clockInterval = .seconds(60)
        let trader: PaperTrader
        do {
            trader = try PaperTrader(configuration: configuration, topics: Set(record.topics), journal: journal, directory: directory,
                                     recordingDirectory: recording, logger: logger)
        } catch { throw CLIError("\(error)") }
        let configLine = try CLIParsing.writeEffective(configuration, source: config, to: directory)
        // Written at once (stdout to a file or pipe is block-buffered): the banner is what the user checks first.
        FileHandle.standardOutput.write(Data("""
            cascade paper \(CascadeVersion.current): PAPER MONEY, simulated fills (queue, latency, fees and funding as in a backtest)
              balance    \(configuration.deposit) USDT (--balance-usdt)
              symbols    \(parsedSymbols.joined(separator: ",")), books \(record.depths.map(String.init).joined(separator: ","))
              market     \(endpoint) (REST \(rest))
              session    \(directory)
              detector   arms after \(configuration.features.detector.minimumHistoryMinutes) min of liquidation history
              config     \(configLine)

            """.utf8))
        let service = RecordService(configuration: record, consumer: trader, logger: logger)
        let group = NodeServiceGroup.make([service], logger: logger)
        try await CLIParsing.runNode(group, name: "paper node", logger: logger, closeJournal: trader.closeJournal)
        withExtendedLifetime(lock) {}
        print("paper session ended: outputs in \(directory)")
    }

    static func stamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }
}
