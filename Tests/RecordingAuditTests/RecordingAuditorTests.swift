import CascadeCore
import MarketData
import RecordingAudit
import Testing

/// The audit behind `cascade replay`, fed hand-written frames in receive-time order.
@Suite struct RecordingAuditorTests {
    struct Feed {
        var auditor: RecordingAuditor
        var ns: Int64 = 1_721_347_000_000_000_000
        init(_ configuration: AuditConfiguration = AuditConfiguration()) { auditor = RecordingAuditor(configuration: configuration) }
        mutating func send(_ frame: String, afterMs: Int64 = 20) {
            ns += afterMs * 1_000_000
            var bytes = Array(frame.utf8)
            bytes.withUnsafeMutableBufferPointer { auditor.ingest(UnsafeBufferPointer($0), localTime: LocalTime(nanoseconds: ns)) }
        }
    }

    static func book(_ type: String, u: Int, bid: String = "100.0", ask: String = "100.5", depth: Int = 50) -> String {
        #"{"topic":"orderbook.\#(depth).BTCUSDT","type":"\#(type)","ts":1721347000000,"data":{"s":"BTCUSDT","b":[["\#(bid)","1"]],"a":[["\#(ask)","2"]],"u":\#(u),"seq":\#(u * 10)},"cts":1721346999999}"#
    }

    @Test func reconnectRestartsTheStreamInsteadOfCountingAnAnomaly() throws {
        var f = Feed()
        f.send(Self.book("snapshot", u: 100))
        f.send(Self.book("delta", u: 101))
        f.send(#"{"topic":"_cascade.session","ts":1721347000100,"data":{"event":"disconnect","reason":"test"}}"#)
        f.send(#"{"topic":"_cascade.session","ts":1721347000200,"data":{"event":"connect","url":"ws://127.0.0.1/v5/public/linear"}}"#)
        f.send(Self.book("delta", u: 50))   // stale delta before the new snapshot
        f.send(Self.book("snapshot", u: 900))
        f.send(Self.book("delta", u: 901))
        let report = f.auditor.finish()
        let book = try #require(report.books.first)
        #expect(book.synced && book.updateIDRegressions == 0 && book.deltasIgnoredUntilSnapshot == 1 && book.snapshots == 2)
        #expect(report.sessionEventsTotal == 2 && report.sessionEvents.map(\.event) == ["disconnect", "connect"])
    }

    @Test func updateIDPolicyCanDifferPerDepth() throws {
        var configuration = AuditConfiguration()
        configuration.updateIDPolicyByDepth = [50: .strict]
        var f = Feed(configuration)
        for depth in [50, 200] {
            f.send(Self.book("snapshot", u: 10, depth: depth))
            f.send(Self.book("delta", u: 15, depth: depth))
        }
        let report = f.auditor.finish()
        let strict = try #require(report.books.first { $0.topic == "orderbook.50.BTCUSDT" })
        let monotonic = try #require(report.books.first { $0.topic == "orderbook.200.BTCUSDT" })
        #expect(!strict.synced && strict.resyncsRequested == 1 && strict.updateIDJumps == 1)
        #expect(monotonic.synced && monotonic.resyncsRequested == 0 && monotonic.updateIDJumps == 1)
    }

    @Test func damagedAndUnknownFramesAreCountedAndSkippedAndInvalidateTheirBook() throws {
        var f = Feed()
        f.send(Self.book("snapshot", u: 1))
        f.send(#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1e5","1"]],"a":[],"u":2}}"#)
        f.send(#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{"b":[["1","#)
        f.send(#"{"topic":"kline.1s.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#)
        f.send("not json")
        f.send(Self.book("delta", u: 2, bid: "100.1"))
        let report = f.auditor.finish()
        #expect(report.frames == 6)
        #expect(report.decodeErrors == ["invalid_decimal": 1, "truncated": 1, "unexpected_byte": 1])
        #expect(report.unknownTopics == ["kline.1s.BTCUSDT": 1])
        let topic = try #require(report.topics.first { $0.topic == "orderbook.50.BTCUSDT" })
        #expect(topic.frames == 2 && topic.decodeErrors == 2)
        // A lost book message invalidates the book until a new snapshot: the later delta is not applied to a
        // book that silently misses an update.
        let book = try #require(report.books.first)
        #expect(!book.synced && book.state.contains("frameLost") && book.resyncsRequested >= 1)
        #expect(book.bestBid == ["100", "1"] && book.deltasIgnoredUntilSnapshot == 1)
    }

    @Test func gapsAreMeasuredOnReceiveTimePerTopic() throws {
        var f = Feed()
        f.send(Self.book("snapshot", u: 1))
        f.send(Self.book("delta", u: 2), afterMs: 2_500)
        f.send(Self.book("delta", u: 3), afterMs: 5_000)
        f.send(Self.book("delta", u: 4), afterMs: 100)
        let topic = try #require(f.auditor.finish().topics.first)
        #expect(topic.gapsAboveThreshold == 2 && topic.gapThresholdMs == 2_000)
        #expect(topic.largestGaps.map(\.milliseconds) == [5_000, 2_500])
        #expect(!topic.eventDriven)
    }

    @Test func liquidationsAreSummedPerLiquidatedSideInUSDT() throws {
        var f = Feed()
        f.send(#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"0.5","p":"95900.1"},{"T":1,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"60000"},{"T":1,"s":"BTCUSDT","S":"Sell","v":"2","p":"10.5"}]}"#)
        let symbol = try #require(f.auditor.finish().symbols.first)
        #expect(symbol.liquidationsLongs == 2 && symbol.liquidationsShorts == 1)
        #expect(symbol.liquidatedLongNotionalUSDT == "48010.05" && symbol.liquidatedShortNotionalUSDT == "21")
    }

    @Test func instrumentsSnapshotEnablesGridChecks() throws {
        var f = Feed()
        f.send(#"{"topic":"_cascade.instruments","ts":1,"data":{"category":"linear","list":[{"symbol":"BTCUSDT","status":"Trading","priceScale":"2","priceFilter":{"tickSize":"0.10"},"lotSizeFilter":{"qtyStep":"0.001","minOrderQty":"0.001","maxOrderQty":"100","maxMktOrderQty":"50","minNotionalValue":"5"}}]}}"#)
        f.send(Self.book("snapshot", u: 1, bid: "100.05", ask: "100.50"))
        f.send(#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"0.0005","p":"100.5","i":"x"}]}"#)
        let report = f.auditor.finish()
        let symbol = try #require(report.symbols.first)
        #expect(report.instrumentSnapshots == 1 && symbol.rulesKnown)
        #expect(symbol.offGridPrices == 1 && symbol.offGridQuantities == 1)
        // Known rules print prices with Bybit's decimals.
        #expect(report.books.first?.bestAsk == ["100.50", "2.000"])
    }
}
