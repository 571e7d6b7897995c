import BybitV5
import CascadeCore
import Testing

/// REST results from the reference's examples, converted to domain integers.
@Suite struct RESTResultTests {
    @Test func serverTime() throws {
        let time = try BybitResponse<BybitServerTime>.decode(try Fixture.bytes("rest.market.time.json")).requireResult()
        #expect(time.seconds == 1_688_639_403 && time.nanoseconds == 1_688_639_403_423_213_947)
        #expect(time.exchangeTime == ExchangeTime(milliseconds: 1_688_639_403_423))
        #expect(throws: BybitDecodeError.invalidValue(field: "result.timeNano", value: "1.5")) {
            try BybitResponse<BybitServerTime>.decode(Array(#"{"retCode":0,"result":{"timeSecond":"1","timeNano":"1.5"}}"#.utf8))
        }
    }

    @Test func realtimeOrdersConvertAtTheFixedPrecision() throws {
        let result = try BybitResponse<BybitOrderListResult>.decode(try Fixture.bytes("rest.order.realtime.json")).requireResult()
        #expect(result.nextPageCursor == "page_args%3Dfd4300ae-7847-404e-b947-b46980a4d140%26symbol%3D6%26")
        var table = InstrumentTable()
        let orders = try result.orders(instruments: &table)
        #expect(orders.count == 1)
        let o = orders[0]
        #expect(o.symbol == "ETHUSDT" && table[o.symbolID].symbol == "ETHUSDT")
        #expect(o.price == Price(units: 160_000_000_000) && o.qty == Quantity(units: 100_000) && o.leavesQty == Quantity(units: 100_000))
        #expect(o.cumExecQty == .zero && o.avgPrice == Price.zero && o.leavesValue == USDT(units: 16_000_000_000))
        #expect(o.orderStatus == .new && o.orderStatus.isOpen && o.positionIndex == .hedgeBuy)
        #expect(o.triggerPrice == nil && o.takeProfit == Price(units: 250_000_000_000) && o.stopLoss == Price(units: 150_000_000_000))
        #expect(o.cumFeeDetail == ["MNT": BybitCoinAmount(units: 242_968)] && o.cumFeeUSDT == .zero)
        #expect(o.createdTime == ExchangeTime(milliseconds: 1_684_738_540_559))
    }

    @Test func postOnlyCancellationIsRecognisable() throws {
        let result = try BybitResponse<BybitOrderListResult>.decode(
            try Fixture.bytes("rest.order.history.postonly-cancelled.json")).requireResult()
        var table = InstrumentTable()
        let o = try result.orders(instruments: &table)[0]
        #expect(o.orderStatus == .cancelled && !o.orderStatus.isOpen && o.isPostOnlyRejection)
        #expect(o.timeInForce == .postOnly && o.side == .buy && o.cumExecQty == .zero)
    }

    @Test func positionListReadsAvgPriceAsEntryPrice() throws {
        let result = try BybitResponse<BybitPositionListResult>.decode(
            try Fixture.bytes("rest.position.list.linear-shaped-from-inverse-doc.json")).requireResult()
        var table = InstrumentTable()
        let p = try result.positions(instruments: &table)[0]
        let btc = table[p.symbolID]
        #expect(p.side == .short)
        #expect(try p.size == btc.quantity("0.3"))
        #expect(try p.signedSize.units == -btc.quantity("0.3").units)
        #expect(try p.entryPrice == btc.price("27464.50441675"))
        #expect(try p.liqPrice == nil && p.bustPrice == btc.price("999999"))
        #expect(p.takeProfit == nil && p.stopLoss == nil && p.trailingStop == nil)
        #expect(try p.unrealisedPnl == USDT("-227.99867497") && p.cumRealisedPnl == USDT("-96.902"))
        #expect(try p.leverage == Rate("10") && p.positionStatus == .normal && p.seq == 5_723_621_632)
        #expect(result.nextPageCursor == "")
    }

    @Test func walletBalance() throws {
        let result = try BybitResponse<BybitWalletBalanceResult>.decode(try Fixture.bytes("rest.wallet-balance.json")).requireResult()
        let wallet = try #require(result.unified)
        #expect(try wallet.totalEquity == USDT("3.31216591") && wallet.totalAvailableBalance == USDT("3.00326056"))
        #expect(wallet.coin("BTC")?.borrowAmount == .init(units: 0) && wallet.usdt == nil)
    }

    @Test func executionListKeepsEmptyClosedSizeAsNil() throws {
        let result = try BybitResponse<BybitExecutionListResult>.decode(try Fixture.bytes("rest.execution.list.json")).requireResult()
        #expect(result.nextPageCursor == "132766%3A2%2C132766%3A2")
        var table = InstrumentTable()
        let e = try result.executions(instruments: &table)[0]
        #expect(e.symbol == "ETHPERP" && e.execType == .trade && e.side == .buy && !e.isMaker)
        #expect(try e.execValue == USDT("119.015") && e.execFee == USDT("0.071409") && e.feeRate == Rate("0.0006"))
        #expect(e.closedSize == nil && e.seq == 4_688_002_127 && e.feeCurrency == "")
        // execValue × feeRate reproduces execFee exactly.
        #expect(e.execValue?.multiplied(by: e.feeRate!) == e.execFee)
    }

    @Test func feeRateCancelAllAndAPIKey() throws {
        let fees = try BybitResponse<BybitFeeRateResult>.decode(try Fixture.bytes("rest.fee-rate.json")).requireResult()
        #expect(try fees.rate(for: "ETHUSDT")?.takerFeeRate == Rate("0.0006"))
        #expect(try fees.rate(for: "ETHUSDT")?.makerFeeRate == Rate("0.0001"))

        let cancelled = try BybitResponse<BybitCancelAllResult>.decode(try Fixture.bytes("rest.order.cancel-all.json")).requireResult()
        #expect(cancelled.success == true && cancelled.list.map(\.orderId) == ["1616024329462743808", "1616024287544869632"])

        let key = try BybitResponse<BybitAPIKeyInfo>.decode(try Fixture.bytes("rest.query-api.json")).requireResult()
        #expect(key.apiKey == "opjSlSOzqIeXROT5rq" && !key.readOnly && key.ips == ["*"] && key.deadlineDay == 88)
        #expect(key.permissions["Wallet"] == ["AccountTransfer"] && key.isUnifiedTradingAccount == false)
    }

    @Test func instrumentsPageCursor() throws {
        let page = try BybitResponse<BybitPageCursor>.decode(try Fixture.bytes("instruments-info.json"))
        #expect(page.retCode == .ok)
        #expect(page.result?.hasMore == false)
    }
}
