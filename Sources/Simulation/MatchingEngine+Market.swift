public import CascadeCore
import MarketData

/// The replayed market reaching the engine: book messages, prints, tickers, and what they trigger.
extension MatchingEngine {
    /// Applies one message of the matching book (other depths are not for this engine).
    @_specialize(exported: true, where Queue == QueueModelChoice, Fills == FillModelChoice)
    public mutating func apply(book update: BookUpdate, ledger: inout PositionLedger, ids: inout IDMint) -> [ExecutionReport] {
        guard update.depth == book.depth else { return [] }
        let time = update.exchangeTime
        // Sizes before the update matter only to queue models that tell cancels from trades.
        var before: [Int64] = []
        if queueModel.readsSizesBefore && store.restingCount > 0 {
            before = (store.bids + store.asks).map {
                book.displayedSize(at: Price(units: $0.price), side: $0.side == .buy ? .bid : .ask).units
            }
        }
        let outcome = book.apply(update)
        if update.replacesBook {
            depletedBids = [:]
            depletedAsks = [:]
        } else {
            if !depletedBids.isEmpty { for level in update.bids { depletedBids[level.price.units] = nil } }
            if !depletedAsks.isEmpty { for level in update.asks { depletedAsks[level.price.units] = nil } }
        }
        if !marks.isEmpty { marks.reflect(update.matchTime ?? update.exchangeTime) }
        if book.isSynced && store.restingCount > 0 { updateQueues(before: before) }
        if !tradedSinceUpdate.isEmpty { tradedSinceUpdate = [:] }
        let wasSuspended = isSuspended
        var reason = "book not synced"
        if case let .invalidated(error) = outcome { reason = "book integrity: \(error)" }
        var out = refreshSuspension(reason: reason, at: time, ledger: &ledger, ids: &ids)
        // A resume already matched what it could; otherwise a moving book may cross resting orders.
        if !wasSuspended && canMatch { out += crossFills(at: time, ledger: &ledger, ids: &ids) }
        return out
    }

    /// Queues after a book update: the model's reading of the size change; an unknown queue becomes the displayed
    /// size once the level is visible, and a known one becomes unknown when the level leaves the span the book
    /// covers (a depth-limited stream deletes a level that drops out of its top N: that is not an empty queue).
    mutating func updateQueues(before: [Int64]) {
        // In place, order by order: each queue depends only on its own price (no allocation per book message). The
        // queue is computed by a static function from the stored properties it reads: a method of `self` called
        // while `store` is being written copies the whole engine per order.
        for i in store.bids.indices where !store.bids[i].awaitingMatch {
            store.bids[i].queueAhead = Self.nextQueue(store.bids[i].queueAhead, .buy, store.bids[i].price,
                                                      before: i < before.count ? before[i] : nil, book: book, model: queueModel,
                                                      traded: tradedSinceUpdate)
        }
        let offset = store.bids.count
        for i in store.asks.indices where !store.asks[i].awaitingMatch {
            store.asks[i].queueAhead = Self.nextQueue(store.asks[i].queueAhead, .sell, store.asks[i].price,
                                                      before: offset + i < before.count ? before[offset + i] : nil, book: book,
                                                      model: queueModel, traded: tradedSinceUpdate)
        }
    }

    /// The queue ahead of a resting order (`ahead` now, on `side` at `price`) after a book update.
    static func nextQueue(_ ahead: Int64?, _ side: Side, _ price: Int64, before old: Int64?, book: OrderBook, model: Queue,
                          traded: [Int64: Int64]) -> Int64? {
        guard let now = visibleQueue(side, price, in: book) else { return nil }
        if let ahead {
            return model.depthChanged(ahead: ahead, old: old ?? now, new: now, traded: traded[price] ?? 0)
        }
        return model.arrival(displayed: now)
    }

    /// Applies one print of the replayed market; returns our fills and the conditional orders it fired (the caller
    /// places them: ``placeTriggered(_:at:ledger:ids:)``).
    @_specialize(exported: true, where Queue == QueueModelChoice, Fills == FillModelChoice)
    public mutating func apply(print trade: Trade, ledger: inout PositionLedger,
                               ids: inout IDMint) -> (reports: [ExecutionReport], fired: [ConditionalOrder]) {
        // RPI prints are not part of the public book: they neither fill nor move queues.
        if trade.isRPI { return ([], []) }
        let p = trade.price.units
        marks.record(takerSide: trade.takerSide, price: p, qty: trade.qty.units, time: trade.tradeTime)
        tradedSinceUpdate[p, default: 0] += trade.qty.units
        var out: [ExecutionReport] = []
        if canMatch && store.restingCount > 0 { out = matchPrint(trade, ledger: &ledger, ids: &ids) }
        lastPrice = trade.price
        lastPriceFromPrints = true
        return (out, fire(.lastPrice, trade.price))
    }

    mutating func matchPrint(_ trade: Trade, ledger: inout PositionLedger, ids: inout IDMint) -> [ExecutionReport] {
        // A sell-taker print hits bids (our buys); a buy-taker print lifts asks (our sells).
        let ourSide: Side = trade.takerSide == .sell ? .buy : .sell
        let p = trade.price.units
        let time = trade.tradeTime
        var available = trade.qty.units
        var consumedOthers: Int64 = 0
        var out: [ExecutionReport] = []
        var filled: [(order: RestingOrder, qty: Int64)] = []
        let before = ledger.size
        for o in store.orders(ourSide) where available > 0 {
            // Best price first: once the print does not reach an order, it reaches none after it.
            guard ourSide == .buy ? p <= o.price : p >= o.price else { break }
            guard o.arrival < time, !o.awaitingMatch else { continue }   // a print of the arrival millisecond came first
            if p == o.price {
                // At our price the others ahead go first (each print's quantity once across all our orders); with
                // the queue unknown (the level beyond the visible book) the whole print is theirs.
                let ahead = o.queueAhead ?? .max
                let consume = min(available, max(0, ahead - consumedOthers))
                consumedOthers += consume
                available -= consume
            }
            var q = min(o.remaining, available)
            if o.onlyReduces { q = min(q, Self.reducible(ourSide, position: ledger.size)) }
            guard q > 0 else { continue }
            available -= q
            // Traded through: everything ahead of us at our price is gone.
            out.append(makerFill(o, qty: q, queueGone: p != o.price, at: time, ledger: &ledger, ids: &ids))
            filled.append((o, q))
        }
        // Every order of ours at the print's price moved up by what the print took from the others ahead.
        if consumedOthers > 0 {
            store.updateAll(ourSide) { o in
                guard o.price == p else { return }
                guard let ahead = o.queueAhead else { return }
                o.queueAhead = max(0, ahead - consumedOthers)
            }
        }
        return out + afterMakerFills(filled, positionBefore: before, at: time, ids: &ids, ledger: ledger)
    }

    /// ``StrictCrossFill``: resting orders the opposite side has moved strictly through fill at their own price, up to
    /// the net liquidity through them (best order first, each level's liquidity used once).
    mutating func crossFills(at time: ExchangeTime, ledger: inout PositionLedger, ids: inout IDMint) -> [ExecutionReport] {
        guard canMatch, store.restingCount > 0 else { return [] }
        var out: [ExecutionReport] = []
        var filled: [(order: RestingOrder, qty: Int64)] = []
        let before = ledger.size
        for side in [Side.buy, .sell] {
            let opposite: BookSide = side == .buy ? .ask : .bid
            guard let best = bestAvailable(for: side) else { continue }
            for o in store.orders(side) {
                guard side == .buy ? best.price < o.price : best.price > o.price else { break }
                guard !o.awaitingMatch else { continue }
                // The liquidity strictly through our price, level by level.
                var levels: [(price: Int64, qty: Int64)] = []
                for k in 0..<book.levelCount(opposite) {
                    let level = book.level(opposite, fromBest: k)
                    let lp = level.price.units
                    guard side == .buy ? lp < o.price : lp > o.price else { break }
                    let q = available(opposite, level)
                    if q > 0 { levels.append((lp, q)) }
                }
                let through = levels.reduce(0) { $0 + $1.qty }
                var q = fillModel.crossFill(remaining: o.remaining, through: through)
                if o.onlyReduces { q = min(q, Self.reducible(side, position: ledger.size)) }
                guard q > 0 else { continue }
                // The counterparties that would have hit us are used up.
                var left = q
                for level in levels where left > 0 {
                    let used = min(left, level.qty)
                    deplete(side, level.price, used)
                    left -= used
                }
                out.append(makerFill(o, qty: q, queueGone: true, at: time, ledger: &ledger, ids: &ids))
                filled.append((o, q))
            }
        }
        return out + afterMakerFills(filled, positionBefore: before, at: time, ids: &ids, ledger: ledger)
    }

    /// Fills `qty` of a resting order as maker at its own price; the rest keeps resting (`queueGone`: the market
    /// traded through its price, so nothing is ahead of it any more).
    mutating func makerFill(_ o: RestingOrder, qty q: Int64, queueGone: Bool, at time: ExchangeTime, ledger: inout PositionLedger,
                            ids: inout IDMint) -> ExecutionReport {
        let leaves = o.remaining - q
        let report = execute(venueID: o.venueID, clientID: o.clientID, side: o.side, price: o.price, qty: q, leaves: leaves,
                             liquidity: .maker, at: time, ledger: &ledger, ids: &ids)
        if leaves == 0 {
            store.removeResting(o.venueID)
            close(o.venueID, clientID: o.clientID)
        } else {
            store.update(o.venueID) {
                $0.remaining = leaves
                $0.filled += q
                if queueGone { $0.queueAhead = 0 }
            }
        }
        return report
    }

    /// What maker fills set off: TP/SL of the orders filled, then the position's report if it changed.
    mutating func afterMakerFills(_ filled: [(order: RestingOrder, qty: Int64)], positionBefore before: Int64, at time: ExchangeTime,
                                  ids: inout IDMint, ledger: PositionLedger) -> [ExecutionReport] {
        var out: [ExecutionReport] = []
        for (order, qty) in filled {
            if let protection = order.protection {
                out += protect(protection, parent: order.venueID, side: order.side, filled: qty, firstFill: order.filled == 0,
                               at: time, ids: &ids)
            }
        }
        if ledger.size != before { out += positionChanged(from: before, ledger: ledger, at: time) }
        return out
    }

    /// Applies a ticker message: mark and index prices move the triggers that watch them. Returns the conditional
    /// orders it fired. The ticker's last price stands in for prints only until the first print.
    @_specialize(exported: true, where Queue == QueueModelChoice, Fills == FillModelChoice)
    public mutating func apply(ticker update: TickerUpdate) -> [ConditionalOrder] {
        var fired: [ConditionalOrder] = []
        if let mark = update.fields.markPrice {
            markPrice = mark
            fired += fire(.markPrice, mark)
        }
        if let index = update.fields.indexPrice {
            indexPrice = index
            fired += fire(.indexPrice, index)
        }
        if !lastPriceFromPrints, let last = update.fields.lastPrice { lastPrice = last }
        return fired
    }

    /// Removes and returns the conditional orders watching `source` whose trigger `price` reached, oldest first.
    mutating func fire(_ source: TriggerSource, _ price: Price) -> [ConditionalOrder] {
        guard !store.conditionals.isEmpty else { return [] }
        let fired = store.conditionals.filter { $0.trigger.source == source && $0.trigger.direction.isReached(price, trigger: $0.trigger.price) }
        for c in fired { store.removeConditional(c.venueID) }
        return fired
    }

    /// Places a fired conditional order as a normal order at `time` (`Untriggered` → `Triggered` → working): a TP/SL
    /// leg or close-on-trigger order closes at most the position (a Full-mode leg all of it), or ends
    /// `CancelByReduceOnly` when there is nothing left to close.
    public mutating func placeTriggered(_ c: ConditionalOrder, at time: ExchangeTime, ledger: inout PositionLedger,
                                        ids: inout IDMint) -> [ExecutionReport] {
        var qty = c.spec.qty.units
        if c.wholePosition { qty = Self.reducible(c.spec.side, position: ledger.size) }
        if c.spec.onlyReduces { qty = min(qty, Self.reducible(c.spec.side, position: ledger.size)) }
        if qty <= 0 { return triggeredThenCancelled(c, qty: .zero, .reduceOnly, at: time) }
        var spec = c.spec
        spec.qty = Quantity(units: qty)
        let order = RestingOrder(venueID: c.venueID, clientID: c.clientID, side: spec.side, spec: spec, price: spec.price?.units ?? 0,
                                 remaining: qty, filled: 0, queueAhead: nil, priority: nextPriority(), arrival: time, origin: c.origin,
                                 parent: c.parent, protection: c.spec.protection)
        return match(order, at: time, announce: .triggered(price: c.trigger.price), ledger: &ledger, ids: &ids)
    }

    /// A fired conditional order the account cannot afford (not close-on-trigger): triggered, then cancelled.
    public mutating func dropTriggered(_ c: ConditionalOrder, at time: ExchangeTime) -> [ExecutionReport] {
        triggeredThenCancelled(c, qty: c.spec.qty, .insufficientMarginOnTrigger, at: time)
    }

    /// A fired conditional order (already out of the store) that ends at its trigger: triggered, then cancelled.
    mutating func triggeredThenCancelled(_ c: ConditionalOrder, qty: Quantity, _ reason: CancelReason,
                                         at time: ExchangeTime) -> [ExecutionReport] {
        close(c.venueID, clientID: c.clientID)
        return [report(time, .triggered(OrderTriggered(venueID: c.venueID, clientID: c.clientID, price: c.trigger.price, qty: qty))),
                report(time, .cancelled(OrderCancelled(venueID: c.venueID, clientID: c.clientID, cancellation: Cancellation(reason),
                                                      filledQty: .zero)))]
    }

    // MARK: - Liquidation

    /// The venue takes the whole position over at `price` (a liquidation: `BustTrade`), off the book: no depletion,
    /// no queue change, no print, no fee. The venue's own order is announced first (Bybit's order stream shows it,
    /// `createType` `CreateByLiq`), then filled by the takeover.
    public mutating func takeover(_ kind: ExecutionKind, price: Price, at time: ExchangeTime, ledger: inout PositionLedger,
                                  ids: inout IDMint) -> [ExecutionReport] {
        let position = ledger.size
        guard position != 0 else { return [] }
        let side: Side = position > 0 ? .sell : .buy
        let qty = Quantity(units: abs(position))
        let outcome = ledger.apply(side: side, price: price, qty: qty, fee: .zero, at: time)
        let venueID = ids.order()
        let order = OrderAccepted(venueID: venueID, clientID: nil, spec: .market(side, qty: qty, reduceOnly: true),
                                  origin: kind == .autoDeleveraging ? .autoDeleveraging : .liquidation)
        let t = Takeover(kind: kind, executionID: ids.execution(), venueID: venueID, side: side, price: price, qty: qty, fee: .zero,
                         closedQty: outcome.closedQty, closedPnl: outcome.closedPnl)
        return [report(time, .accepted(order)), report(time, .takeover(t))] + positionChanged(from: position, ledger: ledger, at: time)
    }
}
