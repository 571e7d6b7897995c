import BybitV5
import CascadeCore
import Testing

@Suite struct RequestBuilderTests {
    /// BTCUSDT at the default scale, without rules: prices and quantities print trimmed.
    static let btc: Instrument = {
        var table = InstrumentTable()
        // Two statements: `table[table.id(for:)]` would read the table before `id(for:)` registers the symbol.
        let id = table.id(for: "BTCUSDT")
        return table[id]
    }()

    /// BTCUSDT with Bybit's rules installed: prices print with `priceScale` 2, quantities with 3 decimals.
    static let btcWithRules: Instrument = {
        var table = InstrumentTable()
        let rules = InstrumentRules(
            tickSize: Price(units: 10_000_000), qtyStep: Quantity(units: 1_000), minOrderQty: Quantity(units: 1_000),
            maxOrderQty: Quantity(units: 1_190_000_000), maxMarketOrderQty: Quantity(units: 500_000_000),
            minNotional: USDT(units: 500_000_000), priceDecimals: 2, qtyDecimals: 3, status: "Trading",
            fundingIntervalMinutes: 480, settleCoin: "USDT")
        table.setRules(rules, for: "BTCUSDT")
        return table[table.lookup("BTCUSDT")!]
    }()

    static let signer = BybitSigner(credentials: BybitCredentials(apiKey: "testkey", secret: "testsecret"))

    @Test func postOnlyCreateReproducesTheReferenceBodyAndSignature() throws {
        let request = try BybitRequest.createOrder(
            instrument: Self.btc, side: .buy, orderType: .limit, qty: try Self.btc.quantity("0.001"),
            price: try Self.btc.price("50000"), timeInForce: .postOnly)
        #expect(request.method == .post && request.path == "/v5/order/create" && request.isSigned)
        #expect(request.operation == .create)
        #expect(request.body
                == #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"50000","timeInForce":"PostOnly"}"#)
        #expect(request.signaturePayload == request.body && request.queryString.isEmpty)
        #expect(Self.signer.signature(timestamp: 1_658_385_579_423, recvWindow: 5000, payload: request.signaturePayload)
                == "18f0f8849fbcfa1416b25a54bc34161491c2e89f6f12755456a0afbfc67faf83")
    }

    @Test func everyOrderFieldHasAFixedPlaceAndUsesTheInstrumentDecimals() throws {
        let i = Self.btcWithRules
        let request = try BybitRequest.createOrder(BybitOrderParameters(
            instrument: i, side: .sell, orderType: .market, qty: try i.quantity("0.25"), price: nil,
            timeInForce: .immediateOrCancel, orderLinkId: "cascade-stop_1", positionIndex: .hedgeSell, reduceOnly: true,
            closeOnTrigger: true,
            trigger: .init(price: try i.price("16000"), direction: .fall, by: .markPrice),
            takeProfit: nil, stopLoss: nil))
        #expect(request.body == #"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.250","timeInForce":"IOC","positionIdx":2,"orderLinkId":"cascade-stop_1","reduceOnly":true,"closeOnTrigger":true,"triggerPrice":"16000.00","triggerDirection":2,"triggerBy":"MarkPrice"}"#)

        let tpsl = try BybitRequest.createOrder(
            instrument: i, side: .buy, orderType: .limit, qty: try i.quantity("1"), price: try i.price("25000"),
            timeInForce: .goodTillCancel, orderLinkId: "usdt-test-01", positionIndex: .oneWay, reduceOnly: false,
            takeProfit: try i.price("28000"), stopLoss: try i.price("20000"), takeProfitTriggerBy: .lastPrice,
            stopLossTriggerBy: .indexPrice, tpslMode: .full)
        #expect(tpsl.body == #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1.000","price":"25000.00","timeInForce":"GTC","positionIdx":0,"orderLinkId":"usdt-test-01","reduceOnly":false,"takeProfit":"28000.00","stopLoss":"20000.00","tpTriggerBy":"LastPrice","slTriggerBy":"IndexPrice","tpslMode":"Full"}"#)
    }

    /// A ladder entry as the engine sends it: PostOnly, one-way, its orderLinkId, the position stop in Full mode.
    @Test func ladderEntrySpecMapsToTheCreateBody() throws {
        let i = Self.btcWithRules
        let spec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: try i.price("59880"), qty: try i.quantity("0.016"),
                             protection: Protection(stopLoss: ProtectionLeg(trigger: try i.price("59103")), mode: .full))
        let request = try BybitRequest.createOrder(BybitOrderParameters(spec, clientID: try ClientOrderID("c1bt_1_1_E0_0"), instrument: i))
        #expect(request.body == #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.016","price":"59880.00","timeInForce":"PostOnly","positionIdx":0,"orderLinkId":"c1bt_1_1_E0_0","stopLoss":"59103.00","slTriggerBy":"LastPrice","tpslMode":"Full"}"#)
        // A time exit: reduce-only IOC limit, no protection.
        let exit = try BybitRequest.createOrder(BybitOrderParameters(
            .limit(.sell, price: try i.price("59500"), qty: try i.quantity("0.016"), timeInForce: .immediateOrCancel, reduceOnly: true),
            clientID: try ClientOrderID("c1bt_1_1_X0_0"), instrument: i))
        #expect(exit.body == #"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Limit","qty":"0.016","price":"59500.00","timeInForce":"IOC","positionIdx":0,"orderLinkId":"c1bt_1_1_X0_0","reduceOnly":true}"#)
    }

    @Test func invalidOrdersAreRejectedBeforeSigning() throws {
        let i = Self.btc
        let q = try i.quantity("0.001")
        #expect(throws: BybitRequestError.missingPrice) {
            try BybitRequest.createOrder(instrument: i, side: .buy, orderType: .limit, qty: q)
        }
        #expect(throws: BybitRequestError.invalidQuantity) {
            try BybitRequest.createOrder(instrument: i, side: .buy, orderType: .market, qty: .zero)
        }
        // qty "0" is the documented close-the-whole-position form.
        let close = try BybitRequest.createOrder(instrument: i, side: .sell, orderType: .market, qty: .zero,
                                                 reduceOnly: true, closeOnTrigger: true)
        #expect(close.body.contains(#""qty":"0""#))
        #expect(throws: BybitRequestError.invalidOrderLinkId("has space")) {
            try BybitRequest.createOrder(instrument: i, side: .buy, orderType: .market, qty: q, orderLinkId: "has space")
        }
        let tooLong = String(repeating: "a", count: 37)
        #expect(throws: BybitRequestError.invalidOrderLinkId(tooLong)) {
            try BybitRequest.cancelOrder(symbol: "BTCUSDT", order: .orderLinkId(tooLong))
        }
        #expect(throws: BybitRequestError.nonPositivePrice(parameter: "price")) {
            try BybitRequest.createOrder(instrument: i, side: .buy, orderType: .limit, qty: q, price: Price(units: -1))
        }
        #expect(throws: BybitRequestError.nothingToAmend) {
            try BybitRequest.amendOrder(instrument: i, order: .orderId("x"))
        }
        #expect(throws: BybitRequestError.outOfRange(parameter: "request", value: 0, allowed: 1...20)) {
            try BybitRequest.createBatch([])
        }
        #expect(throws: BybitRequestError.outOfRange(parameter: "limit", value: 51, allowed: 1...50)) {
            try BybitRequest.realtimeOrders(scope: .symbol("BTCUSDT"), limit: 51)
        }
        #expect(throws: BybitRequestError.outOfRange(parameter: "timeWindow", value: 2, allowed: 3...300)) {
            try BybitRequest.disconnectedCancelAll(timeWindowSeconds: 2)
        }
    }

    @Test func batchAmendCancelAndCancelAllBodies() throws {
        let i = Self.btc
        let order = BybitOrderParameters(instrument: i, side: .buy, orderType: .limit, qty: try i.quantity("10"),
                                         price: try i.price("500"), timeInForce: .goodTillCancel,
                                         orderLinkId: "batch-000")
        var second = order
        second.orderLinkId = "batch-001"
        second.price = try i.price("1000.5")
        let batch = try BybitRequest.createBatch([order, second])
        #expect(batch.path == "/v5/order/create-batch")
        #expect(batch.body == #"{"category":"linear","request":[{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"10","price":"500","timeInForce":"GTC","orderLinkId":"batch-000"},{"symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"10","price":"1000.5","timeInForce":"GTC","orderLinkId":"batch-001"}]}"#)

        let amend = try BybitRequest.amendOrder(instrument: i, order: .orderLinkId("linear-004"),
                                                qty: try i.quantity("0.15"), price: try i.price("1050"),
                                                triggerPrice: try i.price("1145"), takeProfit: .zero, stopLoss: .zero)
        #expect(amend.operation == .amend)
        #expect(amend.body == #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"linear-004","qty":"0.15","price":"1050","triggerPrice":"1145","takeProfit":"0","stopLoss":"0"}"#)

        let cancel = try BybitRequest.cancelOrder(symbol: "BTCPERP", order: .orderId("c6f055d9-7f21-4079-913d-e6523a9cfffa"))
        #expect(cancel.operation == .cancel)
        #expect(cancel.body == #"{"category":"linear","symbol":"BTCPERP","orderId":"c6f055d9-7f21-4079-913d-e6523a9cfffa"}"#)

        #expect(BybitRequest.cancelAll(.settleCoin("USDT")).body == #"{"category":"linear","settleCoin":"USDT"}"#)
        #expect(BybitRequest.cancelAll(.symbol("BTCUSDT"), orderFilter: .stopOrder).body
                == #"{"category":"linear","symbol":"BTCUSDT","orderFilter":"StopOrder"}"#)
        #expect(BybitRequest.cancelAll(.symbol("X")).operation == .cancelAll)
    }

    /// A body far past the writer's first buffer (20 orders, ~2.6 KB: it grows several times) is byte for byte the
    /// text spelled out here without the writer.
    @Test func aFullBatchBodyIsExactPastTheWritersFirstBuffer() throws {
        let i = Self.btc
        var orders: [BybitOrderParameters] = []
        var items: [String] = []
        for n in 0..<20 {
            let id = "batch-" + String(100 + n)
            let price = String(500 + n) + ".5"
            let side = n % 2 == 0 ? "Buy" : "Sell"
            orders.append(BybitOrderParameters(instrument: i, side: n % 2 == 0 ? .buy : .sell, orderType: .limit,
                                               qty: try i.quantity("10"), price: try i.price(price), timeInForce: .postOnly,
                                               orderLinkId: id, reduceOnly: n % 3 == 0 ? true : nil))
            var item = #"{"symbol":"BTCUSDT","side":"# + "\"" + side + "\"" + #","orderType":"Limit","qty":"10","price":"#
            item += "\"" + price + "\"" + #","timeInForce":"PostOnly","orderLinkId":"# + "\"" + id + "\""
            item += (n % 3 == 0 ? #","reduceOnly":true"# : "") + "}"
            items.append(item)
        }
        let expected = #"{"category":"linear","request":["# + items.joined(separator: ",") + "]}"
        #expect(expected.utf8.count > 2_560)
        #expect(try BybitRequest.createBatch(orders).body == expected)
    }

    @Test func positionAndAccountBodies() throws {
        let leverage = try BybitRequest.setLeverage(symbol: "BTCUSDT", buyLeverage: try Rate("6"),
                                                    sellLeverage: try Rate("12.5"))
        #expect(leverage.operation == .setLeverage)
        #expect(leverage.body == #"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"6","sellLeverage":"12.5"}"#)

        let mode = BybitRequest.switchPositionMode(.coin("USDT"), mode: .hedge)
        #expect(mode.operation == .switchPositionMode)
        #expect(mode.body == #"{"category":"linear","coin":"USDT","mode":3}"#)

        let i = Self.btc
        let stop = BybitRequest.tradingStop(
            instrument: i, tpslMode: .partial, positionIndex: .oneWay, takeProfit: try i.price("0.6"),
            stopLoss: try i.price("0.2"), takeProfitTriggerBy: .markPrice, stopLossTriggerBy: .indexPrice,
            takeProfitSize: try i.quantity("50"), stopLossSize: try i.quantity("50"),
            takeProfitLimitPrice: try i.price("0.57"), stopLossLimitPrice: try i.price("0.21"),
            takeProfitOrderType: .limit, stopLossOrderType: .limit)
        #expect(stop.body == #"{"category":"linear","symbol":"BTCUSDT","tpslMode":"Partial","positionIdx":0,"takeProfit":"0.6","stopLoss":"0.2","tpTriggerBy":"MarkPrice","slTriggerBy":"IndexPrice","tpSize":"50","slSize":"50","tpLimitPrice":"0.57","slLimitPrice":"0.21","tpOrderType":"Limit","slOrderType":"Limit"}"#)

        let dcp = try BybitRequest.disconnectedCancelAll(timeWindowSeconds: 10)
        #expect(dcp.path == "/v5/order/disconnected-cancel-all")
        #expect(dcp.body == #"{"product":"DERIVATIVES","timeWindow":10}"#)
    }

    @Test func queryStringsAreSortedByNameAndKeepCursorsVerbatim() throws {
        let realtime = try BybitRequest.realtimeOrders(scope: .symbol("ETHUSDT"), openOnly: 0, limit: 1)
        #expect(realtime.method == .get && realtime.isSigned && realtime.body.isEmpty)
        #expect(realtime.queryString == "category=linear&limit=1&openOnly=0&symbol=ETHUSDT")
        #expect(realtime.target == "/v5/order/realtime?category=linear&limit=1&openOnly=0&symbol=ETHUSDT")
        #expect(realtime.signaturePayload == realtime.queryString)

        let page = try BybitRequest.executionList(
            symbol: "BTCUSDT", startTime: ExchangeTime(milliseconds: 1_672_282_722_429),
            endTime: ExchangeTime(milliseconds: 1_672_887_522_429), limit: 100, cursor: "132766%3A2%2C132766%3A2")
        #expect(page.queryString
                == "category=linear&cursor=132766%3A2%2C132766%3A2&endTime=1672887522429&limit=100&startTime=1672282722429&symbol=BTCUSDT")

        #expect(BybitRequest.walletBalance(coins: ["USDT", "USDC"]).queryString == "accountType=UNIFIED&coin=USDT,USDC")
        #expect(try BybitRequest.positionList(.settleCoin("USDT"), limit: 200).queryString
                == "category=linear&limit=200&settleCoin=USDT")
        #expect(BybitRequest.feeRate(symbol: "BTCUSDT").queryString == "category=linear&symbol=BTCUSDT")
        #expect(try BybitRequest.orderHistory(scope: .symbol("BTCUSDT"), order: .orderLinkId("abc-1"),
                                              orderStatus: .cancelled).queryString
                == "category=linear&orderLinkId=abc-1&orderStatus=Cancelled&symbol=BTCUSDT")
        // Reserved characters in a value are percent-encoded; the signature covers the encoded form.
        let odd = BybitRequest(get: "/x", query: [.init(name: "b", value: "a b&c=d"), .init(name: "a", value: "1")],
                               isSigned: true)
        #expect(odd.queryString == "a=1&b=a%20b%26c%3Dd")
        #expect(BybitRequest.accountInfo().target == "/v5/account/info" && BybitRequest.accountInfo().isSigned)
        #expect(BybitRequest.queryApiKey().path == "/v5/user/query-api")
    }

    @Test func marketDataRequestsAreUnsigned() throws {
        #expect(BybitRequest.marketTime().target == "/v5/market/time")
        let info = try BybitRequest.instrumentsInfo(symbol: "BTCUSDT")
        #expect(info.target == "/v5/market/instruments-info?category=linear&symbol=BTCUSDT" && !info.isSigned)
        #expect(try BybitRequest.instrumentsInfo(cursor: "abc", limit: 1000).queryString
                == "category=linear&cursor=abc&limit=1000")
        #expect(BybitRequest.tickers().queryString == "category=linear")
        #expect(try BybitRequest.orderbook(symbol: "BTCUSDT", limit: 200).queryString
                == "category=linear&limit=200&symbol=BTCUSDT")
        #expect(try BybitRequest.recentTrade(symbol: "BTCUSDT", limit: 1000).queryString
                == "category=linear&limit=1000&symbol=BTCUSDT")
        #expect(try BybitRequest.kline(category: .inverse, symbol: "BTCUSD", interval: .oneHour,
                                       start: ExchangeTime(milliseconds: 1_670_601_600_000),
                                       end: ExchangeTime(milliseconds: 1_670_608_800_000)).queryString
                == "category=inverse&end=1670608800000&interval=60&start=1670601600000&symbol=BTCUSD")
        #expect(try BybitRequest.openInterest(category: .inverse, symbol: "BTCUSD", intervalTime: .oneDay,
                                              limit: 5).queryString
                == "category=inverse&intervalTime=1d&limit=5&symbol=BTCUSD")
        #expect(try BybitRequest.fundingHistory(symbol: "ETHPERP", endTime: ExchangeTime(milliseconds: 1_672_041_600_000))
                .queryString == "category=linear&endTime=1672041600000&symbol=ETHPERP")
        for request in [BybitRequest.marketTime(), try BybitRequest.recentTrade(symbol: "X")] {
            #expect(!request.isSigned && request.operation == .query && request.method == .get)
        }
    }

    @Test func requestsAreDeterministic() throws {
        let make = { () throws -> BybitRequest in
            try BybitRequest.createOrder(instrument: Self.btcWithRules, side: .buy, orderType: .limit,
                                         qty: try Self.btcWithRules.quantity("1.234"),
                                         price: try Self.btcWithRules.price("28140.1"),
                                         timeInForce: .postOnly, orderLinkId: "id-1")
        }
        #expect(try make() == make())
        let body = try make().body
        #expect(body.contains(#""qty":"1.234","price":"28140.10""#), "\(body)")
    }
}
