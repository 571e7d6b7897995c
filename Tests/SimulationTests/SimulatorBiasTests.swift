import CascadeCore
import CascadeTesting
import MarketData
import Simulation
import Testing

/// One test per simulator bias of the 2026-12 review (B1–B12) and per client finding. Each was written first against
/// the engine before the fixes (commit b2c1251, marked `withKnownIssue`); the fixes removed the marks.
@Suite struct SimulatorBiasTests {
    // MARK: - B1: arrival = decidedAt + latency, decidedAt = the last event of any kind

    @Test func b1_anOrderReactingToALiquidationArrivesAfterTheMessagesEnvelopeTime() throws {
        var v = Venue()
        v.standardBook()
        // The liquidation happened at T = 1 100 and was published at ts = 1 500: a reaction cannot arrive before 1 510.
        v.on(.liquidations([v.m.liquidation(.long, qty: "1", price: "99.0", updated: 1_100, ts: 1_500)]))
        #expect(v.x.clock == v.t(1_500))
        let sent = v.send(.submit(v.m.id("react"), v.limit(.buy, "100.0", "1", .postOnly)), decided: v.x.clock.milliseconds)
        #expect(try sent.get().arrival == v.t(1_510))
    }

    @Test func b1_anOrderSentAfterATradeNeverFillsAgainstAPrintBeforeItsArrival() {
        var v = Venue()
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")])
        v.print(.sell, "100.0", "0.1", at: 1_050)
        // Seen the trade at 1 050: the bid arrives at 1 060, after the print at 1 055 that sweeps 100.0.
        v.submit("late", v.limit(.buy, "100.0", "1"), decided: v.x.clock.milliseconds)
        #expect(v.print(.sell, "100.0", "100", at: 1_055).fills.isEmpty)
        #expect(v.advance(to: 1_060).accepted.count == 1 && v.engine.openOrderCount == 1)
    }

    @Test func b1_aPrintOfTheArrivalMillisecondPublishedLaterNeverFillsTheOrder() {
        var v = Venue()
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "5"), ("99.0", "5")], asks: [("100.5", "5")])
        v.submit("bid", v.limit(.buy, "100.0", "1"), decided: 1_000)         // arrives at 1 010
        v.book(.delta, ts: 1_011, bids: [("100.0", "0")], asks: [])           // processed before this; nothing ahead now
        // Matched at 1 010 but published after the book of 1 011: at the same millisecond the market came first.
        #expect(v.trades(v.m.trade(.sell, "99.5", "10", at: 1_010, ts: 1_012)).fills.isEmpty)
        #expect(v.print(.sell, "100.0", "1", at: 1_013).fills.map(\.qty) == [v.m.q("1")])
    }

    @Test func b1_cancelsAndAmendsGoThroughTheSameLatencyAndNeverOvertakeTheirOrder() throws {
        var v = Venue(latencyMs: 30)
        v.standardBook()
        let idSent = v.submit("a", v.limit(.buy, "99.0", "1"), decided: 1_000)
        let id = try #require(idSent)
        let cancel = try v.send(.cancel(.venue(id)), decided: 1_000).get()
        #expect(cancel.arrival == v.t(1_030))
        #expect(v.advance(to: 1_029).isEmpty)
        #expect(v.advance(to: 1_030).cancellations.map(\.venueID) == [id])
    }

    // MARK: - B2: reduce-only never opens or flips a position

    /// Long 0.010 (a client's case): two reduce-only sells of 0.008 rest; one buy sweep reaches both.
    @Test func b2_twoReduceOnlyOrdersFilledByOnePrintNeverFlipThePosition() {
        var v = Venue()
        v.standardBook()
        v.submit("open", v.limit(.buy, "100.5", "0.010", .immediateOrCancel), decided: 1_000)
        v.advance(to: 1_010)
        #expect(v.position == v.m.q("0.010").units)
        v.submit("tp1", v.limit(.sell, "102.0", "0.008", reduceOnly: true), decided: 1_010)
        v.submit("tp2", v.limit(.sell, "102.5", "0.008", reduceOnly: true), decided: 1_010)
        v.advance(to: 1_020)
        let reports = v.print(.buy, "103.0", "1", at: 1_030)
        #expect(v.position == 0)
        #expect(reports.fills.map(\.qty) == [v.m.q("0.008"), v.m.q("0.002")])
        #expect(v.engine.openOrderCount == 0)
    }

    @Test func b2_anAmendNeverRaisesAReduceOnlyOrderAboveThePosition() throws {
        var v = Venue()
        v.standardBook()
        v.submit("open", v.limit(.buy, "100.5", "2", .immediateOrCancel), decided: 1_000)
        v.advance(to: 1_010)
        let idSent = v.submit("tp", v.limit(.sell, "102.0", "1", reduceOnly: true), decided: 1_010)
        let id = try #require(idSent)
        v.advance(to: 1_020)
        v.send(.amend(.venue(id), OrderAmendment(qty: v.m.q("3"))), decided: 1_020)
        let amended = v.advance(to: 1_030).amendments
        // Applied, then cut back to the position.
        #expect(amended.map(\.qty) == [v.m.q("3"), v.m.q("2")] && amended.last?.cause == .reduceOnlyCap)
        v.print(.buy, "102.5", "10", at: 1_040)                                // through our price: fills whatever the queue
        #expect(v.position == 0)
    }

    @Test func b2_atPositionZeroOpenReduceOnlyOrdersEndCancelByReduceOnly() {
        var v = Venue()
        v.standardBook()
        v.submit("open", v.limit(.buy, "100.5", "1", .immediateOrCancel), decided: 1_000)
        v.advance(to: 1_010)
        v.submit("ro", v.limit(.sell, "103.0", "1", reduceOnly: true), decided: 1_010)
        v.submit("close", v.limit(.sell, "100.0", "1", .immediateOrCancel), decided: 1_010)
        let reports = v.advance(to: 1_020)
        #expect(v.position == 0 && reports.cancelled(.reduceOnly).count == 1 && v.engine.openOrderCount == 0)
    }

    // MARK: - B3: takers see the book net of the prints since its last update

    @Test func b3_aMarketOrderAfterAPrintNeverTakesTheLiquidityThePrintConsumed() {
        var v = Venue()
        v.standardBook()
        // A buy print takes the whole 100.5 level; the book has not updated yet.
        v.print(.buy, "100.5", "3", at: 1_020)
        v.submit("mkt", v.market(.buy, "1"), decided: 1_020)
        #expect(v.advance(to: 1_030).fills.map(\.price) == [v.m.p("101.0")])
    }

    @Test func b3_aPrintThroughALevelConsumesEveryLevelBeforeItUntilABookMessageAfterItShowsThem() {
        var v = Venue()
        v.standardBook()
        // A buy print at 101.0 swept 100.5 and took 1 of 101.0's 4.
        v.print(.buy, "101.0", "1", at: 1_020)
        v.submit("a", v.limit(.buy, "101.0", "5", .immediateOrCancel), decided: 1_020)
        #expect(v.advance(to: 1_030).fills.map(\.qty) == [v.m.q("3")])
        // A book message stamped before the print (cts 1 019) does not reflect it; one after it does.
        v.book(.delta, ts: 1_040, bids: [], asks: [("102.0", "1")], cts: 1_019)
        v.submit("b", v.market(.buy, "1"), decided: 1_040)
        #expect(v.advance(to: 1_050).fills.map(\.price) == [v.m.p("102.0")])
        v.book(.delta, ts: 1_060, bids: [], asks: [("100.5", "2")], cts: 1_059)
        v.submit("c", v.market(.buy, "1"), decided: 1_060)
        #expect(v.advance(to: 1_070).fills.map(\.price) == [v.m.p("100.5")])
    }

    @Test func b3_aTriggeredStopFillsAgainstTheBookNetOfThePrintThatFiredIt() {
        var v = Venue()
        v.standardBook()
        v.print(.buy, "100.5", "0.1", at: 1_001)
        v.submit("stop", v.stop(.buy, trigger: "101.0", .rise, qty: "1"), decided: 1_001)
        v.advance(to: 1_100)
        // The print at 101.0 that fires the stop consumed 100.5 (below it) and 0.1 of 101.0.
        let fired = v.print(.buy, "101.0", "0.1", at: 1_300)
        #expect(fired.triggers.count == 1)
        #expect(fired.fills.map(\.price) == [v.m.p("101.0")] && fired.fills.allSatisfy { $0.liquidity == .taker })
    }

    // MARK: - B4: an amend to a crossing price is judged as a new arrival

    @Test func b4_aBidAmendedThroughTheAskTakesAsTakerAndAPostOnlyIsCancelled() throws {
        var v = Venue()
        v.standardBook()
        let gtcSent = v.submit("gtc", v.limit(.buy, "99.0", "2"), decided: 1_000)
        let gtc = try #require(gtcSent)
        let poSent = v.submit("po", v.limit(.buy, "99.0", "1", .postOnly), decided: 1_000)
        let po = try #require(poSent)
        v.advance(to: 1_010)
        v.send(.amend(.venue(gtc), OrderAmendment(price: v.m.p("101.0"))), decided: 1_010)
        v.send(.amend(.venue(po), OrderAmendment(price: v.m.p("101.0"))), decided: 1_010)
        let reports = v.advance(to: 1_020)
        #expect(reports.fills.map(\.price) == [v.m.p("100.5")] && reports.fills.allSatisfy { $0.liquidity == .taker })
        #expect(reports.cancelled(.postOnlyWouldTakeLiquidity).map(\.venueID) == [po])
    }

    @Test func b4_aLargerQuantityLosesPriorityAndASmallerOneKeepsIt() throws {
        var v = Venue()
        v.standardBook()
        let idSent = v.submit("a", v.limit(.buy, "100.0", "2"), decided: 1_000)
        let id = try #require(idSent)
        v.advance(to: 1_010)
        v.print(.sell, "100.0", "4", at: 1_020)                      // 1 left ahead of us
        v.send(.amend(.venue(id), OrderAmendment(qty: v.m.q("1"))), decided: 1_020)
        #expect(v.advance(to: 1_030).amendments.first?.lostPriority == false)
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("1").units)
        v.send(.amend(.venue(id), OrderAmendment(qty: v.m.q("3"))), decided: 1_030)
        #expect(v.advance(to: 1_040).amendments.first?.lostPriority == true)
        #expect(v.engine.store.bids.first?.queueAhead == v.m.q("5").units)   // the whole displayed level again
    }

    // MARK: - B5/B7: gaps suspend matching; the matching depth is the deepest recorded

    @Test func b5_aBookThatLostItsSequenceFillsNothingUntilItsNextSnapshot() {
        var v = Venue()
        v.standardBook()
        v.submit("bid", v.limit(.buy, "100.0", "1", .postOnly), decided: 1_000)
        v.advance(to: 1_010)
        // A delta whose update id goes backwards: the replayed book is no longer the exchange's.
        var broken = v.m.book(.delta, ts: 1_020, bids: [("100.0", "4")], asks: [])
        broken.updateID = 1_000_000
        v.on(.book(broken))
        var stale = v.m.book(.delta, ts: 1_025, bids: [("100.0", "3")], asks: [])
        stale.updateID = 5
        let suspended = v.on(.book(stale))
        #expect(suspended.suspensions.first?.contains("updateIDRegression") == true)
        #expect(v.print(.sell, "99.0", "50", at: 1_030).fills.isEmpty)
        // The next snapshot resumes matching; the queue restarts at the full displayed size.
        let resumed = v.book(.snapshot, ts: 1_040, bids: [("100.0", "6")], asks: [("100.5", "3")])
        #expect(resumed.resumed && v.engine.store.bids.first?.queueAhead == v.m.q("6").units)
        #expect(v.print(.sell, "100.0", "7", at: 1_050).fills.map(\.qty) == [v.m.q("1")])
    }

    @Test func b5_aSessionDisconnectSuspendsMatchingAndOrdersArrivingInTheGapAreMatchedAtResume() {
        var v = Venue()
        v.standardBook()
        v.submit("bid", v.limit(.buy, "100.0", "1"), decided: 1_000)
        v.advance(to: 1_010)
        let down = v.x.feedChanged(FeedState.Change(interrupted: [.book(v.symbol, depth: 50), .trades(v.symbol)],
                                                    reason: "session disconnect"), at: v.t(1_020))
        #expect(down.suspensions == ["session disconnect"])
        // A market buy arrives in the gap: it waits for the book.
        v.submit("mkt", v.market(.buy, "1"), decided: 1_020)
        #expect(v.advance(to: 1_100).fills.isEmpty)
        #expect(v.x.feedChanged(FeedState.Change(recovered: [.trades(v.symbol)]), at: v.t(1_200)).isEmpty)
        let back = v.book(.snapshot, ts: 1_300, bids: [("99.0", "5")], asks: [("99.5", "2")])
        // Resumed: the market buy takes at the resumed book, and the ask below our bid fills it (strict cross).
        #expect(back.resumed)
        #expect(Set(back.fills.map(\.price)) == [v.m.p("99.5"), v.m.p("100.0")])
    }

    @Test func b5_aFillJustBeforeASuspensionIsFollowedByItsPositionReport() {
        var v = Venue()
        v.standardBook()
        v.submit("mkt", v.market(.buy, "1"), decided: 1_000)                 // arrives at 1 010
        let down = v.x.feedChanged(FeedState.Change(interrupted: [.trades(v.symbol)], reason: "lost trades frame"), at: v.t(1_020))
        #expect(down.fills.map(\.qty) == [v.m.q("1")] && down.suspensions == ["lost trades frame"])
        #expect(down.positions.last?.size == v.m.q("1"))
    }

    @Test func b5_aLostTradesFrameSuspendsMatchingUntilTheNextBookMessage() {
        var v = Venue()
        var feed = FeedState()
        // Every event through FeedState first, as the replay does; its conclusions reach the exchange after the event.
        func step(_ event: MarketEvent) -> [ExecutionReport] {
            let change = feed.apply(event)
            return v.on(event) + v.x.feedChanged(change, at: event.exchangeTime ?? v.x.clock)
        }
        _ = step(.book(v.m.book(.snapshot, ts: 1_000, bids: [("100.0", "5"), ("99.5", "2")], asks: [("100.5", "3")])))
        v.submit("bid", v.limit(.buy, "100.0", "1"), decided: 1_000)
        v.advance(to: 1_010)
        let lost = v.x.feedChanged(feed.apply(.lost(.trades(v.symbol), reason: "truncated")), at: v.t(1_020))
        #expect(lost.suspensions.first?.contains("lost trades frame") == true)
        #expect(step(.trades([v.m.trade(.sell, "99.0", "9", at: 1_030)])).fills.isEmpty)   // through our bid, but in the gap
        let back = step(.book(v.m.book(.delta, ts: 1_040, bids: [("100.0", "4")], asks: [])))
        #expect(back.resumed && v.engine.store.bids.first?.queueAhead == v.m.q("4").units)
        #expect(step(.trades([v.m.trade(.sell, "99.0", "9", at: 1_050)])).fills.map(\.qty) == [v.m.q("1")])
    }

    @Test func b7_theMatchingDepthIsTheDeepestBookOfTheSymbol() {
        var v = Venue { $0.matchingDepths = [SymbolID(index: 0): 200] }
        v.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")], depth: 50)
        #expect(v.x.symbols.isEmpty)                                   // not the matching depth: no market yet
        v.book(.snapshot, ts: 1_001, bids: [("100.0", "5"), ("99.0", "9")], asks: [("100.5", "5"), ("101.5", "9")], depth: 200)
        #expect(v.engine.book.depth == 200 && v.x.depthChoices[v.symbol] == .configured(200))
        // Without a choice the first depth seen is used, and said so.
        var w = Venue()
        w.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")], depth: 50)
        #expect(w.x.depthChoices[w.symbol] == .firstSeen(50))
    }

    // MARK: - B6: a resting order fills when the other side moves through its price

    @Test func b6_aBidFillsWhenTheAskMovesStrictlyThroughIt() {
        var v = Venue()
        v.standardBook()
        v.submit("bid", v.limit(.buy, "100.0", "1", .postOnly), decided: 1_000)
        v.advance(to: 1_010)
        // Asks re-posted below our bid with no print: on the venue that seller would have hit us.
        let reports = v.book(.delta, ts: 1_020, bids: [("100.0", "0")], asks: [("99.8", "2"), ("100.5", "0")])
        #expect(reports.fills.map(\.qty) == [v.m.q("1")] && reports.fills.first?.liquidity == .maker)
        #expect(reports.fills.first?.price == v.m.p("100.0"))
    }

    @Test func b6_printsOnlyIsTheNamedAlternativeAndATouchNeverFills() {
        var v = Venue { $0.fill = .printsOnly }
        v.standardBook()
        v.submit("bid", v.limit(.buy, "100.0", "1", .postOnly), decided: 1_000)
        v.advance(to: 1_010)
        #expect(v.book(.delta, ts: 1_020, bids: [("100.0", "0")], asks: [("99.8", "2"), ("100.5", "0")]).fills.isEmpty)
        var w = Venue()
        w.standardBook()
        w.submit("bid", w.limit(.buy, "100.0", "1", .postOnly), decided: 1_000)
        w.advance(to: 1_010)
        // The ask comes down to our price, not through it: our queue there is unknown, no fill.
        w.book(.delta, ts: 1_020, bids: [("100.0", "0")], asks: [("100.0", "1"), ("100.5", "0")])
        #expect(w.log.fills.isEmpty && w.engine.openOrderCount == 1)
    }

    // MARK: - B8: funding settles after the commands that arrived before it

    @Test func b8_anOrderThatArrivedBeforeTheFundingInstantIsCharged() throws {
        var v = Venue(deposit: "1000")
        v.book(.snapshot, ts: 1_000, bids: [("99.5", "50")], asks: [("100.0", "50")])
        v.on(.ticker(v.m.ticker(at: 1_000, mark: "100.0", fundingRate: "0.0001", nextFunding: 2_000, snapshot: true)))
        // Arrives at 1 990, before funding at 2 000; the next event is a book update at 2 010.
        v.submit("buy", v.market(.buy, "1"), decided: 1_980)
        let reports = v.book(.delta, ts: 2_010, bids: [("99.5", "49")], asks: [])
        let funding = try #require(reports.fundings.first)
        #expect(funding.amount == v.m.usdt("0.01") && funding.positionSize == v.m.q("1"))
        // The fill came first, then the funding, each with its place in the execution sequence.
        #expect(reports.fills.first?.seq == 1 && funding.seq == 2)
    }

    // MARK: - B10–B12

    @Test func b10_aFillThatFlipsThePositionClearsItsTradingStopLegs() {
        var v = Venue()
        v.standardBook()
        v.print(.buy, "100.5", "0.1", at: 1_001)
        v.submit("open", v.limit(.buy, "101.0", "2", .immediateOrCancel), decided: 1_001)
        v.advance(to: 1_011)
        v.send(.setTradingStop(TradingStop(takeProfit: .set(ProtectionLeg(trigger: v.m.p("110.0"))),
                                           stopLoss: .set(ProtectionLeg(trigger: v.m.p("95.0"))))), decided: 1_011)
        v.advance(to: 1_021)
        // Sell 3 into the bids: long 2 → short 1.
        v.submit("flip", v.limit(.sell, "99.5", "3", .immediateOrCancel), decided: 1_021)
        let reports = v.advance(to: 1_031)
        #expect(v.position == -v.m.q("1").units)
        #expect(reports.cancelled(.protectionCleared).count == 2 && v.engine.store.conditionals.isEmpty)
    }

    @Test func b11_aConditionalOrderIsRefusedWhileItsWatchedPriceIsUnknown() {
        var v = Venue()
        v.standardBook()
        let refused = v.send(.submit(v.m.id("stop"), v.stop(.sell, trigger: "99.0", .fall, by: .markPrice, qty: "1")), decided: 1_000)
        #expect(refused == .failure(Rejection(.triggerPriceUnknown)))
        v.mark("100.0", at: 1_001)
        #expect(v.submit("stop", v.stop(.sell, trigger: "99.0", .fall, by: .markPrice, qty: "1"), decided: 1_001) != nil)
    }

    @Test func b12_aPostOnlyAtALevelOurOwnTakingEmptiedRests() {
        var v = Venue()
        v.standardBook()
        v.submit("take", v.limit(.buy, "100.5", "3", .immediateOrCancel), decided: 1_000)
        v.advance(to: 1_010)
        // A PostOnly bid at the ask level we just emptied would rest on the venue: nothing is left there to take.
        v.submit("po", v.limit(.buy, "100.5", "1", .postOnly), decided: 1_010)
        let reports = v.advance(to: 1_020)
        #expect(reports.cancelled(.postOnlyWouldTakeLiquidity).isEmpty)
        #expect(v.engine.openOrderCount == 1)
    }

    // MARK: - The cancel/fill race (§3.3)

    /// A long session remembers a window of closed orders: past it, the oldest is forgotten (its cancel is
    /// `unknownOrder`, Bybit's same 110001) and so is its client id; the newest stay `orderClosed`.
    @Test func closedOrdersAreRememberedForAWindowOnly() throws {
        var v = Venue { $0.closedOrdersRemembered = 2 }
        v.standardBook()
        var ids: [VenueOrderID] = []
        for (k, name) in ["w1", "w2", "w3"].enumerated() {
            let decided = 1_000 + Int64(k) * 100
            let sent = v.submit(name, v.limit(.buy, "99.0", "1"), decided: decided)
            ids.append(try #require(sent))
            v.advance(to: decided + 20)
            _ = v.send(.cancel(.venue(ids[k])), decided: decided + 20)
            v.advance(to: decided + 40)
        }
        // The fourth create forgets the oldest closed order beyond the window of two.
        let fourth = v.submit("w4", v.limit(.buy, "99.0", "1"), decided: 1_400)
        #expect(fourth != nil)
        v.advance(to: 1_420)
        // Refused on the call or on arrival, whichever the venue does: the reason is what matters.
        var refused: [RejectReason] = []
        for id in [ids[0], ids[2]] {
            if case let .failure(rejection) = v.send(.cancel(.venue(id)), decided: 1_420) { refused.append(rejection.reason) }
            refused += v.advance(to: 1_440).commandRejections.map(\.rejection.reason)
        }
        #expect(refused == [.unknownOrder, .orderClosed], "\(refused)")
        let reused = v.submit("w1", v.limit(.buy, "99.0", "1"), decided: 1_440)
        #expect(reused != nil, "a forgotten client id")
        let refusedAgain = v.submit("w3", v.limit(.buy, "99.0", "1"), decided: 1_440)
        #expect(refusedAgain == nil, "a remembered one is still refused")
    }

    @Test func aCancelThatArrivesAfterTheFillIsRefusedAsClosedNotUnknown() throws {
        var v = Venue()
        v.standardBook()
        let idSent = v.submit("a", v.limit(.buy, "100.0", "1"), decided: 1_000)
        let id = try #require(idSent)
        v.advance(to: 1_010)
        // The client sends the cancel at 1 015 (the order still open); a print fills it at 1 020; the cancel arrives 1 025.
        #expect(try v.send(.cancel(.venue(id)), decided: 1_015).get().arrival == v.t(1_025))
        #expect(v.print(.sell, "99.5", "2", at: 1_020).fills.count == 1)
        let refused = v.advance(to: 1_025).commandRejections
        #expect(refused.map(\.rejection.reason) == [.orderClosed] && refused.first?.venueID == id)
    }
}
