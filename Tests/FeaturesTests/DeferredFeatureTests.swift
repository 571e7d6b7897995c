import CascadeCore
import CascadeTesting
import FeatureReplay
import Features
import Testing

/// A liquidation frame ingested with `detectorsFirst` updates its detector at once and the rest of the feature state
/// later (after the node has sent what the detector decided): the engine must end exactly where the eager one does.
@Suite struct DeferredFeatureTests {
    /// Baselines short enough that a day of history fills them and evicts from them, and arms the detector before the
    /// synthetic cascade.
    static var configuration: FeatureConfiguration {
        var c = FeatureConfiguration()
        c.baselineMinutes = 60
        c.liquidationRankDays = 1
        c.detector.baselineMinutes = 120
        c.detector.minimumHistoryMinutes = 60
        return c
    }

    @Test(arguments: [UInt64(7), 11])
    func detectorsFirstEndsInTheEagerState(seed: UInt64) throws {
        let market = SyntheticCascade(seed: seed)
        let frames = (market.history(days: 1) + market.frames()).map { ($0.0, Array($0.1.utf8)) }
        var eager = FeatureReplay(configuration: Self.configuration)
        var deferring = FeatureReplay(configuration: Self.configuration)
        var deferredFrames = 0, started = 0
        for (k, (ns, bytes)) in frames.enumerated() {
            let a = eager.ingest(bytes, at: LocalTime(nanoseconds: ns))
            let b = deferring.ingest(bytes, at: LocalTime(nanoseconds: ns), detectorsFirst: true)
            // The detector decided on the frame already: same changes, before the rest is done.
            #expect(a.detector == b.detector, "frame \(k): detector changes differ")
            // The detector's threshold read with its boundary's values staged (the deferred engine) equals the one read
            // after they moved in (the plain replay).
            #expect(deferring.engine.allDetectors.map { [$0.isArmed ? 1 : 0, $0.threshold(.long), $0.threshold(.short)] }
                    == eager.engine.allDetectors.map { [$0.isArmed ? 1 : 0, $0.threshold(.long), $0.threshold(.short)] },
                    "frame \(k): detector thresholds differ")
            started += a.detector.filter { if case .started = $0 { true } else { false } }.count
            if deferring.engine.hasDeferredWork {
                deferredFrames += 1
                // Mostly left for the next frame's ingest (which completes it first); every 7th completed at once, as
                // the trading lanes do after their step.
                if k % 7 == 0 { deferring.completeDeferred() }
            }
            if k % 997 == 0 || k == frames.count - 1 {
                // A saved state completes the deferred work on a copy: the engine itself still holds it.
                let waiting = deferring.engine.hasDeferredWork
                #expect(try deferring.engine.savedState() == eager.engine.savedState(), "frame \(k): saved states differ")
                #expect(deferring.engine.hasDeferredWork == waiting)
                #expect(deferring.engine.isRecording("BTCUSDT", at: ns) == eager.engine.isRecording("BTCUSDT", at: ns))
                let t = ns + 1_000_000
                let (a, b) = (deferring.vectors(at: t), eager.vectors(at: t))
                #expect(a.count == b.count && zip(a, b).allSatisfy { $0.isIdentical(to: $1) }, "frame \(k): vectors differ")
                #expect(!deferring.engine.hasDeferredWork, "a vector completes the deferred work")
            }
        }
        #expect(deferredFrames > 4_000, "the liquidation frames were not deferred (\(deferredFrames))")
        #expect(started >= 1, "the synthetic cascade started no episode")
        deferring.completeDeferred()
        #expect(try deferring.engine.savedState() == eager.engine.savedState())
    }

    /// A liquidation-only feed with a silence longer than the detector's hour: the first frame after it (its symbol half
    /// still waiting) must answer `isRecording` and save as the eager engine does, and the missing minutes of the
    /// silence must be judged the same way.
    @Test func aLiquidationOnlyFeedAfterASilence() throws {
        let history = SyntheticCascade(seed: 5).history(days: 1)
        let (gapFrom, gapTo) = (history[history.count / 2].0, history[history.count / 2].0 + 2 * 3_600_000_000_000)
        let frames = history.filter { !$0.1.hasPrefix(#"{"topic":"publicTrade"#) && ($0.0 < gapFrom || $0.0 >= gapTo) }
            .map { ($0.0, Array($0.1.utf8)) }
        var eager = FeatureReplay(configuration: Self.configuration)
        var deferring = FeatureReplay(configuration: Self.configuration)
        var checkedAfterGap = false
        for (ns, bytes) in frames {
            let a = eager.ingest(bytes, at: LocalTime(nanoseconds: ns))
            let b = deferring.ingest(bytes, at: LocalTime(nanoseconds: ns), detectorsFirst: true)
            #expect(a.detector == b.detector)
            #expect(deferring.engine.isRecording("BTCUSDT", at: ns) == eager.engine.isRecording("BTCUSDT", at: ns))
            if ns >= gapTo, !checkedAfterGap {
                checkedAfterGap = true
                #expect(deferring.engine.hasDeferredWork)
                #expect(eager.engine.isRecording("BTCUSDT", at: ns), "the frame after the silence is being recorded")
                #expect(try deferring.engine.savedState() == eager.engine.savedState())
            }
        }
        #expect(checkedAfterGap)
        deferring.completeDeferred()
        #expect(try deferring.engine.savedState() == eager.engine.savedState())
    }

    /// Without the flag nothing waits: the eager path is the one every other tool (features, detect, the leakage
    /// check) runs.
    @Test func withoutTheFlagNothingWaits() {
        var replay = FeatureReplay(configuration: Self.configuration)
        for (ns, json) in SyntheticCascade(seed: 7).frames() {
            replay.ingest(Array(json.utf8), at: LocalTime(nanoseconds: ns))
            #expect(!replay.engine.hasDeferredWork)
        }
    }
}
