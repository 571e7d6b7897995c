import BybitV5
import CascadeCore
import CascadeTesting
import Testing

/// Damaged input must end in a typed error, never a crash, and must not disturb later decoding.
@Suite struct MalformedFrameTests {
    let now = LocalTime(nanoseconds: 1)
    static let good = #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT","b":[["30247.20","30.028"]],"a":[["30248.70","0"]],"u":177400507,"seq":66544703342},"cts":1687940967464}"#

    @Test func everyTruncationOfAGoodFrameIsATypedError() {
        var d = BybitPublicDecoder()
        let bytes = Array(Self.good.utf8)
        for cut in 0..<bytes.count {
            #expect(throws: BybitFrameError.self) { try d.decode(Array(bytes[0..<cut]), localTime: now) }
        }
        #expect(throws: Never.self) { try d.decode(bytes, localTime: now) }
    }

    @Test(arguments: [
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":"x","data":{"b":[],"a":[],"u":1}}"#, "wrong_type"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[[30247.2,"1"]],"a":[],"u":1}}"#, "wrong_type"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[],"a":[],"u":"abc"}}"#, "wrong_type"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[],"a":[]}}"#, "missing_field"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"b":[],"a":[],"u":2}}"#, "missing_field"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1e5","1"]],"a":[],"u":1}}"#, "invalid_decimal"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1.000000001","1"]],"a":[],"u":1}}"#, "invalid_decimal"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["99999999999999999999999","1"]],"a":[],"u":1}}"#, "invalid_decimal"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":99999999999999999999999,"data":{"b":[],"a":[],"u":1}}"#, "number_overflow"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["-5","1"]],"a":[],"u":1}}"#, "invalid_value"),
        (#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"S":"buy","v":"1","p":"1","i":"a"}]}"#, "invalid_value"),
        (#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"S":"Buy","v":"1","p":"1"}]}"#, "missing_field"),
        (#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"S":"Buy","v":"0","p":"1"}]}"#, "invalid_value"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[],"a":[],"u":1}} trailing"#, "unexpected_byte"),
        (#"["not","an","object"]"#, "unexpected_byte"),
        (#"{}"#, "unrecognised_frame"),
        (#"   "#, "empty"),
        (#""#, "empty"),
        (#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1","1"]"#, "truncated"),
    ])
    func damagedFramesAreTypedErrors(frame: String, counter: String) {
        var d = BybitPublicDecoder()
        do {
            _ = try d.decode(frame, localTime: now)
            Issue.record("decoded a damaged frame: \(frame)")
        } catch {
            #expect(error.counterName == counter, "\(frame) → \(error)")
        }
    }

    @Test func unknownTopicIsItsOwnError() {
        var d = BybitPublicDecoder()
        #expect(throws: BybitFrameError.unknownTopic("kline.1s.BTCUSDT")) {
            try d.decode(#"{"topic":"kline.1s.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#, localTime: now)
        }
        #expect(throws: BybitFrameError.unknownTopic("orderbook.25x.BTCUSDT")) {
            try d.decode(#"{"topic":"orderbook.25x.BTCUSDT","type":"snapshot","ts":1,"data":{}}"#, localTime: now)
        }
    }

    @Test func longDecimalsBeyondTheFastPathStayExact() throws {
        var d = BybitPublicDecoder()
        // 19 significant digits at the 8-digit price scale: too long for the unchecked fast path, still fits Int64.
        let frame = #"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1,"data":{"s":"BTCUSDT","b":[["12345678901.12345678","0.000001"]],"a":[["12345678902.5","00000000000000000001.5"]],"u":1,"seq":1}}"#
        guard case let .book(b) = try d.decode(frame, localTime: now) else { Issue.record("not a book"); return }
        #expect(b.bids[0].price.units == 1_234_567_890_112_345_678)
        #expect(b.bids[0].size.units == 1)
        #expect(b.asks[0].size.units == 1_500_000)
    }

    @Test func emptyArraysAreValid() throws {
        var d = BybitPublicDecoder()
        guard case let .book(b) = try d.decode(#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":2,"seq":3}}"#, localTime: now) else {
            Issue.record("not a book"); return
        }
        #expect(b.bids.isEmpty && b.asks.isEmpty)
        guard case let .trades(t) = try d.decode(#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#, localTime: now) else {
            Issue.record("not trades"); return
        }
        #expect(t.isEmpty)
    }

    @Test func keysInAnyOrderAndUnknownKeysAreSkipped() throws {
        var d = BybitPublicDecoder()
        let frame = #"{"cts":5,"data":{"seq":9,"u":7,"extra":{"nested":[1,2,{"x":"]"}]},"a":[["2.5","1"]],"b":[["2.4","3"]],"s":"BTCUSDT"},"ts":6,"type":"snapshot","topic":"orderbook.200.BTCUSDT","new":null}"#
        guard case let .book(b) = try d.decode(frame, localTime: now) else { Issue.record("not a book"); return }
        #expect(b.updateID == 7 && b.sequence == 9 && b.depth == 200 && b.kind == .snapshot)
        #expect(b.exchangeTime.milliseconds == 6 && b.matchTime?.milliseconds == 5)
        #expect(b.bids.count == 1 && b.asks.count == 1)
    }

    @Test func aFailedFrameDoesNotCorruptTheNextOne() throws {
        var d = BybitPublicDecoder()
        _ = try? d.decode(#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1","1"],["2","#, localTime: now)
        guard case let .book(b) = try d.decode(Self.good, localTime: now) else { Issue.record("not a book"); return }
        #expect(b.bids.count == 1 && b.asks.count == 1)
    }

    @Test func seededGarbageNeverCrashes() {
        var rng = SeededRandom(seed: 42)
        var d = BybitPublicDecoder()
        let base = Array(Self.good.utf8)
        for _ in 0..<5_000 {
            var bytes = base
            let flips = Int(rng.next() % 4) + 1
            for _ in 0..<flips { bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            _ = try? d.decode(bytes, localTime: now)
        }
        #expect(throws: Never.self) { try d.decode(base, localTime: now) }
    }
}
