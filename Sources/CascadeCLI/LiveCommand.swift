import ArgumentParser
import Backtest
import BybitGateway
import BybitV5
import BybitV5Client
import CascadeCore
import Configuration
import CascadeService
import Execution
import Features
import Foundation
import Logging
import Recording
import ServiceLifecycle
import Storage
import SystemPackage
import UnixSignals

/// `cascade live`: the trading engine against Bybit with real money.
struct LiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "live",
        abstract: "Trade on Bybit with real money: the engine of the backtest and the paper node, orders through your API key.",
        discussion: """
            Needs a key in BYBIT_API_KEY and BYBIT_API_SECRET (or --keys-file FILE: {"apiKey":…,"apiSecret":…}), \
            the flag --confirm-real-money, and passing start-up checks: a key without withdrawal or transfer \
            permissions, the account in the configured margin mode, one-way position mode, the leverage set, every \
            symbol trading, every venue position the journal's; the starting balance is Bybit's. The journal, execution \
            cursor, recording and status live in DATA/live/ and a restart continues them. SIGINT/SIGTERM stop new \
            entries, cancel the resting ones by id (never a cancel-all: take-profits, exits and stops stay) and keep \
            only positions whose exchange-side stop Bybit confirmed, closing the others (live.shutdownPositions: \
            flatten closes every one).
            """)

    @Option(help: "Comma-separated symbols.")
    var symbols: String = "BTCUSDT"

    @Option(help: "mainnet, testnet or demo, instead of the configuration's live.environment (the hosts below override it).")
    var environment: String?

    @Option(help: "Public WebSocket URL.")
    var endpoint: String?

    @Option(name: .customLong("private-endpoint"), help: "Private WebSocket URL (default: the public endpoint's host, /v5/private).")
    var privateEndpoint: String?

    @Option(help: "REST base URL.")
    var rest: String?

    @Option(help: "Data directory (journal, cursor, recording, status).")
    var data: String = "cascade-data"

    @Option(help: "Configuration file (JSON, docs/configuration.md; its live section is read here); its depositUsdt is ignored (Bybit's balance is used).")
    var config: String?

    @Option(help: "Leverage set on every symbol at start, instead of the configuration's live.leverage.")
    var leverage: String?

    @Option(name: .customLong("keys-file"), help: "A JSON file with apiKey and apiSecret, instead of the environment.")
    var keysFile: String?

    @Flag(name: .customLong("confirm-real-money"), help: "Required: you understand this sends real orders with real money.")
    var confirmRealMoney = false

    struct Hosts {
        var publicStream: String
        var privateStream: String
        var rest: String
    }

    func hosts(_ environment: LiveSettings.Environment) -> Hosts {
        var h: Hosts
        switch environment {
        case .mainnet: h = Hosts(publicStream: "wss://stream.bybit.com/v5/public/linear", privateStream: "wss://stream.bybit.com/v5/private", rest: "https://api.bybit.com")
        case .testnet: h = Hosts(publicStream: "wss://stream-testnet.bybit.com/v5/public/linear", privateStream: "wss://stream-testnet.bybit.com/v5/private", rest: "https://api-testnet.bybit.com")
        // Demo trading takes its public data from mainnet (Bybit's demo page).
        case .demo: h = Hosts(publicStream: "wss://stream.bybit.com/v5/public/linear", privateStream: "wss://stream-demo.bybit.com/v5/private", rest: "https://api-demo.bybit.com")
        }
        if let endpoint {
            h.publicStream = endpoint
            if privateEndpoint == nil, let range = endpoint.range(of: "/v5/public/") { h.privateStream = endpoint[..<range.lowerBound] + "/v5/private" }
        }
        if let privateEndpoint { h.privateStream = privateEndpoint }
        if let rest { h.rest = rest }
        return h
    }

    /// The key and where it came from, read through swift-configuration with every value marked secret (so its
    /// access reporting and descriptions redact them). The secret is never printed; the key only as the start-up
    /// check's first four characters.
    func credentials() async throws -> (BybitCredentials, source: String) {
        if let keysFile {
            let refused = CLIError("--keys-file \(keysFile): not a JSON object with apiKey and apiSecret")
            // The provider's own error could quote the file: only the path is named.
            guard let provider = try? await FileProvider<JSONSnapshot>(parsingOptions: .init(secretsSpecifier: .all), filePath: FilePath(keysFile))
            else { throw refused }
            let reader = ConfigReader(provider: provider)
            guard let key = reader.string(forKey: "apiKey", isSecret: true), !key.isEmpty,
                  let secret = reader.string(forKey: "apiSecret", isSecret: true), !secret.isEmpty else { throw refused }
            return (BybitCredentials(apiKey: key, secret: secret), "--keys-file \(keysFile)")
        }
        let reader = ConfigReader(provider: EnvironmentVariablesProvider(secretsSpecifier: .specific(["BYBIT_API_KEY", "BYBIT_API_SECRET"])))
        guard let key = reader.string(forKey: "bybit.api.key", isSecret: true), !key.isEmpty,
              let secret = reader.string(forKey: "bybit.api.secret", isSecret: true), !secret.isEmpty else {
            throw CLIError("live trading needs an API key: set BYBIT_API_KEY and BYBIT_API_SECRET, or pass --keys-file FILE")
        }
        return (BybitCredentials(apiKey: key, secret: secret), "environment BYBIT_API_KEY")
    }

    var parsedSymbols: [String] { CLIParsing.symbols(symbols) }

    func run() async throws {
        var logger = Logger(label: "cascade.live")
        logger.logLevel = .info
        guard !parsedSymbols.isEmpty else { throw CLIError("--symbols is empty") }
        let (credentials, keySource) = try await credentials()
        guard confirmRealMoney else {
            throw CLIError("live trading sends real orders with real money: add --confirm-real-money (or use cascade paper)")
        }
        var configuration = try CLIParsing.configuration(config)
        // The flags override the file, and the effective configuration written below says what the node runs with.
        if let environment {
            guard let e = LiveSettings.Environment(rawValue: environment) else { throw CLIError("--environment must be mainnet, testnet or demo") }
            configuration.live.environment = e
        }
        if let leverage {
            guard let rate = LiveSettings.leverage(leverage) else { throw CLIError("--leverage: expected \(LiveSettings.leverageExpected)") }
            configuration.live.leverage = rate
        }
        let live = configuration.live
        let hosts = hosts(live.environment)
        let leverageRate = live.leverage
        let lock: DataDirectoryLock
        do { lock = try DataDirectoryLock(directory: data) } catch { throw CLIError(error.description) }
        let directory = URL(fileURLWithPath: data).appendingPathComponent("live").path
        let recording = (directory as NSString).appendingPathComponent("recording")
        do { try FileManager.default.createDirectory(atPath: recording, withIntermediateDirectories: true) } catch {
            throw CLIError("cannot create \(directory): \(error.localizedDescription)")
        }

        // The journal alone can refuse the start (a symbol no longer traded that it still holds something in): checked
        // before the account checks, which set leverage and arm the disconnect-cancel.
        // Its entries are read once here and serve the check against Bybit's positions below (nothing else writes the
        // journal meanwhile: the data directory is locked); a first start has no journal yet, and none is created
        // before the account checks pass.
        let journalPath = (directory as NSString).appendingPathComponent("journal.sqlite")
        var journaledEntries: [JournalEntry] = []
        if FileManager.default.fileExists(atPath: journalPath) {
            do {
                let journal = try SQLiteOrderJournal(path: journalPath)
                journaledEntries = try journal.entries()
                try journal.close()
            } catch { throw CLIError("\(journalPath): \(error)") }
            let untraded = LiveStartupChecks.untradedJournalSymbols(journal: journaledEntries, configuration: configuration.engine,
                                                                    traded: parsedSymbols)
            if !untraded.isEmpty { throw CLIError("live: refused to start:\n" + untraded.joined(separator: "\n")) }
        }

        let restClient = BybitRESTClient(baseURL: hosts.rest, credentials: credentials, logger: logger)
        var checks = LiveStartupChecks(symbols: parsedSymbols, leverage: leverageRate)
        checks.marginMode = live.marginMode.rawValue
        let report: LiveStartupChecks.Report
        do { report = try await checks.run(restClient) } catch { throw CLIError("live: refused to start:\n\(error)") }

        let table = LiveTrader.instrumentTable(symbols: parsedSymbols)
        let journal: SQLiteOrderJournal
        let historyFloor: ExchangeTime
        do {
            journal = try SQLiteOrderJournal(path: journalPath)
            // Let go after these checks: the trader reads the journal again when it starts.
            // Every position Bybit holds must be the journal's (LiveStartupChecks.unexplainedPositions).
            let journaled = TradingEngine.restore(from: journaledEntries, configuration: configuration.engine, instruments: table)
            let problems = LiveStartupChecks.unexplainedPositions(venue: report.positions, journaled: journaled, instruments: table)
            if !problems.isEmpty { throw CLIError("live: refused to start:\n" + problems.joined(separator: "\n")) }
            historyFloor = LiveTrader.historyFloor(journal: journaledEntries, serverNow: await restClient.serverNow())
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(directory)/journal.sqlite: \(error)")
        }
        var stream = PrivateStreamConfiguration(url: hosts.privateStream)
        stream.historyFloor = historyFloor
        stream.symbols = parsedSymbols
        if let window = report.dcpArmedSeconds {
            // Bybit fires the disconnect-cancel when every connection subscribed to `dcp` is gone, judged on the
            // heartbeat: pings well inside the window.
            stream.optionalTopics = ["dcp.future"]
            stream.pingInterval = .seconds(max(1, window / 3))
        }
        let cursor = FileExecutionCursor(path: (directory as NSString).appendingPathComponent("execution-cursor.json"))
        let privateStream = PrivateStreamClient(configuration: stream, credentials: credentials, rest: restClient, cursor: cursor,
                                                instruments: table, logger: logger)
        let gateway = BybitGateway(rest: restClient, stream: privateStream, cursor: cursor, instruments: table, logger: logger)
        await gateway.setKeepWarm(connections: BybitGateway.liveKeepWarmConnections, every: BybitGateway.liveKeepWarmInterval)
        await gateway.setReconciliation(openOrders: .milliseconds(live.openOrdersReconcileMilliseconds),
                                        positions: .milliseconds(live.positionsReconcileMilliseconds),
                                        executionsLookback: .milliseconds(live.executionsLookbackMilliseconds))
        await gateway.setHistoryFloor(historyFloor)
        let trader: LiveTrader
        do {
            trader = try LiveTrader(engineConfiguration: configuration.engine, features: configuration.features, instruments: table,
                                    journal: journal, gateway: gateway, rest: restClient, startingBalance: report.walletBalance,
                                    serverOffsetMilliseconds: report.serverOffsetMilliseconds,
                                    sendDeadline: .milliseconds(live.sendDeadlineMilliseconds), batchEntries: live.batchEntries,
                                    deadManAfter: .milliseconds(live.deadManMilliseconds),
                                    flattenAllOnShutdown: live.shutdownPositions == .flatten,
                                    statusDirectory: directory, logger: logger)
        } catch { throw CLIError("\(error)") }

        let configLine = try CLIParsing.writeEffective(configuration, source: config, to: directory)
        var text = "cascade live \(CascadeVersion.current): REAL MONEY on \(hosts.rest)\n"
        for line in report.lines { text += "  \(line)\n" }
        for warning in report.warnings { text += "  WARNING: \(warning)\n" }
        text += "  key source  \(keySource)\n"
        text += "  config      \(configLine)\n"
        text += "  data        \(directory)\n"
        FileHandle.standardOutput.write(Data(text.utf8))

        var record = RecordConfiguration(outputDirectory: recording)
        record.symbols = parsedSymbols
        record.depths = [50]
        record.endpoint = hosts.publicStream
        record.rest = hosts.rest
        record.createdBy = "cascade live"
        let recorder = RecordService(configuration: record, consumer: trader, logger: logger)
        let node = LiveNodeService(trader: trader)
        let group = NodeServiceGroup.make(LiveNodeService.services(recorder: recorder, node: node), logger: logger)
        try await CLIParsing.runNode(group, name: "live node", logger: logger, closeJournal: trader.closeJournal)
        withExtendedLifetime(lock) {}
        print("live node stopped: journal and recording in \(directory)")
    }
}
