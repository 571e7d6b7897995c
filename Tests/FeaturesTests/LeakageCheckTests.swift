import CascadeCore
import CascadeTesting
import FeatureReplay
import Features
import Foundation
import Recording
import Testing

/// A pipeline that peeks: it exposes the receive time of the next liquidation among the frames it was allowed to
/// see after the current one, as a simulator that preloads a file could.
struct PeekingSubject: LeakageSubject {
    var inner = FeatureReplay()
    var peeked: Int64?

    mutating func ingest(_ frame: HeldFrame, lookahead: ArraySlice<HeldFrame>) {
        inner.ingest(frame, lookahead: lookahead)
        peeked = lookahead.first { $0.isLiquidation }?.time.nanoseconds
    }

    mutating func observe(at t: Int64) -> LeakageObservation {
        var o = inner.observe(at: t)
        o.extra = [peeked.map(String.init) ?? "none"]
        return o
    }
}

@Suite struct LeakageCheckTests {
    static func frames(_ relative: String) throws -> [HeldFrame] {
        var replayer = try Replayer(paths: [SharedData.root.appendingPathComponent(relative).path])
        var frames: [HeldFrame] = []
        while let f = try replayer.next() { frames.append(HeldFrame(time: f.localTime, bytes: f.bytes)) }
        return frames
    }

    /// Two liquidation frames 2 s apart after some trades: small enough to reason about by hand.
    static let synthetic: [HeldFrame] = {
        func liq(_ ms: Int64) -> HeldFrame {
            HeldFrame(time: LocalTime(nanoseconds: ms * 1_000_000), bytes: Array(
                #"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Buy","v":"0.5","p":"60000"}]}"#.utf8))
        }
        func trade(_ ms: Int64) -> HeldFrame {
            HeldFrame(time: LocalTime(nanoseconds: ms * 1_000_000), bytes: Array(
                #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Sell","v":"0.1","p":"60000.5","L":"MinusTick","i":"t\#(ms)","BT":false}]}"#.utf8))
        }
        let base: Int64 = 1_709_611_200_000
        return [trade(base), trade(base + 500), liq(base + 1_000), trade(base + 1_500), liq(base + 3_000), trade(base + 3_500)]
    }()

    @Test func theCutsAreEveryLiquidationReceiveTimePlusMinusOneNanosecondAndTheBoundariesAfter() {
        let (cuts, liquidation) = LeakageCheck.cuts(Self.synthetic, samples: 0)
        #expect(liquidation == 6)
        let first = Self.synthetic[2].time.nanoseconds, second = Self.synthetic[4].time.nanoseconds
        for t in [first, second] { for d in [-1, 0, 1] as [Int64] { #expect(cuts.contains(t + d)) } }
        // 04:00:01.000 and 04:00:03.000: the next second boundaries are 04:00:02 and 04:00:04, the next minute 04:01.
        for boundary in [first + 1_000_000_000, second + 1_000_000_000, first + 59_000_000_000] {
            for d in [-1, 0, 1] as [Int64] { #expect(cuts.contains(boundary + d)) }
        }
        #expect(cuts == cuts.sorted())
    }

    @Test func theEnginePassesAndAPeekingFeatureFails() {
        let (cuts, _) = LeakageCheck.cuts(Self.synthetic, samples: 10)
        let clean = LeakageCheck.run({ FeatureReplay() }, frames: Self.synthetic, cuts: cuts)
        #expect(clean.passed, "\(clean.mismatches.map(\.detail))")
        // Cut only at liquidation times: at the first one − 1 ns the full stream already "knows" the next
        // liquidation (1 ns ahead); the cut stream cannot.
        let peeking = LeakageCheck.run({ PeekingSubject() }, frames: Self.synthetic,
                                       cuts: LeakageCheck.cuts(Self.synthetic, samples: 0).all)
        #expect(!peeking.passed)
        #expect(peeking.mismatches.first?.cut == Self.synthetic[2].time.nanoseconds - 1)
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func passesOnTheSharedCaptureAndFailsThereWithThePeekingFeature() throws {
        // The first 3 minutes (the CLI checks the whole file): kept light, the suite shares two cores.
        let all = try Self.frames("data/bybit-v5-frames/binance-derived/btcusdt_2023-04-04T2358.frames.gz")
        let frames = all.filter { $0.time.nanoseconds < all[0].time.nanoseconds + 180_000_000_000 }
        let (cuts, _) = LeakageCheck.cuts(frames, samples: 200)
        var c = FeatureConfiguration()
        c.baselineWarmupMinutes = 2      // an 8-minute capture: let the ratio features warm up and be compared too
        let clean = LeakageCheck.run({ FeatureReplay(configuration: c) }, frames: frames, cuts: cuts)
        #expect(clean.passed, "\(clean.mismatches.map(\.detail))")
        #expect(clean.vectorsCompared >= 200)
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func passesOnTheLiquidationSeriesAroundTheMarch5Crash() throws {
        // A day and a bit of history and the crash morning (the detector arms after 24 h and must be compared armed); kept
        // small because the whole suite shares two cores with real-time tests (`cascade features --check-leakage`
        // runs the whole series).
        let all = try Self.frames("data/bybit-v5-frames/liquidations/btcusdt_2024-02-12_2024-05-13.frames.gz")
        let start: Int64 = 1_709_510_400_000_000_000, end: Int64 = 1_709_622_000_000_000_000   // 03-04 00:00 – 03-05 07:00
        let frames = all.filter { $0.time.nanoseconds >= start && $0.time.nanoseconds < end }
        let (cuts, liquidationCuts) = LeakageCheck.cuts(frames, samples: 0)
        var comparedArmed = false
        let clean = LeakageCheck.run({ FeatureReplay() }, frames: frames, cuts: cuts, keep: Set(cuts.suffix(1)),
                                     kept: { _, o in comparedArmed = o.detectors.first?.armed == true })
        #expect(clean.passed, "\(clean.mismatches.map(\.detail))")
        #expect(liquidationCuts > 500)
        #expect(comparedArmed)
        let peeking = LeakageCheck.run({ PeekingSubject() }, frames: Array(frames.prefix(200)),
                                       cuts: LeakageCheck.cuts(Array(frames.prefix(200)), samples: 0).all)
        #expect(!peeking.passed)
    }
}
