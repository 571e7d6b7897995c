import ArgumentParser
import BybitV5
import CascadeCore
import Foundation
import MarketData
import Recording
import RecordingAudit

/// `cascade replay FILES…`: replays recordings through the production decoder and books and reports
/// what a user needs to trust them.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded frames files and report frames, books, trades, liquidations, gaps and errors.",
        discussion: """
            Files are merged in receive-time order (ties: file order on the command line, then line). \
            Times for --from/--to are UTC (2024-07-18T23:58:00.5Z) or integer nanoseconds; --to is exclusive.
            """)

    @Argument(help: "Frames files (.frames.gz, frames format v1).")
    var files: [String]

    @Option(help: "Only frames received at or after this UTC time.")
    var from: String?

    @Option(help: "Only frames received before this UTC time.")
    var to: String?

    @Option(name: .customLong("symbol"), help: "Only this symbol (repeatable). _cascade.* frames are always kept.")
    var symbols: [String] = []

    @Option(name: .customLong("instruments"), help: "Instruments-info JSON file (REST response) giving tickSize/qtyStep for grid checks.")
    var instrumentsFile: String?

    @Option(name: .customLong("gap-ms"), help: "Receive-time silence that counts as a gap on book and ticker topics.")
    var gapMilliseconds: Int64 = 2_000

    @Option(name: .customLong("event-gap-ms"), help: "Silence reported on event-driven topics (trades, liquidations).")
    var eventGapMilliseconds: Int64 = 60_000

    @Option(name: .customLong("update-id-policy"),
            help: "monotonic (default: Bybit does not promise +1) or strict; DEPTH:POLICY (e.g. 50:strict) sets one depth. Repeatable.")
    var updateIDPolicies: [String] = []

    @Flag(help: "Print the report as JSON.")
    var json = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one frames file") }
        _ = try parsedPolicies()
        if let from, UTCFormat.parseNanoseconds(from) == nil { throw ValidationError("--from: not a UTC time or nanoseconds: \(from)") }
        if let to, UTCFormat.parseNanoseconds(to) == nil { throw ValidationError("--to: not a UTC time or nanoseconds: \(to)") }
    }

    /// `--update-id-policy` values: one bare policy for all depths, `DEPTH:POLICY` for one depth.
    func parsedPolicies() throws -> (all: UpdateIDPolicy, byDepth: [Int: UpdateIDPolicy]) {
        var all = UpdateIDPolicy.monotonic
        var byDepth: [Int: UpdateIDPolicy] = [:]
        for value in updateIDPolicies {
            let parts = value.split(separator: ":")
            if parts.count == 1, let policy = UpdateIDPolicy(rawValue: value) {
                all = policy
            } else if parts.count == 2, let depth = Int(parts[0]), let policy = UpdateIDPolicy(rawValue: String(parts[1])) {
                byDepth[depth] = policy
            } else {
                throw ValidationError("--update-id-policy \(value): expected monotonic, strict or DEPTH:POLICY such as 50:strict")
            }
        }
        return (all, byDepth)
    }

    func run() throws {
        var configuration = AuditConfiguration()
        configuration.streamGapMilliseconds = gapMilliseconds
        configuration.eventGapMilliseconds = eventGapMilliseconds
        let policies = try parsedPolicies()
        configuration.updateIDPolicy = policies.all
        configuration.updateIDPolicyByDepth = policies.byDepth
        let table = try instrumentsFile.map(loadInstruments)?.1 ?? InstrumentTable()
        let options = ReplayOptions(from: from.flatMap(UTCFormat.parseNanoseconds).map(LocalTime.init(nanoseconds:)),
                                    to: to.flatMap(UTCFormat.parseNanoseconds).map(LocalTime.init(nanoseconds:)),
                                    symbols: symbols.isEmpty ? nil : Set(symbols))
        var replayer: Replayer
        do { replayer = try Replayer(paths: files, options: options) } catch {
            throw CLIError("\(error)")
        }
        var auditor = RecordingAuditor(configuration: configuration, instruments: table)
        var perFile = Array(repeating: 0, count: files.count)
        let start = ContinuousClock.now
        while let frame = try replayer.next() {
            perFile[frame.fileIndex] += 1
            auditor.ingest(frame.json.assumingMemoryBound(to: UInt8.self), localTime: frame.localTime)
        }
        let elapsed = ContinuousClock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let summaries = zip(files, replayer.fileStats).enumerated().map { i, pair in
            AuditReport.FileSummary(path: pair.0, frames: perFile[i], malformedLines: pair.1.malformedLines,
                                    tornTail: pair.1.tornTail, corruptMembers: pair.1.corruptMembers)
        }
        let report = auditor.finish(files: summaries, elapsedSeconds: seconds)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.renderText())
        }
    }
}
