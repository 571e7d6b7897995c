import CascadeCore

/// `derivative_ticker` rows → `tickers.{symbol}`: one `snapshot` (the first row with any value), then
/// `delta` messages carrying only the fields that changed, as Bybit's linear ticker does.
///
/// Fields: `fundingRate`, `nextFundingTime` (`funding_timestamp` in ms), `openInterest`, `lastPrice`,
/// `indexPrice`, `markPrice`; `ts` = `timestamp` in ms. An empty cell means "unknown": the field is
/// left out (never invented) and keeps its last value. A row that changes nothing writes nothing, as on
/// Bybit. `predicted_funding_rate` has no Bybit field and is only counted. No `cs` is written (Tardis
/// does not keep it).
final class TardisTickerConverter: FrameProducer {
    let dataType = TardisDataType.derivativeTicker
    var inputStats: TardisImportReport.InputStats { source.stats }
    let topic: String

    /// The carried fields, in Bybit's key order.
    private enum Field: Int, CaseIterable {
        case lastPrice, markPrice, indexPrice, openInterest, nextFundingTime, fundingRate

        var key: String {
            switch self {
            case .lastPrice: "lastPrice"
            case .markPrice: "markPrice"
            case .indexPrice: "indexPrice"
            case .openInterest: "openInterest"
            case .nextFundingTime: "nextFundingTime"
            case .fundingRate: "fundingRate"
            }
        }
    }

    private let source: TardisRowSource
    private let context: ImportContext
    /// Last value written per field (units of its scale; ms for the funding time).
    private var written = [Int64?](repeating: nil, count: Field.allCases.count)
    private var sentSnapshot = false

    init(source: TardisRowSource, context: ImportContext) {
        self.source = source
        self.context = context
        topic = "tickers.\(context.symbol)"
    }

    func next() throws(TardisImportError) -> ImportedFrame? {
        while let event = try source.next() {
            switch event {
            case let .malformed(line, _, problem):
                try context.malformed(file: source.name, line: line, problem)
            case let .row(row):
                let values: [Int64?]
                do throws(TardisRowProblem) {
                    values = try fields()
                } catch {
                    source.countMalformed()
                    try context.malformed(file: source.name, line: row.line, error)
                    continue
                }
                if !source.isEmpty(6) { context.report.ticker.rowsWithPredictedFundingRate += 1 }
                if let frame = frame(values, row: row) { return frame }
            }
        }
        return nil
    }

    private func frame(_ values: [Int64?], row: TardisRowSource.Row) -> ImportedFrame? {
        var changed: [Field] = []
        for field in Field.allCases {
            guard let value = values[field.rawValue], value != written[field.rawValue] else { continue }
            changed.append(field)
            written[field.rawValue] = value
        }
        guard !changed.isEmpty else {
            if sentSnapshot { context.report.ticker.unchangedRows += 1 } else { context.report.ticker.rowsWithoutValues += 1 }
            return nil
        }
        let snapshot = !sentSnapshot
        sentSnapshot = true
        var t = FrameText()
        t.raw(#"{"topic":"\#(topic)","type":"\#(snapshot ? "snapshot" : "delta")","data":{"symbol":"\#(context.symbol)""#)
        for field in changed {
            t.raw(#",""#)
            t.raw(field.key)
            t.raw(#"":"#)
            t.string(text(field, written[field.rawValue]!))
        }
        t.raw(#"},"ts":"#)
        t.int(row.exchangeMicroseconds.microsecondsToMilliseconds)
        t.raw("}")
        if snapshot { context.report.ticker.snapshots += 1 } else { context.report.ticker.deltas += 1 }
        return ImportedFrame(localTime: row.localMicroseconds.microsecondsAsLocalTime, bytes: t.bytes, topic: topic)
    }

    private func text(_ field: Field, _ units: Int64) -> String {
        switch field {
        case .lastPrice: context.price(units)
        case .markPrice, .indexPrice: context.price(units, checkGrid: false)
        case .openInterest: FixedDecimal.format(units, digits: Quantity.digits)
        case .nextFundingTime: String(units)
        case .fundingRate: FixedDecimal.format(units, digits: Rate.digits)
        }
    }

    /// The row's values by ``Field``; nil where the cell is empty.
    private func fields() throws(TardisRowProblem) -> [Int64?] {
        var values = [Int64?](repeating: nil, count: Field.allCases.count)
        if !source.isEmpty(4) {
            let micros = try source.microseconds(4)
            // Bybit's funding time is in whole milliseconds; anything finer is not a Bybit value.
            guard micros % 1_000 == 0 else { throw .invalidValue(column: source.column(4), text: source.text(4)) }
            values[Field.nextFundingTime.rawValue] = micros / 1_000
        }
        values[Field.fundingRate.rawValue] = try source.optionalDecimal(5, digits: Rate.digits)
        if let oi = try source.optionalDecimal(7, digits: Quantity.digits) {
            guard oi >= 0 else { throw .outOfRange(column: source.column(7), text: source.text(7)) }
            values[Field.openInterest.rawValue] = oi
        }
        for (field, index) in [(Field.lastPrice, 8), (.indexPrice, 9), (.markPrice, 10)] {
            if let price = try source.optionalDecimal(index, digits: Price.digits) {
                guard price > 0 else { throw .outOfRange(column: source.column(index), text: source.text(index)) }
                values[field.rawValue] = price
            }
        }
        return values
    }
}
