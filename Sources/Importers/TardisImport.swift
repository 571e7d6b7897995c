import Foundation
import Crypto
import CascadeCore
import BybitV5
public import Recording

/// Converts Tardis.dev CSV files of Bybit USDT perpetuals into Bybit V5 public frames, merged by
/// receive time, so imported history goes down the same path as live recordings (replay, books,
/// features, the simulator).
///
/// ```swift
/// let tardis = try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT", book: .file(bookPath)))
/// let report = try tardis.record(into: recorder)   // then recorder.close()
/// ```
/// Streams in constant memory (one lookahead message per input). Receive time = `local_timestamp` × 1000;
/// exchange times (`ts`, `T`) = `timestamp` in ms. When several inputs have frames at the same receive
/// time they are written in the order book, trades, liquidations, ticker (stable, documented, so an
/// import is reproducible byte for byte); within one input, file order.
public final class TardisImport {
    /// Version of the conversion rules, recorded in every manifest. Bump it whenever the same inputs
    /// would give different frames.
    public static let converterVersion = "2"
    /// The manifests' `createdBy` and provenance `converter`.
    public static let converterName = "cascade import --from tardis"

    /// What the recording's manifests say about where it came from: the inputs and, for each topic written so
    /// far, the fields synthesised and any note on its source (e.g. Bybit's throttled liquidation topic before
    /// 2025-02-26). A manifest says what was known when its file was closed, so it covers its own frames.
    public var provenance: FrameProvenance {
        var p = baseProvenance
        for topic in topicsWritten {
            guard let source = context.topicSources[topic] else { continue }
            if !source.syntheticFields.isEmpty { p.syntheticFields[topic] = source.syntheticFields }
            if let note = source.note { p.notes = (p.notes ?? []) + [note] }
        }
        return p
    }
    /// The instruments document as one line of compact JSON, when one was given (written as
    /// `_cascade.instruments` at the start of every output file by ``record(into:)``).
    public let instrumentsJSON: [UInt8]?

    private let context: ImportContext
    private var producers: [any FrameProducer]
    private var heads: [ImportedFrame?]
    private var finished: [Bool]
    private var inputStats: [TardisImportReport.InputStats?]
    /// SHA-256 of each input before the conversion read it (the manifest is written before the end).
    private let expectedSHA256: [String]
    private var extraFrames: [String: Int] = [:]
    private let baseProvenance: FrameProvenance
    /// Topics with a ``ImportContext/TopicSource`` that have frames, in the order of their first frame.
    private var topicsWritten: [String] = []

    /// Opens the inputs and checks what can be checked before converting: the symbol, the instruments
    /// document, file names and every file's header. Reads each input once to hash it (its SHA-256 goes
    /// into manifests written before the conversion ends; the conversion's own reading must match it).
    public init(options: TardisImportOptions) throws(TardisImportError) {
        let symbol = options.symbol
        // USDT perpetuals only (linear, settled in USDT): the symbol is also written into topics and JSON.
        guard symbol.count > 4, symbol.hasSuffix("USDT"),
              symbol.utf8.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) }) else {
            throw .invalidSymbol(symbol)
        }
        let given: [(TardisDataType, TardisInput?)] = [
            (.incrementalBookL2, options.book), (.trades, options.trades),
            (.liquidations, options.liquidations), (.derivativeTicker, options.ticker),
        ]
        let inputs = given.compactMap { pair in pair.1.map { (pair.0, $0) } }
        guard !inputs.isEmpty else { throw .noInputs }

        var instrument: Instrument?
        var provenanceInputs: [FrameProvenance.Input] = []
        if let source = options.instruments {
            let bytes = try Self.bytes(of: source)
            var table = InstrumentTable()
            do {
                _ = try BybitInstrumentsInfo.decode(bytes, table: &table)
            } catch {
                throw .instruments(file: source.name, message: error.description)
            }
            guard let id = table.lookup(symbol), table[id].rules != nil else {
                throw .instruments(file: source.name, message: "does not list \(symbol)")
            }
            instrument = table[id]
            instrumentsJSON = Self.compactJSON(bytes)
            provenanceInputs.append(FrameProvenance.Input(role: "instruments", file: source.fileName,
                                                          sha256: Self.sha256(bytes), bytes: Int64(bytes.count)))
        } else {
            instrumentsJSON = nil
        }
        context = ImportContext(symbol: symbol, instrument: instrument, maxMalformedRows: options.maxMalformedRows)

        var producers: [any FrameProducer] = []
        var expected: [String] = []
        for (dataType, input) in inputs {
            try Self.checkName(input, as: dataType)
            let (sha, size) = try Self.fingerprint(input)
            expected.append(sha)
            provenanceInputs.append(FrameProvenance.Input(role: dataType.rawValue, file: input.fileName, sha256: sha, bytes: size))
            let reader: CSVLineReader
            switch input.storage {
            case let .file(path): reader = try CSVLineReader(.file(path: path), name: input.name)
            case let .memory(bytes): reader = try CSVLineReader(.memory(bytes), name: input.name)
            }
            let source = TardisRowSource(dataType: dataType, reader: reader, symbol: symbol)
            try source.checkHeader()
            // Each converter describes its topics (synthesised fields, source notes) to the context.
            switch dataType {
            case .incrementalBookL2: producers.append(TardisBookConverter(source: source, context: context))
            case .trades: producers.append(TardisTradesConverter(source: source, context: context))
            case .liquidations: producers.append(TardisLiquidationsConverter(source: source, context: context))
            case .derivativeTicker: producers.append(TardisTickerConverter(source: source, context: context))
            }
        }
        self.producers = producers
        expectedSHA256 = expected
        heads = Array(repeating: nil, count: producers.count)
        finished = Array(repeating: false, count: producers.count)
        inputStats = Array(repeating: nil, count: producers.count)
        baseProvenance = FrameProvenance(
            source: "tardis", exchange: "bybit", symbols: [symbol], converter: Self.converterName,
            converterVersion: Self.converterVersion, inputs: provenanceInputs, syntheticFields: [:])
    }

    /// What the import counted so far (final once ``next()`` returned nil).
    public var report: TardisImportReport {
        var r = context.report
        r.inputs = zip(producers, inputStats).map { producer, final in final ?? producer.inputStats }
        for (topic, count) in extraFrames { r.framesPerTopic[topic, default: 0] += count }
        r.warnings = provenance.notes ?? []
        return r
    }

    /// The next frame in receive-time order, or nil when every input is exhausted.
    public func next() throws(TardisImportError) -> ImportedFrame? {
        var best: Int?
        for i in producers.indices {
            if heads[i] == nil && !finished[i] {
                heads[i] = try producers[i].next()
                if heads[i] == nil { try finish(i) }
            }
            // Producers are in tie order, so only a strictly earlier frame replaces the choice.
            if let frame = heads[i], best.map({ frame.localTime < heads[$0]!.localTime }) ?? true { best = i }
        }
        guard let best, let frame = heads[best] else { return nil }
        heads[best] = nil
        context.report.framesPerTopic[frame.topic, default: 0] += 1
        if context.topicSources[frame.topic] != nil && !topicsWritten.contains(frame.topic) { topicsWritten.append(frame.topic) }
        return frame
    }

    /// Writes every frame into `recorder` (which the caller closes), with ``provenance`` in its manifests
    /// and, when instruments were given, a `_cascade.instruments` frame at the start of every file.
    public func record(into recorder: Recorder) throws(TardisImportError) -> TardisImportReport {
        recorder.provenance = provenance
        var described = topicsWritten.count
        let clock = HookClock()
        if let instrumentsJSON {
            recorder.onNewFile = { [weak self] r throws(RecordingError) in
                try r.recordCascade(topic: .instruments, localTime: clock.time, dataJSON: instrumentsJSON)
                self?.extraFrames[CascadePseudoTopic.instruments.rawValue, default: 0] += 1
            }
        }
        while let frame = try next() {
            clock.time = frame.localTime
            do {
                try recorder.record(localTime: frame.localTime, json: frame.bytes)
            } catch {
                throw .recording(error)
            }
            // After the frame, not before: a file the frame's arrival rotated out does not hold it, and its
            // manifest was written with what described its own frames.
            if topicsWritten.count != described {
                described = topicsWritten.count
                recorder.provenance = provenance
            }
        }
        return report
    }

    // MARK: - Private

    /// The receive time of the frame being recorded, for frames the new-file hook writes before it.
    private final class HookClock {
        var time = LocalTime(nanoseconds: 0)
    }

    private func finish(_ i: Int) throws(TardisImportError) {
        finished[i] = true
        let stats = producers[i].inputStats
        inputStats[i] = stats
        // The manifest already names the hash taken before reading; the bytes converted must be those.
        guard stats.sha256 == expectedSHA256[i] else { throw .inputChanged(file: stats.file) }
    }

    /// `trades` and `liquidations` files have the same header; Tardis names its files
    /// `<exchange>_<data type>_<date>_<symbol>.csv.gz`, so a name carrying the other type is refused.
    private static func checkName(_ input: TardisInput, as dataType: TardisDataType) throws(TardisImportError) {
        let name = input.fileName.lowercased()
        let other: TardisDataType
        switch dataType {
        case .trades: other = .liquidations
        case .liquidations: other = .trades
        case .incrementalBookL2, .derivativeTicker: return
        }
        if name.contains(other.rawValue) && !name.contains(dataType.rawValue) {
            throw .namedAsOtherDataType(file: input.name, expected: dataType.rawValue, named: other.rawValue)
        }
    }

    private static func bytes(of input: TardisInput) throws(TardisImportError) -> [UInt8] {
        switch input.storage {
        case let .memory(bytes):
            return bytes
        case let .file(path):
            do { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw .unreadable(file: path, message: error.localizedDescription)
            }
        }
    }

    private static func fingerprint(_ input: TardisInput) throws(TardisImportError) -> (String, Int64) {
        switch input.storage {
        case let .memory(bytes):
            return (sha256(bytes), Int64(bytes.count))
        case let .file(path):
            do {
                let sha = try FrameManifest.sha256Hex(ofFile: path)
                let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value ?? 0
                return (sha, size)
            } catch {
                throw .unreadable(file: path, message: "\(error)")
            }
        }
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { b in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
        }.joined()
    }

    /// The JSON text without whitespace outside strings: a frame must be one line, and a pretty-printed
    /// instruments file would otherwise break it. Everything else, string contents included, is kept.
    static func compactJSON(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case 0x20, 0x09, 0x0A, 0x0D: continue
            case UInt8(ascii: "\""): inString = true
            default: break
            }
            out.append(b)
        }
        return out
    }
}
