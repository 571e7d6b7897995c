@testable import BybitSimulator
import BybitV5
import CascadeCore
import CascadeTesting
import MarketData
import Simulation
import Testing

/// What the simulator's venue reports must reach a client of `cascade sim` unchanged: every report of a real
/// ``Simulation/SimulatedExchange`` run goes through the Bybit facade (``BybitAccount`` records, then
/// ``BybitV5/BybitPrivateEncoder`` JSON), is decoded by our own ``BybitV5/BybitPrivateDecoder`` and mapped back by
/// ``BybitV5/BybitReportMapper`` — the path a live client takes — and must equal the report as Bybit can state it.
///
/// "As Bybit can state it" drops only what Bybit's messages do not carry: the queue ahead of an acknowledged order,
/// why an order was amended and whether it lost its place, and closed PnL after costs (Bybit's `execPnl` is the
/// price PnL; the after-costs figure reaches the client in the order's `closedPnl`, checked separately).
@Suite struct ReportRoundTripTests {
    /// One account traded through the facade, every report followed to the client and back.
    struct RoundTrip {
        var m = MarketBuilder()
        var account: BybitAccount
        var table = InstrumentTable()
        var decoder = BybitPrivateDecoder()
        var mapper = BybitReportMapper()
        /// Reports of the venue that Bybit has a message for, as Bybit can state them.
        var expected: [ExecutionReport] = []
        /// Reports the client mapped from the private stream.
        var seen: [ExecutionReport] = []
        var messages = 0
        /// Every report the venue made.
        var made: [ExecutionReport] = []

        init(deposit: String) {
            var settings = VenueSettings()
            settings.entryLatency = .constant(milliseconds: 10)
            settings.acknowledgementLatency = .constant(milliseconds: 0)
            account = BybitAccount(name: "rt", deposit: try! USDT(deposit), settings: settings)
            _ = table.id(for: m.instrument.symbol)
        }

        /// Sends a command as the REST facade does: a submission acknowledged on the call is recorded at once.
        @discardableResult
        mutating func send(_ action: VenueCommand.Action, decided ms: Int64) -> VenueOrderID? {
            guard case let .success(receipt) = account.exchange.send(VenueCommand(symbol: m.symbol, decidedAt: m.t(ms), action: action))
            else { return nil }
            if case let .submit(clientID, spec) = action, let id = receipt.venueID {
                account.recordSent(id, clientID: clientID, spec: spec, instrument: m.instrument, at: ms)
            }
            return receipt.venueID
        }

        mutating func on(_ event: MarketEvent) throws { try follow(account.exchange.on(event, instrument: m.instrument)) }
        mutating func advance(to ms: Int64) throws { try follow(account.exchange.advance(to: m.t(ms))) }

        /// Applies the reports one at a time (so no order message is merged with the next) and decodes every private
        /// message they make.
        mutating func follow(_ reports: [ExecutionReport]) throws {
            made += reports
            for report in reports {
                if let bybit = Self.asSeenOnBybit(report) { expected.append(bybit) }
                account.apply([report], instruments: table)
                for push in account.takeDue(upTo: .max) {
                    messages += 1
                    let text = BybitPrivateEncoder.message(topic: push.topic.rawValue, id: "rt-\(messages)",
                                                           creationTime: m.t(push.due), items: [push.item])
                    seen += mapper.reports(try decoder.decode(text, localTime: LocalTime(nanoseconds: 0))).map(Self.withoutVenueCodes)
                }
            }
        }

        /// The report as Bybit's messages can carry it; nil for what Bybit has no message for.
        static func asSeenOnBybit(_ report: ExecutionReport) -> ExecutionReport? {
            var r = withoutVenueCodes(report)
            switch r.event {
            case var .accepted(a):
                a.queueAhead = nil
                r.event = .accepted(a)
            case var .amended(a):
                a.cause = .client
                a.lostPriority = false
                r.event = .amended(a)
            case var .filled(f):
                f.closedPnlAfterCosts = nil
                r.event = .filled(f)
            case var .rejected(x):
                // Bybit's `rejectReason` list has no value for most reasons: they read back as `EC_Others`.
                x.rejection.reason = BybitCodes.rejection(rejectReason: BybitCodes.rejectReason(x.rejection.reason)).reason
                r.event = .rejected(x)
            case .matchingSuspended, .matchingResumed, .fundingNotSimulated, .unclassified:
                return nil
            default:
                break
            }
            return r
        }

        /// The report without Bybit's own codes (the venue's reports have none; their text is checked against Bybit's
        /// examples in ReportMapperTests).
        static func withoutVenueCodes(_ report: ExecutionReport) -> ExecutionReport {
            var r = report
            switch r.event {
            case var .cancelled(c):
                c.cancellation.venueCode = nil
                r.event = .cancelled(c)
            case var .rejected(x):
                x.rejection.venueCode = nil
                r.event = .rejected(x)
            case var .commandRejected(x):
                x.rejection.venueCode = nil
                r.event = .commandRejected(x)
            default:
                break
            }
            return r
        }

        func kinds(_ reports: [ExecutionReport]) -> Set<String> {
            Set(reports.map { "\($0.event)".prefix { $0 != "(" } }.map(String.init))
        }
    }

    /// Orders of every kind on one account: accepted, amended, partly filled and cancelled; a stop triggered and
    /// filled; a market order with full-position TP/SL (legs made by the venue); funding on the position; a cancel
    /// that lost to a fill; a reduce-only order with nothing left to reduce; a stop refused at arrival; positions and
    /// wallets after each step.
    @Test func everyReportOfATradingSessionReachesTheClientUnchanged() throws {
        var rt = RoundTrip(deposit: "100000")
        let m = rt.m
        var b = rt.m
        try rt.on(.book(b.book(.snapshot, ts: 1_000, bids: [("100.0", "5"), ("99.5", "2")], asks: [("100.5", "3"), ("101.0", "4")])))
        try rt.on(.ticker(m.ticker(at: 1_000, mark: "100.2", fundingRate: "0.0001", nextFunding: 5_000, snapshot: true)))

        // Accepted, moved to 100.0 (an amendment), 1 of 2 filled behind 5, the rest cancelled.
        let aSent = rt.send(.submit(m.id("a"), .limit(.buy, price: m.p("99.5"), qty: m.q("2"))), decided: 1_000)
        let a = try #require(aSent)
        try rt.advance(to: 1_010)
        rt.send(.amend(.client(m.id("a")), OrderAmendment(price: m.p("100.0"))), decided: 1_020)
        try rt.advance(to: 1_030)
        try rt.on(.trades([m.trade(.sell, "100.0", "6", at: 1_040)]))
        rt.send(.cancel(.venue(a)), decided: 1_050)
        try rt.advance(to: 1_060)

        // A stop on the mark price, filled as a taker.
        rt.send(.submit(m.id("stop"), OrderSpec(side: .sell, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: m.q("0.5"),
                                               reduceOnly: true, trigger: Trigger(price: m.p("99.0"), direction: .fall, source: .markPrice),
                                               closeOnTrigger: true)), decided: 1_100)
        try rt.advance(to: 1_110)
        try rt.on(.book(b.book(.delta, ts: 1_190, bids: [("100.0", "5")], asks: [])))
        try rt.on(.ticker(m.ticker(at: 1_200, mark: "98.9")))
        try rt.advance(to: 1_300)

        // A market buy with full-position TP/SL: the venue makes the two legs when it fills.
        var protected = OrderSpec.market(.buy, qty: m.q("1"))
        protected.protection = Protection(takeProfit: ProtectionLeg(trigger: m.p("120.0")),
                                          stopLoss: ProtectionLeg(trigger: m.p("80.0"), source: .markPrice), mode: .full)
        rt.send(.submit(m.id("m"), protected), decided: 1_400)
        try rt.advance(to: 1_500)

        // Funding at 5 000 on the long held then.
        try rt.on(.ticker(m.ticker(at: 5_001, mark: "100.3", fundingRate: "0.0002", nextFunding: 8_000)))

        // A sell resting at the ask; a cancel and a reduce-only order sent before a print fills it, arriving after.
        let rSent = rt.send(.submit(m.id("r"), .limit(.sell, price: m.p("100.5"), qty: m.q("1.5"))), decided: 5_100)
        let r = try #require(rSent)
        try rt.advance(to: 5_200)
        rt.send(.cancel(.venue(r)), decided: 5_995)
        rt.send(.submit(m.id("ro"), .limit(.sell, price: m.p("105.0"), qty: m.q("1"), reduceOnly: true)), decided: 5_996)
        try rt.on(.trades([m.trade(.buy, "100.5", "5", at: 6_000)]))
        try rt.advance(to: 6_100)

        // A stop whose trigger the market reaches while it travels: refused when it arrives.
        rt.send(.submit(m.id("late"), OrderSpec(side: .buy, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: m.q("1"),
                                               trigger: Trigger(price: m.p("101.0"), direction: .rise))), decided: 6_100)
        try rt.on(.trades([m.trade(.buy, "101.5", "0.1", at: 6_105)]))
        try rt.advance(to: 6_200)

        // Every kind of report Bybit has a message for was made, and the client saw each exactly as made.
        let made = rt.kinds(rt.expected)
        for kind in ["accepted", "amended", "filled", "cancelled", "triggered", "commandRejected", "rejected", "position", "wallet",
                     "funding"] {
            #expect(made.contains(kind), "the session made no \(kind) report: \(made.sorted())")
        }
        #expect(rt.expected.contains { if case let .accepted(x) = $0.event { x.origin == .stopLoss } else { false } })
        #expect(rt.seen.count == rt.expected.count)
        for (seen, expected) in zip(rt.seen, rt.expected) where seen != expected {
            Issue.record("sent \(expected)\nseen \(seen)")
        }
        // The order's closedPnl is Bybit's: the price PnL less the fees (and funding) of what it closed.
        let closingFills = rt.made.fills.filter { $0.venueID == r }
        let afterCosts = closingFills.compactMap(\.closedPnlAfterCosts).reduce(USDT.zero, +)
        #expect(!closingFills.isEmpty && afterCosts != .zero)
        #expect(rt.account.orders[r.rawValue]?.closedPnl == afterCosts)
    }

    /// A position in the venue's liquidation or ADL process says so on the stream (`positionStatus` Liq/Adl).
    @Test func aPositionsStatusReachesTheClient() throws {
        var rt = RoundTrip(deposit: "100")
        for status in [PositionStatus.liquidation, .autoDeleveraging, .normal] {
            let report = ExecutionReport(symbol: rt.m.symbol, time: rt.m.t(1_000), event: .position(PositionReport(
                size: rt.m.q("1"), averagePrice: rt.m.p("100.0"), markPrice: rt.m.p("99.0"), leverage: try Rate("10"),
                positionValue: rt.m.usdt("99"), unrealisedPnl: rt.m.usdt("-1"), currentRealisedPnl: .zero,
                cumulativeRealisedPnl: .zero, initialMargin: rt.m.usdt("10"), maintenanceMargin: rt.m.usdt("0.5"), status: status,
                seq: 1, createdTime: rt.m.t(900))))
            rt.seen = []
            try rt.follow([report])
            #expect(rt.seen == [report], "\(status)")
        }
    }

    /// A long liquidated at the bankruptcy price: the takeover, its cancellations, position and wallet.
    @Test func aLiquidationReachesTheClientAsABustTradeAndCancellations() throws {
        var rt = RoundTrip(deposit: "100")
        let m = rt.m
        var b = rt.m
        try rt.on(.book(b.book(.snapshot, ts: 1_000, bids: [("100.0", "50")], asks: [("100.5", "50")])))
        try rt.on(.ticker(m.ticker(at: 1_000, mark: "100.0", snapshot: true)))
        rt.send(.setLeverage(try Rate("10")), decided: 1_000)
        rt.send(.submit(m.id("open"), .market(.buy, qty: m.q("8"))), decided: 1_000)
        try rt.advance(to: 1_010)
        rt.send(.submit(m.id("bid"), .limit(.buy, price: m.p("90.0"), qty: m.q("1"))), decided: 1_020)
        try rt.advance(to: 1_030)
        try rt.on(.ticker(m.ticker(at: 1_100, mark: "85.0")))
        let made = rt.kinds(rt.expected)
        #expect(made.contains("takeover") && made.contains("cancelled"), "\(made.sorted())")
        #expect(rt.seen.count == rt.expected.count)
        for (seen, expected) in zip(rt.seen, rt.expected) where seen != expected {
            Issue.record("sent \(expected)\nseen \(seen)")
        }
    }
}
