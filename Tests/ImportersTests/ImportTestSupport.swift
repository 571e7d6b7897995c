import BybitV5
import CascadeCore
import Foundation
import Importers
import MarketData
import Testing

/// Hand-written Tardis CSV fixtures (built from the documented columns) and helpers to convert and
/// decode them.
enum Fixture {
    static let book = "BTCUSDT_incremental_book_L2.csv"
    static let trades = "BTCUSDT_trades.csv"
    static let liquidations = "BTCUSDT_liquidations.csv"
    static let ticker = "BTCUSDT_derivative_ticker.csv"
    static let instruments = "instruments-info.BTCUSDT.json"

    /// Path of a fixture file.
    static func path(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
                               "missing fixture \(name)")
        return url.path
    }

    /// Text of a fixture file.
    static func text(_ name: String) throws -> String {
        try String(contentsOfFile: try path(name), encoding: .utf8)
    }

    /// A fixture as an import input.
    static func input(_ name: String) throws -> TardisInput { .file(try path(name)) }
}

/// In-memory CSV input.
func csv(_ name: String, _ text: String) -> TardisInput { .memory(name: name, bytes: Array(text.utf8)) }

/// Converts everything; returns the frames in order and the final report.
func convert(_ options: TardisImportOptions) throws -> (frames: [ImportedFrame], report: TardisImportReport) {
    let tardis = try TardisImport(options: options)
    var frames: [ImportedFrame] = []
    while let frame = try tardis.next() { frames.append(frame) }
    return (frames, tardis.report)
}

/// The frames decoded by the production decoder (a decode failure fails the test).
func decode(_ frames: [ImportedFrame], instruments: InstrumentTable = InstrumentTable()) throws
    -> (messages: [BybitPublicMessage], decoder: BybitPublicDecoder) {
    var decoder = BybitPublicDecoder(instruments: instruments)
    var out: [BybitPublicMessage] = []
    for frame in frames {
        do {
            out.append(try decoder.decode(frame.bytes, localTime: frame.localTime))
        } catch {
            Issue.record("frame does not decode (\(error)): \(String(decoding: frame.bytes, as: UTF8.self))")
            throw error
        }
    }
    return (out, decoder)
}

/// Data rows of a CSV text (header dropped), split at commas.
func rows(_ text: String) -> [[String]] {
    text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
}

/// Units of `10^-digits` of a decimal text, through Foundation's `Decimal`: an independent reading of
/// the CSV numbers (scientific notation included) for the reference computations.
func referenceUnits(_ text: String, digits: Int) throws -> Int64 {
    let value = try #require(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), "not a decimal: \(text)")
    var scaled = value * pow(Decimal(10), digits)
    var rounded = Decimal()
    NSDecimalRound(&rounded, &scaled, 0, .plain)
    #expect(rounded == scaled, "\(text) is not exact at \(digits) digits")
    return NSDecimalNumber(decimal: rounded).int64Value
}

/// One side of a book as `(price units, size units)`, best first.
typealias Levels = [[Int64]]

/// The book a reader of the Tardis docs builds straight from incremental_book_L2 rows, with plain
/// dictionaries: skip rows before the first snapshot; a snapshot row after a non-snapshot row clears
/// the book; amount 0 removes a level, anything else sets it. Its state is taken after every group of
/// rows sharing `local_timestamp` and `is_snapshot` (what the importer writes as one message).
struct ReferenceBook {
    var bids: [Int64: Int64] = [:]
    var asks: [Int64: Int64] = [:]

    /// Book state after each message, in order, for the rows of `symbol`.
    static func states(csvText: String, symbol: String = "BTCUSDT") throws -> [(bids: Levels, asks: Levels)] {
        var book = ReferenceBook()
        var seenSnapshot = false
        var previousWasSnapshot = false
        var states: [(bids: Levels, asks: Levels)] = []
        var groupKey: (String, Bool)?
        var groupApplied = false
        func close() {
            if groupApplied { states.append(book.levels) }
            groupApplied = false
        }
        for cells in rows(csvText) where cells[1] == symbol {
            let local = cells[3]
            let isSnapshot = cells[4] == "true"
            if let key = groupKey, key.0 != local || key.1 != isSnapshot { close() }
            groupKey = (local, isSnapshot)
            if !seenSnapshot && !isSnapshot { continue }
            if isSnapshot && !previousWasSnapshot {
                book = ReferenceBook()
                seenSnapshot = true
            }
            previousWasSnapshot = isSnapshot
            let price = try referenceUnits(cells[6], digits: Price.digits)
            let amount = try referenceUnits(cells[7], digits: Quantity.digits)
            if cells[5] == "bid" {
                book.bids[price] = amount == 0 ? nil : amount
            } else {
                book.asks[price] = amount == 0 ? nil : amount
            }
            groupApplied = true
        }
        close()
        return states
    }

    var levels: (bids: Levels, asks: Levels) {
        (bids.sorted { $0.key > $1.key }.map { [$0.key, $0.value] }, asks.sorted { $0.key < $1.key }.map { [$0.key, $0.value] })
    }
}

extension OrderBook {
    /// Every level of a side, best first, as `(price units, size units)`.
    func levels(_ side: BookSide) -> Levels {
        topLevels(side, 10_000).map { [$0.price.units, $0.size.units] }
    }
}

extension ImportedFrame {
    /// The frame's JSON as text.
    var text: String { String(decoding: bytes, as: UTF8.self) }
}
