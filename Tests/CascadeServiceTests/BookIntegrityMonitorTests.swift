import BybitV5Client
import CascadeCore
import CascadeTesting
@testable import CascadeService
import Testing

/// The recorder's own book check: which stream events make it resync a topic.
@Suite struct BookIntegrityMonitorTests {
    static func book(_ type: String, u: Int, bid: String = "100.0", ask: String = "100.5") -> PublicStreamEvent {
        .frame(Array(#"{"topic":"orderbook.50.BTCUSDT","type":"\#(type)","ts":1,"data":{"s":"BTCUSDT","b":[["\#(bid)","1"]],"a":[["\#(ask)","1"]],"u":\#(u),"seq":\#(u)},"cts":1}"#.utf8),
               at: LocalTime(nanoseconds: Int64(u)))
    }

    @Test func healthyStreamNeverAsksForAResync() {
        var monitor = BookIntegrityMonitor()
        var gen = SyntheticBookFrames(depth: 50, seed: 3)
        for i in 0..<2_000 {
            let text = i == 0 ? gen.snapshot() : gen.delta()
            let step1 = monitor.check(.frame(Array(text.utf8), at: LocalTime(nanoseconds: Int64(i))))
        #expect(step1 == nil)
        }
    }

    @Test func regressionAndCrossedBooksAskForAResyncOfTheirTopic() throws {
        var monitor = BookIntegrityMonitor()
        let step2 = monitor.check(Self.book("snapshot", u: 10))
        #expect(step2 == nil)
        let regressionResult = monitor.check(Self.book("delta", u: 9))
        let regression = try #require(regressionResult)
        #expect(regression.0 == "orderbook.50.BTCUSDT" && regression.1.contains("updateIDRegression"))
        let step3 = monitor.check(Self.book("snapshot", u: 20))
        #expect(step3 == nil)
        let crossedResult = monitor.check(Self.book("delta", u: 21, bid: "101.0"))
        let crossed = try #require(crossedResult)
        #expect(crossed.1.contains("crossed"))
    }

    @Test func anUndecodableBookMessageAsksForAResync() throws {
        var monitor = BookIntegrityMonitor()
        let step2 = monitor.check(Self.book("snapshot", u: 10))
        #expect(step2 == nil)
        let damaged = PublicStreamEvent.frame(Array(#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1x","1"]],"a":[],"u":11}}"#.utf8),
                                              at: LocalTime(nanoseconds: 11))
        let damagedResult = monitor.check(damaged)
        let result = try #require(damagedResult)
        #expect(result.0 == "orderbook.50.BTCUSDT" && result.1.contains("invalid_decimal"))
        // Unknown topics are not book problems.
        let unknown = monitor.check(.frame(Array(#"{"topic":"kline.1s.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#.utf8), at: LocalTime(nanoseconds: 12)))
        #expect(unknown == nil)
    }

    @Test func aReconnectRestartsBooksWithoutFalseAlarms() {
        var monitor = BookIntegrityMonitor()
        let step4 = monitor.check(Self.book("snapshot", u: 100))
        #expect(step4 == nil)
        let step5 = monitor.check(.connected(attempt: 2, at: LocalTime(nanoseconds: 1)))
        #expect(step5 == nil)
        // After a reconnect Bybit starts again from a snapshot with an unrelated u: not a regression.
        let step6 = monitor.check(Self.book("delta", u: 5))
        #expect(step6 == nil)
        let step7 = monitor.check(Self.book("snapshot", u: 7))
        #expect(step7 == nil)
        let step8 = monitor.check(Self.book("delta", u: 8))
        #expect(step8 == nil)
    }
}
