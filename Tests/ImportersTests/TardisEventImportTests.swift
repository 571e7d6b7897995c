import BybitV5
import CascadeCore
import Importers
import MarketData
import Testing

/// trades, liquidations and derivative_ticker → publicTrade, allLiquidation and tickers: decoded back,
/// the events equal the rows. (Rows of the older sources: TardisSourceEraTests.)
@Suite struct TardisEventImportTests {
    @Test func tradesRoundTripToTheRows() throws {
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", trades: try Fixture.input(Fixture.trades)))
        let (messages, _) = try decode(frames)
        var trades: [Trade] = []
        for message in messages {
            guard case let .trades(list) = message else { Issue.record("not trades: \(message)"); continue }
            // The envelope ts is the largest T of the message (Tardis keeps no envelope time).
            #expect(list.allSatisfy { $0.exchangeTime == list.map(\.tradeTime).max()! })
            trades += list
        }
        let expected = rows(try Fixture.text(Fixture.trades))
        try #require(trades.count == expected.count)
        for (trade, cells) in zip(trades, expected) {
            #expect(trade.tradeTime.milliseconds == Int64(cells[2])! / 1_000)
            #expect(trade.localTime.nanoseconds == Int64(cells[3])! * 1_000)
            #expect(trade.id == cells[4])
            #expect(trade.takerSide == (cells[5] == "buy" ? .buy : .sell))
            #expect(trade.price.units == (try referenceUnits(cells[6], digits: Price.digits)))
            #expect(trade.qty.units == (try referenceUnits(cells[7], digits: Quantity.digits)))
            // Nothing Tardis does not keep is made up: no tick direction, no sequence; BT is false (flagged).
            #expect(trade.tickDirection == nil && trade.sequence == nil && !trade.isBlockTrade)
        }
        // Rows sharing local_timestamp are one message.
        #expect(report.trades.messages == 4 && report.trades.trades == 5 && frames.count == 4)
        #expect(frames[0].text == #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1721347200010,"data":[{"T":1721347200010,"s":"BTCUSDT","S":"Buy","v":"0.01","p":"64000.1","i":"2f4f9c43-6b8a-5f45-8e0b-6c1d3a0b7a11","BT":false},{"T":1721347200010,"s":"BTCUSDT","S":"Buy","v":"0.2","p":"64000.1","i":"6a0b2c55-1e5d-5b0f-9f7e-0d2e4c1a9b22","BT":false}],"cascadeSynthetic":["ts","BT"]}"#)
        #expect(!frames.contains { $0.text.contains(#""L":"#) })
        #expect(report.trades.takerBuys == 2 && report.trades.takerSells == 3)
    }

    @Test func moreThan1024TradesAtOneReceiveTimeAreSplitAsBybitDoes() throws {
        var text = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n"
        for i in 0..<1_500 { text += "bybit,BTCUSDT,1000000,1000500,\(i),buy,100,1\n" }
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("many.csv", text)))
        let (messages, _) = try decode(frames)
        let sizes = messages.map { message -> Int in if case let .trades(t) = message { t.count } else { -1 } }
        #expect(sizes == [1_024, 476] && report.trades.messages == 2)
        #expect(frames.allSatisfy { $0.localTime == LocalTime(nanoseconds: 1_000_500_000) })
    }

    @Test func tradesWithAnUnknownTakerSideAreCountedNotGuessed() throws {
        let text = """
            exchange,symbol,timestamp,local_timestamp,id,side,price,amount
            bybit,BTCUSDT,1000000,1000500,a,unknown,100,1
            bybit,BTCUSDT,1000000,1000500,b,sell,100,2
            bybit,BTCUSDT,1000000,1000600,,buy,100,3
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", trades: csv("t.csv", text)))
        #expect(report.trades.rowsWithUnknownSide == 1 && report.trades.trades == 2 && report.trades.tradesWithoutID == 1)
        #expect(report.malformedRows == 0 && frames.count == 2)
    }

    @Test func liquidationSidesComeOutAsDocumented() throws {
        // 2025-03 rows (allLiquidation; the 2024 fixture is Bybit's throttled topic, see TardisSourceEraTests).
        let text = """
            exchange,symbol,timestamp,local_timestamp,id,side,price,amount
            bybit,ETHUSDT,1741219200500000,1741219200700000,,sell,2200.1,1.2
            bybit,BTCUSDT,1741219200500000,1741219200700000,,sell,89990.2,0.05
            bybit,BTCUSDT,1741219200600000,1741219200700000,,sell,89985,0.12
            bybit,BTCUSDT,1741219201000000,1741219201300000,,sell,89970.4,0.3
            bybit,BTCUSDT,1741219202000000,1741219202250000,,buy,90010,0.02
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", liquidations: csv("liq.csv", text)))
        let (messages, _) = try decode(frames)
        var events: [Liquidation] = []
        for (message, frame) in zip(messages, frames) {
            guard case let .liquidations(list) = message else { Issue.record("not liquidations"); continue }
            // Bybit's envelope ts is never before the events it carries.
            #expect(list.allSatisfy { $0.exchangeTime >= $0.updatedTime && $0.source == .all })
            #expect(frame.text.hasSuffix(#""cascadeSynthetic":["ts"]}"#))
            events += list
        }
        let expected = rows(text).filter { $0[1] == "BTCUSDT" }
        try #require(events.count == expected.count)
        for (event, cells) in zip(events, expected) {
            // Tardis `sell` is the engine's order: a long position was liquidated (Bybit S=Buy).
            #expect(event.liquidatedSide == (cells[5] == "sell" ? .long : .short))
            #expect(event.engineOrderSide == (cells[5] == "sell" ? .sell : .buy))
            #expect(event.updatedTime.milliseconds == Int64(cells[2])! / 1_000)
            #expect(event.bankruptcyPrice.units == (try referenceUnits(cells[6], digits: Price.digits)))
            #expect(event.qty.units == (try referenceUnits(cells[7], digits: Quantity.digits)))
        }
        // Longs liquidated while the price falls: each long's bankruptcy price is below the one before.
        let longs = events.filter { $0.liquidatedSide == .long }
        #expect(longs.count == 3 && zip(longs, longs.dropFirst()).allSatisfy { $1.bankruptcyPrice < $0.bankruptcyPrice })
        #expect(report.liquidations.longsLiquidated == 3 && report.liquidations.shortsLiquidated == 1)
        #expect(report.inputs[0].rowsOfOtherSymbols == 1)
        // Two rows share a receive time: one message, ts = the later T.
        try #require(frames.count == 3)
        #expect(frames[0].text == #"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":1741219200600,"data":[{"T":1741219200500,"s":"BTCUSDT","S":"Buy","v":"0.05","p":"89990.2"},{"T":1741219200600,"s":"BTCUSDT","S":"Buy","v":"0.12","p":"89985"}],"cascadeSynthetic":["ts"]}"#)
        #expect(frames[2].text.contains(#""S":"Sell""#))
        #expect(report.warnings.isEmpty && report.liquidations.throttledEvents == 0)
    }

    @Test func tickerIsOneSnapshotThenDeltasOfChangedFieldsWithUnknownCellsLeftOut() throws {
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", ticker: try Fixture.input(Fixture.ticker)))
        #expect(frames.map(\.text) == [
            #"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"64000.1","markPrice":"64001.2","indexPrice":"64003.52","openInterest":"50123.456","nextFundingTime":"1721376000000","fundingRate":"0.0001"},"ts":1721347200100}"#,
            #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","lastPrice":"64000","markPrice":"64000.9"},"ts":1721347200200}"#,
            #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","indexPrice":"64003.6","openInterest":"50130"},"ts":1721347200400}"#,
            #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","fundingRate":"0.000015"},"ts":1721347200500}"#,
        ])
        #expect(report.ticker.snapshots == 1 && report.ticker.deltas == 3 && report.ticker.unchangedRows == 1)
        // Decoded and merged, the state equals the last row's known values.
        let (messages, decoder) = try decode(frames)
        var state = TickerState(symbol: try #require(decoder.instruments.lookup("BTCUSDT")))
        for case let .ticker(update) in messages { state.apply(update) }
        let last = try #require(rows(try Fixture.text(Fixture.ticker)).last)
        #expect(state.fields.lastPrice?.units == (try referenceUnits(last[8], digits: Price.digits)))
        #expect(state.fields.indexPrice?.units == (try referenceUnits(last[9], digits: Price.digits)))
        #expect(state.fields.markPrice?.units == (try referenceUnits(last[10], digits: Price.digits)))
        #expect(state.fields.openInterest?.units == (try referenceUnits(last[7], digits: Quantity.digits)))
        #expect(state.fields.fundingRate?.units == (try referenceUnits(last[5], digits: Rate.digits)))
        #expect(state.fields.nextFundingTime?.milliseconds == Int64(last[4])! / 1_000)
        // Fields Tardis does not carry stay unknown.
        #expect(state.fields.bid1Price == nil && state.fields.volume24h == nil && state.fields.openInterestValue == nil)
    }

    @Test func aTickerRowWithoutValuesWaitsAndAPredictedRateIsOnlyCounted() throws {
        let text = """
            exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,open_interest,last_price,index_price,mark_price
            bybit,BTCUSDT,1000000,1000100,,,,,,,
            bybit,BTCUSDT,2000000,2000100,,,0.0002,,100.5,,
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", ticker: csv("k.csv", text)))
        #expect(frames.map(\.text) == [#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"100.5"},"ts":2000}"#])
        #expect(report.ticker.rowsWithoutValues == 1 && report.ticker.rowsWithPredictedFundingRate == 1)
    }
}
