import Importers
import Recording

extension ImportCommand {
    /// `--from tardis`: converts the named CSV files and prints what went where (counts per topic, rows
    /// skipped and why, malformed rows with file and line, the inputs' SHA-256).
    func importTardis() throws {
        let options = TardisImportOptions(
            symbol: symbol ?? "", book: book.map(TardisInput.file), trades: trades.map(TardisInput.file),
            liquidations: liquidations.map(TardisInput.file), ticker: ticker.map(TardisInput.file),
            instruments: instruments.map(TardisInput.file), maxMalformedRows: maxMalformed)
        // Inputs are opened and their headers checked before the output directory is touched.
        let tardis: TardisImport
        do { tardis = try TardisImport(options: options) } catch { throw CLIError(error.description) }
        let recorder = try makeRecorder(createdBy: TardisImport.converterName)
        let report: TardisImportReport
        do {
            report = try tardis.record(into: recorder)
        } catch {
            // The files written so far keep no manifest (as after a crash): a partial import must not look complete.
            let partial = recorder.stats.framesRecorded > 0
                ? " (\(out) holds the \(recorder.stats.framesRecorded) frames converted before this, without manifests: delete them before importing again)"
                : ""
            throw CLIError(error.description + partial)
        }
        try recorder.close()
        let s = recorder.stats
        print("imported \(s.framesRecorded) frames into \(s.filesClosed) file(s), \(s.bytesWritten) bytes, \(s.flushes) flushes, in \(out)")
        for line in Self.summary(report) { print(line) }
        for manifest in recorder.closedFiles {
            print("  \(manifest.file)  frames=\(manifest.frames) bytes=\(manifest.bytes) sha256=\(manifest.sha256)")
        }
    }

    /// The report as lines: one per topic, then the inputs, then what was left out.
    static func summary(_ r: TardisImportReport) -> [String] {
        var lines: [String] = []
        let b = r.book, l = r.liquidations
        // The book and the liquidations may each be written under two topics (their source changed on a day
        // Tardis recorded): one topic gets its counts on its line, two share one line of counts after theirs.
        let families: [(prefixes: [String], detail: String)] = [
            (["orderbook."], "snapshots=\(b.snapshots) restarts=\(b.restarts) deltas=\(b.deltas) "
                + "snapshot-continuations=\(b.snapshotContinuations) levels=\(b.levels)"
                + (b.depthChanges > 0 ? " depth-changes=\(b.depthChanges)" : "")),
            (["publicTrade."], "trades=\(r.trades.trades) taker-buys=\(r.trades.takerBuys) taker-sells=\(r.trades.takerSells)"),
            (["allLiquidation.", "liquidation."], "liquidations=\(l.events) longs-liquidated=\(l.longsLiquidated) "
                + "shorts-liquidated=\(l.shortsLiquidated)" + (l.throttledEvents > 0 ? " throttled=\(l.throttledEvents)" : "")),
            (["tickers."], "snapshots=\(r.ticker.snapshots) deltas=\(r.ticker.deltas)"),
        ]
        let topics = r.framesPerTopic.sorted(by: { $0.key < $1.key })
        func family(_ topic: String) -> Int? { families.firstIndex { $0.prefixes.contains { topic.hasPrefix($0) } } }
        for (topic, frames) in topics {
            let f = family(topic)
            let shared = f.map { f in topics.filter { family($0.key) == f }.map(\.key) } ?? [topic]
            let detail = f.map { shared.count == 1 ? " " + families[$0].detail : "" } ?? ""
            lines.append("  \(topic)  frames=\(frames)" + detail)
            if let f, shared.count > 1, shared.last == topic {
                lines.append("  \(shared.joined(separator: " + "))  " + families[f].detail)
            }
        }
        lines.append("inputs:")
        for input in r.inputs {
            lines.append("  \(input.role) \(input.file)  rows=\(input.rows) other-symbols=\(input.rowsOfOtherSymbols) "
                + "malformed=\(input.malformedRows) sha256=\(input.sha256)")
        }
        // What was not written, and why; zero counts are not listed.
        let t = r.trades, k = r.ticker
        let skipped = [
            ("book-rows-before-first-snapshot", b.rowsBeforeFirstSnapshot),
            ("book-rows-awaiting-snapshot", b.rowsSkippedAwaitingSnapshot),
            ("book-rows-dropped-with-malformed-message", b.rowsDroppedWithMalformedMessage),
            ("zero-amount-snapshot-rows", b.zeroLevelsInSnapshots),
            ("trades-with-unknown-side", t.rowsWithUnknownSide),
            ("liquidations-with-unknown-side", l.rowsWithUnknownSide),
            ("ticker-rows-unchanged", k.unchangedRows),
            ("ticker-rows-without-values", k.rowsWithoutValues),
            ("predicted-funding-rates-not-carried", k.rowsWithPredictedFundingRate),
        ].filter { $0.1 > 0 }.map { "\($0.0)=\($0.1)" }
        if t.tradesWithoutID > 0 { lines.append("trades written without an id: \(t.tradesWithoutID)") }
        if r.offGridPrices + r.offGridQuantities > 0 {
            lines.append("off the instrument's grid (written as they are): prices=\(r.offGridPrices) sizes=\(r.offGridQuantities)")
        }
        lines.append("left out: " + (skipped.isEmpty ? "nothing" : skipped.joined(separator: " ")))
        for warning in r.warnings { lines.append("warning: " + warning) }
        lines.append("malformed rows: \(r.malformedRows)")
        for sample in r.malformedSamples { lines.append("  " + sample) }
        if r.malformedRows > r.malformedSamples.count { lines.append("  … \(r.malformedRows - r.malformedSamples.count) more") }
        return lines
    }
}
