import CascadeCore
import FeatureReplay
import Features
import Testing

/// Recording gaps with and without session marks: a gap never reads as a quiet market, a mark never makes a
/// baseline less conservative, and nothing depends on whether a query came in between (the leakage check).
private let sec: Int64 = 1_000_000_000

@Suite struct GapTests {
    static func trade(_ t: Int64) -> HeldFrame {
        let ms = t / 1_000_000
        return HeldFrame(time: LocalTime(nanoseconds: t), bytes: Array(
            #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Buy","v":"1","p":"100","i":"\#(t)","BT":false}]}"#.utf8))
    }

    static func liquidation(_ t: Int64) -> HeldFrame {
        let ms = t / 1_000_000
        return HeldFrame(time: LocalTime(nanoseconds: t), bytes: Array(
            #"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Buy","v":"1","p":"100"}]}"#.utf8))
    }

    static func session(_ t: Int64, _ event: String) -> HeldFrame {
        HeldFrame(time: LocalTime(nanoseconds: t), bytes: Array(
            #"{"topic":"_cascade.session","ts":\#(t / 1_000_000),"data":{"event":"\#(event)"}}"#.utf8))
    }

    static func sorted(_ frames: [HeldFrame]) -> [HeldFrame] { frames.sorted { $0.time < $1.time } }

    static func replay(_ frames: [HeldFrame], until t: Int64, warmup: Int = 2) -> (FeatureReplay, FeatureVector) {
        var c = FeatureConfiguration()
        c.baselineWarmupMinutes = warmup
        var r = FeatureReplay(configuration: c)
        for f in frames where f.time.nanoseconds <= t { r.ingest(f.bytes, at: f.time) }
        let v = r.vectors(at: t).first!
        return (r, v)
    }

    static func value(_ r: FeatureReplay, _ v: FeatureVector, _ name: String) -> Double { v.values[r.engine.schema.index(of: name)!] }

    /// 100 USDT trades every 5 s for 3 minutes, 27 minutes of nothing, then 3 more minutes.
    static let trades: [HeldFrame] = {
        let first: [HeldFrame] = (0..<36).map { (k: Int64) in trade(t0 + k * 5 * sec) }
        let second: [HeldFrame] = (0..<37).map { (k: Int64) in trade(t0 + 1_800 * sec + k * 5 * sec) }
        return first + second
    }()

    @Test func aDisconnectInsideASilenceChangesNothingTheSilenceWasAlreadyMissing() {
        let marked = Self.sorted(Self.trades + [Self.session(t0 + 1_500 * sec, "disconnect"), Self.session(t0 + 1_799 * sec, "connect")])
        let at = t0 + 1_950 * sec
        let (a, va) = Self.replay(Self.trades, until: at)
        let (b, vb) = Self.replay(marked, until: at)
        // Counted minutes: 0 and 1 (1,200 USDT each; minute 2 is cut by the silence, which starts at the last trade,
        // 175 s), then 30 and 31: a median of 1,200 a minute, and the last 60 s hold 1,200. Zeros for the silence up to
        // the disconnect would make the median 0 and the feature NaN.
        #expect(Self.value(a, va, "flow.buy_60s") == 1)
        #expect(Self.value(b, vb, "flow.buy_60s") == 1)
    }

    @Test func aConnectWithoutADisconnectIsACrashItsMinutesAreMissing() {
        // A liquidation-only feed (100 USDT at :30 of minutes 0…9), a restart at 40:00 with no disconnect before it.
        let minutes: [HeldFrame] = (0..<10).map { (k: Int64) in Self.liquidation(t0 + (k * 60 + 30) * sec) }
        let frames = Self.sorted(minutes + [Self.session(t0 + 2_400 * sec, "connect"), Self.liquidation(t0 + 2_430 * sec)])
        let (r, v) = Self.replay(frames, until: t0 + 2_445 * sec)
        // Counted minutes: 1…8 (minute 0 began before the first frame; minute 9 was cut at the last frame, 9:30):
        // mean 100 a minute, so the 100 USDT in the last 60 s is 1.0. Thirty zero minutes would make it 4.33.
        #expect(Self.value(r, v, "liq.long_60s") == 1)
    }

    @Test func aSilenceOfTheWholeSymbolStopsItsLiquidationStreamToo() {
        // Trades every 5 s and a liquidation at :30 of minutes 0…9, nothing from 9:55 to 20:00, then again.
        let beforeTrades: [HeldFrame] = (0..<120).map { (k: Int64) in Self.trade(t0 + k * 5 * sec) }
        let beforeLiquidations: [HeldFrame] = (0..<10).map { (k: Int64) in Self.liquidation(t0 + (k * 60 + 30) * sec) }
        let afterTrades: [HeldFrame] = (0..<60).map { (k: Int64) in Self.trade(t0 + 1_200 * sec + k * 5 * sec) }
        let before = beforeTrades + beforeLiquidations
        let after = afterTrades + [Self.liquidation(t0 + 1_205 * sec)]
        let (r, v) = Self.replay(Self.sorted(before + after), until: t0 + 1_210 * sec)
        #expect(Self.value(r, v, "liq.long_60s") == 1)              // mean of minutes 1…8: 100; not diluted by the gap
        #expect(!v.warm[r.engine.schema.index(of: "liq.long_300s")!])   // its window would span the gap
    }

    @Test func interruptionsDoNotMakeAnswersDependOnQueries() {
        // Two trades in second 10, a liquidation at 10.5 s, a disconnect at 12 s; and a 2-minute silence without marks.
        let marked = Self.sorted([Self.trade(t0 + 10_100_000_000), Self.trade(t0 + 10_600_000_000),
                                  Self.liquidation(t0 + 10_500_000_000), Self.session(t0 + 12 * sec, "disconnect"),
                                  Self.session(t0 + 20 * sec, "connect"), Self.trade(t0 + 21 * sec)])
        let early: [HeldFrame] = (0..<20).map { (k: Int64) in Self.trade(t0 + k * sec) }
        let late: [HeldFrame] = (0..<20).map { (k: Int64) in Self.trade(t0 + 140 * sec + k * sec) }
        let silent = Self.sorted(early + late + [Self.liquidation(t0 + 5 * sec)])
        for frames in [marked, silent] {
            let (cuts, _) = LeakageCheck.cuts(frames, samples: frames.count)
            let result = LeakageCheck.run({ FeatureReplay() }, frames: frames, cuts: cuts)
            #expect(result.passed, "\(result.mismatches.map(\.detail))")
        }
    }
}
