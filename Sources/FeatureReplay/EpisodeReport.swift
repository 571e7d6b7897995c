import CascadeCore
import Foundation
import Features

/// The episodes file (docs/detector.md "Output") and the statistics `cascade detect` prints.
public enum EpisodeJSON {
    static func usdt(_ units: Int64) -> String { FixedDecimal.format(units, digits: 8, minimumFractionDigits: 8) }

    static func bps(_ from: Int64??, _ to: Int64??) -> Double? {
        guard let a = from ?? nil, let b = to ?? nil, a > 0 else { return nil }
        return Double(b - a) / Double(a) * 10_000
    }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return String((value * 100).rounded() / 100)
    }

    /// One episode as a JSON line, keys in the documented order; mid moves only when the data had a book.
    public static func line(_ entry: EpisodeLog.Entry, withBook: Bool) -> String {
        let e = entry.episode
        var s = "{\"id\":\"\(e.id)\",\"symbol\":\"\(e.symbol)\",\"source\":\"\(e.source.rawValue)\",\"side\":\"\(e.side)\""
        s += ",\"start_ns\":\(e.start),\"peak_ns\":\(e.peakTime),\"end_ns\":\(e.end.map(String.init) ?? "null")"
        s += ",\"end_reason\":\(e.endReason.map { "\"\($0.rawValue)\"" } ?? "null")"
        s += ",\"notional\":\"\(usdt(e.notional))\",\"events\":\(e.events),\"peak_notional_60s\":\"\(usdt(e.peakNotional))\""
        s += ",\"threshold\":\"\(usdt(e.threshold))\""
        if withBook {
            s += ",\"mid_move_bps_during\":\(number(bps(entry.midAtStart, entry.midAtEnd)))"
            for (k, h) in EpisodeLog.horizons.enumerated() {
                s += ",\"mid_move_bps_after_\(h)s\":\(number(bps(entry.midAtEnd, entry.midAfter[k])))"
            }
        }
        return s + "}"
    }

    /// Count, sides, durations, notionals, end reasons per (symbol, source); mid moves when a book was there.
    public static func summary(_ entries: [EpisodeLog.Entry], replay: FeatureReplay) -> String {
        var lines: [String] = []
        let detectors = replay.engine.allDetectors
        lines.append("frames: \(replay.frames); detectors: \(detectors.count)")
        if detectors.isEmpty { lines.append("no liquidation frames in the data: nothing to detect") }
        for d in detectors {
            let mine = entries.filter { $0.episode.symbol == d.symbol && $0.episode.source == d.source }.map(\.episode)
            let armed = d.isArmed ? "armed" : "NOT armed (needs \(d.rule.minimumHistoryMinutes) minutes of history)"
            lines.append("\(d.symbol) \(d.source.rawValue): \(armed); \(mine.count) episodes "
                + "(\(mine.filter { $0.side == .long }.count) longs liquidated, \(mine.filter { $0.side == .short }.count) shorts)")
            if d.source == .throttled {
                lines.append("  source throttled: Bybit's old liquidation topic (≤ 1 event per second per symbol), a sample of all liquidations")
            }
            guard !mine.isEmpty else { continue }
            let durations = mine.compactMap { e in e.end.map { Double($0 - e.start) / 1e9 } }.sorted()
            let notionals = mine.map { Double($0.notional) / 1e8 }.sorted()
            func q(_ a: [Double], _ p: Double) -> String {
                a.isEmpty ? "-" : String(format: "%.1f", a[min(a.count - 1, Int(Double(a.count - 1) * p))])
            }
            lines.append("  duration s: median \(q(durations, 0.5)), p90 \(q(durations, 0.9)), max \(q(durations, 1))")
            lines.append("  notional USDT: median \(q(notionals, 0.5)), p90 \(q(notionals, 0.9)), max \(q(notionals, 1))")
            var reasons: [String: Int] = [:]
            for e in mine { reasons[e.endReason?.rawValue ?? "open at end of data", default: 0] += 1 }
            lines.append("  ended: " + reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if replay.episodes.sawBook {
            let with = entries.filter { bps($0.midAtStart, $0.midAtEnd) != nil }
            lines.append("mid moves (bps, signed so that + is against the liquidated side's forced flow, i.e. reversion):")
            func signed(_ e: EpisodeLog.Entry, _ v: Double?) -> Double? { v.map { e.episode.side == .long ? $0 : -$0 } }
            let during = with.compactMap { signed($0, bps($0.midAtStart, $0.midAtEnd)) }.sorted()
            lines.append("  during: \(during.count) episodes, median \(median(during))")
            for (k, h) in EpisodeLog.horizons.enumerated() {
                let after = entries.compactMap { signed($0, bps($0.midAtEnd, $0.midAfter[k])) }.sorted()
                lines.append("  \(h) s after the end: \(after.count) episodes, median \(median(after))")
            }
        } else {
            lines.append("no order book in the data: mid moves around episodes not measured")
        }
        return lines.joined(separator: "\n")
    }

    static func median(_ a: [Double]) -> String { a.isEmpty ? "-" : String(format: "%.2f", a[(a.count - 1) / 2]) }
}
