import CascadeCore

/// `trades` rows → `publicTrade.{symbol}` messages.
///
/// Rows sharing `local_timestamp` are one message (split at Bybit's 1024 trades per message). Each trade:
/// `T` = `timestamp` in ms, `S` = the taker side (`buy` → `Buy`, `sell` → `Sell`), `v` = `amount`,
/// `p` = `price`, `i` = `id`, `BT` = false. Tardis does not keep the envelope's `ts`, the block-trade flag,
/// the tick direction or `seq`: `ts` is the largest `T` of the message and `BT` false (both flagged in
/// `"cascadeSynthetic":["ts","BT"]`), and no `L` or `seq` key is written (nothing to compute them from
/// without guessing). A row with side `unknown` cannot be written in Bybit's shape and is counted.
final class TardisTradesConverter: FrameProducer {
    /// Bybit's largest number of trades in one `publicTrade` message.
    static let maxTradesPerMessage = 1024

    let dataType = TardisDataType.trades
    var inputStats: TardisImportReport.InputStats { source.stats }
    let topic: String

    private struct TradeRow: TardisTimedRow {
        var exchangeMicroseconds: Int64
        var localMicroseconds: Int64
        var isBuy: Bool
        var price: Int64
        var amount: Int64
        var id: [UInt8]
    }

    private let source: TardisRowSource
    private let context: ImportContext
    private let rows: TardisRowGroups<TradeRow>
    private var queue: [ImportedFrame] = []

    init(source: TardisRowSource, context: ImportContext) {
        self.source = source
        self.context = context
        rows = TardisRowGroups(source: source, context: context, malformedRows: .skipped)
        topic = "publicTrade.\(context.symbol)"
        context.describe(topic: topic, syntheticFields: ["ts", "BT"])
    }

    func next() throws(TardisImportError) -> ImportedFrame? {
        if !queue.isEmpty { return queue.removeFirst() }
        guard let rows = try self.rows.next(parse: trade)?.rows else { return nil }
        var start = 0
        while start < rows.count {
            let end = min(start + Self.maxTradesPerMessage, rows.count)
            queue.append(frame(rows[start..<end]))
            start = end
        }
        return queue.removeFirst()
    }

    private func frame(_ rows: ArraySlice<TradeRow>) -> ImportedFrame {
        let ts = rows.map(\.exchangeMicroseconds).max()!.microsecondsToMilliseconds
        var t = FrameText(capacity: 48 + 128 * rows.count)
        context.beginEventArray(&t, topic: topic, ts: ts)
        for (i, row) in rows.enumerated() {
            if i > 0 { t.raw(",") }
            context.beginEvent(&t, microseconds: row.exchangeMicroseconds, side: row.isBuy ? "Buy" : "Sell",
                               amount: row.amount, price: row.price)
            t.raw(#","i":"#)
            t.string(utf8: row.id)
            t.raw(#","BT":false}"#)
            if row.isBuy { context.report.trades.takerBuys += 1 } else { context.report.trades.takerSells += 1 }
            if row.id.isEmpty { context.report.trades.tradesWithoutID += 1 }
        }
        t.raw(#"],"cascadeSynthetic":["ts","BT"]}"#)
        context.report.trades.messages += 1
        context.report.trades.trades += rows.count
        let local = rows[rows.startIndex].localMicroseconds
        return ImportedFrame(localTime: local.microsecondsAsLocalTime, bytes: t.bytes, topic: topic)
    }

    // MARK: - Rows

    /// The row's own cells; nil for a row with side `unknown` (counted).
    private func trade(_ row: TardisRowSource.Row) throws(TardisRowProblem) -> TradeRow? {
        guard let isBuy = try source.buySide() else {
            context.report.trades.rowsWithUnknownSide += 1
            return nil
        }
        let (price, amount) = try source.positivePriceAndAmount()
        return TradeRow(exchangeMicroseconds: row.exchangeMicroseconds, localMicroseconds: row.localMicroseconds,
                        isBuy: isBuy, price: price, amount: amount, id: Array(source.line[source.cells[4]]))
    }
}
