import BybitV5
import CascadeCore
import Testing

@Suite struct PublicDecoderTests {
    let now = LocalTime(nanoseconds: 1_700_000_000_000_000_000)

    func decode(_ fixture: String, _ decoder: inout BybitPublicDecoder) throws -> BybitPublicMessage {
        try decoder.decode(try Fixture.bytes(fixture), localTime: now)
    }

    @Test func orderBookSnapshotKeepsEveryFieldExact() throws {
        var d = BybitPublicDecoder()
        guard case let .book(b) = try decode("orderbook.50.snapshot.json", &d) else { Issue.record("not a book"); return }
        let btc = d.instruments[b.symbol]
        #expect(btc.symbol == "BTCUSDT")
        #expect(b.depth == 50 && b.kind == .snapshot && b.replacesBook)
        #expect(b.updateID == 18_521_288 && b.sequence == 7_961_638_724)
        #expect(b.exchangeTime == ExchangeTime(milliseconds: 1_672_304_484_978))
        #expect(b.matchTime == ExchangeTime(milliseconds: 1_672_304_484_976))
        #expect(b.localTime == now)
        #expect(b.bids == [BookLevel(price: try btc.price("16493.50"), size: try btc.quantity("0.006")),
                           BookLevel(price: try btc.price("16493.00"), size: try btc.quantity("0.100"))])
        #expect(b.asks.map { btc.format($0.price) } == ["16611", "16612"])
    }

    @Test func orderBookDeltaWithWhitespaceAndDeletes() throws {
        var d = BybitPublicDecoder()
        guard case let .book(b) = try decode("orderbook.50.delta.json", &d) else { Issue.record("not a book"); return }
        #expect(b.kind == .delta && !b.replacesBook)
        #expect(b.bids.count == 5 && b.asks.count == 7)
        #expect(b.bids.last?.size == .zero)
        #expect(b.asks.filter { $0.size == .zero }.count == 2)
        #expect(b.updateID == 177_400_507)
    }

    @Test func levelOneIsAlwaysASnapshotEvenWithTsBeforeType() throws {
        var d = BybitPublicDecoder()
        guard case let .book(b) = try decode("orderbook.1.json", &d) else { Issue.record("not a book"); return }
        #expect(b.depth == 1 && b.kind == .snapshot)
    }

    @Test func updateIDOneIsARestartSnapshot() throws {
        var d = BybitPublicDecoder()
        let frame = #"{"topic":"orderbook.200.ETHUSDT","type":"delta","ts":1,"data":{"s":"ETHUSDT","b":[],"a":[["3000.01","1"]],"u":1,"seq":5},"cts":1}"#
        guard case let .book(b) = try d.decode(frame, localTime: now) else { Issue.record("not a book"); return }
        #expect(b.kind == .delta && b.replacesBook)
    }

    @Test func publicTradesCarryTakerSideTickDirectionAndFlags() throws {
        var d = BybitPublicDecoder()
        guard case let .trades(t) = try decode("publicTrade.json", &d) else { Issue.record("not trades"); return }
        #expect(t.count == 2)
        #expect(t[0].takerSide == .buy && t[0].tickDirection == .plusTick && !t[0].isBlockTrade && !t[0].isRPI)
        #expect(t[0].id == "20f43950-d8dd-5b31-9112-a178eb6023af")
        #expect(t[0].tradeTime == ExchangeTime(milliseconds: 1_672_304_486_865))
        #expect(t[0].exchangeTime == ExchangeTime(milliseconds: 1_672_304_486_868))
        #expect(t[0].sequence == 1_783_284_617)
        #expect(t[1].takerSide == .sell && t[1].tickDirection == .minusTick && t[1].isBlockTrade && t[1].isRPI)
        #expect(d.instruments[t[1].symbol].format(t[1].qty) == "1.25")
    }

    @Test func allLiquidationSideIsTheLiquidatedPosition() throws {
        var d = BybitPublicDecoder()
        guard case let .liquidations(l) = try decode("allLiquidation.json", &d) else { Issue.record("not liquidations"); return }
        #expect(l.count == 1)
        // S=Sell: a short was liquidated, so the engine bought.
        #expect(l[0].liquidatedSide == .short && l[0].engineOrderSide == .buy)
        #expect(l[0].notional == (try USDT("899.8")))
        #expect(l[0].updatedTime == ExchangeTime(milliseconds: 1_739_502_302_929))
        #expect(l[0].exchangeTime == ExchangeTime(milliseconds: 1_739_502_303_204))
    }

    /// Topics of the same length whose first and last eight bytes agree are still told apart, whichever was seen
    /// last: by the key's middle bytes for a name of at most 24 bytes (`ABCDEUSDT`: 24), by the whole name for a
    /// longer one whose difference the key does not hold (`AACDEFUSDT`: 25 bytes, the first length the key does not
    /// hold whole, and `AACDEFGUSDT`: 26, each with a difference at byte 16).
    @Test func topicsAlikeAtBothEndsAreToldApart() throws {
        var d = BybitPublicDecoder()
        func frame(_ symbol: String, _ price: String) -> [UInt8] {
            Array(#"{"topic":"allLiquidation.\#(symbol)","type":"snapshot","ts":1739502303204,"data":[{"T":1739502302929,"s":"\#(symbol)","S":"Sell","v":"1","p":"\#(price)"}]}"#.utf8)
        }
        for (symbol, price) in [("ABCDEUSDT", "1"), ("ZBCDEUSDT", "2"), ("ZBCDEUSDT", "3"), ("ABCDEUSDT", "4"), ("ZBCDEUSDT", "5"),
                                ("AACDEFUSDT", "10"), ("AZCDEFUSDT", "11"), ("AACDEFUSDT", "12"),
                                ("AACDEFGUSDT", "6"), ("AZCDEFGUSDT", "7"), ("AZCDEFGUSDT", "8"), ("AACDEFGUSDT", "9")] {
            guard case let .liquidations(l) = try d.decode(frame(symbol, price), localTime: now) else { Issue.record("not liquidations"); return }
            let notional = try USDT(price)
            #expect(l.count == 1 && d.instruments[l[0].symbol].symbol == symbol && l[0].notional == notional, "\(symbol) at \(price)")
        }
    }

    @Test func liquidationNotionalIsExactInUSDT() throws {
        var d = BybitPublicDecoder()
        guard case let .liquidations(l) = try decode("allLiquidation.BTCUSDT.json", &d) else { Issue.record("not liquidations"); return }
        #expect(l.map(\.liquidatedSide) == [.long, .short])
        #expect(l[0].notional.description == "47950.05")
        #expect(l[1].notional.description == "630")
    }

    @Test func legacyLiquidationTopicDecodesItsObjectShape() throws {
        var d = BybitPublicDecoder()
        guard case let .liquidations(l) = try decode("liquidation.legacy.json", &d) else { Issue.record("not liquidations"); return }
        #expect(l.count == 1 && l[0].liquidatedSide == .short)
        #expect(l[0].notional == (try USDT("130.5351")))
    }

    @Test func tickerSnapshotThenDeltaMergeFieldByField() throws {
        var d = BybitPublicDecoder()
        guard case let .ticker(s) = try decode("tickers.snapshot.json", &d) else { Issue.record("not a ticker"); return }
        let btc = d.instruments[s.symbol]
        #expect(s.kind == .snapshot && s.crossSequence == 9_532_239_429)
        #expect(s.exchangeTime == ExchangeTime(milliseconds: 1_760_325_052_630))
        #expect(s.fields.lastPrice == (try btc.price("66666.60")))
        #expect(s.fields.fundingRate == (try Rate("-0.005")))
        #expect(s.fields.nextFundingTime == ExchangeTime(milliseconds: 1_760_342_400_000))
        #expect(s.fields.openInterestValue == (try USDT("32824881841.75")))
        #expect(s.fields.fundingIntervalHours == 8)
        #expect(s.fields.tickDirection == .minusTick)
        guard case let .ticker(delta) = try decode("tickers.delta.json", &d) else { Issue.record("not a ticker"); return }
        #expect(delta.kind == .delta && delta.fields.lastPrice == nil)
        var merged = s.fields
        merged.merge(delta.fields)
        #expect(merged.lastPrice == s.fields.lastPrice)
        #expect(merged.markPrice == (try btc.price("66660.10")))
        #expect(merged.bid1Size == (try btc.quantity("1.234")))
        #expect(merged.ask1Size == s.fields.ask1Size)
    }

    @Test func klineIsDecodedButUnconfirmedUntilClosed() throws {
        var d = BybitPublicDecoder()
        guard case let .klines(k) = try decode("kline.json", &d) else { Issue.record("not klines"); return }
        #expect(k.count == 1 && !k[0].confirmed && k[0].interval == "5")
        #expect(k[0].close == (try d.instruments[k[0].symbol].price("16677")))
        #expect(k[0].turnover == (try USDT("34666.4005")))
    }

    @Test(arguments: [
        ("control.subscribe.ack.json", BybitControlFrame.Kind.subscribe, true),
        ("control.subscribe.failure.json", .subscribe, false),
        ("control.pong.public.json", .pong, true),
        ("control.pong.private.json", .pong, true),
    ])
    func controlFramesAreTyped(fixture: String, kind: BybitControlFrame.Kind, ok: Bool) throws {
        var d = BybitPublicDecoder()
        guard case let .control(c) = try decode(fixture, &d) else { Issue.record("not control"); return }
        #expect(c.kind == kind)
        #expect(c.isFailedSubscription == !ok)
        if fixture == "control.subscribe.failure.json" {
            #expect(c.retMessage == "error:handler not found,topic:dcp.future" && c.requestID == "dcp.future")
        }
        if fixture == "control.pong.private.json" { #expect(c.args == ["1675418560633"]) }
    }

    @Test func localPseudoTopicsReturnTheirRawData() throws {
        var d = BybitPublicDecoder()
        let frame = #"{"topic":"_cascade.session","ts":1700000000000,"data":{"event":"connect","url":"wss://x"}}"#
        guard case let .local(name, data) = try d.decode(frame, localTime: now) else { Issue.record("not local"); return }
        #expect(name == "session")
        #expect(String(decoding: data, as: UTF8.self) == #"{"event":"connect","url":"wss://x"}"#)
    }

    @Test func instrumentsInfoBecomesRules() throws {
        var table = InstrumentTable()
        let rules = try BybitInstrumentsInfo.decode(try Fixture.bytes("instruments-info.json"), table: &table)
        #expect(rules.count == 1 && rules[0].0 == "BTCUSDT")
        let btc = table[try #require(table.lookup("BTCUSDT"))]
        let r = try #require(btc.rules)
        #expect(r.tickSize == (try btc.price("0.10")))
        #expect(r.qtyStep == (try btc.quantity("0.001")))
        #expect(r.minNotional == (try USDT("5")))
        #expect(r.maxMarketOrderQty == (try btc.quantity("500")))
        #expect(r.priceDecimals == 2 && r.qtyDecimals == 3 && r.fundingIntervalMinutes == 480)
        #expect(btc.format(try btc.price("28140.1")) == "28140.10")
    }
}

@Suite struct MarketEventTests {
    @Test func dataFramesBecomeVenueNeutralEventsAndControlFramesDoNot() throws {
        var d = BybitPublicDecoder()
        let trade = try d.decode(try Fixture.bytes("publicTrade.json"), localTime: LocalTime(nanoseconds: 1))
        guard case let .trades(list)? = trade.marketEvent else { Issue.record("no trades"); return }
        #expect(list.count == 2)
        let ack = try d.decode(try Fixture.bytes("control.subscribe.ack.json"), localTime: LocalTime(nanoseconds: 2))
        #expect(ack.marketEvent == nil)
    }
}
