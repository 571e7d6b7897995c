public import CascadeCore
import MarketData

/// Orders arriving at the engine: submissions, amends, cancels, trading stops, and the matching of an arrival.
extension MatchingEngine {
    /// How an order's (re)placement is announced before its fills.
    enum Announcement {
        case accepted(origin: OrderOrigin, parent: VenueOrderID?)
        case amended(lostPriority: Bool)
        case triggered(price: Price)
        /// Already announced (an order matched at the end of a suspension).
        case none
    }

    /// Places `order` (not in the store) as an arrival at `time`: takes what crosses, rests or ends the rest. The
    /// announcement leads the reports; fills, cancels, TP/SL and reduce-only effects follow, in that order.
    mutating func match(_ arriving: RestingOrder, at time: ExchangeTime, announce: Announcement, ledger: inout PositionLedger,
                        ids: inout IDMint) -> [ExecutionReport] {
        var order = arriving
        var head: [ExecutionReport] = []
        var tail: [ExecutionReport] = []
        func announcement(queue: Int64?) -> ExecutionReport? {
            switch announce {
            case let .accepted(origin, parent):
                return report(time, .accepted(OrderAccepted(venueID: order.venueID, clientID: order.clientID, spec: order.spec,
                                                            origin: origin, parent: parent, queueAhead: queue.map(Quantity.init))))
            case let .amended(lostPriority):
                return report(time, .amended(OrderAmended(venueID: order.venueID, clientID: order.clientID,
                                                          price: order.spec.type == .limit ? Price(units: order.price) : nil,
                                                          qty: Quantity(units: order.totalQty), triggerPrice: order.spec.trigger?.price,
                                                          lostPriority: lostPriority)))
            case let .triggered(price):
                return report(time, .triggered(OrderTriggered(venueID: order.venueID, clientID: order.clientID, price: price,
                                                              qty: Quantity(units: order.totalQty))))
            case .none:
                return nil
            }
        }
        func end(_ reason: CancelReason) -> ExecutionReport {
            close(order.venueID, clientID: order.clientID)
            return report(time, .cancelled(OrderCancelled(venueID: order.venueID, clientID: order.clientID,
                                                          cancellation: Cancellation(reason), filledQty: Quantity(units: order.filled))))
        }
        /// Announced, then ended before it matched anything.
        func endedAtOnce(_ reason: CancelReason) -> [ExecutionReport] {
            (announcement(queue: nil).map { [$0] } ?? []) + head + [end(reason)]
        }
        // Suspended: it rests unmatched; its crossing is judged when matching resumes.
        if !canMatch {
            order.awaitingMatch = true
            order.queueAhead = nil
            store.insert(order)
            return announcement(queue: nil).map { [$0] } ?? []
        }
        order.awaitingMatch = false
        let before = ledger.size
        // Reduce-only: at most what the position still lets it close.
        if order.onlyReduces {
            let cap = Self.reducible(order.side, position: ledger.size)
            if cap == 0 {
                // Nothing left to reduce when it reaches the venue (the position closed in flight): open, then
                // `CancelByReduceOnly`, as Bybit ends reduce-only orders a closed position leaves behind.
                return endedAtOnce(.reduceOnly)
            }
            if order.remaining > cap {
                order.remaining = cap
                head.append(report(time, .amended(OrderAmended(venueID: order.venueID, clientID: order.clientID,
                                                               price: order.spec.type == .limit ? Price(units: order.price) : nil,
                                                               qty: Quantity(units: order.totalQty), cause: .reduceOnlyCap))))
            }
        }
        // The limit: a market order's is the protection band through the best price left.
        var limit = order.price
        if order.spec.type == .market {
            guard let best = bestAvailable(for: order.side) else {
                return endedAtOnce(.immediateOrCancelRemainder)
            }
            let band = best.price * marketProtectionBasisPoints / 10_000
            limit = order.side == .buy ? best.price + band : max(best.price - band, 1)
        }
        let crossing = crosses(order.side, limit: limit)
        let tif = order.spec.timeInForce
        if crossing && tif == .postOnly {
            return endedAtOnce(.postOnlyWouldTakeLiquidity)
        }
        if crossing && tif == .fillOrKill && takeable(order.side, limit: limit) < order.remaining {
            return endedAtOnce(.fillOrKillNotFilled)
        }
        var fills: [(qty: Int64, first: Bool)] = []
        if crossing {
            let bookSide: BookSide = order.side == .buy ? .ask : .bid
            var k = 0
            while order.remaining > 0 && k < book.levelCount(bookSide) {
                let level = book.level(bookSide, fromBest: k)
                k += 1
                let p = level.price.units
                if order.side == .buy ? p > limit : p < limit { break }
                var q = min(order.remaining, available(bookSide, level))
                if order.onlyReduces {
                    let cap = Self.reducible(order.side, position: ledger.size)
                    if cap == 0 { break }
                    q = min(q, cap)
                }
                guard q > 0 else { continue }
                deplete(order.side, p, q)
                fills.append((q, order.filled == 0))
                order.remaining -= q
                order.filled += q
                tail.append(execute(venueID: order.venueID, clientID: order.clientID, side: order.side, price: p, qty: q,
                                    leaves: order.remaining, liquidity: .taker, at: time, ledger: &ledger, ids: &ids))
            }
        }
        var restingQueue: Int64?
        if order.remaining > 0 {
            if !order.spec.canRest {
                tail.append(end(.immediateOrCancelRemainder))
            } else if order.onlyReduces && Self.reducible(order.side, position: ledger.size) == 0 {
                tail.append(end(.reduceOnly))
            } else {
                order.price = limit
                restingQueue = queueModel.arrival(displayed: visibleQueue(order.side, limit))
                order.queueAhead = restingQueue
                store.insert(order)
            }
        } else {
            close(order.venueID, clientID: order.clientID)
        }
        var out = (announcement(queue: restingQueue).map { [$0] } ?? []) + head + tail
        if let protection = order.protection {
            for fill in fills {
                out += protect(protection, parent: order.venueID, side: order.side, filled: fill.qty, firstFill: fill.first,
                               at: time, ids: &ids)
            }
        }
        if ledger.size != before { out += positionChanged(from: before, ledger: ledger, at: time) }
        return out
    }

    // MARK: - Commands at arrival

    /// Processes a command that has reached the venue at `time`. `venueID` is the id the venue gave a submission
    /// when it acknowledged it.
    @_specialize(exported: true, where Queue == QueueModelChoice, Fills == FillModelChoice)
    public mutating func process(_ action: VenueCommand.Action, venueID: VenueOrderID?, at time: ExchangeTime,
                                 ledger: inout PositionLedger, ids: inout IDMint) -> [ExecutionReport] {
        switch action {
        case let .submit(clientID, spec):
            let id = venueID ?? ids.order()
            if let rejection = orderCheck(spec) {
                close(id, clientID: clientID)
                return [report(time, .rejected(OrderRejected(venueID: id, clientID: clientID, rejection: rejection)))]
            }
            if spec.isConditional {
                store.addConditional(ConditionalOrder(venueID: id, clientID: clientID, spec: spec, origin: .client, parent: nil,
                                                      wholePosition: false, priority: nextPriority()))
                return [report(time, .accepted(OrderAccepted(venueID: id, clientID: clientID, spec: spec)))]
            }
            let order = RestingOrder(venueID: id, clientID: clientID, side: spec.side, spec: spec, price: spec.price?.units ?? 0,
                                     remaining: spec.qty.units, filled: 0, queueAhead: nil, priority: nextPriority(), arrival: time,
                                     origin: .client, parent: nil, protection: spec.protection)
            return match(order, at: time, announce: .accepted(origin: .client, parent: nil), ledger: &ledger, ids: &ids)
        case let .cancel(reference):
            guard let id = store.venueID(of: reference) else { return [missing(action, reference, at: time)] }
            let cancelled = cancelResting(id, Cancellation(.byClient), at: time) ?? cancelConditional(id, Cancellation(.byClient), at: time)
            return cancelled.map { [$0] } ?? []
        case let .amend(reference, amendment):
            guard let id = store.venueID(of: reference) else { return [missing(action, reference, at: time)] }
            return amend(id, amendment, action: action, at: time, ledger: &ledger, ids: &ids)
        case let .cancelAll(filter):
            return cancelAll(filter, reason: Cancellation(.byClient), at: time)
        case let .setTradingStop(stop):
            return tradingStop(stop, action: action, at: time, ledger: ledger, ids: &ids)
        case .setLeverage:
            return []
        }
    }

    /// A cancel or amend that found no open order: `orderClosed`, naming both ids, when the order existed and ended
    /// (a cancel that lost the race to a fill), else `unknownOrder`.
    func missing(_ action: VenueCommand.Action, _ reference: OrderReference, at time: ExchangeTime) -> ExecutionReport {
        var venueID: VenueOrderID?
        if case let .venue(id) = reference { venueID = id }
        guard let venueID, let clientID = closed[venueID] else {
            return report(time, .commandRejected(CommandRejected(action: action, venueID: venueID, rejection: Rejection(.unknownOrder))))
        }
        return report(time, .commandRejected(CommandRejected(action: action, venueID: venueID, clientID: clientID,
                                                             rejection: Rejection(.orderClosed))))
    }

    mutating func amend(_ id: VenueOrderID, _ a: OrderAmendment, action: VenueCommand.Action, at time: ExchangeTime,
                        ledger: inout PositionLedger, ids: inout IDMint) -> [ExecutionReport] {
        func refuse(_ reason: RejectReason, clientID: ClientOrderID?) -> [ExecutionReport] {
            [report(time, .commandRejected(CommandRejected(action: action, venueID: id, clientID: clientID, rejection: Rejection(reason))))]
        }
        if let c = store.conditional(id) {
            if let reason = amendCheck(conditional: c, a) { return refuse(reason, clientID: c.clientID) }
            store.updateConditional(id) { c in
                if let qty = a.qty { c.spec.qty = qty }
                if let price = a.price { c.spec.price = price }
                if let trigger = a.triggerPrice { c.spec.trigger!.price = trigger }
            }
            let n = store.conditional(id)!
            return [report(time, .amended(OrderAmended(venueID: id, clientID: n.clientID, price: n.spec.price, qty: n.spec.qty,
                                                       triggerPrice: n.trigger.price)))]
        }
        guard var o = store.resting(id) else { return refuse(.unknownOrder, clientID: nil) }
        if let reason = amendCheck(resting: o, a) { return refuse(reason, clientID: o.clientID) }
        let newTotal = a.qty?.units ?? o.totalQty
        let newPrice = a.price?.units ?? o.price
        let priceChanged = newPrice != o.price
        let larger = newTotal > o.totalQty
        store.removeResting(id)
        o.remaining = newTotal - o.filled
        o.price = newPrice
        o.spec.qty = Quantity(units: newTotal)
        if o.spec.type == .limit { o.spec.price = Price(units: newPrice) }
        var out: [ExecutionReport]
        if priceChanged {
            // A new price is a new arrival: it may cross (PostOnly: cancelled; otherwise it takes) or rest at the back.
            o.priority = nextPriority()
            o.arrival = time
            out = match(o, at: time, announce: .amended(lostPriority: true), ledger: &ledger, ids: &ids)
        } else {
            if larger {
                o.priority = nextPriority()
                o.arrival = time
                o.queueAhead = o.awaitingMatch ? nil : queueModel.arrival(displayed: visibleQueue(o.side, o.price))
            }
            store.insert(o)
            out = [report(time, .amended(OrderAmended(venueID: id, clientID: o.clientID, price: Price(units: o.price),
                                                      qty: Quantity(units: newTotal), lostPriority: larger)))]
        }
        // A reduce-only order is never more than the position, whatever the amend asked.
        return out + capReduceOnly(position: ledger.size, at: time)
    }

    /// Cancels every open order `filter` selects (nil: every kind, TP/SL included), in price-time order.
    mutating func cancelAll(_ filter: OrderFilter?, reason: Cancellation, at time: ExchangeTime) -> [ExecutionReport] {
        let resting = (store.bids + store.asks).filter { filter?.selects(origin: $0.origin, waitingForTrigger: false) ?? true }
        let waiting = store.conditionals.filter { filter?.selects(origin: $0.origin, waitingForTrigger: true) ?? true }
        return resting.compactMap { cancelResting($0.venueID, reason, at: time) }
            + waiting.compactMap { cancelConditional($0.venueID, reason, at: time) }
    }

    mutating func tradingStop(_ stop: TradingStop, action: VenueCommand.Action, at time: ExchangeTime, ledger: PositionLedger,
                              ids: inout IDMint) -> [ExecutionReport] {
        if let reason = tradingStopCheck(stop, position: ledger.size) {
            return [report(time, .commandRejected(CommandRejected(action: action, rejection: Rejection(reason))))]
        }
        let closing: Side = ledger.size > 0 ? .sell : .buy
        var out: [ExecutionReport] = []
        for (change, isTakeProfit) in [(stop.takeProfit, true), (stop.stopLoss, false)] {
            switch change {
            case .unchanged:
                continue
            case .remove:
                out += replacePositionLeg(isTakeProfit: isTakeProfit, trigger: nil, limit: nil, size: nil, side: closing, at: time, ids: &ids)
            case let .set(leg):
                let direction = TriggerDirection.protecting(long: ledger.size > 0, takeProfit: isTakeProfit)
                out += replacePositionLeg(isTakeProfit: isTakeProfit, trigger: Trigger(price: leg.trigger, direction: direction,
                                                                                      source: leg.source),
                                          limit: stop.mode == .partial ? leg.limitPrice : nil,
                                          size: stop.mode == .partial ? stop.size : nil, side: closing, at: time, ids: &ids)
            }
        }
        return out
    }

    // MARK: - Checks (at the call and again at arrival)

    /// What Bybit refuses about an order itself: instrument rules (when known), reduce-only with TP/SL, a trigger
    /// already reached or not yet priced, TP/SL on the wrong side, too many conditional orders. Nil: fine.
    public func orderCheck(_ spec: OrderSpec, pendingConditionals: Int = 0) -> Rejection? {
        if spec.qty.units <= 0 { return Rejection(.nonPositiveQuantity) }
        if spec.type == .limit {
            guard let price = spec.price, price.units > 0 else { return Rejection(.nonPositivePrice) }
        }
        if spec.reduceOnly && spec.protection != nil { return Rejection(.reduceOnlyWithProtection) }
        if let trigger = spec.trigger {
            if trigger.price.units <= 0 { return Rejection(.nonPositivePrice) }
            if store.clientConditionalCount + pendingConditionals >= maxConditionalOrders { return Rejection(.tooManyConditionalOrders) }
            guard let current = currentPrice(trigger.source) else { return Rejection(.triggerPriceUnknown) }
            if trigger.direction.isReached(current, trigger: trigger.price) { return Rejection(.triggerAlreadyReached(trigger.direction)) }
        }
        if let protection = spec.protection {
            // A buy's take-profit must be above its price (a sell's below), its stop-loss on the other side.
            guard let base = spec.price ?? spec.trigger?.price ?? lastPrice else { return Rejection(.triggerPriceUnknown) }
            for (leg, isTakeProfit) in [(protection.takeProfit, true), (protection.stopLoss, false)] {
                guard let leg else { continue }
                let above = TriggerDirection.protecting(long: spec.side == .buy, takeProfit: isTakeProfit) == .rise
                if above ? leg.trigger <= base : leg.trigger >= base {
                    return Rejection(.invalidParameter("\(isTakeProfit ? "takeProfit" : "stopLoss") on the wrong side of the price"))
                }
            }
        }
        let reference = spec.price?.units ?? spec.trigger?.price.units ?? bestAvailable(for: spec.side)?.price ?? lastPrice?.units
        return ruleViolation(price: spec.price, qty: spec.qty, referencePrice: reference, market: spec.type == .market)
    }

    /// What an amend may not do to a resting order.
    public func amendCheck(resting o: RestingOrder, _ a: OrderAmendment) -> RejectReason? {
        if a.isEmpty { return .nothingToAmend }
        if a.triggerPrice != nil { return .invalidParameter("triggerPrice of an order that is not conditional") }
        let total = a.qty?.units ?? o.totalQty
        if total <= o.filled { return .nonPositiveQuantity }
        if let price = a.price, price.units <= 0 { return .nonPositivePrice }
        if a.price != nil, o.spec.type == .market { return .invalidParameter("price of a market order") }
        return ruleViolation(price: o.spec.type == .limit ? Price(units: a.price?.units ?? o.price) : nil, qty: Quantity(units: total),
                             referencePrice: a.price?.units ?? o.price, market: o.spec.type == .market)?.reason
    }

    /// What an amend may not do to an untriggered conditional order.
    public func amendCheck(conditional c: ConditionalOrder, _ a: OrderAmendment) -> RejectReason? {
        if a.isEmpty { return .nothingToAmend }
        if let qty = a.qty, qty.units <= 0 { return .nonPositiveQuantity }
        if let price = a.price, price.units <= 0 { return .nonPositivePrice }
        if a.price != nil, c.spec.type == .market { return .invalidParameter("price of a market order") }
        if let trigger = a.triggerPrice {
            if trigger.units <= 0 { return .nonPositivePrice }
            guard let current = currentPrice(c.trigger.source) else { return .triggerPriceUnknown }
            if c.trigger.direction.isReached(current, trigger: trigger) { return .triggerAlreadyReached(c.trigger.direction) }
        }
        return nil
    }

    /// What a trading stop may not do: no position, a leg already reached or not yet priced.
    public func tradingStopCheck(_ stop: TradingStop, position: Int64) -> RejectReason? {
        guard position != 0 else { return .noPosition }
        if stop.mode == .partial, stop.size.map({ $0.units <= 0 }) ?? true { return .invalidParameter("tpSize/slSize in Partial mode") }
        for (change, isTakeProfit) in [(stop.takeProfit, true), (stop.stopLoss, false)] {
            guard case let .set(leg) = change else { continue }
            if leg.trigger.units <= 0 { return .nonPositivePrice }
            let direction = TriggerDirection.protecting(long: position > 0, takeProfit: isTakeProfit)
            guard let current = currentPrice(leg.source) else { return .triggerPriceUnknown }
            if direction.isReached(current, trigger: leg.trigger) { return .triggerAlreadyReached(direction) }
        }
        return nil
    }

    /// Bybit's instrument rules, checked only when the instrument's rules are known (never invented).
    func ruleViolation(price: Price?, qty: Quantity, referencePrice: Int64?, market: Bool) -> Rejection? {
        guard let rules = instrument.rules else { return nil }
        if let price, !rules.isOnPriceGrid(price) { return Rejection(.priceNotOnTick) }
        if let price, !rules.isWithinPriceLimits(price) { return Rejection(.priceOutOfRange) }
        if !rules.isOnQuantityGrid(qty) { return Rejection(.quantityNotOnStep) }
        if qty < rules.minOrderQty { return Rejection(.quantityBelowMinimum) }
        if qty > (market ? rules.maxMarketOrderQty : rules.maxOrderQty) { return Rejection(.quantityAboveMaximum) }
        if let referencePrice, let value = instrument.notional(price: Price(units: referencePrice), qty: qty), value < rules.minNotional {
            return Rejection(.notionalBelowMinimum)
        }
        return nil
    }
}
