import CascadeCore
import CascadeTesting
import FeatureReplay
import Features
import Foundation
import Recording
import Testing

@Suite struct DetectorRuleTests {
    let b = MarketBuilder()
    let m0: Int64 = t0 / 60_000_000_000

    /// `n` USDT of liquidated `side` (qty n @ 1).
    func liq(_ side: PositionSide, _ usdt: Int, at t: Int64) -> Liquidation {
        b.liquidation(side, qty: "\(usdt)", price: "1", updated: t / 1_000_000, ts: t / 1_000_000, receivedNs: t, source: .throttled)
    }

    func minute(_ k: Int64, _ seconds: Double) -> Int64 { (m0 + k) * 60_000_000_000 + s(seconds) }

    /// The id is written in place into a buffer sized from its parts: every source and side, the time's extremes and a
    /// long symbol give the text an interpolation gives.
    @Test func episodeIdsAreTheInterpolatedText() {
        for source in LiquidationSource.allCases {
            for side in [PositionSide.long, .short] {
                for time in [Int64.min, -1, 0, 1_709_616_782_001_000_000, .max] {
                    for symbol in ["BTCUSDT", "1000000BABYDOGEUSDT_LONGEST_NAME"] {
                        #expect(CascadeDetector.episodeID(symbol: symbol, source: source, side: side, time: time)
                                == "\(symbol)-\(source.rawValue)-\(side)-\(time)")
                    }
                }
            }
        }
    }

    @Test func armsAfterADayStartsAboveTheP99AndEndsQuietAtItsDeadline() {
        var d = CascadeDetector(symbol: "BTCUSDT", source: .throttled)
        var changes: [DetectorChange] = []
        // A baseline of one 100 USDT long liquidation a minute.
        for k in 0...1440 { changes += d.ingest([liq(.long, 100, at: minute(Int64(k), 30))], at: minute(Int64(k), 30)) }
        // Minute 1440: bins 0…1438 are the baseline (1,439 < 1,440): not armed, a burst starts nothing.
        changes += d.ingest([liq(.long, 1_000, at: minute(1440, 45))], at: minute(1440, 45))
        #expect(!d.isArmed)
        #expect(changes.isEmpty)
        // Minute 1442: bins 0…1440, P99 = 100 (the 1,100 bin is above the nearest rank).
        changes += d.ingest([liq(.long, 100, at: minute(1442, 30))], at: minute(1442, 30))
        #expect(d.isArmed)
        #expect(d.threshold(.long) == Int64(10_000_000_000))
        // Window (−15 s, 45 s]: 100 + 1,000 > 100 and longs are everything: an episode starts.
        let start = minute(1442, 45)
        changes += d.ingest([liq(.long, 1_000, at: start)], at: start)
        changes += d.ingest([liq(.long, 500, at: start + s(10))], at: start + s(10))
        guard case let .started(e)? = changes.first else { Issue.record("no start: \(changes)"); return }
        #expect(e.id == "BTCUSDT-throttled-long-\(start)")
        #expect(e.notional == 1_100 * 100_000_000 && e.events == 2)
        // Quiet from start + 10 s: the end is stamped at + 40 s even though the next input comes at + 100 s, where
        // a short liquidation (short P99 = 0, all of the window) starts a new episode.
        changes = d.ingest([liq(.short, 50, at: start + s(100))], at: start + s(100))
        guard changes.count == 2, case let .ended(ended) = changes[0], case let .started(next) = changes[1] else {
            Issue.record("expected an end and a start: \(changes)")
            return
        }
        #expect(ended.end == start + s(40) && ended.endReason == .quiet)
        #expect(ended.notional == 1_600 * 100_000_000 && ended.events == 3)
        #expect(ended.peakNotional == 1_600 * 100_000_000 && ended.peakTime == start + s(10))
        #expect(next.side == .short && next.start == start + s(100))
    }

    /// The detector's decoding is written out (it tracks its threshold after restoring): a state saved without its
    /// optional fields restores equal and judges the next frames as the original; a state with one side is refused.
    @Test func aSavedDetectorRestoresAndJudgesAsTheOriginal() throws {
        var d = CascadeDetector(symbol: "BTCUSDT", source: .throttled)
        for k in 0...1442 { _ = d.ingest([liq(.long, 100, at: minute(Int64(k), 30))], at: minute(Int64(k), 30)) }
        let saved = try JSONEncoder().encode(d)
        var restored = try JSONDecoder().decode(CascadeDetector.self, from: saved)
        #expect(restored == d && restored.threshold(.long) == d.threshold(.long))
        let start = minute(1443, 45)
        let a = d.ingest([liq(.long, 1_000, at: start)], at: start, staging: true)
        let b = restored.ingest([liq(.long, 1_000, at: start)], at: start, staging: true)
        #expect(a == b && a.count == 1 && restored.threshold(.long) == d.threshold(.long))
        let fresh = try JSONEncoder().encode(CascadeDetector(symbol: "ETHUSDT", source: .all))
        #expect(try JSONDecoder().decode(CascadeDetector.self, from: fresh) == CascadeDetector(symbol: "ETHUSDT", source: .all))
        var object = try #require(try JSONSerialization.jsonObject(with: fresh) as? [String: Any])
        #expect(object["open"] == nil && object["lastFrame"] == nil && object["stoppedAt"] == nil)
        object["bins"] = [(object["bins"] as? [Any])?.first as Any]
        let oneSide = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(CascadeDetector.self, from: oneSide) }
    }

    @Test func aSilenceLongerThanAnHourIsMissingMinutesNotZeros() {
        var d = CascadeDetector(symbol: "BTCUSDT", source: .throttled)
        for k in 0...1441 { _ = d.ingest([liq(.long, 100, at: minute(Int64(k), 30))], at: minute(Int64(k), 30)) }
        #expect(d.isArmed)
        // Ten days of silence: zeros would arm the detector with a P99 of 0; missing minutes leave it unarmed.
        let later = minute(1441 + 14_400, 30)
        _ = d.ingest([liq(.long, 100, at: later)], at: later)
        #expect(!d.isArmed)
    }
}

@Suite struct DetectorOnSharedDataTests {
    static let series = SharedData.root.appendingPathComponent(
        "data/bybit-v5-frames/liquidations/btcusdt_2024-02-12_2024-05-13.frames.gz").path

    static func frames() throws -> [HeldFrame] {
        var replayer = try Replayer(paths: [series])
        var frames: [HeldFrame] = []
        while let f = try replayer.next() { frames.append(HeldFrame(time: f.localTime, bytes: f.bytes)) }
        return frames
    }

    static func run(_ replay: inout FeatureReplay, _ frames: ArraySlice<HeldFrame>) {
        for f in frames { replay.ingest(f.bytes, at: f.time) }
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func aRestartFromSavedStateMidEpisodeGivesTheSameEpisodesIdsIncluded() throws {
        let frames = try Self.frames()
        var full = FeatureReplay()
        Self.run(&full, frames[...])
        full.advance(to: frames.last!.time.nanoseconds)
        let all = full.episodes.sorted.map(\.episode)
        #expect(all.count > 1_000)
        // Cut inside the 2024-03-05 05:33:02 UTC episode (longs liquidated, 1.97 M USDT).
        let episode = try #require(all.first { $0.id == "BTCUSDT-throttled-long-1709616782001000000" })
        let cut = try #require(frames.firstIndex { $0.time.nanoseconds > episode.start })
        var first = FeatureReplay()
        Self.run(&first, frames[..<cut])
        #expect(first.engine.allDetectors.first?.open?.id == episode.id)
        let saved = try first.engine.savedState()
        var second = try FeatureReplay(restoring: saved)
        Self.run(&second, frames[cut...])
        second.advance(to: frames.last!.time.nanoseconds)
        var merged: [String: CascadeEpisode] = [:]
        for e in first.episodes.entries.map(\.episode) + second.episodes.entries.map(\.episode) { merged[e.id] = e }
        let restarted = merged.values.sorted { $0.start < $1.start }
        #expect(restarted == all)
    }
}
