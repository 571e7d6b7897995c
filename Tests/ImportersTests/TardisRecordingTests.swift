import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import Importers
import Recording
import RecordingAudit
import Testing

/// The four inputs merged into one recording through the Recorder: manifests with provenance, and a
/// replay through the audit behind `cascade replay` without a decode error.
@Suite struct TardisRecordingTests {
    static func allInputs(instruments: Bool = false) throws -> TardisImportOptions {
        TardisImportOptions(symbol: "BTCUSDT", book: try Fixture.input(Fixture.book), trades: try Fixture.input(Fixture.trades),
                            liquidations: try Fixture.input(Fixture.liquidations), ticker: try Fixture.input(Fixture.ticker),
                            instruments: instruments ? try Fixture.input(Fixture.instruments) : nil)
    }

    /// Imports into a fresh directory; returns the data files and the report.
    static func record(_ options: TardisImportOptions, in dir: TemporaryDirectory,
                       rotation: RotationPolicy = RotationPolicy()) throws -> (files: [String], report: TardisImportReport) {
        let recorder = try Recorder(directory: dir.file("out"), filePrefix: "tardis", rotation: rotation,
                                    flushPolicy: FlushPolicy(maxFrames: 4, maxAgeNanoseconds: nil), createdBy: TardisImport.converterName)
        let report = try TardisImport(options: options).record(into: recorder)
        try recorder.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("out"))
            .filter { $0.hasSuffix(".frames.gz") }.sorted().map { dir.file("out") + "/" + $0 }
        return (files, report)
    }

    /// Every frame of the files, in replay order.
    static func replay(_ files: [String]) throws -> [FrameRecord] {
        var replayer = try Replayer(paths: files)
        var frames: [FrameRecord] = []
        while let frame = try replayer.next() { frames.append(FrameRecord(localTime: frame.localTime, bytes: frame.bytes)) }
        return frames
    }

    @Test func anImportedRecordingReplaysWithoutDecodeErrorsAndItsBookNeverCrosses() throws {
        let dir = try TemporaryDirectory("tardis-replay")
        defer { dir.remove() }
        let (files, report) = try Self.record(try Self.allInputs(), in: dir)
        try #require(files.count == 1)
        let frames = try Self.replay(files)
        // The fixture's 2024 liquidations are Bybit's throttled topic: one message per event.
        #expect(frames.count == report.frames && report.frames == 7 + 4 + 4 + 4)
        // One time-ordered stream: receive times never go back.
        #expect(zip(frames, frames.dropFirst()).allSatisfy { $0.localTime <= $1.localTime })
        var auditor = RecordingAuditor()
        for frame in frames {
            var bytes = frame.bytes
            bytes.withUnsafeMutableBufferPointer { auditor.ingest(UnsafeBufferPointer($0), localTime: frame.localTime) }
        }
        let audit = auditor.finish()
        #expect(audit.decodeErrors.isEmpty && audit.unknownTopics.isEmpty, "\(audit.decodeErrors) \(audit.unknownTopics)")
        let book = try #require(audit.books.first)
        #expect(book.synced && book.crossedBooks == 0 && book.updateIDRegressions == 0 && book.updateIDJumps == 0)
        #expect(book.snapshots == 2 && book.restartSnapshots == 0 && book.deltasIgnoredUntilSnapshot == 0)
        #expect(book.bestBid?.map(canonical) == ["63950.5", "0.9"] && book.bestAsk?.map(canonical) == ["63951.8", "0.6"])
        let symbol = try #require(audit.symbols.first)
        #expect(symbol.trades == 5 && symbol.liquidationsLongs == 3 && symbol.liquidationsShorts == 1)
        #expect(report.framesPerTopic == ["orderbook.50.BTCUSDT": 7, "publicTrade.BTCUSDT": 4, "liquidation.BTCUSDT": 4, "tickers.BTCUSDT": 4])
    }

    @Test func tiesAtOneReceiveTimeKeepTheDocumentedOrder() throws {
        // The book delta and a trade both arrived at 1721347200042000 µs: book first, then trades.
        let (frames, _) = try convert(try Self.allInputs())
        let tied = frames.filter { $0.localTime == LocalTime(nanoseconds: 1_721_347_200_042_000_000) }
        #expect(tied.map(\.topic) == ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"])
        // The same inputs give the same bytes every time.
        #expect(try convert(try Self.allInputs()).frames == frames)
    }

    @Test func manifestsRecordTheProvenanceOfTheImport() throws {
        let dir = try TemporaryDirectory("tardis-provenance")
        defer { dir.remove() }
        // Rotate every 30 s of receive time: the book's restart a minute later opens a second file.
        let (files, _) = try Self.record(try Self.allInputs(instruments: true), in: dir,
                                         rotation: RotationPolicy(maxAgeNanoseconds: 30_000_000_000, maxBytes: nil))
        try #require(files.count == 2)
        for file in files {
            let manifest = try FrameManifest.read(forDataFile: file)
            #expect(manifest.createdBy == "cascade import --from tardis")
            let provenance = try #require(manifest.provenance)
            #expect(provenance.source == "tardis" && provenance.exchange == "bybit" && provenance.symbols == ["BTCUSDT"])
            #expect(provenance.converter == "cascade import --from tardis" && provenance.converterVersion == TardisImport.converterVersion)
            #expect(provenance.inputs.map(\.role) == ["instruments", "incremental_book_L2", "trades", "liquidations", "derivative_ticker"])
            for (input, name) in zip(provenance.inputs, [Fixture.instruments, Fixture.book, Fixture.trades, Fixture.liquidations, Fixture.ticker]) {
                #expect(input.file == name)
                #expect(input.sha256 == (try FrameManifest.sha256Hex(ofFile: try Fixture.path(name))))
                #expect(input.bytes == Int64(try Data(contentsOf: URL(fileURLWithPath: try Fixture.path(name))).count))
            }
            #expect(provenance.syntheticFields == ["orderbook.50.BTCUSDT": ["u"], "publicTrade.BTCUSDT": ["ts", "BT"], "liquidation.BTCUSDT": ["ts"]])
            // The era note of the throttled liquidations is stored, not only printed.
            #expect(provenance.notes?.count == 1 && provenance.notes?.first?.hasPrefix("liquidation.BTCUSDT: ") == true)
            // Every file starts self-describing with the user's instruments document.
            let first = try #require(try Self.replay([file]).first)
            #expect(String(decoding: first.bytes, as: UTF8.self).hasPrefix(#"{"topic":"_cascade.instruments","#))
            #expect(manifest.framesPerTopic["_cascade.instruments"] == 1)
        }
        // Replayed with the recorded rules, every price and size is on Bybit's grid.
        var auditor = RecordingAuditor()
        for frame in try Self.replay(files) {
            var bytes = frame.bytes
            bytes.withUnsafeMutableBufferPointer { auditor.ingest(UnsafeBufferPointer($0), localTime: frame.localTime) }
        }
        let audit = auditor.finish()
        #expect(audit.decodeErrors.isEmpty && audit.instrumentSnapshots == 2)
        #expect(audit.symbols.first?.rulesKnown == true && audit.symbols.first?.offGridPrices == 0 && audit.symbols.first?.offGridQuantities == 0)
    }

    @Test func manifestsWithoutProvenanceStillDecodeAndWriteNoProvenanceKey() throws {
        let old = """
            {"bytes":10,"closedCleanly":true,"createdBy":"cascade record","file":"a.frames.gz","firstLocalTimeNs":1,"format":"cascade-frames-v1",\
            "frames":1,"framesPerTopic":{"t":1},"framesWithoutTopic":0,"gzipMembers":1,"lastLocalTimeNs":1,"sha256":"00"}
            """
        let manifest = try JSONDecoder().decode(FrameManifest.self, from: Data(old.utf8))
        #expect(manifest.provenance == nil && manifest.createdBy == "cascade record")
        #expect(!String(decoding: try manifest.encoded(), as: UTF8.self).contains("provenance"))
    }

    @Test func gzipInputGivesTheSameFramesAsPlainText() throws {
        let plain = try convert(try Self.allInputs())
        var gzipped = TardisImportOptions(symbol: "BTCUSDT")
        let inputs: [(String, WritableKeyPath<TardisImportOptions, TardisInput?>)] = [
            (Fixture.book, \.book), (Fixture.trades, \.trades), (Fixture.liquidations, \.liquidations), (Fixture.ticker, \.ticker),
        ]
        for (name, keyPath) in inputs {
            let bytes = try Gzip.compress(Array(try Fixture.text(name).utf8))
            gzipped[keyPath: keyPath] = .memory(name: name + ".gz", bytes: bytes)
        }
        let compressed = try convert(gzipped)
        #expect(compressed.frames == plain.frames)
        #expect(compressed.report.framesPerTopic == plain.report.framesPerTopic)
    }

    /// `63950.50` → `63950.5`.
    func canonical(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var s = Substring(text)
        while s.hasSuffix("0") { s = s.dropLast() }
        if s.hasSuffix(".") { s = s.dropLast() }
        return String(s)
    }
}
