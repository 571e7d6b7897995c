import CascadeCore

/// State the converters of one import share: the symbol, how values are printed, the malformed-row
/// log and the report they fill in. One per import, used from one thread.
final class ImportContext {
    /// The imported symbol.
    let symbol: String
    /// The instrument with the user's rules, if an instruments file was given.
    let instrument: Instrument?
    /// What the import counted so far.
    var report = TardisImportReport()
    /// Malformed rows allowed before the import stops (nil: no limit).
    let maxMalformedRows: Int?
    /// How many `file:line: problem` samples the report keeps.
    let samplesKept = 20

    init(symbol: String, instrument: Instrument?, maxMalformedRows: Int?) {
        self.symbol = symbol
        self.instrument = instrument
        self.maxMalformedRows = maxMalformedRows
    }

    /// Counts a malformed row and stops the import when there are more than allowed.
    func malformed(file: String, line: Int, _ problem: TardisRowProblem) throws(TardisImportError) {
        report.malformedRows += 1
        if report.malformedSamples.count < samplesKept { report.malformedSamples.append("\(file):\(line): \(problem)") }
        if let maxMalformedRows, report.malformedRows > maxMalformedRows {
            throw .tooManyMalformedRows(count: report.malformedRows, firstRows: report.malformedSamples)
        }
    }

    // MARK: - Topics

    /// What the manifest says about one output topic once a frame of it is written.
    struct TopicSource {
        /// Frame fields the converter synthesised (``FrameProvenance/syntheticFields``).
        var syntheticFields: [String]
        /// Where the topic's data came from, when a reader could assume otherwise (``FrameProvenance/notes``,
        /// and a warning in the report).
        var note: String?
    }

    /// Every topic a converter may write that has something to say, by topic.
    private(set) var topicSources: [String: TopicSource] = [:]

    /// Declares what the manifest says about `topic` if a frame of it is written.
    func describe(topic: String, syntheticFields: [String], note: String? = nil) {
        topicSources[topic] = TopicSource(syntheticFields: syntheticFields, note: note)
    }

    // MARK: - Source eras

    /// 2023-04-05T00:00Z: from this day Tardis records Bybit's V5 streams (`orderbook.50`, `publicTrade`,
    /// `tickers`); before it, the older API (a 25-level book). From tardis-node's Bybit mapper selection.
    /// Rows are placed by `local_timestamp` (Tardis's own day boundaries).
    static let bybitV5SinceMicroseconds: Int64 = 1_680_652_800_000_000
    /// 2025-02-26T00:00Z: from this day Tardis's Bybit liquidations come from `allLiquidation`; before it,
    /// from the `liquidation` topic Bybit throttled to one event per second per symbol (a sample).
    static let allLiquidationSinceMicroseconds: Int64 = 1_740_528_000_000_000

    // MARK: - Printing messages

    /// `{"topic":…,"type":"snapshot","ts":…,"data":[` — a `publicTrade` or `allLiquidation` message up to its events.
    func beginEventArray(_ t: inout FrameText, topic: String, ts: Int64) {
        t.raw(#"{"topic":"\#(topic)","type":"snapshot","ts":"#)
        t.int(ts)
        t.raw(#","data":["#)
    }

    /// `{"T":…,"s":…,"S":…,"v":…,"p":…` — one trade or liquidation, left open for the keys trades add.
    func beginEvent(_ t: inout FrameText, microseconds: Int64, side: StaticString, amount: Int64, price: Int64) {
        t.raw(#"{"T":"#)
        t.int(microseconds.microsecondsToMilliseconds)
        t.raw(#","s":"\#(symbol)","S":"\#(side)","v":"#)
        t.string(quantity(amount))
        t.raw(#","p":"#)
        t.string(self.price(price))
    }

    // MARK: - Printing values

    /// A price as Bybit prints it: with the instrument's `priceScale` decimals when the rules are known,
    /// else the exact value with no trailing zeros. Never rounded. `checkGrid` counts prices off the tick
    /// grid (traded and quoted prices only: index and mark prices are not on it).
    func price(_ units: Int64, checkGrid: Bool = true) -> String {
        if let instrument {
            if checkGrid, let rules = instrument.rules, !rules.isOnPriceGrid(Price(units: units)) { report.offGridPrices += 1 }
            return instrument.format(Price(units: units))
        }
        return FixedDecimal.format(units, digits: Price.digits)
    }

    /// A size: `"0"` for a deleted level (as Bybit prints it), else with the instrument's step decimals
    /// when known, else the exact value with no trailing zeros.
    func quantity(_ units: Int64) -> String {
        if units == 0 { return "0" }
        if let instrument {
            if let rules = instrument.rules, !rules.isOnQuantityGrid(Quantity(units: units)) { report.offGridQuantities += 1 }
            return instrument.format(Quantity(units: units))
        }
        return FixedDecimal.format(units, digits: Quantity.digits)
    }
}
