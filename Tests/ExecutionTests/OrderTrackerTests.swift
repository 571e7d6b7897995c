import CascadeCore
import Execution
import Testing

@Suite struct OrderTrackerTests {
    let b = Quantity(units: 1_000_000)          // 1 BTC
    func p(_ units: Int64) -> Price { Price(units: units * 100_000_000) }

    func order(_ layer: UInt64, conditional: Bool = false) -> ManagedOrder {
        let id = try! OrderLinkID(node: "t1", run: 1, episode: 1, role: .entry, layer: layer, attempt: 0)
        let spec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: p(60_000), qty: Quantity(units: 2_000_000),
                             trigger: conditional ? Trigger(price: p(59_000), direction: .fall) : nil)
        return ManagedOrder(id: id, spec: spec)
    }

    func report(_ event: ExecutionReport.Event) -> ExecutionReport { ExecutionReport(symbol: SymbolID(index: 0), time: ExchangeTime(milliseconds: 1), event: event) }

    func fill(_ o: ManagedOrder, _ exec: String, qty: Quantity) -> ExecutionReport {
        report(.filled(Fill(venueID: VenueOrderID("v\(o.id.layer)"), clientID: o.id.clientOrderID, executionID: ExecutionID(exec),
                            side: .buy, price: p(60_000), qty: qty, liquidity: .maker, fee: nil, feeRate: nil, leavesQty: nil)))
    }

    func accepted(_ o: ManagedOrder) -> ExecutionReport {
        report(.accepted(OrderAccepted(venueID: VenueOrderID("v\(o.id.layer)"), clientID: o.id.clientOrderID, spec: o.spec)))
    }

    @Test func partialThenCompleteFillsCountEachExecutionOnce() {
        var t = OrderTracker()
        let o = order(1)
        t.recordIntent(o)
        t.markSent(o.id.clientOrderID)
        _ = t.apply(accepted(o))
        #expect(t.orders[o.id.clientOrderID]?.phase == .working)
        #expect(t.apply(fill(o, "e1", qty: b)) == .newFill(Fill(venueID: VenueOrderID("v1"), clientID: o.id.clientOrderID,
            executionID: ExecutionID("e1"), side: .buy, price: p(60_000), qty: b, liquidity: .maker, fee: nil, feeRate: nil, leavesQty: nil)))
        // The same execution redelivered (reconnect, backfill): counted once.
        #expect(t.apply(fill(o, "e1", qty: b)) == .duplicateFill(ExecutionID("e1")))
        #expect(t.orders[o.id.clientOrderID]?.filledQty == b)
        #expect(t.orders[o.id.clientOrderID]?.phase == .working)
        _ = t.apply(fill(o, "e2", qty: b))
        #expect(t.orders[o.id.clientOrderID]?.phase == .filled)
        // A late accept after the fills changes nothing.
        #expect(t.apply(accepted(o)) == .none)
    }

    /// A node that runs for months forgets ended orders and old execution ids; inside the window a redelivered fill
    /// is still a duplicate, and after it the order is no longer ours (the engine quarantines on such a fill).
    @Test func retiredOrdersAndExecutionsAreForgottenOnlyPastTheirWindow() {
        var t = OrderTracker()
        let o = order(4)
        t.recordIntent(o)
        _ = t.apply(accepted(o))
        _ = t.apply(fill(o, "e5", qty: Quantity(units: 2_000_000)))
        #expect(t.orders[o.id.clientOrderID]?.phase == .filled)
        t.retire(orders: [], executionsBefore: ExchangeTime(milliseconds: 1))     // the fill is at 1 ms: not before
        #expect(t.apply(fill(o, "e5", qty: b)) == .duplicateFill(ExecutionID("e5")))
        t.retire(orders: [o.id.clientOrderID], executionsBefore: ExchangeTime(milliseconds: 2))
        #expect(t.orders.isEmpty && !t.hasExecution(ExecutionID("e5")))
        #expect(!t.knows(o.id.clientOrderID, VenueOrderID("v4")))
        #expect(t.apply(fill(o, "e5", qty: b)) == .notOurs(o.id.clientOrderID))
    }

    /// `open` is exactly the orders not terminal, each once, through every phase and a retirement (the risk check sums
    /// it: an order listed twice would count twice).
    @Test func theOpenListIsTheOrdersNotTerminalEachOnce() {
        var t = OrderTracker()
        func check(_ step: String) {
            #expect(Set(t.open) == Set(t.orders.filter { !$0.value.phase.isTerminal }.keys), "\(step)")
            #expect(Set(t.open).count == t.open.count, "\(step): an order listed twice")
        }
        let (a, c, d) = (order(5), order(6), order(7, conditional: true))
        for o in [a, c, d] { t.recordIntent(o) }
        check("intents")
        #expect(t.open.count == 3)
        t.markSent(a.id.clientOrderID)
        t.markTransportError(c.id.clientOrderID)
        _ = t.apply(accepted(a))
        _ = t.apply(accepted(d))
        check("sent, unknown, working, untriggered")
        _ = t.apply(fill(a, "e10", qty: b))
        check("partly filled")
        _ = t.apply(report(.rejected(OrderRejected(venueID: nil, clientID: c.id.clientOrderID, rejection: Rejection(.insufficientBalance)))))
        _ = t.apply(report(.cancelled(OrderCancelled(venueID: VenueOrderID("v7"), clientID: d.id.clientOrderID,
                                                     cancellation: Cancellation(.byClient), filledQty: .zero, wasUntriggered: true))))
        check("rejected, deactivated")
        #expect(t.open == [a.id.clientOrderID])
        _ = t.apply(fill(a, "e11", qty: b))
        check("filled")
        #expect(t.open.isEmpty)
        t.retire(orders: [a.id.clientOrderID, c.id.clientOrderID, d.id.clientOrderID], executionsBefore: ExchangeTime(milliseconds: 0))
        check("retired")
        #expect(t.orders.isEmpty)
    }

    /// The gateway's "absent after a minute of queries" can arrive after the stream's accept of the same order (the
    /// verdict was on its way): the venue's word stands, and the order stays working. A real rejection still ends an
    /// order not yet heard of, and a presumed absence is overridden by any later report.
    @Test func aPresumedAbsenceNeverOverridesWhatTheVenueSaid() {
        var t = OrderTracker()
        let o = order(3)
        let absent = Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries)
        func rejected(_ rejection: Rejection) -> ExecutionReport {
            report(.rejected(OrderRejected(venueID: nil, clientID: o.id.clientOrderID, rejection: rejection)))
        }
        t.recordIntent(o)
        t.markSent(o.id.clientOrderID)
        t.markTransportError(o.id.clientOrderID)
        _ = t.apply(accepted(o))
        _ = t.apply(rejected(absent))
        #expect(t.orders[o.id.clientOrderID]?.phase == .working)
        #expect(t.open.contains(o.id.clientOrderID))
        let other = order(4)
        t.recordIntent(other)
        t.markTransportError(other.id.clientOrderID)
        _ = t.apply(report(.rejected(OrderRejected(venueID: nil, clientID: other.id.clientOrderID, rejection: absent))))
        #expect(t.orders[other.id.clientOrderID]?.phase == .rejected(absent))
        #expect(!t.open.contains(other.id.clientOrderID))
        _ = t.apply(accepted(other))
        #expect(t.orders[other.id.clientOrderID]?.phase == .working && t.open.contains(other.id.clientOrderID))
        // Listed once, after the order that stayed open (it reopened last); a second accept changes nothing.
        _ = t.apply(accepted(other))
        #expect(t.open == [o.id.clientOrderID, other.id.clientOrderID])
    }

    @Test func aTransportErrorLeavesTheOrderUnknownUntilTheVenueAnswers() {
        var t = OrderTracker()
        let o = order(2)
        t.recordIntent(o)
        t.markSent(o.id.clientOrderID)
        t.markTransportError(o.id.clientOrderID)
        #expect(t.orders[o.id.clientOrderID]?.phase == .unknown)
        // The venue had it: a fill reported before any accept resolves it as accepted and working.
        _ = t.apply(fill(o, "e9", qty: b))
        #expect(t.orders[o.id.clientOrderID]?.phase == .working)
        #expect(t.orders[o.id.clientOrderID]?.venueID == VenueOrderID("v2"))
    }

    @Test func theCancelFillRaceKeepsEveryFill() {
        var t = OrderTracker()
        let o = order(3)
        t.recordIntent(o)
        _ = t.apply(accepted(o))
        t.markCancelRequested(o.id.clientOrderID, at: ExchangeTime(milliseconds: 0))
        // A fill arrives after the cancel was sent, then the cancel confirms with that fill.
        #expect(t.apply(fill(o, "e3", qty: b)) != .duplicateFill(ExecutionID("e3")))
        _ = t.apply(report(.cancelled(OrderCancelled(venueID: VenueOrderID("v3"), clientID: o.id.clientOrderID,
                                                     cancellation: Cancellation(.byClient), filledQty: b))))
        #expect(t.orders[o.id.clientOrderID]?.phase == .cancelled(.byClient))
        #expect(t.orders[o.id.clientOrderID]?.filledQty == b)
        #expect(t.orders[o.id.clientOrderID]?.cancelRequested == false)
        // A fill reported after the cancel (delivery order is not time order) still counts.
        guard case .newFill = t.apply(fill(o, "e4", qty: b)) else {
            Issue.record("a late fill of a cancelled order was dropped")
            return
        }
        #expect(t.orders[o.id.clientOrderID]?.filledQty == Quantity(units: 2_000_000))
    }

    @Test func aCancelRefusedBecauseTheOrderFilledLeavesItFilled() {
        var t = OrderTracker()
        let o = order(4)
        t.recordIntent(o)
        _ = t.apply(accepted(o))
        t.markCancelRequested(o.id.clientOrderID, at: ExchangeTime(milliseconds: 0))
        _ = t.apply(fill(o, "e5", qty: Quantity(units: 2_000_000)))
        _ = t.apply(report(.commandRejected(CommandRejected(action: .cancel(.client(o.id.clientOrderID)), clientID: o.id.clientOrderID,
                                                            rejection: Rejection(.orderClosed)))))
        #expect(t.orders[o.id.clientOrderID]?.phase == .filled)
        #expect(t.orders[o.id.clientOrderID]?.cancelRequested == false)
    }

    @Test func conditionalOrdersWaitTriggerAndDeactivate() {
        var t = OrderTracker()
        let o = order(5, conditional: true), q = order(6, conditional: true)
        t.recordIntent(o)
        t.recordIntent(q)
        _ = t.apply(accepted(o))
        _ = t.apply(accepted(q))
        #expect(t.orders[o.id.clientOrderID]?.phase == .untriggered)
        _ = t.apply(report(.triggered(OrderTriggered(venueID: VenueOrderID("v5"), clientID: o.id.clientOrderID, price: nil, qty: b))))
        #expect(t.orders[o.id.clientOrderID]?.phase == .working)
        _ = t.apply(report(.cancelled(OrderCancelled(venueID: VenueOrderID("v6"), clientID: nil, cancellation: Cancellation(.byClient),
                                                     filledQty: .zero, wasUntriggered: true))))
        #expect(t.orders[q.id.clientOrderID]?.phase == .deactivated(.byClient))   // found by its venue id
    }

    @Test func reportsAboutOrdersThatAreNotOursAreNeverAdopted() throws {
        var t = OrderTracker()
        let manual = try ClientOrderID("manual-1")
        let outcome = t.apply(report(.accepted(OrderAccepted(venueID: VenueOrderID("x"), clientID: manual, spec: order(7).spec))))
        #expect(outcome == .notOurs(manual))
        #expect(t.orders.isEmpty)
    }
}
