import BybitV5
import Foundation
import CascadeCore
import Testing

@Suite struct PrivateDecoderTests {
    let now = LocalTime(nanoseconds: 1_746_270_400_400_000_000)

    func decode(_ fixture: String, _ decoder: inout BybitPrivateDecoder) throws -> BybitPrivateMessage {
        try decoder.decode(try Fixture.bytes(fixture), localTime: now)
    }

    @Test func linearOrderUpdatesCarryEveryFieldThatMatters() throws {
        var d = BybitPrivateDecoder()
        guard case let .orders(orders, env) = try decode("order.linear-shaped-from-option-doc.json", &d) else {
            Issue.record("not orders"); return
        }
        #expect(env.topic == BybitPrivateTopic(kind: .order) && env.id == "5923240c6880ab-c59f-420b-9adb-3639adc9dd90")
        #expect(env.creationTime == ExchangeTime(milliseconds: 1_672_364_262_474) && env.localTime == now)
        #expect(orders.count == 3)
        let btc = d.instruments[orders[0].symbolID]

        let a = orders[0]
        #expect(a.orderId == "5cf98598-39a7-459e-97bf-76ca765ee020" && a.orderLinkId == "cascade-ladder-1")
        #expect(a.symbol == "BTCUSDT" && a.category == "linear" && a.side == .buy)
        #expect(a.orderType == .limit && a.timeInForce == .postOnly && a.orderStatus == .partiallyFilled)
        #expect(try a.price == btc.price("16500.5") && a.qty == btc.quantity("0.25"))
        #expect(try a.leavesQty == btc.quantity("0.15") && a.cumExecQty == btc.quantity("0.1"))
        #expect(try a.cumExecValue == USDT("1650.05") && a.leavesValue == USDT("2475.075"))
        #expect(try a.cumExecFee == USDT("0.33001") && a.cumFeeUSDT == USDT("0.33001"))
        #expect(try a.avgPrice == btc.price("16500.50"))
        #expect(a.cancelType == "UNKNOWN" && a.rejectReason == "EC_NoError" && !a.isPostOnlyRejection)
        #expect(!a.reduceOnly && !a.closeOnTrigger && a.positionIndex == .oneWay)
        #expect(a.triggerPrice == nil && a.takeProfit == nil && a.stopLoss == nil && a.triggerDirection == nil)
        #expect(a.createdTime == ExchangeTime(milliseconds: 1_672_364_262_444))
        #expect(a.updatedTime == ExchangeTime(milliseconds: 1_672_364_262_457))

        let b = orders[1]
        #expect(b.orderStatus == .cancelled && b.isPostOnlyRejection && b.avgPrice == nil)
        #expect(b.reduceOnly && b.closeOnTrigger && b.side == .sell && b.cumFeeDetail.isEmpty)
        #expect(b.triggerPrice == nil && b.leavesQty == .zero)

        let c = orders[2]
        #expect(c.orderStatus == .untriggered && c.orderStatus.isOpen && c.orderType == .market)
        #expect(c.timeInForce == .immediateOrCancel && c.stopOrderType == "Stop")
        #expect(try c.triggerPrice == btc.price("16000") && c.triggerDirection == .fall && c.triggerBy == "MarkPrice")
        #expect(c.cumExecFee == nil && c.closedPnl == nil && c.leavesValue == nil)
    }

    @Test func everyDocumentedOrderStatusDecodes() throws {
        for status in BybitOrderStatus.allCases {
            var d = BybitPrivateDecoder()
            let frame = #"{"topic":"order.linear","id":"x","creationTime":1,"data":[{"symbol":"BTCUSDT","orderId":"o","side":"Buy","orderType":"Limit","timeInForce":"GTC","orderStatus":"\#(status.rawValue)","qty":"1","cumExecQty":"0","createdTime":"1","updatedTime":"2"}]}"#
            guard case let .orders(orders, env) = try d.decode(frame, localTime: now) else {
                Issue.record("not orders"); continue
            }
            #expect(orders[0].orderStatus == status)
            #expect(env.topic == BybitPrivateTopic(kind: .order, category: .linear))
        }
        #expect(Set(BybitOrderStatus.allCases.map(\.rawValue)) == [
            "New", "PartiallyFilled", "Untriggered", "Rejected", "PartiallyFilledCanceled", "Filled", "Cancelled",
            "Triggered", "Deactivated"])
    }

    /// A stop's life on the order topic: Untriggered → Triggered → New → Filled. `Triggered` is Bybit's instantaneous
    /// state between the trigger and the new active order: the same order goes on, so it is never terminal, and a
    /// consumer that retires orders on `!isOpen` keeps it (client review row 9).
    @Test func aFiredStopStaysOpenThroughTriggered() throws {
        var d = BybitPrivateDecoder()
        var seen: [(BybitOrderStatus, BybitOrderStatus.Lifecycle, Bool)] = []
        for (k, status) in ["Untriggered", "Triggered", "New", "Filled"].enumerated() {
            let frame = #"{"topic":"order.linear","id":"x","creationTime":1,"data":[{"symbol":"BTCUSDT","orderId":"stop-1","side":"Sell","orderType":"Market","timeInForce":"IOC","orderStatus":"\#(status)","qty":"1","cumExecQty":"\#(status == "Filled" ? "1" : "0")","createdTime":"1","updatedTime":"\#(k + 2)"}]}"#
            guard case let .orders(orders, _) = try d.decode(frame, localTime: now) else { Issue.record("not orders"); return }
            seen.append((orders[0].orderStatus, orders[0].orderStatus.lifecycle, orders[0].orderStatus.isOpen))
        }
        #expect(seen.map(\.0) == [.untriggered, .triggered, .new, .filled])
        #expect(seen.map(\.1) == [.open, .transitional, .open, .terminal])
        #expect(seen.map(\.2) == [true, true, true, false])
        #expect(BybitOrderStatus.allCases.filter { $0.lifecycle == .terminal }
            == [.rejected, .partiallyFilledCanceled, .filled, .cancelled, .deactivated])
    }

    @Test func docsExecutionReproducesValueAndFeeExactly() throws {
        var d = BybitPrivateDecoder()
        guard case let .executions(fills, env) = try decode("execution.json", &d) else { Issue.record("not executions"); return }
        #expect(env.topic.kind == .execution && env.id == "386825804_BTCUSDT_140612148849382")
        let e = try #require(fills.first)
        let btc = d.instruments[e.symbolID]
        #expect(e.execId == "0ab1bdf7-4219-438b-b30a-32ec863018f7" && e.orderId == "9aac161b-8ed6-450d-9cab-c5cc67c21784")
        #expect(e.orderLinkId == "" && e.side == .sell && e.execType == .trade && !e.isMaker)
        #expect(try e.execPrice == btc.price("95900.1") && e.execQty == btc.quantity("0.5"))
        #expect(try e.execValue == USDT("47950.05") && e.execFee == USDT("26.3725275"))
        #expect(try e.feeRate == Rate("0.00055") && e.execPnl == USDT("0.05"))
        #expect(try e.closedSize == btc.quantity("0.5") && e.leavesQty == .zero)
        #expect(try e.orderPrice == btc.price("94942.5") && e.markPrice == btc.price("95901.48"))
        #expect(e.execTime == ExchangeTime(milliseconds: 1_746_270_400_353) && e.seq == 140_612_148_849_382)
        #expect(e.feeCurrency == "USDT" && e.createType == "CreateByUser")
        // The domain arithmetic agrees with Bybit to the digit.
        #expect(btc.notional(price: e.execPrice, qty: e.execQty) == e.execValue)
        #expect(e.execValue?.multiplied(by: e.feeRate!) == e.execFee)
    }

    @Test func fastExecutionsDefaultToTradeWithoutMoneyFields() throws {
        var d = BybitPrivateDecoder()
        guard case let .executions(fills, env) = try decode("execution.fast.json", &d) else { Issue.record("not executions"); return }
        #expect(env.topic.kind == .executionFast && env.id == "")
        let e = fills[0]
        #expect(e.symbol == "ICPUSDT" && e.execType == .trade && e.orderLinkId == "test-00001")
        #expect(try e.execPrice == d.instruments[e.symbolID].price("12.015") && e.execValue == nil && e.execFee == nil)
        #expect(e.seq == 34_771_365_464)
    }

    @Test func negativeFeesForFundingReceivedAndMakerRebates() throws {
        var d = BybitPrivateDecoder()
        guard case let .executions(fills, env) = try decode("execution.linear.funding-and-maker-rebate.constructed.json", &d)
        else { Issue.record("not executions"); return }
        #expect(env.topic == BybitPrivateTopic(kind: .execution, category: .linear))
        let funding = fills[0], rebate = fills[1]
        #expect(funding.execType == .funding && !funding.execType.isTrade)
        #expect(try funding.execFee == USDT("-0.9590148") && funding.execFee! < .zero)
        #expect(try rebate.execType == .trade && rebate.isMaker && rebate.feeRate == Rate("-0.0001"))
        #expect(rebate.execFee == USDT(units: -9_590_000))
        #expect(rebate.execValue?.multiplied(by: rebate.feeRate!) == rebate.execFee)
    }

    @Test func flatPositionHasNoSide() throws {
        var d = BybitPrivateDecoder()
        guard case let .positions(positions, env) = try decode("position.json", &d) else { Issue.record("not positions"); return }
        #expect(env.creationTime == ExchangeTime(milliseconds: 1_697_682_317_044))
        let p = positions[0]
        #expect(p.side == nil && p.size == .zero && p.signedSize == .zero && p.positionIndex == .hedgeSell)
        #expect(p.entryPrice == .zero && p.liqPrice == .zero && p.bustPrice == nil)
        #expect(try p.curRealisedPnl == USDT("1.26") && p.cumRealisedPnl == USDT("-25.06579337"))
        #expect(try p.breakEvenPrice == d.instruments[p.symbolID].price("93556.73034991"))
        #expect(p.tradeMode == 0 && p.positionStatus == .normal && p.seq == 8_327_597_863 && !p.isReduceOnly)
        #expect(p.updatedTime == ExchangeTime(milliseconds: 1_697_682_317_038))
    }

    @Test func buyIsLongAndSellIsShort() throws {
        var d = BybitPrivateDecoder()
        guard case let .positions(positions, _) = try decode("position.linear.long-and-short.constructed.json", &d) else {
            Issue.record("not positions"); return
        }
        let long = positions[0], short = positions[1]
        let btc = d.instruments[long.symbolID], eth = d.instruments[short.symbolID]
        #expect(try long.side == .long && long.size == btc.quantity("0.5") && long.signedSize.units > 0)
        #expect(try long.entryPrice == btc.price("95900.1") && long.liqPrice == btc.price("86790.4"))
        #expect(try long.takeProfit == btc.price("99000") && long.stopLoss == nil)
        #expect(try long.positionValue == USDT("47950.05") && long.seq == 140_612_148_849_382)
        #expect(try short.side == .short && short.signedSize == Quantity(units: -eth.quantity("1.25").units))
        #expect(try short.liqPrice == nil && short.unrealisedPnl == USDT("2.9375") && short.positionIndex == .hedgeSell)
    }

    @Test func walletsCarryAccountTotalsAndCoins() throws {
        var d = BybitPrivateDecoder()
        guard case let .wallets(wallets, _) = try decode("wallet.json", &d) else { Issue.record("not wallets"); return }
        let w = wallets[0]
        #expect(try w.accountType == "UNIFIED" && w.totalEquity == USDT("10262.91335023"))
        #expect(try w.totalWalletBalance == USDT("9684.46297164") && w.totalAvailableBalance == USDT("9556.6056555"))
        #expect(w.accountIMRate == Rate(units: 0))
        let btc = try #require(w.coin("BTC"))
        #expect(try btc.walletBalance == BybitCoinAmount("0.00102964") && btc.totalOrderIM == nil)
        #expect(try btc.cumRealisedPnl == BybitCoinAmount("-0.00000973") && btc.usdValue == USDT("36.70759517"))
        #expect(btc.collateralSwitch == true && w.usdt == nil)

        guard case let .wallets(usdtWallets, _) = try decode("wallet.usdt.constructed.json", &d) else {
            Issue.record("not wallets"); return
        }
        let usdt = try #require(usdtWallets[0].usdt)
        #expect(try usdt.walletBalance?.usdt == USDT("283747.92402375") && usdt.availableToWithdraw == nil)
        #expect(try usdt.equity?.usdt == USDT("283748.61402375") && usdt.unrealisedPnl?.usdt == USDT("0.69"))
        #expect(try usdtWallets[0].accountIMRate == Rate("0.0169"))
    }

    @Test func controlFrames() throws {
        var d = BybitPrivateDecoder()
        guard case let .control(ok) = try decode("control.auth.success.json", &d) else { Issue.record("not control"); return }
        #expect(ok.kind == .auth && ok.isSuccessfulAuth && !ok.isFailedAuth && ok.connectionID == "cejreaspqfh3sjdnldmg-p")
        guard case let .control(bad) = try decode("control.auth.failure.json", &d) else { Issue.record("not control"); return }
        #expect(bad.isFailedAuth && bad.retMessage == "Params Error")
        guard case let .control(pong) = try decode("control.pong.private.json", &d) else { Issue.record("not control"); return }
        #expect(pong.kind == .pong && pong.args == ["1675418560633"] && pong.requestID == "test" && pong.success == nil)
        guard case let .control(ack) = try decode("control.subscribe.ack.json", &d) else { Issue.record("not control"); return }
        #expect(ack.kind == .subscribe && ack.success == true && !ack.isFailedSubscription)
        #expect(try d.decode(#"{"op":"unsubscribe","success":false,"ret_msg":"x"}"#, localTime: now).envelope == nil)
    }

    @Test func topicNames() {
        #expect(BybitPrivateTopic("execution.fast.linear") == BybitPrivateTopic(kind: .executionFast, category: .linear))
        #expect(BybitPrivateTopic("execution.fast") == BybitPrivateTopic(kind: .executionFast))
        #expect(BybitPrivateTopic("position.inverse")?.name == "position.inverse")
        #expect(BybitPrivateTopic("wallet")?.kind == .wallet)
        for unknown in ["wallet.linear", "greeks", "dcp", "order.", "order.futures", "orders", ""] {
            #expect(BybitPrivateTopic(unknown) == nil, "\(unknown)")
        }
    }

    static let order = #"{"topic":"order","id":"x","creationTime":1,"data":[{"symbol":"BTCUSDT","orderId":"o","side":"Buy","orderType":"Limit","timeInForce":"GTC","orderStatus":"New","qty":"1","cumExecQty":"0","createdTime":"1","updatedTime":"2"}]}"#

    static func edit(_ from: String, _ to: String) -> String { order.replacingOccurrences(of: from, with: to) }

    /// Frames that fail whole: not a private topic message, or a broken envelope.
    static let malformedFrames: [(String, BybitDecodeError)] = [
        (edit(#""creationTime":1"#, #""creationTime":"1""#), .wrongType(field: "creationTime")),
        (edit(#""data":["#, #""data":{"a":["#).replacingOccurrences(of: "}]}", with: "}]}}"),
         .wrongType(field: "data")),
        (edit(#""creationTime":1,"#, ""), .missingField("creationTime")),
        (#"{"topic":"greeks","creationTime":1,"data":[]}"#, .unknownTopic("greeks")),
        (#"{"id":"x"}"#, .unrecognisedFrame),
        (#"{"topic":"order","data":["#, .notJSON),
        ("", .notJSON),
    ]

    @Test(arguments: malformedFrames)
    func malformedFramesAreTypedErrors(frame: String, expected: BybitDecodeError) {
        var d = BybitPrivateDecoder()
        #expect(throws: expected) { try d.decode(frame, localTime: now) }
    }

    /// Rows whose fill-critical field cannot be read: the row is quarantined with a typed error naming the field,
    /// the frame still decodes (client review row 4).
    static let unreadableRows: [(String, BybitDecodeError)] = [
        // Wrong JSON types of known fields.
        (edit(#""qty":"1""#, #""qty":1"#), BybitDecodeError.wrongType(field: "data[0].qty")),
        (edit(#""orderId":"o""#, #""orderId":"o","reduceOnly":"false""#),
         .wrongType(field: "data[0].reduceOnly")),
        // Inexact or invalid decimals.
        (edit(#""qty":"1""#, #""qty":"1e5""#), .invalidDecimal(field: "data[0].qty", value: "1e5")),
        (edit(#""qty":"1""#, #""qty":"0.000000001""#),
         .invalidDecimal(field: "data[0].qty", value: "0.000000001")),
        // Undocumented values of fields the engine acts on.
        (edit(#""orderStatus":"New""#, #""orderStatus":"Active""#),
         .invalidValue(field: "data[0].orderStatus", value: "Active")),
        (edit(#""side":"Buy""#, #""side":"buy""#), .invalidValue(field: "data[0].side", value: "buy")),
        (edit(#""createdTime":"1""#, #""createdTime":"-1""#),
         .invalidValue(field: "data[0].createdTime", value: "-1")),
        // Missing required fields.
        (edit(#""qty":"1","#, ""), .missingField("data[0].qty")),
        (edit(#""orderId":"o","#, ""), .missingField("data[0].orderId")),
        (#"{"topic":"execution","creationTime":1,"data":[{"symbol":"BTCUSDT","execId":"e","orderId":"o","side":"Sell","execPrice":"1","execQty":"1","isMaker":false,"execTime":"1"}]}"#,
         .missingField("data[0].execType")),
        (#"{"topic":"execution","creationTime":1,"data":[{"symbol":"BTCUSDT","execId":"e","orderId":"o","side":"Sell","execPrice":"1","execQty":"1","execType":"Trade","isMaker":"no","execTime":"1"}]}"#,
         .wrongType(field: "data[0].isMaker")),
        (#"{"topic":"position","creationTime":1,"data":[{"symbol":"BTCUSDT","side":"Long","size":"1"}]}"#,
         .invalidValue(field: "data[0].side", value: "Long")),
        (#"{"topic":"wallet","creationTime":1,"data":[{"accountType":"UNIFIED","coin":[{"coin":"USDT","walletBalance":12}]}]}"#,
         .wrongType(field: "data[0].coin[0].walletBalance")),
    ]

    @Test(arguments: unreadableRows)
    func anUnreadableRowIsQuarantinedAndTheFrameStillDecodes(frame: String, expected: BybitDecodeError) throws {
        var d = BybitPrivateDecoder()
        let message = try d.decode(frame, localTime: now)
        let rows: Int = switch message {
        case let .orders(l, _): l.count
        case let .executions(l, _): l.count
        case let .positions(l, _): l.count
        case let .wallets(l, _): l.count
        default: -1
        }
        #expect(rows == 0)
        let quarantined = d.takeQuarantined()
        #expect(quarantined.map(\.error) == [expected] && quarantined.first?.path == "data[0]")
        #expect(d.takeQuarantined().isEmpty)
    }

    /// Informational fields read leniently: an undocumented value or an over-scale decimal is `nil`, named in
    /// `unreadFields`, and the row is delivered (the tests used to pin these as frame errors).
    static let unreadableInformation: [(String, String)] = [
        (edit(#""orderId":"o""#, #""orderId":"o","cumExecFee":"abc""#), "cumExecFee"),
        (edit(#""orderId":"o""#, #""orderId":"o","cumFeeDetail":{"USDT":"1.000000001"}"#), "cumFeeDetail.USDT"),
        (edit(#""orderId":"o""#, #""orderId":"o","positionIdx":7"#), "positionIdx"),
        (#"{"topic":"position","creationTime":1,"data":[{"symbol":"BTCUSDT","side":"Buy","size":"1","positionStatus":"Closing"}]}"#,
         "positionStatus"),
        (#"{"topic":"wallet","creationTime":1,"data":[{"accountType":"UNIFIED","totalEquity":"1.123456789","coin":[]}]}"#,
         "totalEquity"),
        (#"{"topic":"wallet","creationTime":1,"data":[{"accountType":"UNIFIED","coin":[{"coin":"USDT","equity":"abc"}]}]}"#,
         "coin.USDT.equity"),
    ]

    @Test(arguments: unreadableInformation)
    func anUnreadableInformationalFieldIsNilAndNamed(frame: String, field: String) throws {
        var d = BybitPrivateDecoder()
        let unread: [[String]] = switch try d.decode(frame, localTime: now) {
        case let .orders(l, _): l.map(\.unreadFields)
        case let .positions(l, _): l.map(\.unreadFields)
        case let .wallets(l, _): l.map(\.unreadFields)
        default: []
        }
        #expect(unread == [[field]])
        #expect(d.takeQuarantined().isEmpty)
    }

    @Test func aBadRowDoesNotTakeItsNeighboursDown() throws {
        var d = BybitPrivateDecoder()
        let good = #"{"symbol":"ETHUSDT","execId":"e1","orderId":"o","side":"Sell","execPrice":"1","execQty":"1","execType":"Trade","isMaker":false,"execTime":"1"}"#
        let bad = #"{"symbol":"BTCUSDT","execId":"e2","orderId":"o","side":"Sell","execPrice":"1.000000001","execQty":"1","execType":"Trade","isMaker":false,"execTime":"1"}"#
        let frame = #"{"topic":"execution","creationTime":1,"data":[\#(bad),\#(good)]}"#
        guard case let .executions(fills, _) = try d.decode(frame, localTime: now) else { Issue.record("not executions"); return }
        #expect(fills.map(\.execId) == ["e1"])
        #expect(d.takeQuarantined() == [BybitQuarantinedRow(source: "execution", path: "data[0]", symbol: "BTCUSDT",
                                                             error: .invalidDecimal(field: "data[0].execPrice", value: "1.000000001"))])
    }

    @Test func absentOptionalFieldsAndUnknownFieldsDoNotFailDecoding() throws {
        var d = BybitPrivateDecoder()
        let frame = #"{"topic":"position","creationTime":1,"brandNew":{"x":[1]},"data":[{"symbol":"BTCUSDT","side":"None","size":"0","anotherNewField":true}]}"#
        guard case let .positions(positions, env) = try d.decode(frame, localTime: now) else { Issue.record("not positions"); return }
        #expect(positions[0].side == nil && positions[0].entryPrice == nil && positions[0].seq == nil && env.id == "")
        #expect(try d.decode(#"{"topic":"order","creationTime":5,"data":[]}"#, localTime: now)
                == .orders([], BybitPrivateEnvelope(topic: .init(kind: .order), id: "", creationTime: .init(milliseconds: 5),
                                                   localTime: now)))
    }

    @Test func decodingUsesTheFixedPrecision() throws {
        let bytes = try Fixture.bytes("execution.json")
        var d = BybitPrivateDecoder()
        guard case let .executions(fills, _) = try d.decode(bytes, localTime: now) else { Issue.record("not executions"); return }
        #expect(fills[0].execPrice == Price(units: 9_590_010_000_000) && fills[0].execQty == Quantity(units: 500_000))
        // A price finer than the precision is never rounded: the informational mark price reads as nil and is
        // named, a finer fill price quarantines the row.
        let finer = Array(String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "95901.48", with: "95901.123456789").utf8)
        guard case let .executions(marked, _) = try d.decode(finer, localTime: now) else { Issue.record("not executions"); return }
        #expect(marked[0].markPrice == nil && marked[0].unreadFields == ["markPrice"])
        let text = String(decoding: bytes, as: UTF8.self)
        let finerFill = Array(text.replacingOccurrences(of: #""execPrice": "95900.1""#, with: #""execPrice": "95900.123456789""#).utf8)
        #expect(finerFill.count == bytes.count + 8)
        guard case let .executions(none, _) = try d.decode(finerFill, localTime: now) else { Issue.record("not executions"); return }
        #expect(none.isEmpty)
        #expect(d.takeQuarantined().map(\.error) == [.invalidDecimal(field: "data[0].execPrice", value: "95900.123456789")])
    }

    /// The encoder writes its literal keys unescaped and the keys it is given (fee coins) escaped: an order whose fee
    /// coin needs escaping still encodes to one JSON object that reads back with every key and value.
    @Test func encodedOrdersEscapeGivenKeysAndCloseTheirObjects() throws {
        var d = BybitPrivateDecoder()
        guard case var .orders(orders, _) = try decode("order.linear-shaped-from-option-doc.json", &d) else {
            Issue.record("not orders"); return
        }
        let odd = "U\"S\\D\nT"
        orders[0].cumFeeDetail = ["USDT": BybitCoinAmount(units: 33_001_000), odd: BybitCoinAmount(units: 1)]
        let text = BybitPrivateEncoder.order(orders[0], instrument: d.instruments[orders[0].symbolID])
        #expect(text.hasPrefix("{") && text.hasSuffix("}"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["orderLinkId"] as? String == "cascade-ladder-1" && object["symbol"] as? String == "BTCUSDT")
        let fees = try #require(object["cumFeeDetail"] as? [String: String])
        #expect(fees == ["USDT": "0.33001", odd: "0.00000001"])
    }

    /// The same for a permission group of `/v5/user/query-api` (a key given at run time through `raw(dynamicKey:)`).
    @Test func apiKeyPermissionGroupsAreEscapedKeys() throws {
        let odd = "Contract\"Trade\\"
        let text = BybitRESTEncoder.apiKeyInfo(.init(apiKey: "k", note: "n", readOnly: 0,
                                                     permissions: [(odd, ["Order"]), ("Wallet", [])], ips: ["*"], deadlineDay: 1,
                                                     expiredAt: "0", createdAt: "0", userID: 7))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let permissions = try #require(object["permissions"] as? [String: [String]])
        #expect(permissions == [odd: ["Order"], "Wallet": []])
        #expect(object["apiKey"] as? String == "k" && object["ips"] as? [String] == ["*"])
    }
}
