import CascadeCore

/// `liquidations` rows → `allLiquidation.{symbol}` messages.
///
/// Tardis's `side` is the side of the liquidation **order** (its Bybit mapper turns Bybit's `Buy` into
/// `sell`); Bybit's `S` is the side of the liquidated **position**. So `sell` (a long was liquidated, the
/// engine sold) becomes `S=Buy`, and `buy` becomes `S=Sell`. Rows sharing `local_timestamp` are one
/// message; `T` = `timestamp` in ms, `v` = `amount`, `p` = `price`. Tardis does not keep the envelope's
/// `ts`: it is the largest `T` of the message (so `ts >= T` for every event, as on Bybit), flagged in
/// `"cascadeSynthetic":["ts"]`. The Tardis `id` has no place in Bybit's shape and is not written.
final class TardisLiquidationsConverter: FrameProducer {
    let dataType = TardisDataType.liquidations
    var inputStats: TardisImportReport.InputStats { source.stats }
    let topic: String

    private struct LiquidationRow: TardisTimedRow {
        var exchangeMicroseconds: Int64
        var localMicroseconds: Int64
        /// Tardis `sell`: a long position was liquidated.
        var longLiquidated: Bool
        var price: Int64
        var amount: Int64
    }

    private let source: TardisRowSource
    private let context: ImportContext
    private let rows: TardisRowGroups<LiquidationRow>

    init(source: TardisRowSource, context: ImportContext) {
        self.source = source
        self.context = context
        rows = TardisRowGroups(source: source, context: context, malformedRows: .skipped)
        topic = "allLiquidation.\(context.symbol)"
    }

    func next() throws(TardisImportError) -> ImportedFrame? {
        guard let rows = try self.rows.next(parse: liquidation)?.rows else { return nil }
        let first = rows[0]
        let ts = rows.map(\.exchangeMicroseconds).max()!.microsecondsToMilliseconds
        var t = FrameText(capacity: 48 + 96 * rows.count)
        t.raw(#"{"topic":"\#(topic)","type":"snapshot","ts":"#)
        t.int(ts)
        t.raw(#","data":["#)
        for (i, row) in rows.enumerated() {
            if i > 0 { t.raw(",") }
            t.raw(#"{"T":"#)
            t.int(row.exchangeMicroseconds.microsecondsToMilliseconds)
            t.raw(#","s":"\#(context.symbol)","S":"\#(row.longLiquidated ? "Buy" : "Sell")","v":"#)
            t.string(context.quantity(row.amount))
            t.raw(#","p":"#)
            t.string(context.price(row.price))
            t.raw("}")
            if row.longLiquidated { context.report.liquidations.longsLiquidated += 1 } else { context.report.liquidations.shortsLiquidated += 1 }
        }
        t.raw(#"],"cascadeSynthetic":["ts"]}"#)
        context.report.liquidations.messages += 1
        context.report.liquidations.events += rows.count
        return ImportedFrame(localTime: first.localMicroseconds.microsecondsAsLocalTime, bytes: t.bytes, topic: topic)
    }

    // MARK: - Rows

    /// The row's own cells; nil for a row with side `unknown` (counted).
    private func liquidation(_ row: TardisRowSource.Row) throws(TardisRowProblem) -> LiquidationRow? {
        if row.localMicroseconds < ImportContext.allLiquidationSinceMicroseconds {
            context.warn("liquidations before 2025-02-26 come from Bybit's throttled liquidation topic (at most one per second per symbol): a sample, not every liquidation")
        }
        let longLiquidated: Bool
        if source.equals(5, "sell") { longLiquidated = true } else if source.equals(5, "buy") { longLiquidated = false } else if source.equals(5, "unknown") {
            context.report.liquidations.rowsWithUnknownSide += 1
            return nil
        } else {
            throw .invalidValue(column: source.column(5), text: source.text(5))
        }
        let price = try source.decimal(6, digits: Price.digits)
        guard price > 0 else { throw .outOfRange(column: source.column(6), text: source.text(6)) }
        let amount = try source.decimal(7, digits: Quantity.digits)
        guard amount > 0 else { throw .outOfRange(column: source.column(7), text: source.text(7)) }
        return LiquidationRow(exchangeMicroseconds: row.exchangeMicroseconds, localMicroseconds: row.localMicroseconds,
                              longLiquidated: longLiquidated, price: price, amount: amount)
    }
}
