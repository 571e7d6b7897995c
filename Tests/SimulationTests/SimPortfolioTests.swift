import BybitV5
import CascadeCore
import MarketData
import Simulation
import Testing

/// Hand-worked margin, leverage and liquidation of the cross-margin account (defaults: leverage 10, MMR 0.005,
/// taker 0.00055, entry latency 10 ms). Every number follows the rules written in `SimPortfolio`'s documentation.
@Suite struct SimPortfolioTests {
    func u(_ text: String) -> USDT { try! USDT(text) }
    func t(_ ms: Int64) -> ExchangeTime { ExchangeTime(milliseconds: ms) }

    func mark(_ m: Market, _ price: String, at ms: Int64) -> MarketEvent {
        var fields = TickerFields()
        fields.markPrice = m.p(price)
        return .ticker(TickerUpdate(symbol: m.instrument.id, kind: .delta, fields: fields, crossSequence: nil,
                                    exchangeTime: ExchangeTime(milliseconds: ms), localTime: LocalTime(nanoseconds: ms)))
    }

    func code(_ result: Result<Void, SimRejectReason>) -> Int {
        switch result {
        case .success: 0
        case let .failure(reason): reason.retCode
        }
    }

    /// A long of 8 bought at 100.0 from a deposit of 100: value 800, taker fee 0.44, wallet 99.56, IM 80. A buy
    /// 90.0 × 1 and a stop-loss at 80.0 (mark) rest.
    func long8(_ m: inout Market) -> SimPortfolio {
        var p = SimPortfolio(deposit: u("100"))
        _ = p.on(.book(m.book(.snapshot, ts: 1_000, bids: [("99.5", "50")], asks: [("100.0", "50")])), instrument: m.instrument)
        _ = p.submit(.place(clientID: "open", side: .buy, price: nil, qty: m.q("8"), timeInForce: .immediateOrCancel), instrument: m.instrument)
        // In flight, the market buy is valued at the best ask: 80 + 0.44 + 800 × 0.9 × 0.00055 = 80.836.
        #expect(p.totalOrderIM == u("80.836"))
        _ = p.submit(.place(clientID: "bid", side: .buy, price: m.p("90.0"), qty: m.q("1"), timeInForce: .goodTillCancel),
                     instrument: m.instrument)
        _ = p.advance(to: t(1_010))
        // A trading-stop needs the position (Bybit refuses it on the call before): sent once the buy filled.
        _ = p.submit(.tradingStop(takeProfit: nil, stopLoss: m.p("80.0"), triggerBy: .markPrice, qty: nil), instrument: m.instrument)
        _ = p.advance(to: t(1_010))
        return p
    }

    @Test func orderCostIsInitialMarginPlusFeesToOpenAndCloseAndTheOrderThatDoesNotFitIs110007() throws {
        var m = Market()
        var p = SimPortfolio(deposit: u("100"))
        #expect(p.submit(.place(clientID: "early", side: .buy, price: m.p("99.0"), qty: m.q("1"), timeInForce: .postOnly),
                         instrument: m.instrument) == .failure(.noMarketPrice))
        _ = p.on(.book(m.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])), instrument: m.instrument)
        // 891 / 10 + 891 × 0.00055 + 891 × (1 − 1/10) × 0.00055 = 89.1 + 0.49005 + 0.441045.
        #expect(SimPortfolio.orderCost(side: .buy, price: m.p("99.0"), qty: m.q("9"), leverage: try Rate("10"),
                                       takerFee: SimFees.bybitDefault.taker, instrument: m.instrument) == u("90.031095"))
        func buy(_ qty: String) -> SimCommand {
            .place(clientID: "b\(qty)", side: .buy, price: m.p("99.0"), qty: m.q(qty), timeInForce: .postOnly)
        }
        func sell(_ qty: String) -> SimCommand {
            .place(clientID: "s\(qty)", side: .sell, price: m.p("101.0"), qty: m.q(qty), timeInForce: .postOnly)
        }
        #expect(p.submit(buy("9"), instrument: m.instrument) == .success(t(1_010)))
        #expect(p.totalOrderIM == u("90.031095") && p.availableBalance == u("9.968905"))   // counted while in flight
        // 99 × 1: 9.9 + 0.05445 + 0.049005 = 10.003455 > 9.968905.
        #expect(p.submit(buy("1"), instrument: m.instrument) == .failure(.insufficientAvailableBalance))
        #expect(SimRejectReason.insufficientAvailableBalance.retCode == 110007)
        // 99 × 0.9: 8.91 + 0.049005 + 0.0441045 = 9.0031095 fits.
        #expect(p.submit(buy("0.9"), instrument: m.instrument) == .success(t(1_010)))
        #expect(p.totalOrderIM == u("99.0342045") && p.availableBalance == u("0.9657955"))
        // Sells 101 × 9 cost 90.9 + 0.49995 + 909 × 1.1 × 0.00055 (0.549945) = 91.949895: below the buy side, so free.
        #expect(p.submit(sell("9"), instrument: m.instrument) == .success(t(1_010)))
        #expect(p.totalOrderIM == u("99.0342045"))
        // One more sells 101 × 1 (10.216655): the sell side, 102.16655, now dominates by 3.1323455 > 0.9657955.
        #expect(p.submit(sell("1"), instrument: m.instrument) == .failure(.insufficientAvailableBalance))
        let reports = p.advance(to: t(1_010))
        #expect(reports.map(\.report).acceptedIDs.count == 3 && p.exchanges[m.instrument.id]?.engine.openOrderCount == 3)
        #expect(p.totalOrderIM == u("99.0342045"))                            // resting: the same
        // Amending the 9 up to 10 adds 10.003455: refused; down to 8 frees margin.
        let first = SimOrderID(1)
        #expect(p.submit(.amend(first, qty: m.q("10"), price: nil), instrument: m.instrument) == .failure(.insufficientAvailableBalance))
        #expect(p.submit(.amend(first, qty: m.q("8"), price: nil), instrument: m.instrument) == .success(t(1_010)))
    }

    @Test func availableBalanceWithAnOpenPositionAndAnUnrealisedLossAndReducingOrdersCostNothing() {
        var m = Market()
        var p = SimPortfolio(deposit: u("1000"))
        let id = m.instrument.id
        _ = p.on(.book(m.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])), instrument: m.instrument)
        _ = p.submit(.place(clientID: "open", side: .buy, price: nil, qty: m.q("5"), timeInForce: .immediateOrCancel), instrument: m.instrument)
        #expect(p.advance(to: t(1_010)).map(\.report).fills.map(\.price) == [m.p("100.5")])
        // 502.5 taken: fee 0.276375. No price yet: valued at entry.
        #expect(p.walletBalance == u("999.723625") && p.unrealisedPnL == .zero)
        #expect(p.totalPositionIM == u("50.25") && p.totalMaintenanceMargin == u("2.5125"))
        // A print at 99.0: valued at the last price, 495 − 502.5.
        _ = p.on(.trades([m.trade(.sell, "99.0", "0.1", at: 1_020)]), instrument: m.instrument)
        #expect(p.unrealisedPnL == u("-7.5"))
        // A mark price wins over the last price: 490 − 502.5.
        _ = p.on(mark(m, "98.0", at: 1_030), instrument: m.instrument)
        #expect(p.unrealisedPnL == u("-12.5") && p.equity == u("987.223625"))
        #expect(p.totalMaintenanceMargin == u("2.45"))                        // 490 × 0.005
        #expect(p.availableBalance == u("936.973625"))                        // 987.223625 − 50.25
        #expect(p.estimatedLiquidationPrice(id) == nil)                       // no positive mark gets there
        // Selling the 5 only closes the long: nothing reserved.
        #expect(p.submit(.place(clientID: "close", side: .sell, price: m.p("101.0"), qty: m.q("5"), timeInForce: .goodTillCancel),
                         instrument: m.instrument) == .success(t(1_010)))
        #expect(p.totalOrderIM == .zero && p.availableBalance == u("936.973625"))
        // Two more would open a short: 202 / 10 + 0.1111 + 202 × 1.1 × 0.00055 (0.12221) = 20.43331.
        _ = p.submit(.place(clientID: "flip", side: .sell, price: m.p("101.0"), qty: m.q("2"), timeInForce: .goodTillCancel),
                     instrument: m.instrument)
        #expect(p.totalOrderIM == u("20.43331") && p.availableBalance == u("916.540315"))
    }

    @Test func setLeverageChecksRangeUnchangedValueAndMargin() throws {
        var m = Market()
        var p = SimPortfolio(deposit: u("100"))
        let id = m.instrument.id
        #expect(code(p.setLeverage(try Rate("10"), instrument: m.instrument)) == 110043)   // Bybit's default
        #expect(code(p.setLeverage(try Rate("0.5"), instrument: m.instrument)) == 10001)
        #expect(code(p.setLeverage(try Rate("100.01"), instrument: m.instrument)) == 10001) // 1...100 without rules
        _ = p.on(.book(m.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])), instrument: m.instrument)
        _ = p.submit(.place(clientID: "open", side: .buy, price: nil, qty: m.q("5"), timeInForce: .immediateOrCancel), instrument: m.instrument)
        _ = p.advance(to: t(1_010))
        // Wallet 99.723625, IM 502.5 / 10 = 50.25, available 49.473625.
        #expect(p.availableBalance == u("49.473625"))
        // 5×: IM 100.5, 50.25 more than available.
        #expect(code(p.setLeverage(try Rate("5"), instrument: m.instrument)) == 110044)
        #expect(p.leverage(id) == (try Rate("10")))
        // 6×: IM 83.75, 33.5 more: fits.
        #expect(code(p.setLeverage(try Rate("6"), instrument: m.instrument)) == 0)
        #expect(p.totalPositionIM == u("83.75") && p.availableBalance == u("15.973625"))
        // Raising leverage only frees margin.
        #expect(code(p.setLeverage(try Rate("12.5"), instrument: m.instrument)) == 0)
        let raised = try Rate("12.5")
        #expect(p.totalPositionIM == u("40.2") && p.leverage(id) == raised)
    }

    @Test func theInstrumentsMaxLeverageBoundsSetLeverage() throws {
        let json = #"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"ICPUSDT","status":"Trading","priceScale":"3","leverageFilter":{"minLeverage":"1","maxLeverage":"50.00","leverageStep":"0.01"},"priceFilter":{"tickSize":"0.001"},"lotSizeFilter":{"maxOrderQty":"100000","minOrderQty":"0.1","qtyStep":"0.1","maxMktOrderQty":"20000","minNotionalValue":"5"}}]}}"#
        var table = InstrumentTable()
        let decoded = try BybitInstrumentsInfo.decode(Array(json.utf8), table: &table)
        #expect(decoded.first?.1.maxLeverage == (try Rate("50")))
        let icp = table[try #require(table.lookup("ICPUSDT"))]
        var p = SimPortfolio(deposit: u("100"))
        #expect(code(p.setLeverage(try Rate("50.01"), instrument: icp)) == 10001)
        #expect(code(p.setLeverage(try Rate("50"), instrument: icp)) == 0)    // no market yet: nothing to check
    }

    @Test func aLongIsLiquidatedWhenTheMarkFallsToMaintenanceMargin() {
        var m = Market()
        var p = long8(&m)
        let id = m.instrument.id
        #expect(p.walletBalance == u("99.56") && p.totalPositionIM == u("80"))
        // Order IM: the buy 90 × 1 costs 9 + 0.0495 + 0.04455; the stop reserves nothing.
        #expect(p.totalOrderIM == u("9.09405") && p.availableBalance == u("10.46595"))
        // 99.56 + 8m − 800 = 0.04m  →  m = 700.44 / 7.96 = 87.994974874…, the highest unit that liquidates.
        #expect(p.estimatedLiquidationPrice(id) == m.p("87.99497487"))
        // Mark 88.0: equity 99.56 + 704 − 800 = 3.56 > MM 704 × 0.005 = 3.52. Not liquidated.
        #expect(p.on(mark(m, "88.0", at: 1_100), instrument: m.instrument).isEmpty)
        #expect(p.equity == u("3.56") && p.totalMaintenanceMargin == u("3.52"))
        // A reduce-only sell (free) is in flight when the mark falls again.
        _ = p.on(.book(m.book(.delta, ts: 1_200, bids: [("99.0", "1")], asks: [])), instrument: m.instrument)
        #expect(p.submit(.place(clientID: "ro", side: .sell, price: m.p("95.0"), qty: m.q("8"), timeInForce: .goodTillCancel,
                                reduceOnly: true), instrument: m.instrument) == .success(t(1_210)))
        // Mark 87.99: equity 3.48 ≤ MM 3.5196. Bankruptcy price (800 − 99.56) / 8 = 87.555, where equity is 0.
        let reports = p.on(mark(m, "87.99", at: 1_205), instrument: m.instrument)
        let at = t(1_205)
        let bust = SimFill(orderID: SimOrderID(5), clientID: "", side: .sell, price: m.p("87.555"), qty: m.q("8"), isMaker: false,
                           value: u("700.44"), fee: .zero, exchangeTime: at, execType: .bustTrade)
        #expect(reports.map(\.report) == [
            .cancelled(SimOrderID(2), .cancelAllBeforeLiquidation, filledQty: .zero, at: at),   // the bid
            .cancelled(SimOrderID(3), .cancelAllBeforeLiquidation, filledQty: .zero, at: at),   // the stop-loss
            .accepted(SimOrderID(4), clientID: "ro", at: at),                                   // in flight
            .cancelled(SimOrderID(4), .cancelAllBeforeLiquidation, filledQty: .zero, at: at),
            .filled(bust),
            .liquidated(side: .long, qty: m.q("8"), bankruptcyPrice: m.p("87.555"), at: at),
        ])
        #expect(reports.allSatisfy { $0.symbol == id } && bust.isLiquidation)
        #expect(SimCancelReason.cancelAllBeforeLiquidation.rawValue == "CancelAllBeforeLiq")
        // 99.56 + 700.44 − 800: exactly zero, never below.
        #expect(p.walletBalance == .zero && p.equity == .zero && p.availableBalance == .zero)
        #expect(p.exchanges[id]?.account.size == 0 && p.exchanges[id]?.engine.openOrderCount == 0)
        #expect(p.estimatedLiquidationPrice(id) == nil)
        #expect(p.advance(to: t(2_000)).isEmpty)                                // nothing left in flight
    }

    @Test func aShortIsLiquidatedWhenTheMarkRisesAndTheBankruptcyPriceRoundsInTheAccountsFavour() {
        var m = Market()
        var p = SimPortfolio(deposit: u("50"))
        let id = m.instrument.id
        _ = p.on(.book(m.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])), instrument: m.instrument)
        _ = p.submit(.place(clientID: "open", side: .sell, price: nil, qty: m.q("3"), timeInForce: .immediateOrCancel), instrument: m.instrument)
        _ = p.advance(to: t(1_010))
        #expect(p.walletBalance == u("49.835"))                                // 300 sold, fee 0.165
        // 49.835 + 300 − 3m = 0.015m  →  m = 349.835 / 3.015 = 116.031509121…, the lowest unit that liquidates.
        #expect(p.estimatedLiquidationPrice(id) == m.p("116.03150913"))
        // Mark 116.0: equity 1.835 > MM 1.74.
        #expect(p.on(mark(m, "116.0", at: 1_100), instrument: m.instrument).isEmpty)
        // Mark 116.1: equity 1.535 ≤ MM 1.7415. Bankruptcy 349.835 / 3 = 116.611666…, rounded down for a buy.
        let reports = p.on(mark(m, "116.1", at: 1_200), instrument: m.instrument).map(\.report)
        #expect(reports.fills.map(\.price) == [m.p("116.61166666")] && reports.fills.map(\.side) == [.buy])
        #expect(reports.fills.first?.isLiquidation == true && reports.fills.first?.fee == .zero)
        #expect(reports.last == .liquidated(side: .short, qty: m.q("3"), bankruptcyPrice: m.p("116.61166666"), at: t(1_200)))
        // Bought back for 349.83499998: 49.835 + 300 − 349.83499998.
        #expect(p.walletBalance == u("0.00000002"))
    }

    @Test func twoSymbolsShareTheEquityInProportionToTheirMaintenanceMargin() throws {
        var a = Market()
        var b = Market()
        b.instrument = Instrument(id: SymbolID(index: 1), symbol: "ETHUSDT")
        var p = SimPortfolio(deposit: u("100"))
        // The leverage of a symbol can be set before its market exists.
        #expect(code(p.setLeverage(try Rate("50"), instrument: b.instrument)) == 0)
        _ = p.on(.book(a.book(.snapshot, ts: 1_000, bids: [("99.5", "50")], asks: [("100.0", "50")])), instrument: a.instrument)
        _ = p.on(.book(b.book(.snapshot, ts: 1_000, bids: [("50.0", "50")], asks: [("50.5", "50")])), instrument: b.instrument)
        _ = p.submit(.place(clientID: "a", side: .buy, price: nil, qty: a.q("8"), timeInForce: .immediateOrCancel), instrument: a.instrument)
        _ = p.advance(to: t(1_010))
        // Available 99.56 − 80 = 19.56 ≥ the short's cost 500 / 50 + 0.275 + 500 × 1.02 × 0.00055 = 10.5555.
        #expect(p.submit(.place(clientID: "b", side: .sell, price: nil, qty: b.q("10"), timeInForce: .immediateOrCancel),
                         instrument: b.instrument) == .success(t(1_010)))
        _ = p.advance(to: t(1_010))
        #expect(p.walletBalance == u("99.285") && p.totalPositionIM == u("90") && p.availableBalance == u("9.285"))
        // A at 90 (u −80, MM 3.6), B at 51.3 (u −13, MM 2.565): equity 6.285 > MM 6.165.
        _ = p.on(mark(a, "90.0", at: 1_100), instrument: a.instrument)
        #expect(p.on(mark(b, "51.3", at: 1_100), instrument: b.instrument).isEmpty)
        #expect(p.equity == u("6.285") && p.totalMaintenanceMargin == u("6.165"))
        // B, A held at 90: 19.285 + 500 − 10m = 3.6 + 0.05m  →  m = 515.685 / 10.05 = 51.311940298…
        #expect(p.estimatedLiquidationPrice(b.instrument.id) == b.p("51.3119403"))
        // A, B held at 51.3: 86.285 + 8m − 800 = 2.565 + 0.04m  →  m = 716.28 / 7.96 = 89.984924623…
        #expect(p.estimatedLiquidationPrice(a.instrument.id) == a.p("89.98492462"))
        // B at 51.4: equity 5.285 ≤ MM 3.6 + 2.57. Shares: A 5.285 × 3.6 / 6.17 = 3.08363047, B the rest 2.20136953.
        // A sells for 720 − 3.08363047 at 89.6145462 (rounded up); B buys for 514 + 2.20136953 at 51.62013695 (down).
        let reports = p.on(mark(b, "51.4", at: 1_200), instrument: b.instrument)
        let at = t(1_200)
        #expect(reports == [
            SimSymbolReport(symbol: a.instrument.id, report: .filled(SimFill(
                orderID: SimOrderID(2), clientID: "", side: .sell, price: a.p("89.6145462"), qty: a.q("8"), isMaker: false,
                value: u("716.9163696"), fee: .zero, exchangeTime: at, execType: .bustTrade))),
            SimSymbolReport(symbol: a.instrument.id, report: .liquidated(side: .long, qty: a.q("8"), bankruptcyPrice: a.p("89.6145462"), at: at)),
            SimSymbolReport(symbol: b.instrument.id, report: .filled(SimFill(
                orderID: SimOrderID(2), clientID: "", side: .buy, price: b.p("51.62013695"), qty: b.q("10"), isMaker: false,
                value: u("516.2013695"), fee: .zero, exchangeTime: at, execType: .bustTrade))),
            SimSymbolReport(symbol: b.instrument.id, report: .liquidated(side: .short, qty: b.q("10"), bankruptcyPrice: b.p("51.62013695"), at: at)),
        ])
        // 99.285 + (716.9163696 − 800) + (500 − 516.2013695).
        #expect(p.walletBalance == u("0.0000001"))
    }

    @Test func acknowledgementDelaysAreSeededOnTheirOwnStream() {
        var m = Market()
        func configured(_ instrument: Instrument) -> SimConfiguration {
            var c = SimConfiguration(instrument: instrument)
            c.entryLatency = .sampled(millisecondsSamples: [-5, 0, 3, 7, 20], seed: 42)
            c.acknowledgementLatency = .sampled(millisecondsSamples: [-5, 0, 3, 7, 20], seed: 42)
            return c
        }
        var x = SimulatedExchange(configuration: configured(m.instrument), depth: 50, wallet: .zero)
        var y = SimulatedExchange(configuration: configured(m.instrument), depth: 50, wallet: .zero)
        // SplitMix64(42) picks samples 7, 0, 7, 20, −5, 3, −5, 7; delays never go below 0.
        #expect((0..<8).map { _ in x.acknowledgementDelay() } == [7, 0, 7, 20, 0, 3, 0, 7])
        // Entry latency has its own stream: x's acknowledgement draws changed nothing (7, then 0 → 1 ms).
        let order = SimCommand.place(clientID: "c", side: .buy, price: m.p("99.0"), qty: m.q("1"), timeInForce: .postOnly)
        #expect([x.submit(order, lastSeen: t(1_000)), x.submit(order, lastSeen: t(1_000))] == [t(1_007), t(1_001)])
        #expect([y.submit(order, lastSeen: t(1_000)), y.submit(order, lastSeen: t(1_000))] == [t(1_007), t(1_001)])
        // The default is a constant 5 ms; a portfolio draws per symbol once the symbol has a market.
        var p = SimPortfolio(deposit: u("100"))
        #expect(p.acknowledgementDelay(for: m.instrument.id) == nil)
        _ = p.on(.book(m.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])), instrument: m.instrument)
        #expect(p.acknowledgementDelay(for: m.instrument.id) == 5)
    }
}
