import CascadeCore
import Recording

/// `incremental_book_L2` rows → `orderbook.50.{symbol}` (from 2023-04-05) or `orderbook.25.{symbol}` (before)
/// snapshot and delta messages.
///
/// Rules (Tardis docs, "incremental_book_L2"; the Bybit V5 data is Bybit's `orderbook.50` stream; before
/// 2023-04-05 Tardis recorded the older API's 25-level book, per tardis-node's Bybit mapper selection):
/// - the topic is the depth of the stream the rows came from, by `local_timestamp`: a book of 25 levels must
///   not be labelled 50, or a consumer would take its 25th level for the edge of the whole book. A file that
///   spans 2023-04-05 switches topic there: a `_cascade.session` resync of the 25-level topic, and the
///   50-level topic starts at the first snapshot run that begins on or after that day (rows before it are
///   skipped and counted);
/// - rows sharing `local_timestamp` (and `is_snapshot`) are one message;
/// - rows before the first `is_snapshot=true` row are skipped (counted);
/// - a run of snapshot rows after a non-snapshot row resets the book: a new `snapshot` message;
///   if the run spans several receive times, its later parts are written as `delta` messages (the same
///   book as applying the run at once, without moving rows in time);
/// - `amount` 0 deletes a level; bids are written descending, asks ascending; a price repeated in one
///   message keeps its last amount, as applying the rows in order would.
///
/// Tardis keeps neither `u` nor `seq` nor `cts`. `u` is synthesised (+1 per message from 1, never reset,
/// so a restart snapshot is told by its `type`, not by `u == 1`) and flagged in the envelope
/// (`"cascadeSynthetic":["u"]`, skipped by decoders); `seq` and `cts` are left out (decoders treat them
/// as absent). A malformed row drops its whole message: the book is stale from there, so a
/// `_cascade.session` resync frame is written and rows are skipped until the next snapshot run (one that
/// follows a delta row: when the dropped message ended in a malformed row, its kind is unknown and it is taken
/// as a snapshot row, so the later part of a run it may have begun never passes for a whole snapshot).
final class TardisBookConverter: FrameProducer {
    /// The depth of the Bybit book stream Tardis recorded at receive time `local` (µs): `orderbook.50` of
    /// Bybit V5 from 2023-04-05, the older API's 25-level book before.
    static func depth(atMicroseconds local: Int64) -> Int {
        local < ImportContext.bybitV5SinceMicroseconds ? 25 : 50
    }

    let dataType = TardisDataType.incrementalBookL2
    var inputStats: TardisImportReport.InputStats { source.stats }

    private struct Level: TardisTimedRow {
        var exchangeMicroseconds: Int64
        var localMicroseconds: Int64
        var isSnapshot: Bool
        var isBid: Bool
        var price: Int64
        var amount: Int64
    }

    private enum State { case beforeFirstSnapshot, synced, awaitingSnapshot }

    private let source: TardisRowSource
    private let context: ImportContext
    private let rows: TardisRowGroups<Level>
    private var state = State.beforeFirstSnapshot
    private var previousRowWasSnapshot = false
    private var updateID: UInt64 = 0
    private var lastLocalMicroseconds: Int64 = 0
    private var queue: [ImportedFrame] = []
    /// The depth of the rows being converted (0 before the first row with a receive time) and its topic.
    private var depth = 0
    private var topic = ""

    init(source: TardisRowSource, context: ImportContext) {
        self.source = source
        self.context = context
        rows = TardisRowGroups(source: source, context: context, malformedRows: .grouped)
        let symbol = context.symbol
        context.describe(topic: "orderbook.50.\(symbol)", syntheticFields: ["u"])
        context.describe(
            topic: "orderbook.25.\(symbol)", syntheticFields: ["u"],
            note: "orderbook.25.\(symbol): book rows before 2023-04-05 are Tardis's recording of Bybit's pre-V5 25-level book "
                + "stream, written as orderbook.25 (at most 25 levels a side), not as the orderbook.50 of later days")
    }

    func next() throws(TardisImportError) -> ImportedFrame? {
        while queue.isEmpty {
            // One message: rows sharing a receive time and `is_snapshot`.
            guard let group = try rows.next(parse: level, sameMessage: { $0.isSnapshot == $1.isSnapshot }) else { return nil }
            if let local = group.localMicroseconds { setDepth(at: local) }
            try message(group)
        }
        return queue.removeFirst()
    }

    // MARK: - Messages

    private func message(_ group: TardisRowGroups<Level>.Group) throws(TardisImportError) {
        for bad in group.malformed { try context.malformed(file: source.name, line: bad.line, bad.problem) }
        // Whether the next snapshot rows start a new run depends on the kind of the row before them, malformed or
        // not. A malformed last row's kind is unknown: it is taken as a snapshot row, so the later part of a run it
        // may have begun is never written as a (partial) snapshot; the book waits for the next run instead.
        let endsWithSnapshotRow = group.endsMalformed || group.rows.last?.isSnapshot ?? true
        defer { previousRowWasSnapshot = endsWithSnapshotRow }
        if group.startsMalformed {
            // Rows of the same message (same receive time) go with it.
            context.report.book.rowsDroppedWithMalformedMessage += group.rows.count
            markStale(at: group.localMicroseconds, reason: malformedReason(group.malformed[0].line))
            return
        }
        let levels = group.rows
        let first = levels[0]
        let startsRun = first.isSnapshot && !previousRowWasSnapshot
        if !group.malformed.isEmpty {
            context.report.book.rowsDroppedWithMalformedMessage += levels.count
            markStale(at: first.localMicroseconds, reason: malformedReason(group.malformed[0].line))
            return
        }
        if startsRun {
            if state != .beforeFirstSnapshot { context.report.book.restarts += 1 }
            state = .synced
            emit(levels, snapshot: true)
            return
        }
        guard state == .synced else {
            if state == .beforeFirstSnapshot {
                context.report.book.rowsBeforeFirstSnapshot += levels.count
            } else {
                context.report.book.rowsSkippedAwaitingSnapshot += levels.count
            }
            return
        }
        if first.isSnapshot { context.report.book.snapshotContinuations += 1 }
        emit(levels, snapshot: false)
    }

    private func emit(_ levels: [Level], snapshot: Bool) {
        // Last amount per price and side, as applying the rows in order would leave it.
        var bids: [Int64: Int64] = [:]
        var asks: [Int64: Int64] = [:]
        var exchangeMicroseconds: Int64 = 0
        for l in levels {
            if l.isBid { bids[l.price] = l.amount } else { asks[l.price] = l.amount }
            exchangeMicroseconds = max(exchangeMicroseconds, l.exchangeMicroseconds)
        }
        if snapshot {
            // A fresh book has nothing to delete: Bybit snapshots carry no "0" sizes.
            let zeros = bids.values.filter { $0 == 0 }.count + asks.values.filter { $0 == 0 }.count
            context.report.book.zeroLevelsInSnapshots += zeros
            bids = bids.filter { $0.value != 0 }
            asks = asks.filter { $0.value != 0 }
        }
        updateID += 1
        var t = FrameText(capacity: 64 + 24 * (bids.count + asks.count))
        t.raw(#"{"topic":"\#(topic)","type":"\#(snapshot ? "snapshot" : "delta")","ts":"#)
        t.int(exchangeMicroseconds.microsecondsToMilliseconds)
        t.raw(#","data":{"s":"\#(context.symbol)","b":["#)
        side(&t, bids.sorted { $0.key > $1.key })
        t.raw(#"],"a":["#)
        side(&t, asks.sorted { $0.key < $1.key })
        t.raw(#"],"u":"#)
        t.int(updateID)
        t.raw(#"},"cascadeSynthetic":["u"]}"#)
        if snapshot { context.report.book.snapshots += 1 } else { context.report.book.deltas += 1 }
        context.report.book.levels += bids.count + asks.count
        let local = levels[0].localMicroseconds
        lastLocalMicroseconds = local
        queue.append(ImportedFrame(localTime: local.microsecondsAsLocalTime, bytes: t.bytes, topic: topic))
    }

    private func side(_ t: inout FrameText, _ levels: [(key: Int64, value: Int64)]) {
        for (i, level) in levels.enumerated() {
            if i > 0 { t.raw(",") }
            t.raw("[")
            t.string(context.price(level.key))
            t.raw(",")
            t.string(context.quantity(level.value))
            t.raw("]")
        }
    }

    /// The topic of the rows at receive time `local`. Receive times never go back, so the only change is from 25
    /// to 50 levels, at 2023-04-05: the 25-level book ends there (a resync tells consumers so), and the 50-level
    /// one needs a snapshot run that starts from then on; a run already under way does not (see ``message(_:)``).
    private func setDepth(at local: Int64) {
        let depth = Self.depth(atMicroseconds: local)
        guard depth != self.depth else { return }
        if self.depth != 0 {
            context.report.book.depthChanges += 1
            markStale(at: local, reason: "import: Tardis's Bybit book changes from the 25-level to the 50-level stream on 2023-04-05",
                      countsAsResync: false)
        }
        self.depth = depth
        topic = "orderbook.\(depth).\(context.symbol)"
    }

    private func malformedReason(_ line: Int) -> String { "import: malformed row \(source.name):\(line)" }

    /// After a lost message the book can no longer be trusted: tell every consumer (a resync session
    /// frame, as the live recorder writes when it resubscribes) and wait for the next snapshot run.
    private func markStale(at local: Int64?, reason: String, countsAsResync: Bool = true) {
        guard state == .synced else {
            if state == .beforeFirstSnapshot { return }
            state = .awaitingSnapshot
            return
        }
        state = .awaitingSnapshot
        let at = max(local ?? lastLocalMicroseconds, lastLocalMicroseconds)
        lastLocalMicroseconds = at
        var data = FrameText()
        data.raw(#"{"event":"resync","topic":"\#(topic)","reason":"#)
        data.string(reason)
        data.raw("}")
        let time = at.microsecondsAsLocalTime
        let json = CascadePseudoTopic.session.frameJSON(localTimeNanoseconds: time.nanoseconds, dataJSON: data.bytes)
        if countsAsResync { context.report.book.resyncs += 1 }
        queue.append(ImportedFrame(localTime: time, bytes: json, topic: CascadePseudoTopic.session.rawValue))
    }

    // MARK: - Rows

    /// The row's own cells.
    private func level(_ row: TardisRowSource.Row) throws(TardisRowProblem) -> Level {
        let isSnapshot: Bool
        if source.equals(4, "true") { isSnapshot = true } else if source.equals(4, "false") { isSnapshot = false } else {
            throw .invalidValue(column: source.column(4), text: source.text(4))
        }
        let isBid: Bool
        if source.equals(5, "bid") { isBid = true } else if source.equals(5, "ask") { isBid = false } else {
            throw .invalidValue(column: source.column(5), text: source.text(5))
        }
        let price = try source.decimal(6, digits: Price.digits)
        guard price > 0 else { throw .outOfRange(column: source.column(6), text: source.text(6)) }
        let amount = try source.decimal(7, digits: Quantity.digits)
        guard amount >= 0 else { throw .outOfRange(column: source.column(7), text: source.text(7)) }
        return Level(exchangeMicroseconds: row.exchangeMicroseconds, localMicroseconds: row.localMicroseconds,
                     isSnapshot: isSnapshot, isBid: isBid, price: price, amount: amount)
    }
}
