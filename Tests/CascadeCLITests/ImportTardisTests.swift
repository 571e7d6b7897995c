import CascadeTesting
import Foundation
import Recording
import RecordingAudit
import Testing

/// `cascade import --from tardis`, run as the user runs it: counts per topic on stdout, a recording that
/// `cascade replay` reads without a decode error, and bad input refused with file and line.
@Suite("cascade import --from tardis")
struct ImportTardisTests {
    /// The hand-written Tardis fixtures of the Importers tests.
    static func fixture(_ name: String) -> String {
        SharedData.packageRoot.appendingPathComponent("Tests/ImportersTests/Fixtures/\(name)").path
    }

    @Test func importsTheFourDataTypesIntoAReplayableRecordingAndPrintsCountsPerTopic() throws {
        let dir = try TemporaryDirectory("import-tardis")
        defer { dir.remove() }
        let out = dir.file("out")
        let result = try ChildProcess.run([
            "import", "--from", "tardis", "--symbol", "BTCUSDT",
            "--book", Self.fixture("BTCUSDT_incremental_book_L2.csv"), "--trades", Self.fixture("BTCUSDT_trades.csv"),
            "--liquidations", Self.fixture("BTCUSDT_liquidations.csv"), "--ticker", Self.fixture("BTCUSDT_derivative_ticker.csv"),
            "--instruments", Self.fixture("instruments-info.BTCUSDT.json"), "--out", out, "--prefix", "tardis",
        ])
        #expect(result.succeeded, "import failed: \(result.standardError)")
        let stdout = result.standardOutput
        for line in [
            "imported 20 frames into 1 file(s)",
            "  orderbook.50.BTCUSDT  frames=7 snapshots=2 restarts=1 deltas=5",
            "  publicTrade.BTCUSDT  frames=4 trades=5 taker-buys=2 taker-sells=3",
            // 2024 liquidations: Bybit's throttled topic, written as such, one event per message.
            "  liquidation.BTCUSDT  frames=4 liquidations=4 longs-liquidated=3 shorts-liquidated=1 throttled=4",
            "  tickers.BTCUSDT  frames=4 snapshots=1 deltas=3",
            "  _cascade.instruments  frames=1",
            "left out: book-rows-before-first-snapshot=2 ticker-rows-unchanged=1",
            "warning: liquidation.BTCUSDT: liquidations before 2025-02-26 are Tardis's recording of Bybit's throttled",
            "malformed rows: 0",
        ] {
            #expect(stdout.contains(line), "missing \"\(line)\" in:\n\(stdout)")
        }
        #expect(result.errorLines == ["flushed 20"])

        let files = try TemporaryDirectory.dataFiles(in: out)
        try #require(files.count == 1)
        let manifest = try FrameManifest.read(forDataFile: files[0])
        #expect(manifest.provenance?.source == "tardis" && manifest.provenance?.inputs.count == 5)
        #expect(manifest.provenance?.notes?.count == 1 && manifest.provenance?.syntheticFields["liquidation.BTCUSDT"] == ["ts"])

        let replay = try ChildProcess.run(["replay", "--json"] + files)
        #expect(replay.succeeded, "replay failed: \(replay.standardError)")
        let report = try decodeReport(replay)
        #expect(report.decodeErrors.isEmpty && report.unknownTopics.isEmpty && report.frames == 20)
        let book = try #require(report.books.first)
        #expect(book.synced && book.crossedBooks == 0 && book.snapshots == 2)
        #expect(report.symbols.first?.liquidationsLongs == 3 && report.symbols.first?.offGridPrices == 0)
    }

    @Test func badInputIsRefusedWithFileAndLineAndNoRecording() throws {
        let dir = try TemporaryDirectory("import-tardis-bad")
        defer { dir.remove() }
        let trades = dir.file("t.csv")
        try writeBytes(Array("""
            exchange,symbol,timestamp,local_timestamp,id,side,price,amount
            bybit,BTCUSDT,1000,1000,a,buy,100,1
            bybit,BTCUSDT,1000,1001,b,buy,100,1
            bybit-spot,BTCUSDT,1000,1002,c,buy,100,1

            """.utf8), to: trades)
        let result = try ChildProcess.run(["import", "--from", "tardis", "--symbol", "BTCUSDT", "--trades", trades, "--out", dir.file("out")])
        #expect(result.finishedInTime && result.reason == .exit && result.status != 0)
        #expect(result.standardError.contains(#"t.csv:4: exchange is "bybit-spot", expected "bybit""#), "\(result.standardError)")
        // The frame before the bad row was written without a manifest, and the message says so.
        #expect(result.standardError.contains("without manifests"))
        #expect(try TemporaryDirectory.manifestFiles(in: dir.file("out")).isEmpty)

        let noSymbol = try ChildProcess.run(["import", "--from", "tardis", "--trades", trades, "--out", dir.file("out2")])
        #expect(noSymbol.status != 0 && noSymbol.standardError.contains("--from tardis needs --symbol"))
        let mixed = try ChildProcess.run(["import", trades, "--book", trades, "--out", dir.file("out3")])
        #expect(mixed.status != 0 && mixed.standardError.contains("need --from tardis"))
        // A file of the wrong data type is refused before the output directory is created.
        let wrongType = try ChildProcess.run(["import", "--from", "tardis", "--symbol", "BTCUSDT", "--book", trades, "--out", dir.file("out4")])
        #expect(wrongType.status != 0 && wrongType.standardError.contains("t.csv:1: header is"))
        for name in ["out2", "out3", "out4"] { #expect(!FileManager.default.fileExists(atPath: dir.file(name)), "\(name) created") }
    }
}
