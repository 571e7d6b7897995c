import CascadeCore

/// `liquidations` rows → `allLiquidation.{symbol}` messages (from 2025-02-26), or `liquidation.{symbol}`
/// messages (before: Tardis then recorded Bybit's old topic, throttled to one event per second per symbol).
///
/// Tardis's `side` is the side of the liquidation **order** (its Bybit mapper turns Bybit's `Buy` into
/// `sell`); Bybit's `S` (and the old topic's `side`) is the side of the liquidated **position**. So `sell`
/// (a long was liquidated, the engine sold) becomes `Buy`, and `buy` becomes `Sell`. The Tardis `id` has no
/// place in Bybit's shapes and is not written. Tardis does not keep the envelope's `ts`: it is synthesised
/// (`"cascadeSynthetic":["ts"]`) as the largest event time of the message, so `ts` is never before an event,
/// as on Bybit.
/// - `allLiquidation`: rows sharing `local_timestamp` are one message, `data` an array of
///   `{"T","s","S","v","p"}` (`T` = `timestamp` in ms, `v` = `amount`, `p` = `price`).
/// - `liquidation` (docs, deprecated topic): one event per message, `data` an object
///   `{"updatedTime","symbol","side","size","price"}`; decoders tag these events `throttled`. Which topic a row
///   goes to is decided by its `local_timestamp`, like the day files Tardis cuts.
final class TardisLiquidationsConverter: FrameProducer {
    let dataType = TardisDataType.liquidations
    var inputStats: TardisImportReport.InputStats { source.stats }

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
    private let allTopic: String
    private let throttledTopic: String
    private var queue: [ImportedFrame] = []

    init(source: TardisRowSource, context: ImportContext) {
        self.source = source
        self.context = context
        rows = TardisRowGroups(source: source, context: context, malformedRows: .skipped)
        allTopic = "allLiquidation.\(context.symbol)"
        throttledTopic = "liquidation.\(context.symbol)"
        context.describe(topic: allTopic, syntheticFields: ["ts"])
        context.describe(
            topic: throttledTopic, syntheticFields: ["ts"],
            note: "\(throttledTopic): liquidations before 2025-02-26 are Tardis's recording of Bybit's throttled liquidation "
                + "topic (at most one per second per symbol): a sample, not every liquidation; written in that topic's shape")
    }

    func next() throws(TardisImportError) -> ImportedFrame? {
        if !queue.isEmpty { return queue.removeFirst() }
        guard let rows = try self.rows.next(parse: liquidation)?.rows else { return nil }
        let local = rows[0].localMicroseconds
        if local < ImportContext.allLiquidationSinceMicroseconds {
            for row in rows { queue.append(throttledFrame(row)) }
        } else {
            queue.append(allFrame(rows))
        }
        for row in rows {
            if row.longLiquidated { context.report.liquidations.longsLiquidated += 1 } else { context.report.liquidations.shortsLiquidated += 1 }
        }
        context.report.liquidations.events += rows.count
        context.report.liquidations.messages += queue.count
        return queue.removeFirst()
    }

    /// One `allLiquidation` message of every row of a receive time.
    private func allFrame(_ rows: [LiquidationRow]) -> ImportedFrame {
        let ts = rows.map(\.exchangeMicroseconds).max()!.microsecondsToMilliseconds
        var t = FrameText(capacity: 48 + 96 * rows.count)
        context.beginEventArray(&t, topic: allTopic, ts: ts)
        for (i, row) in rows.enumerated() {
            if i > 0 { t.raw(",") }
            context.beginEvent(&t, microseconds: row.exchangeMicroseconds, side: row.longLiquidated ? "Buy" : "Sell",
                               amount: row.amount, price: row.price)
            t.raw("}")
        }
        t.raw(#"],"cascadeSynthetic":["ts"]}"#)
        return ImportedFrame(localTime: rows[0].localMicroseconds.microsecondsAsLocalTime, bytes: t.bytes, topic: allTopic)
    }

    /// One `liquidation` message of one row, in the deprecated topic's documented shape.
    private func throttledFrame(_ row: LiquidationRow) -> ImportedFrame {
        let time = row.exchangeMicroseconds.microsecondsToMilliseconds
        var t = FrameText(capacity: 160)
        t.raw(#"{"topic":"\#(throttledTopic)","type":"snapshot","ts":"#)
        t.int(time)
        t.raw(#","data":{"updatedTime":"#)
        t.int(time)
        t.raw(#","symbol":"\#(context.symbol)","side":"\#(row.longLiquidated ? "Buy" : "Sell")","size":"#)
        t.string(context.quantity(row.amount))
        t.raw(#","price":"#)
        t.string(context.price(row.price))
        t.raw(#"},"cascadeSynthetic":["ts"]}"#)
        context.report.liquidations.throttledEvents += 1
        return ImportedFrame(localTime: row.localMicroseconds.microsecondsAsLocalTime, bytes: t.bytes, topic: throttledTopic)
    }

    // MARK: - Rows

    /// The row's own cells; nil for a row with side `unknown` (counted).
    private func liquidation(_ row: TardisRowSource.Row) throws(TardisRowProblem) -> LiquidationRow? {
        // The liquidation order's side: the engine sold (`sell`) when a long was liquidated.
        guard let engineBought = try source.buySide() else {
            context.report.liquidations.rowsWithUnknownSide += 1
            return nil
        }
        let (price, amount) = try source.positivePriceAndAmount()
        return LiquidationRow(exchangeMicroseconds: row.exchangeMicroseconds, localMicroseconds: row.localMicroseconds,
                              longLiquidated: !engineBought, price: price, amount: amount)
    }
}
