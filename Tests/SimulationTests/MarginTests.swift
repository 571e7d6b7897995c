import BybitV5
import CascadeCore
import CascadeTesting
import MarketData
@testable import Simulation
import Testing

/// Hand-worked margin, leverage and liquidation of the cross-margin account (defaults: leverage 10, MMR 0.005,
/// taker 0.00055, entry latency 10 ms). Every number follows the rules written in `SimulatedExchange+Margin`.
@Suite struct MarginTests {
    func u(_ text: String) -> USDT { try! USDT(text) }

    /// A long of 8 bought at 100.0 from a deposit of 100: value 800, taker fee 0.44, wallet 99.56, IM 80. A buy
    /// 90.0 × 1 and a stop-loss at 80.0 (mark) rest.
    func long8() -> Venue {
        var v = Venue(deposit: "100")
        v.book(.snapshot, ts: 1_000, bids: [("99.5", "50")], asks: [("100.0", "50")])
        v.mark("100.0", at: 1_000)
        v.submit("open", v.market(.buy, "8"), decided: 1_000)
        // In flight, the market buy is valued at the best ask: 80 + 0.44 + 800 × 0.9 × 0.00055 = 80.836.
        #expect(v.x.totalOrderIM == u("80.836"))
        v.submit("bid", v.limit(.buy, "90.0", "1"), decided: 1_000)
        v.advance(to: 1_010)
        // A trading stop needs the position (Bybit refuses it on the call before): sent once the buy filled.
        v.send(.setTradingStop(TradingStop(stopLoss: .set(ProtectionLeg(trigger: v.m.p("80.0"), source: .markPrice)))), decided: 1_010)
        v.advance(to: 1_020)
        return v
    }

    @Test func orderCostIsInitialMarginPlusFeesToOpenAndCloseAndTheOrderThatDoesNotFitIs110007() throws {
        var v = Venue(deposit: "100")
        #expect(v.send(.submit(v.m.id("early"), v.limit(.buy, "99.0", "1", .postOnly)), decided: 1_000) == .failure(Rejection(.noMarketPrice)))
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])
        // 891 / 10 + 891 × 0.00055 + 891 × (1 − 1/10) × 0.00055 = 89.1 + 0.49005 + 0.441045.
        #expect(SimulatedExchange.orderCost(side: .buy, price: v.m.p("99.0"), qty: v.m.q("9"), leverage: try Rate("10"),
                                            takerFee: FeeSchedule.bybitDefault.taker) == u("90.031095"))
        func buy(_ qty: String) -> VenueCommand.Action { .submit(v.m.id("b" + String(qty.map { $0 == "." ? "_" : $0 })), v.limit(.buy, "99.0", qty, .postOnly)) }
        func sell(_ qty: String) -> VenueCommand.Action { .submit(v.m.id("s" + String(qty.map { $0 == "." ? "_" : $0 })), v.limit(.sell, "101.0", qty, .postOnly)) }
        let first = try v.send(buy("9"), decided: 1_000).get()
        #expect(first.arrival == v.t(1_010))
        #expect(v.x.totalOrderIM == u("90.031095") && v.x.availableBalance == u("9.968905"))   // counted while in flight
        // 99 × 1: 9.9 + 0.05445 + 0.049005 = 10.003455 > 9.968905.
        #expect(v.send(buy("1"), decided: 1_000) == .failure(Rejection(.insufficientBalance)))
        // 99 × 0.9: 8.91 + 0.049005 + 0.0441045 = 9.0031095 fits.
        #expect(v.send(buy("0.9"), decided: 1_000).map(\.arrival) == .success(v.t(1_010)))
        #expect(v.x.totalOrderIM == u("99.0342045") && v.x.availableBalance == u("0.9657955"))
        // Sells 101 × 9 cost 90.9 + 0.49995 + 909 × 1.1 × 0.00055 (0.549945) = 91.949895: below the buy side, so free.
        #expect((try? v.send(sell("9"), decided: 1_000).get()) != nil)
        #expect(v.x.totalOrderIM == u("99.0342045"))
        // One more sells 101 × 1 (10.216655): the sell side, 102.16655, now dominates by 3.1323455 > 0.9657955.
        #expect(v.send(sell("1"), decided: 1_000) == .failure(Rejection(.insufficientBalance)))
        #expect(v.advance(to: 1_010).accepted.count == 3 && v.engine.openOrderCount == 3)
        #expect(v.x.totalOrderIM == u("99.0342045"))                       // resting: the same
        // Amending the 9 up to 10 adds 10.003455: refused; down to 8 frees margin.
        let id = try #require(first.venueID)
        #expect(v.send(.amend(.venue(id), OrderAmendment(qty: v.m.q("10"))), decided: 1_010) == .failure(Rejection(.insufficientBalance)))
        #expect((try? v.send(.amend(.venue(id), OrderAmendment(qty: v.m.q("8"))), decided: 1_010).get()) != nil)
    }

    @Test func availableBalanceWithAnOpenPositionAndAnUnrealisedLossAndReducingOrdersCostNothing() {
        var v = Venue(deposit: "1000")
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])
        v.submit("open", v.market(.buy, "5"), decided: 1_000)
        #expect(v.advance(to: 1_010).fills.map(\.price) == [v.m.p("100.5")])
        // 502.5 taken: fee 0.276375. No price yet: valued at entry.
        #expect(v.x.walletBalance == u("999.723625") && v.x.unrealisedPnL == .zero)
        #expect(v.x.totalPositionIM == u("50.25") && v.x.totalMaintenanceMargin == u("2.5125"))
        // A print at 99.0: valued at the last price, 495 − 502.5.
        v.print(.sell, "99.0", "0.1", at: 1_020)
        #expect(v.x.unrealisedPnL == u("-7.5"))
        // A mark price wins over the last price: 490 − 502.5.
        v.mark("98.0", at: 1_030)
        #expect(v.x.unrealisedPnL == u("-12.5") && v.x.equity == u("987.223625"))
        #expect(v.x.totalMaintenanceMargin == u("2.45"))                      // 490 × 0.005
        #expect(v.x.availableBalance == u("936.973625"))                      // 987.223625 − 50.25
        #expect(v.x.estimatedLiquidationPrice(v.symbol) == nil)               // no positive mark gets there
        // Selling the 5 only closes the long: nothing reserved.
        #expect(v.submit("close", v.limit(.sell, "101.0", "5"), decided: 1_030) != nil)
        #expect(v.x.totalOrderIM == .zero && v.x.availableBalance == u("936.973625"))
        // Two more would open a short: 202 / 10 + 0.1111 + 202 × 1.1 × 0.00055 (0.12221) = 20.43331.
        v.submit("flip", v.limit(.sell, "101.0", "2"), decided: 1_030)
        #expect(v.x.totalOrderIM == u("20.43331") && v.x.availableBalance == u("916.540315"))
    }

    @Test func setLeverageChecksRangeUnchangedValueAndMargin() throws {
        var v = Venue(deposit: "100")
        func leverage(_ text: String) -> Result<SimulatedExchange.Receipt, Rejection> { v.send(.setLeverage(try! Rate(text)), decided: 1_000) }
        #expect(leverage("10") == .failure(Rejection(.leverageNotModified)))        // Bybit's default
        #expect(leverage("0.5") == .failure(Rejection(.leverageOutOfRange)))
        #expect(leverage("100.01") == .failure(Rejection(.leverageOutOfRange)))     // 1...100 without rules
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])
        v.submit("open", v.market(.buy, "5"), decided: 1_000)
        v.advance(to: 1_010)
        // Wallet 99.723625, IM 502.5 / 10 = 50.25, available 49.473625.
        #expect(v.x.availableBalance == u("49.473625"))
        // 5×: IM 100.5, 50.25 more than available.
        #expect(leverage("5") == .failure(Rejection(.leverageInsufficientMargin)))
        #expect(v.x.leverage(v.symbol) == (try Rate("10")))
        // 6×: IM 83.75, 33.5 more: fits.
        #expect((try? leverage("6").get()) != nil)
        #expect(v.x.totalPositionIM == u("83.75") && v.x.availableBalance == u("15.973625"))
        // Raising leverage only frees margin.
        #expect((try? leverage("12.5").get()) != nil)
        let raised = try Rate("12.5")
        #expect(v.x.totalPositionIM == u("40.2") && v.x.leverage(v.symbol) == raised)
    }

    @Test func theInstrumentsMaxLeverageBoundsSetLeverage() throws {
        let json = #"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"ICPUSDT","status":"Trading","priceScale":"3","leverageFilter":{"minLeverage":"1","maxLeverage":"50.00","leverageStep":"0.01"},"priceFilter":{"tickSize":"0.001"},"lotSizeFilter":{"maxOrderQty":"100000","minOrderQty":"0.1","qtyStep":"0.1","maxMktOrderQty":"20000","minNotionalValue":"5"}}]}}"#
        var table = InstrumentTable()
        let decoded = try BybitInstrumentsInfo.decode(Array(json.utf8), table: &table)
        #expect(decoded.first?.1.maxLeverage == (try Rate("50")))
        let icp = table[try #require(table.lookup("ICPUSDT"))]
        var x = SimulatedExchange(deposit: u("100"))
        x.updateInstrument(icp)
        func leverage(_ text: String) -> Result<SimulatedExchange.Receipt, Rejection> {
            x.send(VenueCommand(symbol: icp.id, decidedAt: ExchangeTime(milliseconds: 0), action: .setLeverage(try! Rate(text))))
        }
        #expect(leverage("50.01") == .failure(Rejection(.leverageOutOfRange)))
        #expect((try? leverage("50").get()) != nil)                            // no market yet: nothing to check
        #expect(x.leverage(icp.id) == (try Rate("50")))
    }

    @Test func aLongIsLiquidatedWhenTheMarkFallsToMaintenanceMargin() throws {
        var v = long8()
        #expect(v.x.walletBalance == u("99.56") && v.x.totalPositionIM == u("80"))
        // Order IM: the buy 90 × 1 costs 9 + 0.0495 + 0.04455; the stop reserves nothing.
        #expect(v.x.totalOrderIM == u("9.09405") && v.x.availableBalance == u("10.46595"))
        // 99.56 + 8m − 800 = 0.04m  →  m = 700.44 / 7.96 = 87.994974874…, the highest unit that liquidates.
        #expect(v.x.estimatedLiquidationPrice(v.symbol) == v.m.p("87.99497487"))
        // …and 99.56 + 8m − 800 = 0 at m = 87.555 (bankruptcy).
        #expect(v.x.estimatedBankruptcyPrice(v.symbol) == v.m.p("87.555"))
        // Mark 88.0: equity 99.56 + 704 − 800 = 3.56 > MM 704 × 0.005 = 3.52. Not liquidated.
        #expect(v.mark("88.0", at: 1_100).takeovers.isEmpty)
        #expect(v.x.equity == u("3.56") && v.x.totalMaintenanceMargin == u("3.52"))
        // A reduce-only sell (free) is in flight when the mark falls again.
        v.book(.delta, ts: 1_200, bids: [("99.0", "1")], asks: [])
        let roSent = v.submit("ro", v.limit(.sell, "95.0", "8", reduceOnly: true), decided: 1_200)
        let ro = try #require(roSent)
        // Mark 87.99: equity 3.48 ≤ MM 3.5196. Bankruptcy price (800 − 99.56) / 8 = 87.555, where equity is 0.
        let reports = v.mark("87.99", at: 1_205)
        let cancelled = reports.cancelled(.beforeLiquidation)
        #expect(cancelled.count == 3 && cancelled.last?.venueID == ro)          // the bid, the stop-loss, the one in flight
        // Acknowledged, so open, then cancelled; then the liquidation engine's own order, filled by the takeover.
        #expect(reports.accepted.map(\.origin) == [.client, .liquidation] && reports.accepted.first?.venueID == ro)
        let bust = try #require(reports.takeovers.first)
        #expect(bust.kind == .bustTrade && bust.side == .sell && bust.price == v.m.p("87.555") && bust.qty == v.m.q("8"))
        #expect(bust.venueID == reports.accepted.last?.venueID && reports.accepted.last?.spec == .market(.sell, qty: v.m.q("8"), reduceOnly: true))
        #expect(bust.fee == .zero && bust.closedQty == v.m.q("8"))
        // 99.56 + 700.44 − 800: exactly zero, never below.
        #expect(v.x.walletBalance == .zero && v.x.equity == .zero && v.x.availableBalance == .zero)
        #expect(reports.wallets.last?.walletBalance == .zero && reports.positions.last?.size == .zero)
        #expect(v.position == 0 && v.engine.openOrderCount == 0 && v.engine.store.conditionals.isEmpty)
        #expect(v.x.estimatedLiquidationPrice(v.symbol) == nil)
        #expect(v.advance(to: 2_000).isEmpty)                                    // nothing left in flight
    }

    @Test func aShortIsLiquidatedWhenTheMarkRisesAndTheBankruptcyPriceRoundsInTheAccountsFavour() {
        var v = Venue(deposit: "50")
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])
        v.submit("open", v.market(.sell, "3"), decided: 1_000)
        v.advance(to: 1_010)
        #expect(v.x.walletBalance == u("49.835"))                              // 300 sold, fee 0.165
        // 49.835 + 300 − 3m = 0.015m  →  m = 349.835 / 3.015 = 116.031509121…, the lowest unit that liquidates.
        #expect(v.x.estimatedLiquidationPrice(v.symbol) == v.m.p("116.03150913"))
        // Mark 116.0: equity 1.835 > MM 1.74.
        #expect(v.mark("116.0", at: 1_100).takeovers.isEmpty)
        // Mark 116.1: equity 1.535 ≤ MM 1.7415. Bankruptcy 349.835 / 3 = 116.611666…, rounded down for a buy.
        let bust = v.mark("116.1", at: 1_200).takeovers
        #expect(bust.map(\.price) == [v.m.p("116.61166666")] && bust.map(\.side) == [.buy] && bust.first?.fee == .zero)
        // Bought back for 349.83499998: 49.835 + 300 − 349.83499998.
        #expect(v.x.walletBalance == u("0.00000002"))
    }

    @Test func twoSymbolsShareTheEquityInProportionToTheirMaintenanceMargin() throws {
        let a = MarketBuilder()
        let b = MarketBuilder(instrument: Instrument(id: SymbolID(index: 1), symbol: "ETHUSDT"))
        var ma = a, mb = b
        var x = SimulatedExchange(deposit: u("100"))
        x.updateInstrument(b.instrument)
        func send(_ m: MarketBuilder, _ action: VenueCommand.Action) -> Result<SimulatedExchange.Receipt, Rejection> {
            x.send(VenueCommand(symbol: m.symbol, decidedAt: ExchangeTime(milliseconds: 1_000), action: action))
        }
        // The leverage of a symbol can be set before its market exists.
        #expect((try? send(b, .setLeverage(try Rate("50"))).get()) != nil)
        _ = x.on(.book(ma.book(.snapshot, ts: 1_000, bids: [("99.5", "50")], asks: [("100.0", "50")])), instrument: a.instrument)
        _ = x.on(.book(mb.book(.snapshot, ts: 1_000, bids: [("50.0", "50")], asks: [("50.5", "50")])), instrument: b.instrument)
        _ = send(a, .submit(a.id("a"), .market(.buy, qty: a.q("8"))))
        _ = x.advance(to: ExchangeTime(milliseconds: 1_010))
        // Available 99.56 − 80 = 19.56 ≥ the short's cost 500 / 50 + 0.275 + 500 × 1.02 × 0.00055 = 10.5555.
        #expect((try? send(b, .submit(b.id("b"), .market(.sell, qty: b.q("10")))).get()) != nil)
        _ = x.advance(to: ExchangeTime(milliseconds: 1_020))
        #expect(x.walletBalance == u("99.285") && x.totalPositionIM == u("90") && x.availableBalance == u("9.285"))
        // A at 90 (u −80, MM 3.6), B at 51.3 (u −13, MM 2.565): equity 6.285 > MM 6.165.
        _ = x.on(.ticker(a.ticker(at: 1_100, mark: "90.0")), instrument: a.instrument)
        #expect(x.on(.ticker(b.ticker(at: 1_100, mark: "51.3")), instrument: b.instrument).takeovers.isEmpty)
        #expect(x.equity == u("6.285") && x.totalMaintenanceMargin == u("6.165"))
        // B, A held at 90: 19.285 + 500 − 10m = 3.6 + 0.05m  →  m = 515.685 / 10.05 = 51.311940298…
        #expect(x.estimatedLiquidationPrice(b.symbol) == b.p("51.3119403"))
        // A, B held at 51.3: 86.285 + 8m − 800 = 2.565 + 0.04m  →  m = 716.28 / 7.96 = 89.984924623…
        #expect(x.estimatedLiquidationPrice(a.symbol) == a.p("89.98492462"))
        // B at 51.4: equity 5.285 ≤ MM 3.6 + 2.57. Shares: A 5.285 × 3.6 / 6.17 = 3.08363047, B the rest 2.20136953.
        // A sells for 720 − 3.08363047 at 89.6145462 (rounded up); B buys for 514 + 2.20136953 at 51.62013695 (down).
        let bust = x.on(.ticker(b.ticker(at: 1_200, mark: "51.4")), instrument: b.instrument).takeovers
        #expect(bust.map(\.price) == [a.p("89.6145462"), b.p("51.62013695")] && bust.map(\.side) == [.sell, .buy])
        // 99.285 + (716.9163696 − 800) + (500 − 516.2013695).
        #expect(x.walletBalance == u("0.0000001"))
    }

    @Test func acknowledgementDelaysAreSeededOnTheirOwnStream() throws {
        func configured() -> Venue {
            Venue {
                $0.entryLatency = .sampled(millisecondsSamples: [-5, 0, 3, 7, 20], seed: 42)
                $0.acknowledgementLatency = .sampled(millisecondsSamples: [-5, 0, 3, 7, 20], seed: 42)
            }
        }
        var x = configured(), y = configured()
        x.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])
        y.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])
        // SeededRandom(42) picks samples 7, 0, 7, 20, −5, 3, −5, 7; delays never go below 0.
        #expect((0..<8).map { _ in x.x.acknowledgementDelay() } == [7, 0, 7, 20, 0, 3, 0, 7])
        // Entry latency has its own stream: x's acknowledgement draws changed nothing (7, then 0 → 1 ms, which
        // waits behind the first: commands never overtake).
        for v in [x, y] {
            var v = v
            let first = try v.send(.submit(nil, v.limit(.buy, "99.0", "1", .postOnly)), decided: 1_000).get().arrival
            let second = try v.send(.submit(nil, v.limit(.buy, "99.0", "1", .postOnly)), decided: 1_000).get().arrival
            #expect([first, second] == [v.t(1_007), v.t(1_007)])
        }
        var plain = Venue()
        #expect(plain.x.acknowledgementDelay() == 5)                          // the default: a constant 5 ms
    }
}

/// The placement check (each side valued once, the placement's side once more) against the general figures that
/// re-value the whole order list with and without the placement, exactly (the IM added and the available balance,
/// not only the answer), over seeded random accounts on two symbols: flat and with a position either way (the
/// closing side nets it), resting orders and placements in flight on both sides, market, post-only, reduce-only and
/// conditional orders (stop-market valued at the trigger, stop-limit at the limit; untriggered ones reserve nothing),
/// deposits near the boundary so both answers occur.
@Suite struct MarginPlacementCheckTests {
    @Test func placementFiguresEqualTheOrderListFigures() throws {
        var refused = 0, passed = 0, withPosition = 0, conditional = 0, otherSymbolIM = 0, netting = 0
        for seed in 0..<40 {
            var random = SeededRandom(seed: UInt64(seed))
            let markets = [MarketBuilder(), MarketBuilder(instrument: Instrument(id: SymbolID(index: 1), symbol: "ETHUSDT"))]
            var builders = markets
            var x = SimulatedExchange(deposit: try USDT(String(Int.random(in: 20...400, using: &random))))
            x.updateInstrument(markets[1].instrument)
            for k in 0..<2 {
                let m = markets[k]
                _ = x.on(.book(builders[k].book(.snapshot, ts: 1_000, bids: [("100.0", "500"), ("99.5", "500")],
                                                asks: [("100.5", "500"), ("101.0", "500")])), instrument: m.instrument)
            }
            func tenths(_ n: Int) -> String { "\(n / 10).\(n % 10)" }
            for step in 0..<60 {
                let k = Int.random(in: 0..<2, using: &random)
                let m = markets[k]
                let side: Side = Bool.random(using: &random) ? .buy : .sell
                let qty = m.q(tenths(Int.random(in: 1...30, using: &random)))
                let away = Int.random(in: 0...20, using: &random)
                let limit = m.p(tenths(side == .buy ? 995 - away : 1_005 + away))
                let spec: OrderSpec = switch Int.random(in: 0..<8, using: &random) {
                case 0: .market(side, qty: qty)
                case 1: .market(side, qty: qty, reduceOnly: true)
                case 2: .limit(side, price: side == .buy ? m.p("98.0") : m.p("102.5"), qty: qty, timeInForce: .postOnly, reduceOnly: true)
                case 3, 4:
                    // A breakout stop: a buy above the market, a sell below, as a market or a limit order.
                    OrderSpec(side: side, type: away % 2 == 0 ? .market : .limit, timeInForce: .goodTillCancel,
                              price: away % 2 == 0 ? nil : limit, qty: qty,
                              trigger: Trigger(price: m.p(side == .buy ? "103.0" : "97.0"), direction: side == .buy ? .rise : .fall,
                                               source: .lastPrice))
                default: .limit(side, price: limit, qty: qty, timeInForce: .postOnly)
                }
                let action = VenueCommand.Action.submit(m.id("o\(seed)_\(step)"), spec)
                #expect(x.marginCheck(action, m.symbol) == x.marginCheckFromOrderList(action, m.symbol), "seed \(seed) step \(step)")
                if !spec.onlyReduces {
                    let figures = try #require(x.placementMargin(spec, m.symbol))
                    #expect(figures.added == x.addedOrderIM(action, m.symbol) && figures.available == x.availableBalance,
                            "seed \(seed) step \(step), position \(x.symbols[venue: m.symbol].ledger.size): \(spec)")
                    if x.marginCheck(action, m.symbol) == nil { passed += 1 } else { refused += 1 }
                    if x.symbols[venue: m.symbol].ledger.size != 0 { withPosition += 1 }
                    // Both sides in one pass equal each side on its own (two loops, written apart); and the placement's
                    // side nets a position often enough for the re-valued branch to be compared above.
                    let lev = x.leverage(m.symbol), orders = x.openOrders(m.symbol)
                    let both = x.sideIMs(m.symbol, orders, leverage: lev)
                    #expect(both.buy == x.sideIM(.buy, m.symbol, orders, leverage: lev) && both.sell == x.sideIM(.sell, m.symbol, orders, leverage: lev),
                            "seed \(seed) step \(step)")
                    if x.nets(spec.side, m.symbol) { netting += 1 }
                    if spec.isConditional { conditional += 1 }
                    if x.orderIM(markets[1 - k].symbol) > .zero { otherSymbolIM += 1 }
                }
                // What passes is sent: market orders open and close positions, limits rest or stay in flight.
                if x.marginCheck(action, m.symbol) == nil {
                    _ = x.send(VenueCommand(symbol: m.symbol, decidedAt: ExchangeTime(milliseconds: 1_000 + Int64(step)), action: action))
                }
                if step % 5 == 4 { _ = x.advance(to: ExchangeTime(milliseconds: 1_000 + Int64(step))) }
            }
        }
        #expect(passed > 200 && refused > 50 && withPosition > 200 && conditional > 100 && otherSymbolIM > 200 && netting > 50,
                "every case must occur: \(passed) passed, \(refused) refused, \(withPosition) with a position, \(conditional) conditional, \(otherSymbolIM) with the other symbol's order IM, \(netting) netting the position")
    }
}
