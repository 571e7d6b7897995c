import BybitV5
import CascadeCore
import Testing

/// Every verbatim example of `bybit_v5.md` §3.3–3.6 and §5.5 (the fixtures named `*.json` without `constructed` or
/// `shaped`) decoded and mapped to venue-neutral reports, each written out by hand from the example's own fields.
@Suite struct ReportMapperTests {
    let now = LocalTime(nanoseconds: 0)
    func t(_ ms: Int64) -> ExchangeTime { ExchangeTime(milliseconds: ms) }
    func p(_ s: String) -> Price { Price(units: try! FixedDecimal.parse(s, digits: Price.digits)) }
    func q(_ s: String) -> Quantity { Quantity(units: try! FixedDecimal.parse(s, digits: Quantity.digits)) }
    func u(_ s: String) -> USDT { try! USDT(s) }
    func r(_ s: String) -> Rate { try! Rate(s) }

    /// Decodes a private-stream fixture and maps it.
    func streamReports(_ name: String, mapper: inout BybitReportMapper) throws -> ([ExecutionReport], InstrumentTable) {
        var decoder = BybitPrivateDecoder()
        let message = try decoder.decode(try Fixture.bytes(name), localTime: now)
        return (mapper.reports(message), decoder.instruments)
    }

    @Test func theOrderStreamExampleIsAnAcceptedMarketOrder() throws {
        var mapper = BybitReportMapper()
        let (reports, table) = try streamReports("order.option.verbatim.json", mapper: &mapper)
        let symbol = try #require(table.lookup("ETH-30DEC22-1400-C"))
        // First sight of an order, already Filled: it is accepted (its fills arrive as executions), nothing more.
        #expect(reports == [ExecutionReport(symbol: symbol, time: t(1_672_364_262_457), event: .accepted(OrderAccepted(
            venueID: VenueOrderID("5cf98598-39a7-459e-97bf-76ca765ee020"), clientID: nil,
            spec: .market(.sell, qty: q("1")), origin: .client)))])
    }

    @Test func theRejectedPostOnlyOfTheOrderListIsACancellationWithItsCode() throws {
        let result = try BybitResponse<BybitOrderListResult>.decode(try Fixture.bytes("rest.order.history.postonly-cancelled.json")).requireResult()
        var table = InstrumentTable()
        var mapper = BybitReportMapper()
        let order = try #require(try result.orders(instruments: &table).first)
        let symbol = try #require(table.lookup("BTCUSDT"))
        let venueID = VenueOrderID("14bad3a1-6454-43d8-bcf2-5345896cf74d")
        let clientID = try ClientOrderID("YLxaWKMiHU")
        let time = t(1_684_476_068_372)
        #expect(mapper.reports(order: order) == [
            ExecutionReport(symbol: symbol, time: time, event: .accepted(OrderAccepted(
                venueID: venueID, clientID: clientID, spec: .limit(.buy, price: p("26864.40"), qty: q("0.003"), timeInForce: .postOnly)))),
            ExecutionReport(symbol: symbol, time: time, event: .cancelled(OrderCancelled(
                venueID: venueID, clientID: clientID,
                cancellation: Cancellation(.postOnlyWouldTakeLiquidity, venueCode: "EC_PostOnlyWillTakeLiquidity"), filledQty: .zero))),
        ])
    }

    @Test func theRealtimeListExampleIsAnOrderWithFullModeTakeProfitAndStopLoss() throws {
        let result = try BybitResponse<BybitOrderListResult>.decode(try Fixture.bytes("rest.order.realtime.json")).requireResult()
        var table = InstrumentTable()
        var mapper = BybitReportMapper()
        let order = try #require(try result.orders(instruments: &table).first)
        let symbol = try #require(table.lookup("ETHUSDT"))
        var spec = OrderSpec.limit(.buy, price: p("1600.00"), qty: q("0.10"))
        spec.protection = Protection(takeProfit: ProtectionLeg(trigger: p("2500.00"), source: .lastPrice),
                                     stopLoss: ProtectionLeg(trigger: p("1500.00"), source: .lastPrice), mode: .full)
        #expect(mapper.reports(order: order) == [ExecutionReport(symbol: symbol, time: t(1_684_738_540_561), event: .accepted(OrderAccepted(
            venueID: VenueOrderID("fd4300ae-7847-404e-b947-b46980a4d140"), clientID: try ClientOrderID("test-000005"), spec: spec)))])
        // The same message again changes nothing; another price is an amendment.
        #expect(mapper.reports(order: order).isEmpty)
        var moved = order
        moved.price = p("1601.00")
        moved.updatedTime = t(1_684_738_540_999)
        #expect(mapper.reports(order: moved).map(\.event) == [.amended(OrderAmended(
            venueID: VenueOrderID("fd4300ae-7847-404e-b947-b46980a4d140"), clientID: try ClientOrderID("test-000005"),
            price: p("1601.00"), qty: q("0.10")))])
    }

    @Test func theExecutionStreamExampleIsATakerFillThatClosedHalfABitcoin() throws {
        var mapper = BybitReportMapper()
        let (reports, table) = try streamReports("execution.json", mapper: &mapper)
        let symbol = try #require(table.lookup("BTCUSDT"))
        #expect(reports == [ExecutionReport(symbol: symbol, time: t(1_746_270_400_353), event: .filled(Fill(
            venueID: VenueOrderID("9aac161b-8ed6-450d-9cab-c5cc67c21784"), clientID: nil,
            executionID: ExecutionID("0ab1bdf7-4219-438b-b30a-32ec863018f7"), side: .sell, price: p("95900.1"), qty: q("0.5"),
            liquidity: .taker, fee: u("26.3725275"), feeRate: r("0.00055"), leavesQty: .zero, closedQty: q("0.5"),
            closedPnl: u("0.05"), markPrice: p("95901.48"), seq: 140_612_148_849_382)))])
    }

    @Test func theFastExecutionExampleIsAFillWithoutMoneyFields() throws {
        var mapper = BybitReportMapper()
        let (reports, table) = try streamReports("execution.fast.json", mapper: &mapper)
        let symbol = try #require(table.lookup("ICPUSDT"))
        #expect(reports == [ExecutionReport(symbol: symbol, time: t(1_716_800_399_334), event: .filled(Fill(
            venueID: VenueOrderID("443d63fa-b4c3-4297-b7b1-23bca88b04dc"), clientID: try ClientOrderID("test-00001"),
            executionID: ExecutionID("3510f361-0add-5c7b-a2e7-9679810944fc"), side: .sell, price: p("12.015"), qty: q("3000"),
            liquidity: .taker, fee: nil, feeRate: nil, leavesQty: nil, seq: 34_771_365_464)))])   // not said: not zero
    }

    @Test func theExecutionListExampleIsAFill() throws {
        let result = try BybitResponse<BybitExecutionListResult>.decode(try Fixture.bytes("rest.execution.list.json")).requireResult()
        var table = InstrumentTable()
        let e = try #require(try result.executions(instruments: &table).first)
        let symbol = try #require(table.lookup("ETHPERP"))
        #expect(BybitReportMapper().report(execution: e) == ExecutionReport(symbol: symbol, time: t(1_672_282_722_429), event: .filled(Fill(
            venueID: VenueOrderID("8c065341-7b52-4ca9-ac2c-37e31ac55c94"), clientID: nil,
            executionID: ExecutionID("e0cbe81d-0f18-5866-9415-cf319b5dab3b"), side: .buy, price: p("1190.15"), qty: q("0.1"),
            liquidity: .taker, fee: u("0.071409"), feeRate: r("0.0006"), leavesQty: .zero, markPrice: p("1183.54"), seq: 4_688_002_127))))
    }

    @Test func fundingIsACashflowAndUnknownTypesAreNeverFills() throws {
        var mapper = BybitReportMapper()
        let (reports, table) = try streamReports("execution.linear.funding-and-maker-rebate.constructed.json", mapper: &mapper)
        #expect(reports.contains { if case .funding = $0.event { true } else { false } })
        for report in reports {
            if case let .funding(f) = report.event {
                // The row's quantity is the position's size, its fee the amount paid: never a fill.
                #expect(f.positionSize.units != 0 && table.lookup("BTCUSDT") != nil)
            }
        }
        var decoder = BybitPrivateDecoder()
        guard case let .executions(rows, _) = try decoder.decode(try Fixture.bytes("execution.json"), localTime: now) else {
            Issue.record("execution.json is not an execution message"); return
        }
        var unknown = try #require(rows.first)
        unknown.execType = BybitExecType(rawValue: "SessionSettlePnL")
        guard case let .unclassified(u) = mapper.report(execution: unknown).event else {
            Issue.record("an unknown execType became \(mapper.report(execution: unknown).event)"); return
        }
        #expect(u.rawType == "SessionSettlePnL" && u.qty == q("0.5"))
        for (raw, kind) in [("BustTrade", ExecutionKind.bustTrade), ("AdlTrade", .autoDeleveraging), ("Delivery", .delivery),
                            ("Settle", .settlement), ("MovePosition", .movePosition)] {
            unknown.execType = BybitExecType(rawValue: raw)
            guard case let .takeover(t) = mapper.report(execution: unknown).event else { Issue.record("\(raw)"); continue }
            #expect(t.kind == kind && t.qty == q("0.5"))
        }
    }

    @Test func thePositionStreamExampleIsAFlatPositionWithItsRealisedPnL() throws {
        var mapper = BybitReportMapper()
        let (reports, table) = try streamReports("position.json", mapper: &mapper)
        let symbol = try #require(table.lookup("BTCUSDT"))
        #expect(reports == [ExecutionReport(symbol: symbol, time: t(1_697_682_317_038), event: .position(PositionReport(
            size: .zero, markPrice: p("28184.5"), leverage: r("10"), positionValue: .zero, unrealisedPnl: .zero,
            currentRealisedPnl: u("1.26"), cumulativeRealisedPnl: u("-25.06579337"), initialMargin: .zero, maintenanceMargin: .zero,
            status: .normal, adlRankIndicator: 0, seq: 8_327_597_863, createdTime: t(1_694_402_496_913))))])
    }

    @Test func thePositionListExampleIsAShortWithItsBankruptcyPrice() throws {
        let result = try BybitResponse<BybitPositionListResult>.decode(try Fixture.bytes("rest.position.list.inverse.verbatim.json")).requireResult()
        var table = InstrumentTable()
        let position = try #require(try result.positions(instruments: &table).first)
        let symbol = try #require(table.lookup("BTCUSD"))
        #expect(BybitReportMapper().report(position: position) == ExecutionReport(symbol: symbol, time: t(1_697_673_600_012), event: .position(PositionReport(
            size: Quantity(units: -q("300").units), averagePrice: p("27464.50441675"), markPrice: p("28224.50"), bankruptcyPrice: p("999999.00"),
            leverage: r("10"), positionValue: u("0.01092319"), unrealisedPnl: u("-0.00029413"), currentRealisedPnl: u("0.00013123"),
            cumulativeRealisedPnl: u("-0.00096902"), initialMargin: u("0.00010923"), maintenanceMargin: u("0.0000015"), status: .normal,
            adlRankIndicator: 2, seq: 5_723_621_632, createdTime: t(1_676_538_056_258)))))
    }

    @Test func theWalletExamplesAreTheUnifiedAccountsTotals() throws {
        var mapper = BybitReportMapper()
        let (reports, _) = try streamReports("wallet.json", mapper: &mapper)
        // The example lists a BTC coin only: no USDT order margin or realised PnL to read.
        #expect(reports == [ExecutionReport(symbol: nil, time: t(1_700_034_722_104), event: .wallet(WalletReport(
            walletBalance: u("9684.46297164"), equity: u("10262.91335023"), availableBalance: u("9556.6056555"), unrealisedPnl: .zero,
            initialMargin: .zero, orderInitialMargin: nil, maintenanceMargin: .zero, cumulativeRealisedPnl: nil)))])
        let rest = try BybitResponse<BybitWalletBalanceResult>.decode(try Fixture.bytes("rest.wallet-balance.json")).requireResult()
        let wallet = try #require(rest.list.first)
        #expect(mapper.report(wallet: wallet, at: t(1_690_872_862_481)) == ExecutionReport(symbol: nil, time: t(1_690_872_862_481), event: .wallet(WalletReport(
            walletBalance: u("3.00326056"), equity: u("3.31216591"), availableBalance: u("3.00326056"), unrealisedPnl: .zero,
            initialMargin: .zero, orderInitialMargin: nil, maintenanceMargin: .zero, cumulativeRealisedPnl: nil))))
    }

    @Test func theCreateAmendCancelAndCancelAllAnswersNameTheirOrders() throws {
        for (name, id, link) in [("rest.order.create.json", "1321003749386327552", "spot-test-postonly"),
                                 ("rest.order.amend.json", "c6f055d9-7f21-4079-913d-e6523a9cfffa", "linear-004"),
                                 ("rest.order.cancel.json", "c6f055d9-7f21-4079-913d-e6523a9cfffa", "linear-004")] {
            let result = try BybitResponse<BybitOrderIDResult>.decode(try Fixture.bytes(name)).requireResult()
            #expect(result.orderId == id && result.orderLinkId == link)
        }
        let all = try BybitResponse<BybitCancelAllResult>.decode(try Fixture.bytes("rest.order.cancel-all.json")).requireResult()
        #expect(all.list.map(\.orderId) == ["1616024329462743808", "1616024287544869632"])
    }

    @Test func aSecondFilledMessageWithTheLostCancelIsARefusedCommandNotAFill() throws {
        var table = InstrumentTable()
        let symbol = table.id(for: "BTCUSDT")
        let filled = BybitOrder(symbol: "BTCUSDT", symbolID: symbol, orderId: "o-1", orderLinkId: "race", side: .sell, orderType: .limit,
                                timeInForce: .postOnly, orderStatus: .filled, price: p("64000.5"), qty: q("0.001"), leavesQty: .zero,
                                leavesValue: .zero, cumExecQty: q("0.001"), cumExecValue: u("64.0005"), cumExecFee: u("0.0128001"),
                                avgPrice: p("64000.5"), closedPnl: .zero, reduceOnly: false, closeOnTrigger: false,
                                createdTime: t(1), updatedTime: t(2))
        var mapper = BybitReportMapper()
        #expect(mapper.reports(order: filled).count == 1)              // first sight: accepted
        var second = filled
        second.cancelType = "CancelByUser"
        second.rejectReason = "EC_OrigClOrdIDDoesNotExist"
        second.updatedTime = t(3)
        #expect(mapper.reports(order: second).map(\.event) == [.commandRejected(CommandRejected(
            action: .cancel(.venue(VenueOrderID("o-1"))), venueID: VenueOrderID("o-1"), clientID: try ClientOrderID("race"),
            rejection: Rejection(.orderClosed, venueCode: "EC_OrigClOrdIDDoesNotExist")))])
    }

    /// A PostOnly buy of 0.002 BTCUSDT at 60,000.0, resting, nothing executed, as Bybit states it at `updated`.
    func restingBuy(_ orderId: String, link: String, updated: ExchangeTime) -> BybitOrder {
        var table = InstrumentTable()
        return BybitOrder(symbol: "BTCUSDT", symbolID: table.id(for: "BTCUSDT"), orderId: orderId, orderLinkId: link, side: .buy,
                          orderType: .limit, timeInForce: .postOnly, orderStatus: .new, price: p("60000.0"), qty: q("0.002"),
                          leavesQty: q("0.002"), leavesValue: nil, cumExecQty: .zero, cumExecValue: .zero, cumExecFee: .zero,
                          avgPrice: nil, closedPnl: .zero, reduceOnly: false, closeOnTrigger: false, createdTime: t(1), updatedTime: updated)
    }

    /// A REST list row older than what the stream already said of the order (the list was read before an amend or a
    /// cancel was acknowledged) says nothing: before, it amended the order back to its old price, reopened the
    /// cancelled order in the reconciliation's view, and ended it a second time.
    @Test func anOlderStateOfAnOrderChangesNothing() throws {
        let placed = restingBuy("o-2", link: "stale", updated: t(1))
        var mapper = BybitReportMapper()
        #expect(mapper.reports(order: placed).count == 1)                  // accepted
        var amended = placed
        amended.price = p("59990.0")
        amended.updatedTime = t(5)
        let venueID = VenueOrderID("o-2"), clientID = try ClientOrderID("stale")
        #expect(mapper.reports(order: amended).map(\.event) == [.amended(OrderAmended(venueID: venueID, clientID: clientID, price: p("59990.0"),
                                                                                      qty: q("0.002"), triggerPrice: nil))])
        // The list read before the amend: nothing, and the amended terms stay known.
        #expect(mapper.reports(order: placed).isEmpty)
        #expect(mapper.reports(order: amended).isEmpty)
        var cancelled = amended
        cancelled.orderStatus = .cancelled
        cancelled.cancelType = "CancelByUser"
        cancelled.updatedTime = t(9)
        #expect(mapper.reports(order: cancelled).count == 1)
        // The list read before the cancel: nothing, and the order stays ended.
        #expect(mapper.reports(order: amended).isEmpty)
        #expect(mapper.openOrders.isEmpty)
        #expect(mapper.reports(order: cancelled).isEmpty)
    }

    /// A REST list row stamped in the same millisecond as the stream's message, at the same progress but with the old
    /// terms (read just before the amend applied), says nothing: at equal progress and time the stream is the later
    /// word. Before, it amended the order back.
    @Test func aListedRowAsFarAsTheStreamsMessageChangesNothing() throws {
        let placed = restingBuy("o-3", link: "tie", updated: t(5))
        var mapper = BybitReportMapper()
        var amended = placed
        amended.price = p("59990.0")
        #expect(mapper.reports(order: amended).count == 1)                 // the stream: accepted at the new price
        #expect(mapper.reports(order: placed, listed: true).isEmpty)       // the list, same millisecond, old price
        // A listed row that is ahead still counts.
        var filled = amended
        filled.orderStatus = .filled
        filled.cumExecQty = q("0.002")
        filled.updatedTime = t(6)
        _ = mapper.reports(order: filled, listed: true)
        #expect(mapper.openOrders.isEmpty, "the filled row, listed and ahead, ended the order")
    }
}
