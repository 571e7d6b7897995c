import BybitV5
import CascadeCore
import Testing

/// Bybit frames as feed inputs: the recorder's session entries and undecodable frames name their streams.
@Suite struct FeedInputTests {
    let at = LocalTime(nanoseconds: 5)

    @Test func sessionEntriesBecomeBoundariesOfTheirTopics() throws {
        var d = BybitPublicDecoder()
        let frame = #"{"topic":"_cascade.session","ts":1,"data":{"event":"disconnect","connection":0,"topics":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT","bogus"]}}"#
        guard case let .session(boundary, streams, time)? = d.feedInput(Array(frame.utf8), localTime: at) else {
            Issue.record("not a session input"); return
        }
        let btc = try #require(d.instruments.lookup("BTCUSDT"))
        #expect(boundary == .disconnect && time == at)
        #expect(streams == [.book(btc, depth: 50), .trades(btc), .ticker(btc)])
        let resync = #"{"topic":"_cascade.session","ts":1,"data":{"event":"resync","topic":"orderbook.200.BTCUSDT","reason":"gap"}}"#
        guard case let .session(.resync, listed, _)? = d.feedInput(Array(resync.utf8), localTime: at) else {
            Issue.record("not a resync"); return
        }
        #expect(listed == [.book(btc, depth: 200)])
        let subscribed = #"{"topic":"_cascade.session","ts":1,"data":{"event":"subscribed","topics":["orderbook.50.BTCUSDT"]}}"#
        #expect(d.feedInput(Array(subscribed.utf8), localTime: at).map { _ in true } == nil)
    }

    @Test func anUndecodableFrameIsALossOfItsStream() throws {
        var d = BybitPublicDecoder()
        let damaged = #"{"topic":"publicTrade.ETHUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"ETHUSDT","S":"Buy","v":"1x","p":"1","i":"a","BT":false}]}"#
        guard case let .lost(stream, reason)? = d.feedInput(Array(damaged.utf8), localTime: at) else {
            Issue.record("not a loss"); return
        }
        #expect(stream == .trades(try #require(d.instruments.lookup("ETHUSDT"))) && reason == "invalid_decimal")
        // A topic nobody subscribed to is not lost data.
        #expect(d.feedInput(Array(#"{"topic":"kline.1s.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#.utf8), localTime: at).map { _ in true } == nil)
    }
}
