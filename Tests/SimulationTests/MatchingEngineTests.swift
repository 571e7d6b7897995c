import CascadeCore
import MarketData
import Simulation
import Testing

/// Hand-worked fills. Prices and sizes in readable text; every expectation follows the rules written in
/// `MatchingEngine`'s documentation.
struct Market {
    var instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var u: UInt64 = 1
    func p(_ s: String) -> Price { try! instrument.price(s) }
    func q(_ s: String) -> Quantity { try! instrument.quantity(s) }

    mutating func book(_ kind: BookUpdate.Kind, ts: Int64, bids: [(String, String)], asks: [(String, String)]) -> BookUpdate {
        u += 1
        return BookUpdate(symbol: instrument.id, depth: 50, kind: kind, updateID: u, sequence: u,
                          exchangeTime: ExchangeTime(milliseconds: ts), matchTime: nil, localTime: LocalTime(nanoseconds: ts * 1_000_000),
                          bids: bids.map { BookLevel(price: p($0.0), size: q($0.1)) },
                          asks: asks.map { BookLevel(price: p($0.0), size: q($0.1)) })
    }

    func trade(_ taker: Side, _ price: String, _ qty: String, at t: Int64, rpi: Bool = false) -> Trade {
        Trade(symbol: instrument.id, price: p(price), qty: q(qty), takerSide: taker, tickDirection: nil, id: "t\(t)",
              tradeTime: ExchangeTime(milliseconds: t), exchangeTime: ExchangeTime(milliseconds: t),
              localTime: LocalTime(nanoseconds: t * 1_000_000), isBlockTrade: false, isRPI: rpi, sequence: nil)
    }
}

extension [SimReport] {
    var fills: [SimFill] { compactMap { if case let .filled(f) = $0 { f } else { nil } } }
    var acceptedIDs: [SimOrderID] { compactMap { if case let .accepted(id, _, _) = $0 { id } else { nil } } }
}

@Suite struct MatchingEngineTests {
    func engine(_ m: Market, latencyMs: Int64 = 10, queue: SimQueueModel = .tradesOnly) -> MatchingEngine {
        var c = SimConfiguration(instrument: m.instrument)
        c.entryLatency = .constant(milliseconds: latencyMs)
        c.queue = queue
        return MatchingEngine(configuration: c, depth: 50)
    }

    /// Book: bids 100.0 × 5, 99.5 × 2; asks 100.5 × 3, 101.0 × 4.
    func start(_ m: inout Market, _ e: inout MatchingEngine) {
        _ = e.onBook(m.book(.snapshot, ts: 1_000, bids: [("100.0", "5"), ("99.5", "2")], asks: [("100.5", "3"), ("101.0", "4")]))
    }

    func restBid(_ m: inout Market, _ e: inout MatchingEngine, price: String = "100.0", qty: String = "2", id: String = "a") -> SimOrderID {
        e.submit(.place(clientID: id, side: .buy, price: m.p(price), qty: m.q(qty), timeInForce: .postOnly),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        return e.advance(to: ExchangeTime(milliseconds: 1_010)).acceptedIDs.first!
    }

    @Test func queueAdvancesOnPrintsAtOurPriceThenFills() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = restBid(&m, &e)                                        // 5 ahead of us
        #expect(e.onTrades([m.trade(.sell, "100.0", "3", at: 1_020)]).fills.isEmpty)   // 2 still ahead
        #expect(e.openOrders.first?.queueAhead == m.q("2"))
        let fills = e.onTrades([m.trade(.sell, "100.0", "3", at: 1_030)]).fills       // 2 ahead, then 1 to us
        #expect(fills.map(\.qty) == [m.q("1")] && fills.first?.isMaker == true && fills.first?.price == m.p("100.0"))
        #expect(e.openOrders.first?.remaining == m.q("1"))
    }

    @Test func partialFillsAccumulateAndFeesAreMakerOnExecValue() throws {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = e.onBook(m.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: []))      // nobody at 100.0 now
        _ = restBid(&m, &e, qty: "2")
        let first = e.onTrades([m.trade(.sell, "100.0", "0.5", at: 1_020)]).fills
        let second = e.onTrades([m.trade(.sell, "100.0", "2", at: 1_030)]).fills
        #expect(first.map(\.qty) == [m.q("0.5")] && second.map(\.qty) == [m.q("1.5")])
        #expect(second[0].value == (try USDT("150")))
        #expect(second[0].fee == (try USDT("0.03")))                                   // 150 × 0.0002
        #expect(e.openOrders.isEmpty)
    }

    @Test func postOnlyThatWouldCrossAtArrivalIsAcceptedThenCancelled() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        e.submit(.place(clientID: "x", side: .buy, price: m.p("100.5"), qty: m.q("1"), timeInForce: .postOnly),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        let reports = e.advance(to: ExchangeTime(milliseconds: 1_010))
        #expect(reports.count == 2)
        guard case .accepted = reports[0], case let .cancelled(_, reason, filled, _) = reports[1] else {
            Issue.record("\(reports)"); return
        }
        #expect(reason == .postOnlyWouldTakeLiquidity && filled == .zero)
        // Judged at arrival, not at sending: the ask moved away before the order arrived → it rests.
        e.submit(.place(clientID: "y", side: .buy, price: m.p("100.5"), qty: m.q("1"), timeInForce: .postOnly),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        _ = e.onBook(m.book(.delta, ts: 1_005, bids: [], asks: [("100.5", "0")]))
        let later = e.advance(to: ExchangeTime(milliseconds: 1_010))
        #expect(later.count == 1 && e.openOrders.count == 1)
    }

    @Test func tradeThroughOurPriceFillsRegardlessOfTheQueue() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = restBid(&m, &e, qty: "1")                              // 5 ahead
        let fills = e.onTrades([m.trade(.sell, "99.5", "1", at: 1_020)]).fills
        #expect(fills.map(\.qty) == [m.q("1")] && fills[0].price == m.p("100.0"))
    }

    @Test func onePrintNeverFillsTwoOrders() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = e.onBook(m.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: []))      // empty queue at 100.0
        e.submit(.place(clientID: "a", side: .buy, price: m.p("100.0"), qty: m.q("1"), timeInForce: .goodTillCancel),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        e.submit(.place(clientID: "b", side: .buy, price: m.p("100.0"), qty: m.q("1"), timeInForce: .goodTillCancel),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        _ = e.advance(to: ExchangeTime(milliseconds: 1_010))
        let fills = e.onTrades([m.trade(.sell, "100.0", "1", at: 1_020)]).fills
        #expect(fills.count == 1 && fills[0].clientID == "a")      // time priority, print used once
        let next = e.onTrades([m.trade(.sell, "100.0", "1", at: 1_030)]).fills
        #expect(next.map(\.clientID) == ["b"])
    }

    @Test func aTouchAloneNeverFills() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = restBid(&m, &e, price: "100.0")
        // The ask comes down to our bid price without any print.
        #expect(e.onBook(m.book(.delta, ts: 1_020, bids: [], asks: [("100.0", "1"), ("100.5", "0")])).fills.isEmpty)
        #expect(e.openOrders.count == 1)
    }

    @Test func rpiPrintsNeitherFillNorAdvanceTheQueue() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = restBid(&m, &e)
        #expect(e.onTrades([m.trade(.sell, "100.0", "50", at: 1_020, rpi: true)]).fills.isEmpty)
        #expect(e.openOrders.first?.queueAhead == m.q("5"))
    }

    @Test func amendDownKeepsPriorityAndPriceChangeLosesIt() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        let id = restBid(&m, &e, qty: "2")
        _ = e.onTrades([m.trade(.sell, "100.0", "4", at: 1_020)])   // 1 left ahead
        e.submit(.amend(id, qty: m.q("1"), price: nil), lastSeen: ExchangeTime(milliseconds: 1_020))
        let down = e.advance(to: ExchangeTime(milliseconds: 1_030))
        #expect(down == [.amended(id, lostPriority: false, at: ExchangeTime(milliseconds: 1_030))])
        #expect(e.openOrders.first?.queueAhead == m.q("1") && e.openOrders.first?.remaining == m.q("1"))
        e.submit(.amend(id, qty: nil, price: m.p("99.5")), lastSeen: ExchangeTime(milliseconds: 1_030))
        let moved = e.advance(to: ExchangeTime(milliseconds: 1_040))
        #expect(moved == [.amended(id, lostPriority: true, at: ExchangeTime(milliseconds: 1_040))])
        #expect(e.openOrders.first?.queueAhead == m.q("2"))        // the whole 99.5 level is now ahead
    }

    @Test func anOrderSentInReactionToAnEventNeverFillsAgainstIt() {
        var m = Market(), e = engine(m, latencyMs: 1)
        start(&m, &e)
        _ = e.onBook(m.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: []))
        // The client sees a sell print at 100.0 (T = 2 000) and reacts at once with a bid there.
        let print = m.trade(.sell, "100.0", "10", at: 2_000)
        let arrival = e.submit(.place(clientID: "r", side: .buy, price: m.p("100.0"), qty: m.q("1"), timeInForce: .goodTillCancel),
                               lastSeen: print.tradeTime)
        #expect(arrival > print.tradeTime)
        #expect(e.onTrades([print]).fills.isEmpty)
        _ = e.advance(to: arrival)
        #expect(e.openOrders.count == 1)
    }

    @Test func unknownQueueBeyondTheBookBecomesTheDisplayedSizeWhenVisible() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = restBid(&m, &e, price: "98.0", qty: "1")               // below the book's span (worst bid 99.5)
        #expect(e.openOrders.first?.queueAhead == nil)
        _ = e.onBook(m.book(.delta, ts: 1_020, bids: [("98.0", "7")], asks: []))
        #expect(e.openOrders.first?.queueAhead == m.q("7"))
    }

    @Test func deletedLevelLeavesNothingAheadAndQueueNeverExceedsDisplay() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = restBid(&m, &e)
        _ = e.onBook(m.book(.delta, ts: 1_020, bids: [("100.0", "3")], asks: []))
        #expect(e.openOrders.first?.queueAhead == m.q("3"))
        _ = e.onBook(m.book(.delta, ts: 1_030, bids: [("100.0", "0")], asks: []))
        #expect(e.openOrders.first?.queueAhead == .zero)
    }

    @Test func proportionalModelCreditsAShareOfCancellations() {
        var m = Market(), e = engine(m, queue: .proportionalCancels)
        start(&m, &e)
        _ = restBid(&m, &e)                                        // 5 ahead, displayed 5
        _ = e.onBook(m.book(.delta, ts: 1_020, bids: [("100.0", "4")], asks: []))   // 1 cancelled: 1 × 5/5 = 1
        #expect(e.openOrders.first?.queueAhead == m.q("4"))
    }

    @Test func aggressiveOrdersTakeLevelsPayTakerFeeAndDepleteTheReplayedLevel() throws {
        var m = Market(), e = engine(m)
        start(&m, &e)
        e.submit(.place(clientID: "t", side: .buy, price: m.p("101.0"), qty: m.q("5"), timeInForce: .immediateOrCancel),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        let reports = e.advance(to: ExchangeTime(milliseconds: 1_010))
        #expect(reports.fills.map(\.qty) == [m.q("3"), m.q("2")])
        #expect(reports.fills.map(\.price) == [m.p("100.5"), m.p("101.0")])
        #expect(reports.fills.allSatisfy { !$0.isMaker })
        #expect(reports.fills[0].fee == (try USDT("0.1658250")))  // 301.5 × 0.00055
        // Our taking emptied 100.5 until that level updates: a market buy now starts at 101.0.
        e.submit(.place(clientID: "m", side: .buy, price: nil, qty: m.q("1"), timeInForce: .immediateOrCancel),
                 lastSeen: ExchangeTime(milliseconds: 1_010))
        let market = e.advance(to: ExchangeTime(milliseconds: 1_020)).fills
        #expect(market.map(\.price) == [m.p("101.0")])
    }

    @Test func fillOrKillFillsCompletelyOrNotAtAll() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        e.submit(.place(clientID: "k", side: .buy, price: m.p("100.5"), qty: m.q("4"), timeInForce: .fillOrKill),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        let reports = e.advance(to: ExchangeTime(milliseconds: 1_010))
        #expect(reports.fills.isEmpty)
        #expect(reports.contains { if case .cancelled(_, .fillOrKillNotFilled, _, _) = $0 { true } else { false } })
    }

    @Test func cancelReportsWhatHadFilled() {
        var m = Market(), e = engine(m)
        start(&m, &e)
        _ = e.onBook(m.book(.delta, ts: 1_005, bids: [("100.0", "0")], asks: []))
        let id = restBid(&m, &e, qty: "2")
        _ = e.onTrades([m.trade(.sell, "100.0", "0.5", at: 1_020)])
        e.submit(.cancel(id), lastSeen: ExchangeTime(milliseconds: 1_020))
        #expect(e.advance(to: ExchangeTime(milliseconds: 1_030)) == [.cancelled(id, .byUser, filledQty: m.q("0.5"), at: ExchangeTime(milliseconds: 1_030))])
        e.submit(.cancel(id), lastSeen: ExchangeTime(milliseconds: 1_030))
        #expect(e.advance(to: ExchangeTime(milliseconds: 1_040)) == [.commandRejected(.cancel(id), .unknownOrder, at: ExchangeTime(milliseconds: 1_040))])
    }

    @Test func sameSeedGivesTheSameFills() {
        func run(seed: UInt64) -> [SimReport] {
            var m = Market()
            var c = SimConfiguration(instrument: m.instrument)
            c.entryLatency = .sampled(millisecondsSamples: [3, 8, 15, 40, 120], seed: seed)
            var e = MatchingEngine(configuration: c, depth: 50)
            var out: [SimReport] = []
            out += e.onBook(m.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5")]))
            for i in 0..<50 {
                let t = Int64(1_000 + i * 20)
                e.submit(.place(clientID: "c\(i)", side: i % 2 == 0 ? .buy : .sell, price: m.p(i % 2 == 0 ? "100.0" : "100.5"),
                                qty: m.q("0.3"), timeInForce: .postOnly), lastSeen: ExchangeTime(milliseconds: t))
                out += e.onTrades([m.trade(i % 3 == 0 ? .buy : .sell, i % 3 == 0 ? "100.5" : "100.0", "2", at: t + 10)])
            }
            out += e.advance(to: ExchangeTime(milliseconds: 10_000))
            return out
        }
        #expect(run(seed: 7) == run(seed: 7))
        #expect(run(seed: 7).fills.count > 0)
        #expect(run(seed: 7) != run(seed: 8))
    }
}

@Suite struct InstrumentRuleTests {
    @Test(arguments: [
        ("100.05", "0.010", SimRejectReason.priceNotOnTick), ("100.0", "0.0105", .quantityNotOnStep),
        ("100.0", "0.000", .nonPositiveQuantity), ("100.0", "2000", .quantityAboveMaximum),
        ("100.0", "0.010", .notionalBelowMinimum),
    ])
    func ordersBreakingKnownRulesAreRejectedWithBybitsCodes(price: String, qty: String, reason: SimRejectReason) throws {
        var m = Market()
        var table = InstrumentTable()
        let id = table.id(for: "BTCUSDT")
        func p(_ s: String) -> Price { Price(units: try! FixedDecimal.parse(s, digits: Price.digits)) }
        func q(_ s: String) -> Quantity { Quantity(units: try! FixedDecimal.parse(s, digits: Quantity.digits)) }
        table.setRules(InstrumentRules(tickSize: p("0.1"), qtyStep: q("0.001"), minOrderQty: q("0.001"), maxOrderQty: q("1190"),
                                       maxMarketOrderQty: q("500"), minNotional: try USDT("5"), priceDecimals: 2, qtyDecimals: 3,
                                       status: "Trading", fundingIntervalMinutes: 480, settleCoin: "USDT"), for: "BTCUSDT")
        m.instrument = table[id]
        var e = MatchingEngine(configuration: SimConfiguration(instrument: m.instrument), depth: 50)
        _ = e.onBook(m.book(.snapshot, ts: 1_000, bids: [("99.0", "5")], asks: [("101.0", "5")]))
        e.submit(.place(clientID: "r", side: .buy, price: m.p(price), qty: m.q(qty), timeInForce: .postOnly), lastSeen: ExchangeTime(milliseconds: 1_000))
        let reports = e.advance(to: ExchangeTime(milliseconds: 1_100))
        #expect(reports == [.rejected(clientID: "r", reason, at: ExchangeTime(milliseconds: 1_010))])
        #expect(reason.retCode == (reason == .notionalBelowMinimum ? 110094 : 10001))
    }
}

@Suite struct ReduceOnlyTests {
    /// A long of 2 bought by taking the 100.5 ask level.
    func long2() -> (Market, MatchingEngine) {
        var m = Market()
        var e = MatchingEngine(configuration: SimConfiguration(instrument: m.instrument), depth: 50)
        _ = e.onBook(m.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "3"), ("101.0", "4")]))
        e.submit(.place(clientID: "open", side: .buy, price: m.p("100.5"), qty: m.q("2"), timeInForce: .immediateOrCancel),
                 lastSeen: ExchangeTime(milliseconds: 1_000))
        _ = e.advance(to: ExchangeTime(milliseconds: 1_010))
        return (m, e)
    }

    @Test func reduceOnlyThatWouldGrowThePositionIsRejected() {
        var (m, e) = long2()
        #expect(e.position == m.q("2").units)
        e.submit(.place(clientID: "ro", side: .buy, price: m.p("99.0"), qty: m.q("1"), timeInForce: .goodTillCancel, reduceOnly: true),
                 lastSeen: ExchangeTime(milliseconds: 1_010))
        #expect(e.advance(to: ExchangeTime(milliseconds: 1_100)) == [.rejected(clientID: "ro", .reduceOnlyWouldIncrease, at: ExchangeTime(milliseconds: 1_020))])
        #expect(SimRejectReason.reduceOnlyWouldIncrease.retCode == 110017)
    }

    @Test func reduceOnlyIsCappedToThePositionAndCutWhenThePositionShrinks() {
        var (m, e) = long2()
        // Two reduce-only sells resting above the market: 3 asked, capped to 2; another of 2.
        e.submit(.place(clientID: "tp1", side: .sell, price: m.p("102.0"), qty: m.q("3"), timeInForce: .goodTillCancel, reduceOnly: true),
                 lastSeen: ExchangeTime(milliseconds: 1_010))
        e.submit(.place(clientID: "tp2", side: .sell, price: m.p("103.0"), qty: m.q("2"), timeInForce: .goodTillCancel, reduceOnly: true),
                 lastSeen: ExchangeTime(milliseconds: 1_010))
        _ = e.advance(to: ExchangeTime(milliseconds: 1_100))
        #expect(e.openOrders.map(\.remaining) == [m.q("2"), m.q("2")])
        // A buy print lifts 102.0: tp1 fills 1.5, the position is now 0.5, tp2 is cut to 0.5.
        _ = e.onBook(m.book(.delta, ts: 1_200, bids: [], asks: [("102.0", "0")]))
        let reports = e.onTrades([m.trade(.buy, "102.0", "1.5", at: 1_300)])
        #expect(reports.fills.map(\.qty) == [m.q("1.5")])
        #expect(e.position == m.q("0.5").units)
        #expect(e.openOrders.map(\.remaining) == [m.q("0.5"), m.q("0.5")])
        // Flat: every reduce-only order left is cancelled with CancelByReduceOnly.
        let close = e.onTrades([m.trade(.buy, "102.0", "5", at: 1_400)])
        #expect(e.position == 0 && e.openOrders.isEmpty)
        #expect(close.contains { if case .cancelled(_, .reduceOnly, _, _) = $0 { true } else { false } })
    }

    @Test func hedgeModePositionIndexIsRejectedInOneWayMode() {
        var (m, e) = long2()
        e.submit(.place(clientID: "h", side: .sell, price: m.p("105.0"), qty: m.q("1"), timeInForce: .goodTillCancel, positionIndex: 2),
                 lastSeen: ExchangeTime(milliseconds: 1_010))
        #expect(e.advance(to: ExchangeTime(milliseconds: 1_100)) == [.rejected(clientID: "h", .positionIndexMismatch, at: ExchangeTime(milliseconds: 1_020))])
    }
}

@Suite struct ConditionalOrderTests {
    func engine() -> (Market, MatchingEngine) {
        var m = Market()
        var e = MatchingEngine(configuration: SimConfiguration(instrument: m.instrument), depth: 50)
        _ = e.onBook(m.book(.snapshot, ts: 1_000, bids: [("100.0", "5")], asks: [("100.5", "5"), ("101.0", "5")]))
        _ = e.onTrades([m.trade(.buy, "100.5", "0.1", at: 1_001)])   // last price 100.5
        return (m, e)
    }

    func ticker(_ m: Market, mark: String, at t: Int64) -> TickerUpdate {
        var f = TickerFields()
        f.markPrice = m.p(mark)
        return TickerUpdate(symbol: m.instrument.id, kind: .delta, fields: f, crossSequence: nil,
                            exchangeTime: ExchangeTime(milliseconds: t), localTime: LocalTime(nanoseconds: t))
    }

    @Test func stopBuyTriggersOnTheLastPriceAndBecomesAMarketOrder() {
        var (m, e) = engine()
        e.submit(.placeConditional(clientID: "stop", side: .buy, price: nil, qty: m.q("1"), timeInForce: .immediateOrCancel,
                                   trigger: m.p("101.0"), direction: .rise, triggerBy: .lastPrice), lastSeen: ExchangeTime(milliseconds: 1_001))
        let placed = e.advance(to: ExchangeTime(milliseconds: 1_100))
        #expect(placed.acceptedIDs.count == 1 && e.openOrders.isEmpty)   // untriggered: not in the book
        #expect(e.onTrades([m.trade(.buy, "100.5", "0.1", at: 1_200)]).isEmpty)
        let fired = e.onTrades([m.trade(.buy, "101.0", "0.1", at: 1_300)])
        #expect(fired.contains { if case .triggered(_, _, _) = $0 { true } else { false } })
        #expect(fired.fills.map(\.price) == [m.p("100.5")] && fired.fills.allSatisfy { !$0.isMaker })
    }

    @Test func triggerAlreadyReachedIsRejectedAndAtMostTenMayBeActive() {
        var (m, e) = engine()
        e.submit(.placeConditional(clientID: "bad", side: .buy, price: nil, qty: m.q("1"), timeInForce: .immediateOrCancel,
                                   trigger: m.p("100.0"), direction: .rise, triggerBy: .lastPrice), lastSeen: ExchangeTime(milliseconds: 1_001))
        #expect(e.advance(to: ExchangeTime(milliseconds: 1_100)) == [.rejected(clientID: "bad", .triggerPriceWrongSide, at: ExchangeTime(milliseconds: 1_011))])
        for i in 0..<11 {
            e.submit(.placeConditional(clientID: "c\(i)", side: .sell, price: nil, qty: m.q("1"), timeInForce: .immediateOrCancel,
                                       trigger: m.p("90.0"), direction: .fall, triggerBy: .markPrice), lastSeen: ExchangeTime(milliseconds: 1_100))
        }
        let reports = e.advance(to: ExchangeTime(milliseconds: 1_200))
        #expect(reports.acceptedIDs.count == 10)
        #expect(reports.last == .rejected(clientID: "c10", .tooManyConditionalOrders, at: ExchangeTime(milliseconds: 1_110)))
        #expect(SimRejectReason.tooManyConditionalOrders.retCode == 110009)
    }

    @Test func markPriceTriggersComeFromTickers() {
        var (m, e) = engine()
        e.submit(.placeConditional(clientID: "m", side: .sell, price: m.p("99.0"), qty: m.q("1"), timeInForce: .goodTillCancel,
                                   trigger: m.p("99.5"), direction: .fall, triggerBy: .markPrice), lastSeen: ExchangeTime(milliseconds: 1_001))
        _ = e.advance(to: ExchangeTime(milliseconds: 1_100))
        #expect(e.onTrades([m.trade(.sell, "99.0", "0.1", at: 1_200)]).isEmpty)   // last price does not count
        let fired = e.onTicker(ticker(m, mark: "99.4", at: 1_300))
        #expect(fired.contains { if case .triggered = $0 { true } else { false } })
        // A sell limit at 99.0 crosses the 100.0 bid: it takes 1 there.
        #expect(fired.fills.map(\.price) == [m.p("100.0")])
    }

    @Test func tradingStopClosesTheWholePositionInFullModeAndReplacesThePreviousOne() {
        var (m, e) = engine()
        e.submit(.place(clientID: "open", side: .buy, price: m.p("100.5"), qty: m.q("2"), timeInForce: .immediateOrCancel),
                 lastSeen: ExchangeTime(milliseconds: 1_001))
        _ = e.advance(to: ExchangeTime(milliseconds: 1_100))
        #expect(e.position == m.q("2").units)
        e.submit(.tradingStop(takeProfit: m.p("110.0"), stopLoss: m.p("95.0"), triggerBy: .lastPrice, qty: nil), lastSeen: ExchangeTime(milliseconds: 1_100))
        e.submit(.tradingStop(takeProfit: nil, stopLoss: m.p("99.0"), triggerBy: .lastPrice, qty: nil), lastSeen: ExchangeTime(milliseconds: 1_101))
        let set = e.advance(to: ExchangeTime(milliseconds: 1_200))
        #expect(set.acceptedIDs.count == 3)
        // The second trading-stop replaced the first: no take-profit at 110 any more; the stop moved to 99.
        #expect(e.onTrades([m.trade(.sell, "98.9", "0.1", at: 1_300)]).fills.map(\.qty) == [m.q("2")])
        #expect(e.position == 0)
        #expect(e.onTrades([m.trade(.buy, "110.0", "0.1", at: 1_400)]).fills.isEmpty)
    }

    @Test func tradingStopNeedsAPosition() {
        var (m, e) = engine()
        let command = SimCommand.tradingStop(takeProfit: m.p("110.0"), stopLoss: nil, triggerBy: .lastPrice, qty: nil)
        e.submit(command, lastSeen: ExchangeTime(milliseconds: 1_001))
        #expect(e.advance(to: ExchangeTime(milliseconds: 1_100)) == [.commandRejected(command, .noPosition, at: ExchangeTime(milliseconds: 1_011))])
    }
}
