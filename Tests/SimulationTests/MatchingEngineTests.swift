import CascadeCore
import CascadeTesting
import MarketData
import Simulation
import Testing

/// Hand-worked fills. Prices and sizes in readable text; every expectation follows the rules written in
/// `MatchingEngine`'s documentation. Book unless said otherwise: bids 100.0 × 5, 99.5 × 2; asks 100.5 × 3, 101.0 × 4.
@Suite struct MatchingEngineTests {
    /// A resting bid at `price` for `qty`, sent at 1 000 and arrived at 1 010.
    func restBid(_ v: inout Venue, price: String = "100.0", qty: String = "2", id: String = "a") -> VenueOrderID {
        let venueID = v.submit(id, v.limit(.buy, price, qty, .postOnly), decided: 1_000)!
        v.advance(to: 1_010)
        return venueID
    }

    @Test func queueAdvancesOnPrintsAtOurPriceThenFills() {
        var v = Venue()
        v.standardBook()
        _ = restBid(&v)                                              // 5 ahead of us
        #expect(v.print(.sell, "100.0", "3", at: 1_020).fills.isEmpty)   // 2 still ahead
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("2").units)
        let fills = v.print(.sell, "100.0", "3", at: 1_030).fills          // 2 ahead, then 1 to us
        #expect(fills.map(\.qty) == [v.m.q("1")] && fills.first?.liquidity == .maker && fills.first?.price == v.m.p("100.0"))
        #expect(v.engine.store.bids.first?.remaining == v.m.q("1").units)
    }

    @Test func partialFillsAccumulateAndFeesAreMakerOnExecValue() throws {
        var v = Venue()
        v.standardBook()
        v.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: [])       // nobody at 100.0 now
        _ = restBid(&v, qty: "2")
        let first = v.print(.sell, "100.0", "0.5", at: 1_020).fills
        let second = v.print(.sell, "100.0", "2", at: 1_030).fills
        #expect(first.map(\.qty) == [v.m.q("0.5")] && second.map(\.qty) == [v.m.q("1.5")])
        #expect(second[0].fee == v.m.usdt("0.03") && second[0].feeRate == FeeSchedule.bybitDefault.maker)   // 150 × 0.0002
        #expect(second[0].leavesQty == .zero && v.engine.openOrderCount == 0)
    }

    @Test func postOnlyThatWouldCrossAtArrivalIsAcceptedThenCancelled() {
        var v = Venue()
        v.standardBook()
        v.submit("x", v.limit(.buy, "100.5", "1", .postOnly), decided: 1_000)
        let reports = v.advance(to: 1_010)
        #expect(reports.accepted.count == 1 && reports.cancelled(.postOnlyWouldTakeLiquidity).map(\.filledQty) == [.zero])
        // Judged at arrival, not at sending: the ask moved away before the order arrived → it rests.
        v.submit("y", v.limit(.buy, "100.5", "1", .postOnly), decided: 1_010)
        v.book(.delta, ts: 1_015, bids: [], asks: [("100.5", "0")])
        let later = v.advance(to: 1_020)
        #expect(later.accepted.count == 1 && later.cancellations.isEmpty && v.engine.openOrderCount == 1)
    }

    @Test func tradeThroughOurPriceFillsRegardlessOfTheQueue() {
        var v = Venue()
        v.standardBook()
        _ = restBid(&v, qty: "1")                                    // 5 ahead
        let fills = v.print(.sell, "99.5", "1", at: 1_020).fills
        #expect(fills.map(\.qty) == [v.m.q("1")] && fills[0].price == v.m.p("100.0"))
    }

    @Test func onePrintNeverFillsTwoOrders() {
        var v = Venue()
        v.standardBook()
        v.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: [])       // empty queue at 100.0
        v.submit("a", v.limit(.buy, "100.0", "1"), decided: 1_005)
        v.submit("b", v.limit(.buy, "100.0", "1"), decided: 1_005)
        v.advance(to: 1_015)
        let fills = v.print(.sell, "100.0", "1", at: 1_020).fills
        #expect(fills.map(\.clientID) == [v.m.id("a")])              // time priority, print used once
        #expect(v.print(.sell, "100.0", "1", at: 1_030).fills.map(\.clientID) == [v.m.id("b")])
    }

    @Test func aPrintAdvancesTheQueueOfEveryOrderOfOursAtItsPrice() {
        var v = Venue()
        v.standardBook()
        v.submit("a", v.limit(.buy, "100.0", "1"), decided: 1_000)         // 5 ahead
        v.book(.delta, ts: 1_012, bids: [("100.0", "8")], asks: [])
        v.submit("b", v.limit(.buy, "100.0", "1"), decided: 1_012)         // 8 ahead
        v.advance(to: 1_030)
        // A print of 3 takes 3 of the others ahead of both: a has 2 left ahead, b 5.
        #expect(v.print(.sell, "100.0", "3", at: 1_040).fills.isEmpty)
        #expect(v.engine.store.bids.map(\.queueAhead) == [v.m.q("2").units, v.m.q("5").units])
    }

    @Test func rpiPrintsNeitherFillNorAdvanceTheQueue() {
        var v = Venue()
        v.standardBook()
        _ = restBid(&v)
        #expect(v.on(.trades([v.m.trade(.sell, "100.0", "50", at: 1_020, rpi: true)])).fills.isEmpty)
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("5").units)
    }

    @Test func anOrderSentInReactionToAnEventNeverFillsAgainstIt() {
        var v = Venue(latencyMs: 1)
        v.standardBook()
        v.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: [])
        // The client sees a sell print at 100.0 (T = 2 000) and reacts at once with a bid there.
        v.print(.sell, "100.0", "10", at: 2_000)
        let arrival = try! v.send(.submit(v.m.id("r"), v.limit(.buy, "100.0", "1")), decided: v.x.clock.milliseconds).get().arrival
        #expect(arrival > v.t(2_000))
        v.advance(to: arrival.milliseconds)
        #expect(v.log.fills.isEmpty && v.engine.openOrderCount == 1)
    }

    @Test func unknownQueueBeyondTheBookBecomesTheDisplayedSizeWhenVisible() {
        var v = Venue()
        v.standardBook()
        _ = restBid(&v, price: "98.0", qty: "1")                     // below the book's span (worst bid 99.5)
        #expect(v.engine.store.bids.first?.queueAhead == nil)
        v.book(.delta, ts: 1_020, bids: [("98.0", "7")], asks: [])
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("7").units)
    }

    @Test func deletedLevelLeavesNothingAheadAndQueueNeverExceedsDisplay() {
        var v = Venue()
        v.standardBook()
        _ = restBid(&v)
        v.book(.delta, ts: 1_020, bids: [("100.0", "3")], asks: [])
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("3").units)
        v.book(.delta, ts: 1_030, bids: [("100.0", "0")], asks: [])
        #expect(v.engine.store.bids.first?.queueAhead == 0)
    }

    @Test func aQueueBecomesUnknownWhenItsLevelLeavesTheBookAndAPrintThereFillsNothing() {
        var v = Venue()
        v.standardBook()
        _ = restBid(&v, price: "99.5", qty: "1")
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("2").units)
        // The worst level deleted: on a depth-limited stream it may only have dropped out of the top N.
        v.book(.delta, ts: 1_020, bids: [("99.5", "0")], asks: [])
        #expect(v.engine.store.bids.first?.queueAhead == nil)
        #expect(v.print(.sell, "99.5", "3", at: 1_030).fills.isEmpty)         // unknown queue: the print is the others'
        #expect(v.engine.store.bids.first?.queueAhead == nil)
        v.book(.delta, ts: 1_040, bids: [("99.5", "4")], asks: [])
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("4").units)    // visible again: all of it ahead
    }

    @Test func proportionalModelCreditsAShareOfCancellations() {
        var v = Venue { $0.queue = .proportionalCancels }
        v.standardBook()
        _ = restBid(&v)                                              // 5 ahead, displayed 5
        v.book(.delta, ts: 1_020, bids: [("100.0", "4")], asks: [])       // 1 cancelled: 1 × 5/5 = 1
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("4").units)
        // Conservative default: a shrinking level without prints is cancellations behind us.
        var w = Venue()
        w.standardBook()
        _ = restBid(&w)
        w.book(.delta, ts: 1_020, bids: [("100.0", "4.5")], asks: [])
        #expect(w.engine.store.bids.first?.queueAhead == w.m.q("4.5").units)
    }

    @Test func aggressiveOrdersTakeLevelsPayTakerFeeAndDepleteTheReplayedLevel() {
        var v = Venue()
        v.standardBook()
        v.submit("t", v.limit(.buy, "101.0", "5", .immediateOrCancel), decided: 1_000)
        let reports = v.advance(to: 1_010)
        #expect(reports.fills.map(\.qty) == [v.m.q("3"), v.m.q("2")])
        #expect(reports.fills.map(\.price) == [v.m.p("100.5"), v.m.p("101.0")])
        #expect(reports.fills.allSatisfy { $0.liquidity == .taker })
        #expect(reports.fills[0].fee == v.m.usdt("0.1658250"))          // 301.5 × 0.00055
        // Our taking emptied 100.5 until that level updates: a market buy now starts at 101.0.
        v.submit("m", v.market(.buy, "1"), decided: 1_010)
        #expect(v.advance(to: 1_020).fills.map(\.price) == [v.m.p("101.0")])
    }

    @Test func fillOrKillFillsCompletelyOrNotAtAll() {
        var v = Venue()
        v.standardBook()
        v.submit("k", v.limit(.buy, "100.5", "4", .fillOrKill), decided: 1_000)
        let reports = v.advance(to: 1_010)
        #expect(reports.fills.isEmpty && reports.cancelled(.fillOrKillNotFilled).count == 1)
    }

    @Test func cancelReportsWhatHadFilled() {
        var v = Venue()
        v.standardBook()
        v.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: [])
        let id = restBid(&v, qty: "2")
        v.print(.sell, "100.0", "0.5", at: 1_020)
        v.send(.cancel(.venue(id)), decided: 1_020)
        let cancelled = v.advance(to: 1_030).cancellations
        #expect(cancelled.map(\.filledQty) == [v.m.q("0.5")] && cancelled.first?.cancellation.reason == .byClient)
        // Refused on the call now: the venue knows the order ended.
        #expect(v.send(.cancel(.venue(id)), decided: 1_030) == .failure(Rejection(.orderClosed)))
        #expect(v.send(.cancel(.client(v.m.id("nobody"))), decided: 1_030) == .failure(Rejection(.unknownOrder)))
    }

    @Test func sameSeedGivesTheSameReports() {
        func run(seed: UInt64) -> [ExecutionReport] {
            var v = Venue { $0.entryLatency = .sampled(millisecondsSamples: [3, 8, 15, 40, 120], seed: seed) }
            v.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])
            for i in 0..<50 {
                let t = Int64(1_000 + i * 20)
                v.submit("c\(i)", v.limit(i % 2 == 0 ? .buy : .sell, i % 2 == 0 ? "100.0" : "100.5", "0.3", .postOnly), decided: t)
                v.print(i % 3 == 0 ? .buy : .sell, i % 3 == 0 ? "100.5" : "100.0", "2", at: t + 10)
            }
            v.advance(to: 10_000)
            return v.log
        }
        #expect(run(seed: 7) == run(seed: 7))
        #expect(run(seed: 7).fills.count > 0)
        #expect(run(seed: 7) != run(seed: 8))
    }

    @Test func commandsOfOneAccountNeverOvertakeEachOther() throws {
        var v = Venue { $0.entryLatency = .sampled(millisecondsSamples: [50, 1], seed: 3) }
        v.standardBook()
        var arrivals: [ExchangeTime] = []
        for i in 0..<20 { arrivals.append(try v.send(.submit(v.m.id("o\(i)"), v.limit(.buy, "90.0", "1")), decided: 1_000).get().arrival) }
        #expect(arrivals == arrivals.sorted() && arrivals.allSatisfy { $0 >= v.t(1_001) })
    }
}

@Suite struct InstrumentRuleTests {
    @Test(arguments: [
        ("100.05", "0.010", RejectReason.priceNotOnTick), ("100.0", "0.0105", .quantityNotOnStep),
        ("100.0", "0.000", .nonPositiveQuantity), ("100.0", "2000", .quantityAboveMaximum),
        ("100.0", "0.010", .notionalBelowMinimum),
    ])
    func ordersBreakingKnownRulesAreRefusedOnTheCall(price: String, qty: String, reason: RejectReason) throws {
        var table = InstrumentTable()
        let id = table.id(for: "BTCUSDT")
        func p(_ s: String) -> Price { Price(units: try! FixedDecimal.parse(s, digits: Price.digits)) }
        func q(_ s: String) -> Quantity { Quantity(units: try! FixedDecimal.parse(s, digits: Quantity.digits)) }
        table.setRules(InstrumentRules(tickSize: p("0.1"), qtyStep: q("0.001"), minOrderQty: q("0.001"), maxOrderQty: q("1190"),
                                       maxMarketOrderQty: q("500"), minNotional: try USDT("5"), priceDecimals: 2, qtyDecimals: 3,
                                       status: "Trading", fundingIntervalMinutes: 480, settleCoin: "USDT"), for: "BTCUSDT")
        var v = Venue(market: MarketBuilder(instrument: table[id]))
        v.book(.snapshot, ts: 1_000, bids: [("99.0", "5")], asks: [("101.0", "5")])
        #expect(v.send(.submit(v.m.id("r"), v.limit(.buy, price, qty, .postOnly)), decided: 1_000) == .failure(Rejection(reason)))
    }
}

@Suite struct ReduceOnlyTests {
    /// A long of 2 bought by taking the 100.5 ask level.
    func long2() -> Venue {
        var v = Venue()
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "3"), ("101.0", "4")])
        v.submit("open", v.limit(.buy, "100.5", "2", .immediateOrCancel), decided: 1_000)
        v.advance(to: 1_010)
        return v
    }

    @Test func reduceOnlyThatWouldGrowThePositionIsRefused() {
        var v = long2()
        #expect(v.position == v.m.q("2").units)
        #expect(v.send(.submit(v.m.id("ro"), v.limit(.buy, "99.0", "1", reduceOnly: true)), decided: 1_010)
                == .failure(Rejection(.reduceOnlyWouldIncrease)))
    }

    @Test func reduceOnlyIsCappedToThePositionAndCutWhenThePositionShrinks() {
        var v = long2()
        // Two reduce-only sells resting above the market: 3 asked, capped to 2; another of 2.
        v.submit("tp1", v.limit(.sell, "102.0", "3", reduceOnly: true), decided: 1_010)
        v.submit("tp2", v.limit(.sell, "103.0", "2", reduceOnly: true), decided: 1_010)
        let placed = v.advance(to: 1_100)
        #expect(placed.amendments.map(\.cause) == [.reduceOnlyCap])
        #expect(v.engine.store.asks.map(\.remaining) == [v.m.q("2").units, v.m.q("2").units])
        // Both levels show, then 102.0 empties (inside the book's span: nothing ahead any more). A buy print lifts
        // 102.0: tp1 fills 1.5, the position is now 0.5, tp2 is cut to 0.5.
        v.book(.delta, ts: 1_150, bids: [], asks: [("102.0", "1"), ("103.0", "1")])
        v.book(.delta, ts: 1_200, bids: [], asks: [("102.0", "0")])
        let reports = v.print(.buy, "102.0", "1.5", at: 1_300)
        #expect(reports.fills.map(\.qty) == [v.m.q("1.5")])
        #expect(v.position == v.m.q("0.5").units)
        #expect(v.engine.store.asks.map(\.remaining) == [v.m.q("0.5").units, v.m.q("0.5").units])
        // Flat: every reduce-only order left is cancelled with CancelByReduceOnly.
        let close = v.print(.buy, "102.0", "5", at: 1_400)
        #expect(v.position == 0 && v.engine.openOrderCount == 0)
        #expect(close.cancelled(.reduceOnly).count == 1)
    }

    @Test func aReduceOnlyTakerClosesAtMostThePosition() {
        var v = long2()
        v.submit("close", v.market(.sell, "10", reduceOnly: true), decided: 1_010)
        let reports = v.advance(to: 1_020)
        #expect(reports.fills.map(\.qty) == [v.m.q("2")] && v.position == 0)
        #expect(reports.fills.first?.closedQty == v.m.q("2"))
    }
}

@Suite struct ConditionalOrderTests {
    /// Book bids 100.0 × 5, 98.0 × 10; asks 100.5 × 5, 101.0 × 5; last price 100.5.
    func venue() -> Venue {
        var v = Venue()
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "5"), ("98.0", "10")], asks: [("100.5", "5"), ("101.0", "5")])
        v.print(.buy, "100.5", "0.1", at: 1_001)
        return v
    }

    @Test func stopBuyTriggersOnTheLastPriceAndBecomesAMarketOrder() {
        var v = venue()
        v.submit("stop", v.stop(.buy, trigger: "101.0", .rise, qty: "1"), decided: 1_001)
        let placed = v.advance(to: 1_100)
        #expect(placed.accepted.count == 1 && v.engine.openOrderCount == 0)   // untriggered: not in the book
        #expect(v.print(.buy, "100.5", "0.1", at: 1_200).triggers.isEmpty)
        let fired = v.print(.buy, "101.0", "0.1", at: 1_300)
        #expect(fired.triggers.map(\.qty) == [v.m.q("1")])
        // The print at 101.0 swept 100.5: the stop takes at 101.0.
        #expect(fired.fills.map(\.price) == [v.m.p("101.0")] && fired.fills.allSatisfy { $0.liquidity == .taker })
    }

    func protected(_ spec: OrderSpec, _ v: Venue, tp: String, sl: String, _ mode: TPSLMode) -> OrderSpec {
        var spec = spec
        spec.protection = Protection(takeProfit: ProtectionLeg(trigger: v.m.p(tp)), stopLoss: ProtectionLeg(trigger: v.m.p(sl)), mode: mode)
        return spec
    }

    @Test func fullTakeProfitAndStopLossOnCreateBecomeThePositionsLegsOnTheFirstFill() {
        var v = venue()
        v.submit("open", protected(v.limit(.buy, "100.5", "2", .immediateOrCancel), v, tp: "110.0", sl: "95.0", .full), decided: 1_001)
        let opened = v.advance(to: 1_100)
        let legs = opened.accepted.filter { $0.origin != .client }
        #expect(legs.map(\.origin) == [.takeProfit, .stopLoss] && legs.allSatisfy { $0.spec.qty == .zero && $0.spec.side == .sell })
        #expect(v.engine.positionTakeProfit == v.m.p("110.0") && v.engine.positionStopLoss == v.m.p("95.0"))
        // Reduce-only with TP/SL is a parameter error on the call.
        #expect(v.send(.submit(v.m.id("ro"), protected(v.limit(.sell, "105.0", "1", reduceOnly: true), v, tp: "90.0", sl: "110.0", .full)),
                       decided: 1_100) == .failure(Rejection(.reduceOnlyWithProtection)))
    }

    @Test func partialTakeProfitAndStopLossMakeAPairPerFillLinkedToTheirOrder() throws {
        var v = venue()
        let sent = v.submit("bid", protected(v.limit(.buy, "100.0", "2", .postOnly), v, tp: "110.0", sl: "95.0", .partial), decided: 1_001)
        let bid = try #require(sent)
        v.advance(to: 1_100)
        let first = v.print(.sell, "100.0", "6", at: 1_200)                      // 5 ahead, then 1 of ours
        let second = v.print(.sell, "100.0", "1", at: 1_300)
        for fill in [first, second] {
            let pair = fill.accepted
            #expect(pair.map(\.origin) == [.partialTakeProfit, .partialStopLoss])
            #expect(pair.allSatisfy { $0.parent == bid && $0.spec.qty == v.m.q("1") && $0.spec.reduceOnly })
        }
        #expect(v.engine.store.conditionals.count == 4 && v.engine.positionTakeProfit == nil)
    }

    @Test func aConditionalOrdersTakeProfitAndStopLossSurviveItsTrigger() {
        var v = venue()
        v.submit("stop", protected(v.stop(.buy, trigger: "101.0", .rise, qty: "1"), v, tp: "110.0", sl: "95.0", .full), decided: 1_001)
        v.advance(to: 1_100)
        let fired = v.print(.buy, "101.0", "0.1", at: 1_300)
        #expect(fired.fills.map(\.qty) == [v.m.q("1")])
        #expect(fired.accepted.map(\.origin) == [.takeProfit, .stopLoss])
        #expect(v.engine.positionTakeProfit == v.m.p("110.0") && v.engine.positionStopLoss == v.m.p("95.0"))
    }

    @Test func triggerAlreadyReachedIsRefusedAndAtMostTenMayBeActive() {
        var v = venue()
        #expect(v.send(.submit(v.m.id("bad"), v.stop(.buy, trigger: "100.0", .rise, qty: "1")), decided: 1_001)
                == .failure(Rejection(.triggerAlreadyReached(.rise))))
        v.mark("95.0", at: 1_002)
        for i in 0..<10 { #expect(v.submit("c\(i)", v.stop(.sell, trigger: "90.0", .fall, by: .markPrice, qty: "1"), decided: 1_002) != nil) }
        #expect(v.send(.submit(v.m.id("c10"), v.stop(.sell, trigger: "90.0", .fall, by: .markPrice, qty: "1")), decided: 1_002)
                == .failure(Rejection(.tooManyConditionalOrders)))
        #expect(v.advance(to: 1_100).accepted.count == 10)
    }

    @Test func markPriceTriggersComeFromTickers() {
        var v = venue()
        v.mark("100.0", at: 1_001)
        v.submit("m", v.stop(.sell, trigger: "99.5", .fall, by: .markPrice, qty: "1", limit: "99.0"), decided: 1_001)
        v.advance(to: 1_100)
        #expect(v.print(.sell, "99.0", "0.1", at: 1_200).triggers.isEmpty)   // last price does not count
        let fired = v.mark("99.4", at: 1_300)
        #expect(fired.triggers.map(\.price) == [v.m.p("99.5")])                 // the order's trigger, as Bybit states it
        // A sell limit at 99.0 crosses the 100.0 bid (net of the 0.1 printed at 99.0 through it: the bid at 100.0 was
        // consumed by that sell print) — nothing is left above 99.0, so it rests.
        #expect(fired.fills.isEmpty && v.engine.store.asks.count == 1)
    }

    @Test func amendingAConditionalOrderChangesItsTriggerAndRefusesOneAlreadyReached() throws {
        var v = venue()
        let idSent = v.submit("stop", v.stop(.buy, trigger: "102.0", .rise, qty: "1"), decided: 1_001)
        let id = try #require(idSent)
        v.advance(to: 1_011)
        v.send(.amend(.venue(id), OrderAmendment(qty: v.m.q("2"), triggerPrice: v.m.p("103.0"))), decided: 1_011)
        let amended = v.advance(to: 1_021).amendments
        #expect(amended.map(\.triggerPrice) == [v.m.p("103.0")] && amended.map(\.qty) == [v.m.q("2")])
        #expect(v.send(.amend(.venue(id), OrderAmendment(triggerPrice: v.m.p("100.0"))), decided: 1_021)
                == .failure(Rejection(.triggerAlreadyReached(.rise))))
        #expect(v.print(.buy, "102.5", "0.1", at: 1_100).triggers.isEmpty)
        #expect(v.print(.buy, "103.0", "0.1", at: 1_200).triggers.map(\.qty) == [v.m.q("2")])
    }

    @Test func aTriggeredOrderTheAccountCannotAffordIsCancelledUnlessItOnlyCloses() {
        var v = Venue(deposit: "50")
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])
        v.print(.buy, "100.5", "0.1", at: 1_001)
        // 4 × 101 at 10× costs 40.4 + fees: fits 50 now.
        v.submit("stop", v.stop(.buy, trigger: "101.0", .rise, qty: "4"), decided: 1_001)
        v.advance(to: 1_011)
        // A resting bid uses the margin before the stop fires.
        v.submit("bid", v.limit(.buy, "90.0", "4"), decided: 1_011)
        v.advance(to: 1_021)
        let fired = v.print(.buy, "101.0", "0.1", at: 1_100)
        #expect(fired.triggers.count == 1 && fired.cancelled(.insufficientMarginOnTrigger).count == 1 && fired.fills.isEmpty)
    }

    @Test func tradingStopClosesTheWholePositionInFullModeAndEachLegReplacesItsKind() {
        var v = venue()
        v.submit("open", v.limit(.buy, "100.5", "2", .immediateOrCancel), decided: 1_001)
        v.advance(to: 1_100)
        #expect(v.position == v.m.q("2").units)
        v.send(.setTradingStop(TradingStop(takeProfit: .set(ProtectionLeg(trigger: v.m.p("110.0"))),
                                           stopLoss: .set(ProtectionLeg(trigger: v.m.p("95.0"))))), decided: 1_100)
        v.send(.setTradingStop(TradingStop(stopLoss: .set(ProtectionLeg(trigger: v.m.p("99.0"))))), decided: 1_101)
        let set = v.advance(to: 1_200)
        #expect(set.accepted.count == 3 && set.cancelled(.protectionCleared).count == 1)
        // The take-profit is unchanged by the second stop (a leg not named stays); the stop moved to 99.
        #expect(v.engine.positionTakeProfit == v.m.p("110.0") && v.engine.positionStopLoss == v.m.p("99.0"))
        let stopped = v.print(.sell, "98.9", "0.1", at: 1_300).fills
        // The print at 98.9 swept the 100.0 bid: the stop sells at 98.0.
        #expect(stopped.map(\.qty) == [v.m.q("2")] && stopped.map(\.price) == [v.m.p("98.0")])
        #expect(v.position == 0 && v.engine.store.conditionals.isEmpty)
        #expect(v.print(.buy, "110.0", "0.1", at: 1_400).fills.isEmpty)
    }

    @Test func tradingStopNeedsAPositionAndALegCanBeRemoved() {
        var v = venue()
        let stop = TradingStop(takeProfit: .set(ProtectionLeg(trigger: v.m.p("110.0"))))
        #expect(v.send(.setTradingStop(stop), decided: 1_001) == .failure(Rejection(.noPosition)))
        v.submit("open", v.limit(.buy, "100.5", "1", .immediateOrCancel), decided: 1_001)
        v.advance(to: 1_100)
        v.send(.setTradingStop(stop), decided: 1_100)
        v.advance(to: 1_200)
        v.send(.setTradingStop(TradingStop(takeProfit: .remove)), decided: 1_200)
        #expect(v.advance(to: 1_300).cancelled(.protectionCleared).count == 1 && v.engine.positionTakeProfit == nil)
    }
}
