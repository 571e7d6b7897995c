public import CascadeCore
public import MarketData

/// A deterministic, queue-aware matching engine for one symbol, driven by a replayed market.
///
/// Fill rules (the whole contract; tests in `SimulationTests` work them by hand):
/// - **Two clocks.** A command sent after the client saw an event with exchange time `t` arrives at
///   `t + entry latency` (≥ 1 ms), never at receive time + latency. Commands are processed in arrival order,
///   after every market event stamped earlier than their arrival and after events stamped at the same
///   millisecond (conservative). A print whose match time `T` is before an order's arrival never touches it:
///   an order sent in reaction to an event can never fill against that event.
/// - **Arrival.** A PostOnly order that would cross the book at arrival is accepted and then cancelled
///   (`EC_PostOnlyWillTakeLiquidity`). Other crossing orders take displayed liquidity level by level up to
///   their limit (a market order is an IOC limit `marketProtectionBasisPoints` through the best price), paying
///   the taker fee; our own taking depletes a replayed level until that level's next book update. FOK fills
///   completely or is cancelled; IOC remainders are cancelled; GTC remainders rest.
/// - **Queue.** A resting order's queue ahead is the displayed size at its price on arrival (our own orders
///   are not in the replayed book). A price outside the span the depth-limited book covers has an *unknown*
///   queue: when the level first becomes visible its whole displayed size counts as ahead. The queue
///   advances on prints at our price (and, with ``SimQueueModel/proportionalCancels``, on a share of
///   unexplained size decreases); a level deleted while we rest leaves nothing ahead; the queue never exceeds
///   the displayed size.
/// - **Fills.** Only prints fill resting orders — a touch never does; RPI prints neither fill nor advance
///   queues. A print at our price first consumes the queue ahead, then fills us; a print through our price
///   (a sell below our bid) means our level was consumed, so the queue is gone and we fill. Each print's
///   quantity is used once across all our orders, best price then time priority. Resting orders fill at their
///   own price and pay the maker fee.
/// - **Amend.** Quantity down at the same price keeps priority; a price change or quantity up re-queues.
/// - **Conditional orders** watch the last (prints), mark or index (tickers) price and fire, oldest first,
///   when it reaches the trigger in their direction; they are then placed as normal orders at that instant.
///   At most 10 may be active (110009). `closeOnTrigger` orders and trading-stop TP/SL are reduce-only; a
///   trading-stop replaces the previous TP/SL, and Full mode closes the whole position at trigger time.
/// - **Reduce-only** (one-way mode, `positionIdx` 0 only): an order that would open or grow the position is
///   rejected (110017); its quantity is capped to the position at arrival, and whenever our position shrinks,
///   resting reduce-only orders are cut to it (the excess is `CancelByReduceOnly`).
/// - **Liquidation** (decided by ``SimPortfolio``, never by the engine): ``cancelAll(_:at:)`` cancels every
///   resting and untriggered conditional order, and every placement still in flight (accepted and cancelled at
///   once: Bybit had acknowledged it); ``fillOffBook(side:price:qty:at:)`` then closes the position as a
///   `BustTrade` at the bankruptcy price. That fill never touches the replayed book (no depletion, no queue
///   change, no print) and pays no fee.
extension [SimReport] {
    /// The id of the first `accepted` report.
    var acceptedID: SimOrderID? {
        for r in self { if case let .accepted(id, _, _) = r { return id } }
        return nil
    }
}

public struct MatchingEngine: Sendable {
    public let configuration: SimConfiguration
    /// The replayed market book (feed it one depth: the deepest recorded).
    public private(set) var book: OrderBook
    /// Exchange time of the latest market event processed.
    public private(set) var exchangeTime = ExchangeTime(milliseconds: 0)

    struct Resting: Sendable {
        var id: SimOrderID
        var clientID: String
        var side: Side
        var price: Price
        var remaining: Int64
        var filled: Int64
        /// Others' displayed size ahead of us; nil while our price is outside the book's span.
        var queueAhead: Int64?
        var arrival: ExchangeTime
        var priority: UInt64
        var reduceOnly = false
    }

    struct Inbound: Sendable {
        var arrival: ExchangeTime
        var sequence: UInt64
        var command: SimCommand
    }

    var resting: [SimOrderID: Resting] = [:]
    var inbound: [Inbound] = []
    var sequence: UInt64 = 0
    var nextOrderID: UInt64 = 1
    var random: SimRandom
    /// Quantity our own taking removed from replayed levels, per side and price, until the level updates.
    var depletedBids: [Int64: Int64] = [:]
    var depletedAsks: [Int64: Int64] = [:]
    /// Print volume per price since the last book update (to tell cancels from trades in size decreases).
    var tradedSinceUpdate: [Int64: Int64] = [:]
    /// Our signed position from our own fills (long > 0), for reduce-only checks.
    public private(set) var position: Int64 = 0

    struct Conditional: Sendable {
        var id: SimOrderID
        var clientID: String
        var side: Side
        var price: Price?
        /// nil: the whole position at trigger time (trading-stop Full mode).
        var qty: Quantity?
        var timeInForce: SimTimeInForce
        var trigger: Price
        var direction: SimTriggerDirection
        var triggerBy: SimTriggerPrice
        var reduceOnly: Bool
        var isTradingStop: Bool
    }
    var conditionals: [SimOrderID: Conditional] = [:]
    /// Latest last, mark and index prices (triggers watch them).
    public private(set) var lastPrice: Price?
    public private(set) var markPrice: Price?
    public private(set) var indexPrice: Price?
    /// Bybit allows at most 10 active conditional orders per symbol.
    public static let maxConditionalOrders = 10

    public init(configuration: SimConfiguration, depth: Int) {
        self.configuration = configuration
        book = OrderBook(symbol: configuration.instrument.id, depth: depth)
        random = configuration.entryLatency.random
    }

    /// Number of orders resting now.
    public var openOrderCount: Int { resting.count }

    /// Orders resting now, in price-time priority per side (bids first), for inspection and reports.
    public var openOrders: [(id: SimOrderID, side: Side, price: Price, remaining: Quantity, queueAhead: Quantity?)] {
        ordered(.buy).map { ($0.id, $0.side, $0.price, Quantity(units: $0.remaining), $0.queueAhead.map(Quantity.init)) }
            + ordered(.sell).map { ($0.id, $0.side, $0.price, Quantity(units: $0.remaining), $0.queueAhead.map(Quantity.init)) }
    }

    // MARK: - Client side

    /// Sends a command after the client saw the market up to exchange time `lastSeen`. Returns its arrival time.
    @discardableResult
    public mutating func submit(_ command: SimCommand, lastSeen: ExchangeTime) -> ExchangeTime {
        let latency = configuration.entryLatency.draw(&random, floor: 1)
        let arrival = ExchangeTime(milliseconds: lastSeen.milliseconds + latency)
        sequence += 1
        let entry = Inbound(arrival: arrival, sequence: sequence, command: command)
        let index = inbound.firstIndex { ($0.arrival, $0.sequence) > (arrival, sequence) } ?? inbound.count
        inbound.insert(entry, at: index)
        return arrival
    }

    /// What the exchange would refuse at once, judged on the current state (Bybit answers these on the REST call;
    /// the same checks run again at arrival, when the state may have changed): instrument rules, reduce-only that
    /// would not reduce, a trigger already reached, too many conditional orders, trading-stop without a position,
    /// amends of unknown orders or below the filled quantity. Nil: nothing to refuse now.
    public func precheck(_ command: SimCommand) -> SimRejectReason? {
        switch command {
        case let .place(_, side, price, qty, _, reduceOnly, positionIndex):
            if positionIndex != 0 { return .positionIndexMismatch }
            if qty.units <= 0 { return .nonPositiveQuantity }
            if let price, price.units <= 0 { return .nonPositivePrice }
            if reduceOnly && !(side == .buy ? position < 0 : position > 0) { return .reduceOnlyWouldIncrease }
            let reference = price?.units ?? (side == .buy ? book.bestAsk : book.bestBid)?.price.units
            guard let reference else { return .noMarketPrice }
            return ruleViolation(price: price, qty: reduceOnly ? Quantity(units: min(qty.units, abs(position))) : qty,
                                 referencePrice: reference)
        case let .placeConditional(_, _, price, qty, _, trigger, direction, triggerBy, _):
            if conditionals.count >= Self.maxConditionalOrders { return .tooManyConditionalOrders }
            if qty.units <= 0 { return .nonPositiveQuantity }
            if trigger.units <= 0 { return .nonPositivePrice }
            if let current = currentPrice(triggerBy), Self.reached(direction, current, trigger) { return Self.wrongSide(direction) }
            return ruleViolation(price: price, qty: qty, referencePrice: (price ?? trigger).units)
        case let .tradingStop(takeProfit, stopLoss, triggerBy, _):
            guard position != 0 else { return .noPosition }
            guard let current = currentPrice(triggerBy) else { return nil }
            for (level, isTakeProfit) in [(takeProfit, true), (stopLoss, false)] {
                guard let level, level.units > 0 else { continue }
                let direction: SimTriggerDirection = (position > 0) == isTakeProfit ? .rise : .fall
                if Self.reached(direction, current, level) { return Self.wrongSide(direction) }
            }
            return nil
        case let .cancel(id):
            return resting[id] == nil && conditionals[id] == nil ? .unknownOrder : nil
        case let .amend(id, qty, price):
            if conditionals[id] != nil { return .conditionalAmendNotSimulated }
            guard let order = resting[id] else { return .unknownOrder }
            if qty == nil && price == nil { return .nothingToAmend }
            if let qty, qty.units <= order.filled { return .nonPositiveQuantity }
            if let price, price.units <= 0 { return .nonPositivePrice }
            return ruleViolation(price: price ?? order.price, qty: qty ?? Quantity(units: order.remaining + order.filled),
                                 referencePrice: (price ?? order.price).units)
        }
    }

    // MARK: - Market side

    /// Applies a book message of the replayed market; commands that arrived earlier are processed first.
    public mutating func onBook(_ update: BookUpdate) -> [SimReport] {
        let reports = processInbound(before: update.exchangeTime)
        // Sizes before the update matter only to the proportional model (cancels vs. trades).
        let before = configuration.queue == .proportionalCancels ? snapshotSizes() : [:]
        book.apply(update)
        exchangeTime = max(exchangeTime, update.exchangeTime)
        if !depletedBids.isEmpty { for level in update.bids { depletedBids[level.price.units] = nil } }
        if !depletedAsks.isEmpty { for level in update.asks { depletedAsks[level.price.units] = nil } }
        if update.replacesBook {
            depletedBids = [:]
            depletedAsks = [:]
        }
        updateQueues(before: before)
        if !tradedSinceUpdate.isEmpty { tradedSinceUpdate = [:] }
        return reports
    }

    /// Applies prints of the replayed market (in order); commands that arrived before each print go first.
    public mutating func onTrades(_ trades: [Trade]) -> [SimReport] {
        var reports: [SimReport] = []
        for trade in trades {
            reports += processInbound(before: trade.tradeTime)
            exchangeTime = max(exchangeTime, trade.tradeTime)
            if trade.isRPI { continue }
            tradedSinceUpdate[trade.price.units, default: 0] += trade.qty.units
            reports += match(print: trade)
            lastPrice = trade.price
            reports += fireTriggers(.lastPrice, trade.price, at: trade.tradeTime)
        }
        return reports
    }

    /// Applies a ticker message: mark and index prices move the triggers that watch them.
    public mutating func onTicker(_ update: TickerUpdate) -> [SimReport] {
        var reports = processInbound(before: update.exchangeTime)
        exchangeTime = max(exchangeTime, update.exchangeTime)
        if let mark = update.fields.markPrice {
            markPrice = mark
            reports += fireTriggers(.markPrice, mark, at: update.exchangeTime)
        }
        if let index = update.fields.indexPrice {
            indexPrice = index
            reports += fireTriggers(.indexPrice, index, at: update.exchangeTime)
        }
        return reports
    }

    /// Processes every command that has arrived by `time` (end of data, or a lockstep clock).
    public mutating func advance(to time: ExchangeTime) -> [SimReport] {
        exchangeTime = max(exchangeTime, time)
        return processInbound(before: ExchangeTime(milliseconds: time.milliseconds + 1))
    }

    // MARK: - Liquidation support

    /// Cancels every open order with `reason` at `time`: resting and untriggered conditional orders (trading-stop
    /// legs included) by id, then placements still in flight in arrival order, each accepted and cancelled at
    /// once (Bybit had acknowledged them, so they are open orders there). Amends and cancels in flight are left
    /// to arrive and find no order.
    public mutating func cancelAll(_ reason: SimCancelReason, at time: ExchangeTime) -> [SimReport] {
        var reports: [SimReport] = []
        for id in (Array(resting.keys) + Array(conditionals.keys)).sorted() {
            if let order = resting.removeValue(forKey: id) {
                reports.append(.cancelled(id, reason, filledQty: Quantity(units: order.filled), at: time))
            } else if conditionals.removeValue(forKey: id) != nil {
                reports.append(.cancelled(id, reason, filledQty: .zero, at: time))
            }
        }
        var kept: [Inbound] = []
        for entry in inbound {
            let clientID: String
            switch entry.command {
            case let .place(c, _, _, _, _, _, _), let .placeConditional(c, _, _, _, _, _, _, _, _): clientID = c
            default:
                kept.append(entry)
                continue
            }
            let id = SimOrderID(nextOrderID)
            nextOrderID += 1
            reports.append(.accepted(id, clientID: clientID, at: time))
            reports.append(.cancelled(id, reason, filledQty: .zero, at: time))
        }
        inbound = kept
        return reports
    }

    /// A fill that does not go through the book: the liquidation engine taking over our position (`BustTrade`)
    /// at `price`, with a new order id, no fee and no effect on the replayed book. Resting reduce-only orders are
    /// cut to the new position as after any fill.
    public mutating func fillOffBook(side: Side, price: Price, qty: Quantity, at time: ExchangeTime) -> [SimReport] {
        let id = SimOrderID(nextOrderID)
        nextOrderID += 1
        position += side == .buy ? qty.units : -qty.units
        let value = configuration.instrument.notional(price: price, qty: qty) ?? .zero
        let fill = SimFill(orderID: id, clientID: "", side: side, price: price, qty: qty, isMaker: false, value: value,
                           fee: .zero, exchangeTime: time, execType: .bustTrade)
        return [.filled(fill)] + capReduceOnlyOrders(at: time)
    }

    // MARK: - Commands

    private mutating func processInbound(before time: ExchangeTime) -> [SimReport] {
        var reports: [SimReport] = []
        while let first = inbound.first, first.arrival < time {
            inbound.removeFirst()
            reports += process(first.command, at: first.arrival)
        }
        return reports
    }

    private mutating func process(_ command: SimCommand, at arrival: ExchangeTime) -> [SimReport] {
        switch command {
        case let .place(clientID, side, price, qty, tif, reduceOnly, positionIndex):
            guard positionIndex == 0 else { return [.rejected(clientID: clientID, .positionIndexMismatch, at: arrival)] }
            let originalQty = qty
            var qty = qty
            if reduceOnly {
                // Reduce-only: it must shrink the position, and at most to zero.
                let reduces = side == .buy ? position < 0 : position > 0
                guard reduces else { return [.rejected(clientID: clientID, .reduceOnlyWouldIncrease, at: arrival)] }
                qty = Quantity(units: min(qty.units, abs(position)))
            }
            var reports = place(clientID: clientID, side: side, price: price, qty: qty, tif: tif, at: arrival)
            if reduceOnly, let id = reports.acceptedID {
                resting[id]?.reduceOnly = true
                // The order now has the capped quantity: say so before its fills (its record must not wait for more).
                if qty.units < originalQty.units, let i = reports.firstIndex(where: { if case .accepted = $0 { true } else { false } }) {
                    reports.insert(.reducedToPosition(id, remaining: qty, at: arrival), at: i + 1)
                }
            }
            reports += capReduceOnlyOrders(at: arrival)
            return reports
        case let .placeConditional(clientID, side, price, qty, tif, trigger, direction, triggerBy, closeOnTrigger):
            guard conditionals.count < Self.maxConditionalOrders else {
                return [.rejected(clientID: clientID, .tooManyConditionalOrders, at: arrival)]
            }
            guard qty.units > 0 else { return [.rejected(clientID: clientID, .nonPositiveQuantity, at: arrival)] }
            if let current = currentPrice(triggerBy), Self.reached(direction, current, trigger) {
                return [.rejected(clientID: clientID, Self.wrongSide(direction), at: arrival)]
            }
            let id = SimOrderID(nextOrderID)
            nextOrderID += 1
            conditionals[id] = Conditional(id: id, clientID: clientID, side: side, price: price, qty: qty, timeInForce: tif,
                                           trigger: trigger, direction: direction, triggerBy: triggerBy,
                                           reduceOnly: closeOnTrigger, isTradingStop: false)
            return [.accepted(id, clientID: clientID, at: arrival)]
        case let .tradingStop(takeProfit, stopLoss, triggerBy, qty):
            guard position != 0 else { return [.commandRejected(command, .noPosition, at: arrival)] }
            let current = currentPrice(triggerBy)
            for (level, isTakeProfit) in [(takeProfit, true), (stopLoss, false)] {
                guard let level, level.units > 0, let current else { continue }
                let direction: SimTriggerDirection = (position > 0) == isTakeProfit ? .rise : .fall
                if Self.reached(direction, current, level) { return [.commandRejected(command, Self.wrongSide(direction), at: arrival)] }
            }
            let closing: Side = position > 0 ? .sell : .buy
            var reports: [SimReport] = []
            for (level, isTakeProfit) in [(takeProfit, true), (stopLoss, false)] {
                // nil: this leg stays as it is; 0: removed; a price: replaced.
                guard let level else { continue }
                let leg = isTakeProfit ? "tp" : "sl"
                for id in conditionals.keys.sorted() where conditionals[id]!.isTradingStop && conditionals[id]!.clientID == leg {
                    conditionals[id] = nil
                    reports.append(.cancelled(id, .tradingStopCleared, filledQty: .zero, at: arrival))
                }
                guard level.units > 0 else { continue }
                // Long: take profit when the price rises to it, stop when it falls to it; short: mirrored.
                let direction: SimTriggerDirection = (position > 0) == isTakeProfit ? .rise : .fall
                let id = SimOrderID(nextOrderID)
                nextOrderID += 1
                conditionals[id] = Conditional(id: id, clientID: leg, side: closing, price: nil, qty: qty,
                                               timeInForce: .immediateOrCancel, trigger: level, direction: direction,
                                               triggerBy: triggerBy, reduceOnly: true, isTradingStop: true)
                reports.append(.accepted(id, clientID: leg, at: arrival))
            }
            return reports
        case let .cancel(id):
            if let conditional = conditionals.removeValue(forKey: id) {
                _ = conditional
                return [.cancelled(id, .byUser, filledQty: .zero, at: arrival)]
            }
            guard let order = resting.removeValue(forKey: id) else {
                return [.commandRejected(command, .unknownOrder, at: arrival)]
            }
            return [.cancelled(id, .byUser, filledQty: Quantity(units: order.filled), at: arrival)]
        case let .amend(id, qty, price):
            guard var order = resting[id] else { return [.commandRejected(command, .unknownOrder, at: arrival)] }
            if qty == nil && price == nil { return [.commandRejected(command, .nothingToAmend, at: arrival)] }
            let newTotal = qty?.units ?? (order.remaining + order.filled)
            guard newTotal > order.filled else { return [.commandRejected(command, .nonPositiveQuantity, at: arrival)] }
            let newPrice = price ?? order.price
            guard newPrice.units > 0 else { return [.commandRejected(command, .nonPositivePrice, at: arrival)] }
            let losesPriority = newPrice != order.price || newTotal > order.remaining + order.filled
            order.remaining = newTotal - order.filled
            order.price = newPrice
            if losesPriority {
                sequence += 1
                order.priority = sequence
                order.arrival = arrival
                order.queueAhead = visibleQueue(side: order.side, price: newPrice)
            }
            resting[id] = order
            return [.amended(id, lostPriority: losesPriority, at: arrival)]
        }
    }

    private mutating func place(clientID: String, side: Side, price: Price?, qty: Quantity, tif: SimTimeInForce,
                                at arrival: ExchangeTime, id existing: SimOrderID? = nil) -> [SimReport] {
        guard qty.units > 0 else { return [.rejected(clientID: clientID, .nonPositiveQuantity, at: arrival)] }
        var limit: Int64
        var timeInForce = tif
        if let price {
            guard price.units > 0 else { return [.rejected(clientID: clientID, .nonPositivePrice, at: arrival)] }
            limit = price.units
        } else {
            guard let best = side == .buy ? book.bestAsk : book.bestBid else {
                return [.rejected(clientID: clientID, .noMarketPrice, at: arrival)]
            }
            let band = best.price.units * configuration.marketProtectionBasisPoints / 10_000
            limit = side == .buy ? best.price.units + band : max(best.price.units - band, 1)
            timeInForce = .immediateOrCancel
        }
        if let reason = ruleViolation(price: price, qty: qty, referencePrice: limit) {
            return [.rejected(clientID: clientID, reason, at: arrival)]
        }
        let id: SimOrderID
        var reports: [SimReport]
        if let existing {
            id = existing   // a triggered conditional keeps its id; it was accepted when placed
            reports = []
        } else {
            id = SimOrderID(nextOrderID)
            nextOrderID += 1
            reports = [.accepted(id, clientID: clientID, at: arrival)]
        }
        let crosses = crossesBook(side: side, limit: limit)
        if timeInForce == .postOnly && crosses {
            reports.append(.cancelled(id, .postOnlyWouldTakeLiquidity, filledQty: .zero, at: arrival))
            return reports
        }
        var remaining = qty.units
        var filled: Int64 = 0
        if crosses {
            if timeInForce == .fillOrKill && takeableQuantity(side: side, limit: limit) < remaining {
                reports.append(.cancelled(id, .fillOrKillNotFilled, filledQty: .zero, at: arrival))
                return reports
            }
            for (price, take) in take(side: side, limit: limit, quantity: remaining) {
                remaining -= take
                filled += take
                reports.append(.filled(fill(id, clientID, side, price: price, qty: take, maker: false, at: arrival)))
            }
        }
        if remaining == 0 { return reports }
        if timeInForce == .immediateOrCancel || timeInForce == .fillOrKill {
            reports.append(.cancelled(id, .immediateOrCancelRemainder, filledQty: Quantity(units: filled), at: arrival))
            return reports
        }
        sequence += 1
        resting[id] = Resting(id: id, clientID: clientID, side: side, price: Price(units: limit), remaining: remaining,
                              filled: filled, queueAhead: visibleQueue(side: side, price: Price(units: limit)),
                              arrival: arrival, priority: sequence)
        return reports
    }

    /// Bybit's instrument rules, checked only when the instrument's rules are known (never invented).
    private func ruleViolation(price: Price?, qty: Quantity, referencePrice: Int64) -> SimRejectReason? {
        guard let rules = configuration.instrument.rules else { return nil }
        if let price, !rules.isOnPriceGrid(price) { return .priceNotOnTick }
        if !rules.isOnQuantityGrid(qty) { return .quantityNotOnStep }
        if qty < rules.minOrderQty { return .quantityBelowMinimum }
        let maximum = price == nil ? rules.maxMarketOrderQty : rules.maxOrderQty
        if qty > maximum { return .quantityAboveMaximum }
        if let value = configuration.instrument.notional(price: Price(units: referencePrice), qty: qty), value < rules.minNotional {
            return .notionalBelowMinimum
        }
        return nil
    }

    /// Bybit's code for a trigger already reached: 110092 when it should rise, 110093 when it should fall.
    static func wrongSide(_ direction: SimTriggerDirection) -> SimRejectReason {
        direction == .rise ? .triggerPriceWrongSide : .triggerPriceWrongSideFalling
    }

    static func reached(_ direction: SimTriggerDirection, _ price: Price, _ trigger: Price) -> Bool {
        direction == .rise ? price >= trigger : price <= trigger
    }

    private func currentPrice(_ source: SimTriggerPrice) -> Price? {
        switch source {
        case .lastPrice: lastPrice
        case .markPrice: markPrice
        case .indexPrice: indexPrice
        }
    }

    /// Fires the conditional orders watching `source` whose trigger `price` reached, oldest first; each becomes
    /// a normal order at that instant (`Untriggered` → `Triggered` → placed).
    private mutating func fireTriggers(_ source: SimTriggerPrice, _ price: Price, at time: ExchangeTime) -> [SimReport] {
        var reports: [SimReport] = []
        for id in conditionals.keys.sorted() {
            guard let c = conditionals[id], c.triggerBy == source else { continue }
            guard Self.reached(c.direction, price, c.trigger) else { continue }
            conditionals[id] = nil
            reports.append(.triggered(id, price: price, at: time))
            var qty = c.qty?.units ?? abs(position)
            if c.reduceOnly {
                let reduces = c.side == .buy ? position < 0 : position > 0
                guard reduces else {
                    reports.append(.cancelled(id, .reduceOnly, filledQty: .zero, at: time))
                    continue
                }
                qty = min(qty, abs(position))
                // The quantity it is placed with (a Full-mode leg takes the whole position now).
                reports.append(.reducedToPosition(id, remaining: Quantity(units: qty), at: time))
            }
            reports += place(clientID: c.clientID, side: c.side, price: c.price, qty: Quantity(units: qty), tif: c.timeInForce,
                             at: time, id: id)
            if c.reduceOnly { resting[id]?.reduceOnly = true }
            reports += capReduceOnlyOrders(at: time)
        }
        return reports
    }

    /// After our position changed: reduce-only orders are cut to what still reduces, the rest cancelled.
    private mutating func capReduceOnlyOrders(at time: ExchangeTime) -> [SimReport] {
        var reports: [SimReport] = []
        if position == 0 {
            // Position take-profit / stop-loss belong to the position: they go when it closes.
            for id in conditionals.keys.sorted() where conditionals[id]!.isTradingStop {
                conditionals[id] = nil
                reports.append(.cancelled(id, .tradingStopCleared, filledQty: .zero, at: time))
            }
        }
        for id in resting.keys.sorted() where resting[id]!.reduceOnly {
            let o = resting[id]!
            let reduces = o.side == .buy ? position < 0 : position > 0
            let cap = reduces ? abs(position) : 0
            if cap == 0 {
                resting[id] = nil
                reports.append(.cancelled(id, .reduceOnly, filledQty: Quantity(units: o.filled), at: time))
            } else if o.remaining > cap {
                resting[id]!.remaining = cap
                reports.append(.reducedToPosition(id, remaining: Quantity(units: cap), at: time))
            }
        }
        return reports
    }

    // MARK: - Book helpers

    private func crossesBook(side: Side, limit: Int64) -> Bool {
        if side == .buy { return book.bestAsk.map { limit >= $0.price.units } ?? false }
        return book.bestBid.map { limit <= $0.price.units } ?? false
    }

    /// Displayed opposite liquidity we may take up to `limit`, net of our earlier taking.
    private func takeableQuantity(side: Side, limit: Int64) -> Int64 {
        levelsToTake(side: side, limit: limit).reduce(0) { $0 + $1.1 }
    }

    private func levelsToTake(side: Side, limit: Int64) -> [(Int64, Int64)] {
        let levels = book.topLevels(side == .buy ? .ask : .bid, book.depth)
        var out: [(Int64, Int64)] = []
        for level in levels {
            let p = level.price.units
            if side == .buy ? p > limit : p < limit { break }
            let used = (side == .buy ? depletedAsks[p] : depletedBids[p]) ?? 0
            let available = max(0, level.size.units - used)
            if available > 0 { out.append((p, available)) }
        }
        return out
    }

    private mutating func take(side: Side, limit: Int64, quantity: Int64) -> [(Int64, Int64)] {
        var left = quantity
        var fills: [(Int64, Int64)] = []
        for (price, available) in levelsToTake(side: side, limit: limit) where left > 0 {
            let q = min(left, available)
            left -= q
            if side == .buy { depletedAsks[price, default: 0] += q } else { depletedBids[price, default: 0] += q }
            fills.append((price, q))
        }
        return fills
    }

    /// Others' size ahead of a new order at `price`: the displayed size when the book's span covers the
    /// price (zero if the span covers it but nobody is there), unknown (nil) beyond the span.
    private func visibleQueue(side: Side, price: Price) -> Int64? {
        let bookSide: BookSide = side == .buy ? .bid : .ask
        guard let worst = book.worstLevel(bookSide) else { return nil }
        let covered = side == .buy ? price.units >= worst.price.units : price.units <= worst.price.units
        guard covered else { return nil }
        return book.displayedSize(at: price, side: bookSide).units
    }

    private func snapshotSizes() -> [SimOrderID: Int64] {
        var sizes: [SimOrderID: Int64] = [:]
        for (id, o) in resting { sizes[id] = book.displayedSize(at: o.price, side: o.side == .buy ? .bid : .ask).units }
        return sizes
    }

    private mutating func updateQueues(before: [SimOrderID: Int64]) {
        // Each order's queue depends only on its own price, so the visiting order does not matter; values are
        // updated in place (no hashing per order per book message).
        var i = resting.values.startIndex
        while i != resting.values.endIndex {
            let side = resting.values[i].side
            let price = resting.values[i].price
            let now = book.displayedSize(at: price, side: side == .buy ? .bid : .ask).units
            if let ahead = resting.values[i].queueAhead {
                var next = ahead
                if configuration.queue == .proportionalCancels, let old = before[resting.values[i].id], old > now, old > 0 {
                    let unexplained = max(0, old - now - (tradedSinceUpdate[price.units] ?? 0))
                    next -= unexplained * ahead / old
                }
                resting.values[i].queueAhead = max(0, min(next, now))
            } else {
                resting.values[i].queueAhead = visibleQueue(side: side, price: price)
            }
            resting.values.formIndex(after: &i)
        }
    }

    // MARK: - Prints

    private func ordered(_ side: Side) -> [Resting] {
        resting.values.filter { $0.side == side }.sorted {
            if $0.price != $1.price { return side == .buy ? $0.price > $1.price : $0.price < $1.price }
            return $0.priority < $1.priority
        }
    }

    private mutating func match(print trade: Trade) -> [SimReport] {
        // A sell-taker print hits bids (our buys); a buy-taker print lifts asks (our sells).
        let ourSide: Side = trade.takerSide == .sell ? .buy : .sell
        var available = trade.qty.units
        var reports: [SimReport] = []
        var consumedOthersAtPrint: Int64 = 0
        var touchedAtPrint: [SimOrderID] = []
        // Only orders the print reaches, and that were there when it printed, in price-time priority.
        var eligible: [(id: SimOrderID, price: Price, priority: UInt64)] = []
        for (id, o) in resting where o.side == ourSide && o.arrival <= trade.tradeTime {
            if ourSide == .buy ? trade.price <= o.price : trade.price >= o.price { eligible.append((id, o.price, o.priority)) }
        }
        if eligible.isEmpty { return [] }
        eligible.sort {
            if $0.price != $1.price { return ourSide == .buy ? $0.price > $1.price : $0.price < $1.price }
            return $0.priority < $1.priority
        }
        for order in eligible where available > 0 {
            let through = trade.price != order.price
            var o = resting[order.id]!
            if through {
                o.queueAhead = 0   // the market traded past our level: everything ahead of us is gone
            } else {
                touchedAtPrint.append(o.id)
                let ahead = o.queueAhead ?? book.displayedSize(at: o.price, side: ourSide == .buy ? .bid : .ask).units
                let consume = min(available, max(0, ahead - consumedOthersAtPrint))
                consumedOthersAtPrint += consume
                available -= consume
                o.queueAhead = ahead
            }
            let q = min(o.remaining, available)
            if q > 0 {
                available -= q
                o.remaining -= q
                o.filled += q
                reports.append(.filled(fill(o.id, o.clientID, o.side, price: o.price.units, qty: q, maker: true, at: trade.tradeTime)))
            }
            if o.remaining == 0 { resting[o.id] = nil } else { resting[o.id] = o }
        }
        // Every order at the print's price moved up by what the print took from the others ahead.
        for id in touchedAtPrint where resting[id] != nil {
            resting[id]!.queueAhead = max(0, (resting[id]!.queueAhead ?? 0) - consumedOthersAtPrint)
        }
        if !reports.isEmpty { reports += capReduceOnlyOrders(at: trade.tradeTime) }
        return reports
    }

    private mutating func fill(_ id: SimOrderID, _ clientID: String, _ side: Side, price: Int64, qty: Int64, maker: Bool,
                               at time: ExchangeTime) -> SimFill {
        position += side == .buy ? qty : -qty
        let instrument = configuration.instrument
        let value = instrument.notional(price: Price(units: price), qty: Quantity(units: qty)) ?? .zero
        let fee = value.multiplied(by: maker ? configuration.fees.maker : configuration.fees.taker) ?? .zero
        return SimFill(orderID: id, clientID: clientID, side: side, price: Price(units: price), qty: Quantity(units: qty),
                       isMaker: maker, value: value, fee: fee, exchangeTime: time)
    }
}
