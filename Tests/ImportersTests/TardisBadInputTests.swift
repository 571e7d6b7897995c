import CascadeCore
import Importers
import Recording
import Testing

/// Bad input stops the import with a typed error naming the file and line; malformed rows are counted
/// and reported, never dropped silently.
@Suite struct TardisBadInputTests {
    static let bookHeader = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
    static let tradesHeader = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"

    @Test func aFileOfAnotherDataTypeIsRefusedAtItsHeader() {
        let options = TardisImportOptions(symbol: "BTCUSDT", book: csv("trades.csv", Self.tradesHeader + "\n"))
        // Refused when the import is set up, before anything is converted or written.
        #expect(throws: TardisImportError.unexpectedHeader(file: "trades.csv", expected: Self.bookHeader, found: Self.tradesHeader)) {
            try TardisImport(options: options)
        }
        #expect(throws: TardisImportError.emptyInput(file: "empty.csv")) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("empty.csv", "")))
        }
    }

    @Test func tradesAndLiquidationsFilesCannotBeSwappedSilently() throws {
        // Same header: the Tardis file name is the only thing that tells them apart.
        #expect(throws: TardisImportError.namedAsOtherDataType(
            file: "bybit_liquidations_2024-07-19_PERPETUALS.csv.gz", expected: "trades", named: "liquidations")) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("bybit_liquidations_2024-07-19_PERPETUALS.csv.gz", Self.tradesHeader)))
        }
        #expect(throws: TardisImportError.namedAsOtherDataType(file: "dir/bybit_trades_2024-07-19_BTCUSDT.csv", expected: "liquidations", named: "trades")) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", liquidations: csv("dir/bybit_trades_2024-07-19_BTCUSDT.csv", Self.tradesHeader)))
        }
        _ = try convert(TardisImportOptions(symbol: "BTCUSDT", liquidations: csv("bybit_liquidations_2024-07-19_BTCUSDT.csv", Self.tradesHeader)))
    }

    @Test func rowsOfAnotherExchangeStopTheImportAtTheirLine() {
        let text = Self.tradesHeader + "\nbybit,BTCUSDT,1,2,a,buy,1,1\nbybit-spot,BTCUSDT,1,3,b,buy,1,1\n"
        #expect(throws: TardisImportError.wrongExchange(file: "t.csv", line: 3, found: "bybit-spot")) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("t.csv", text)))
        }
    }

    @Test func receiveTimeGoingBackwardsStopsTheImportAtItsLine() {
        // Checked on every row, whatever its symbol: the merge depends on each file being in receive order.
        let text = Self.tradesHeader + "\nbybit,BTCUSDT,1,500,a,buy,1,1\nbybit,ETHUSDT,1,499,b,buy,1,1\n"
        #expect(throws: TardisImportError.receiveTimeWentBackwards(file: "t.csv", line: 3, previousMicroseconds: 500, microseconds: 499)) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("t.csv", text)))
        }
    }

    @Test func damagedGzipIsAnErrorNotAShortRecording() throws {
        var text = Self.tradesHeader + "\n"
        for i in 0..<2_000 { text += "bybit,BTCUSDT,\(1_000 + i),\(1_000 + i),id\(i),buy,100.5,0.25\n" }
        let gzip = try Gzip.compress(Array(text.utf8))
        #expect(throws: TardisImportError.badCompression(file: "cut.csv.gz", message: "the file ends inside a gzip member (truncated)")) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", trades: .memory(name: "cut.csv.gz", bytes: Array(gzip.prefix(gzip.count / 2)))))
        }
        var corrupt = gzip
        corrupt[corrupt.count / 2] ^= 0xFF
        #expect(throws: TardisImportError.self) {
            try convert(TardisImportOptions(symbol: "BTCUSDT", trades: .memory(name: "bad.csv.gz", bytes: corrupt)))
        }
        // The whole file, as gzip, converts completely.
        let (_, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", trades: .memory(name: "ok.csv.gz", bytes: gzip)))
        #expect(report.trades.trades == 2_000)
    }

    @Test func malformedRowsAreCountedWithFileAndLineAndTheRestImports() throws {
        let text = """
            \(Self.tradesHeader)
            bybit,BTCUSDT,1000,1000,a,buy,100.5,0.25
            bybit,BTCUSDT,1000,1001,b,buy,100.5
            bybit,BTCUSDT,1000,1002,c,sideways,100.5,0.25
            bybit,BTCUSDT,1000,1003,d,buy,1e-9,0.25
            bybit,BTCUSDT,1000,1004,e,buy,100.5,-1
            bybit,BTCUSDT,1000,x,f,buy,100.5,0.25
            bybit,BTCUSDT,,1006,g,buy,100.5,0.25
            bybit,BTCUSDT,1000,1007,"h,i",buy,100.5,0.25
            bybit,BTCUSDT,1000,1008,j,sell,100.5,0.25
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("t.csv", text)))
        #expect(report.malformedRows == 6 && report.inputs[0].malformedRows == 6 && report.inputs[0].rows == 9)
        #expect(report.malformedSamples == [
            "t.csv:3: 7 columns, expected 8",
            #"t.csv:4: side "sideways" is not a documented value"#,
            #"t.csv:5: price "1e-9" has more than 8 decimals"#,
            #"t.csv:6: amount "-1" is out of range"#,
            #"t.csv:7: local_timestamp "x" is not a number"#,
            "t.csv:8: timestamp is empty",
        ])
        // The good rows are all there, a quoted id with a comma included.
        #expect(report.trades.trades == 3 && frames.count == 3)
        #expect(frames[1].text.contains(#""i":"h,i""#))
    }

    @Test func moreMalformedRowsThanAllowedStopTheImport() {
        let text = Self.tradesHeader + "\nbybit,BTCUSDT,1,1,a,buy,x,1\nbybit,BTCUSDT,1,2,b,buy,y,1\n"
        let options = TardisImportOptions(symbol: "BTCUSDT", trades: csv("t.csv", text), maxMalformedRows: 1)
        #expect(throws: TardisImportError.tooManyMalformedRows(
            count: 2, firstRows: [#"t.csv:2: price "x" is not a number"#, #"t.csv:3: price "y" is not a number"#])) {
            try convert(options)
        }
    }

    @Test func optionsAreCheckedBeforeAnythingIsConverted() throws {
        #expect(throws: TardisImportError.noInputs) { try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT")) }
        for symbol in ["btc\"usdt", "btcusdt", "BTCUSD", "BTCPERP", "BTCUSDT-27SEP24", "USDT"] {
            #expect(throws: TardisImportError.invalidSymbol(symbol)) {
                try TardisImport(options: TardisImportOptions(symbol: symbol, trades: csv("t.csv", Self.tradesHeader)))
            }
        }
        #expect(throws: TardisImportError.instruments(file: Try.path(Fixture.instruments), message: "does not list ETHUSDT")) {
            try TardisImport(options: TardisImportOptions(symbol: "ETHUSDT", trades: csv("t.csv", Self.tradesHeader),
                                                          instruments: try Fixture.input(Fixture.instruments)))
        }
        #expect(throws: TardisImportError.self) {
            try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT", trades: .file("/nonexistent/trades.csv")))
        }
    }
}

/// Non-throwing fixture path for use inside `#expect(throws:)` arguments.
enum Try {
    static func path(_ name: String) -> String { (try? Fixture.path(name)) ?? name }
}
