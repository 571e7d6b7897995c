import BybitV5
import Testing

@Suite struct TimestampRebaserTests {
    func rebase(_ text: String, _ offset: Int64) -> String {
        String(decoding: BybitTimestampRebaser.rebase(Array(text.utf8), byMilliseconds: offset), as: UTF8.self)
    }

    @Test func shiftsEnvelopeAndItemTimesOnly() {
        let book = #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1721347021000,"data":{"s":"BTCUSDT","b":[["64000.10","1.5"]],"a":[],"u":7,"seq":99},"cts":1721347020990}"#
        #expect(rebase(book, 1_000) == #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1721347022000,"data":{"s":"BTCUSDT","b":[["64000.10","1.5"]],"a":[],"u":7,"seq":99},"cts":1721347021990}"#)
        let trade = #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1721347021000,"data":[{"T":1721347020999,"s":"BTCUSDT","S":"Buy","v":"0.010","p":"64000.00","i":"ts\":5","BT":false}]}"#
        #expect(rebase(trade, -21_000) == #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1721347000000,"data":[{"T":1721346999999,"s":"BTCUSDT","S":"Buy","v":"0.010","p":"64000.00","i":"ts\":5","BT":false}]}"#)
    }

    @Test func shiftsQuotedFundingTimeButNotZeroOrDecimals() {
        let ticker = #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","nextFundingTime":"1721347200000","deliveryTime":"0","fundingRate":"0.0001"},"cs":5,"ts":1721347021000}"#
        #expect(rebase(ticker, 5) == #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","nextFundingTime":"1721347200005","deliveryTime":"0","fundingRate":"0.0001"},"cs":5,"ts":1721347021005}"#)
        let kline = #"{"topic":"kline.1.BTCUSDT","data":[{"start":1721347020000,"end":1721347079999,"interval":"1","open":"1","close":"1","high":"1","low":"1","volume":"1","turnover":"1","confirm":false,"timestamp":1721347021000}],"ts":1721347021000,"type":"snapshot"}"#
        #expect(rebase(kline, 1) == #"{"topic":"kline.1.BTCUSDT","data":[{"start":1721347020001,"end":1721347080000,"interval":"1","open":"1","close":"1","high":"1","low":"1","volume":"1","turnover":"1","confirm":false,"timestamp":1721347021001}],"ts":1721347021001,"type":"snapshot"}"#)
    }

    @Test func zeroOffsetAndTruncatedInputAreSafe() {
        let text = #"{"ts":1721347021000"#
        #expect(rebase(text, 0) == text)
        #expect(rebase(#"{"ts":"#, 5) == #"{"ts":"#)
        #expect(rebase(#"{"ts":17"#, 5) == #"{"ts":22"#)
        #expect(rebase(#"{"a":"unterminated"#, 5) == #"{"a":"unterminated"#)
    }
}
