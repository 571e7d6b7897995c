import Foundation

extension AuditReport {
    /// The human-readable report printed by `cascade replay`.
    public func renderText() -> String {
        var out: [String] = []
        func line(_ s: String = "") { out.append(s) }
        line("Recording audit")
        for f in files {
            var flags: [String] = []
            if f.malformedLines > 0 { flags.append("\(f.malformedLines) malformed lines") }
            if f.tornTail > 0 { flags.append("torn tail") }
            if f.corruptMembers > 0 { flags.append("\(f.corruptMembers) corrupt gzip members") }
            line("  file \(f.path): \(f.frames) frames\(flags.isEmpty ? "" : " — " + flags.joined(separator: ", "))")
        }
        line("  span: \(firstLocal ?? "-") → \(lastLocal ?? "-") (\(String(format: "%.3f", spanSeconds)) s, receive time)")
        line("  frames: \(frames), level updates: \(levelUpdates), control frames: \(controlFrames)")
        if receiveTimeRegressions > 0 { line("  receive time went backwards \(receiveTimeRegressions) times") }
        if !decodeErrors.isEmpty {
            line("  decode errors (counted and skipped): " + decodeErrors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        } else {
            line("  decode errors: none")
        }
        if !unknownTopics.isEmpty {
            line("  unknown topics: " + unknownTopics.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
        }
        line()
        line("Topics (receive − exchange offset in ms: median [p5, p95])")
        for t in topics {
            var s = "  \(t.topic): \(t.frames) frames"
            if t.levelUpdates > 0 { s += ", \(t.levelUpdates) level updates" }
            if t.decodeErrors > 0 { s += ", \(t.decodeErrors) decode errors" }
            if let o = t.receiveMinusExchangeMs { s += ", offset \(o.median) [\(o.p5), \(o.p95)]" }
            line(s)
            if t.gapsAboveThreshold > 0 {
                let kind = t.eventDriven ? "silences (event-driven topic, informational)" : "gaps"
                let list = t.largestGaps.map { "\($0.milliseconds) ms at \($0.start)" }.joined(separator: "; ")
                line("      \(t.gapsAboveThreshold) \(kind) > \(t.gapThresholdMs) ms; largest: \(list)")
            }
        }
        if !books.isEmpty {
            line()
            line("Books (final state)")
            for b in books {
                let bid = b.bestBid.map { "\($0[0]) x \($0[1])" } ?? "-"
                let ask = b.bestAsk.map { "\($0[0]) x \($0[1])" } ?? "-"
                line("  \(b.topic): \(b.state); best bid \(bid) / best ask \(ask); levels \(b.levels[0])/\(b.levels[1]); u=\(b.lastUpdateID.map(String.init) ?? "-") seq=\(b.lastSequence.map(String.init) ?? "-")")
                line("      snapshots \(b.snapshots) (restarts \(b.restartSnapshots)), deltas \(b.deltas), resyncs \(b.resyncsRequested), u jumps \(b.updateIDJumps), u regressions \(b.updateIDRegressions), seq regressions \(b.sequenceRegressions), crossed \(b.crossedBooks), deletes of absent levels \(b.deletesOfMissingLevels), ignored before snapshot \(b.deltasIgnoredUntilSnapshot), over depth \(b.overDepth)")
            }
        }
        if !symbols.isEmpty {
            line()
            line("Symbols")
            for s in symbols {
                line("  \(s.symbol): trades \(s.trades) (taker buy \(s.buyTakerTrades) / sell \(s.sellTakerTrades)), volume \(s.tradeVolume), notional \(s.tradeNotionalUSDT) USDT")
                if s.liquidationsLongs + s.liquidationsShorts > 0 {
                    line("      liquidations: longs \(s.liquidationsLongs) (\(s.liquidatedLongNotionalUSDT) USDT), shorts \(s.liquidationsShorts) (\(s.liquidatedShortNotionalUSDT) USDT)")
                }
                if s.rulesKnown {
                    line("      off instrument grid: \(s.offGridPrices) prices, \(s.offGridQuantities) quantities")
                } else {
                    line("      instrument rules unknown (no _cascade.instruments snapshot or --instruments file): grid not checked")
                }
                if let last = s.lastPrice { line("      ticker: last \(last), mark \(s.markPrice ?? "-"), funding rate \(s.fundingRate ?? "-")") }
            }
        }
        if sessionEventsTotal > 0 || !localFrames.isEmpty {
            line()
            line("Session (local pseudo-topics): " + localFrames.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))
            for e in sessionEvents { line("  \(e.local) \(e.event)") }
            if sessionEventsTotal > sessionEvents.count { line("  … \(sessionEventsTotal - sessionEvents.count) more") }
        }
        if let t = throughput {
            line()
            line(String(format: "Throughput: %.0f frames/s, %.0f level updates/s, %.1f MB/s of JSON (%.3f s, decode+books+counters, gzip included)",
                        t.framesPerSecond, t.levelUpdatesPerSecond, t.megabytesPerSecond, t.seconds))
        }
        return out.joined(separator: "\n")
    }
}
