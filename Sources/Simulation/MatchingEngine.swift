public import CascadeCore
public import MarketData

/// Order and execution ids of one simulated account: sequential, so runs are reproducible.
public struct IDMint: Sendable, Hashable {
    var nextOrder: UInt64 = 1
    var nextExecution: UInt64 = 1
    public init() {}
    public mutating func order() -> VenueOrderID {
        defer { nextOrder += 1 }
        return VenueOrderID("sim-\(nextOrder)")
    }
    public mutating func execution() -> ExecutionID {
        defer { nextExecution += 1 }
        return ExecutionID("exec-\(nextExecution)")
    }
}

/// The queue-aware matching engine of one symbol, driven by a replayed market: what a venue would have done with our
/// orders, had they been in that market.
///
/// The engine works at the exchange: it processes a command when it *arrives* (``SimulatedExchange`` keeps the
/// latency) and market events in exchange-time order. Fill rules — the whole contract, each worked by hand in
/// `SimulationTests`:
/// - **Arrival.** A PostOnly order that would cross the book is accepted, then cancelled
///   (`EC_PostOnlyWillTakeLiquidity`). Other crossing orders take liquidity level by level up to their limit (a
///   market order is an IOC limit `marketProtectionBasisPoints` through the best price) as taker. The liquidity an
///   order can take, or would cross, is the displayed size **net of our own taking** since that level's last update
///   and **net of the prints since the book last reflected them**: a sell print at P consumed every bid above P and
///   its size at P, until a book message stamped after the print (`cts`, else `ts`) shows the level again. FOK fills
///   completely or is cancelled; IOC remainders are cancelled; GTC and PostOnly remainders rest.
/// - **Queue.** A resting order's queue ahead is the displayed size at its price on arrival (our orders are not in
///   the replayed book); beyond the span a depth-limited book covers it is *unknown* until the level shows, then its
///   whole displayed size is ahead. Prints at our price advance the queue; the ``QueueModel`` decides what an
///   unexplained size decrease does; a level deleted leaves nothing ahead; the queue never exceeds the displayed
///   size.
/// - **Fills.** A print at our price consumes the queue ahead, then fills us; a print through our price (a sell below
///   our bid) fills us whatever the queue. Each print's quantity is used once across all our orders, best price
///   then time priority. RPI prints neither fill nor advance queues. With ``StrictCrossFill`` (the default) an
///   opposite side that moves strictly through a resting order's price fills it up to the (net) liquidity through
///   it, stamped with the book message. Resting fills are at the order's own price, as maker.
/// - **Amend.** An amend is judged as a new arrival when it changes the price: a PostOnly that would cross is
///   cancelled, any other crossing order takes as taker. A new price or a larger quantity loses time priority (the
///   whole displayed size at the price is ahead again); a smaller quantity keeps it.
/// - **Reduce-only** (one-way mode): an order that would open or grow the position is refused; at arrival and after
///   every fill or amend resting reduce-only orders are cut to the position, and with no position left they end
///   `CancelByReduceOnly`. While one print or one cross fills several reduce-only orders, each fill is capped to
///   what still reduces, so a position never flips through reduce-only orders.
/// - **Conditional orders and TP/SL** watch the last price (prints), the mark or the index (tickers) and fire, oldest
///   first, when the price reaches the trigger in their direction; they are then placed as normal orders at that
///   instant, against the book net of the print that fired them. A trigger already reached, or one whose price is
///   not known yet, is refused. Position TP/SL legs close the whole position (Full) or their size (Partial); a fill
///   that flattens or flips the position removes them (`CancelByTpSlTsClear`).
/// - **Gaps.** While the book the engine matches on is not synced (integrity failure, lost frame, session restart)
///   or the symbol's trades stream is interrupted, matching is suspended: resting orders stay and never fill,
///   arriving orders rest unmatched, and at resume every resting order's queue is the full displayed size at its
///   price and orders that arrived meanwhile are matched as arrivals.
///
/// Generic over its two models so each stays a small protocol; the entry points are also compiled for
/// ``QueueModelChoice``/``FillModelChoice`` (what ``SimulatedExchange`` and configurations use), so callers in other
/// modules run specialised code rather than witness-table calls.
public struct MatchingEngine<Queue: QueueModel, Fills: FillModel>: Sendable {
    public internal(set) var instrument: Instrument
    public let queueModel: Queue
    public let fillModel: Fills
    public let fees: FeeSchedule
    public let marketProtectionBasisPoints: Int64
    public let maxConditionalOrders: Int
    /// The replayed book matching uses (one depth: the deepest recorded).
    public internal(set) var book: OrderBook
    public internal(set) var store = OrderStore()
    /// Latest last (prints; a ticker's until the first print), mark and index prices: triggers watch them.
    public internal(set) var lastPrice: Price?
    public internal(set) var markPrice: Price?
    public internal(set) var indexPrice: Price?
    var lastPriceFromPrints = false
    /// Quantity our own taking removed from replayed levels, per price, until the level updates.
    var depletedBids: [Int64: Int64] = [:]
    var depletedAsks: [Int64: Int64] = [:]
    /// Liquidity prints consumed since the book last reflected them.
    var marks = PrintMarks()
    /// Print volume per price since the last book update (queue models tell cancels from trades with it).
    var tradedSinceUpdate: [Int64: Int64] = [:]
    var priorityCounter: UInt64 = 0
    /// Why matching is suspended now, besides the book's own state (interrupted streams).
    public internal(set) var interruptions: [FeedStream: String] = [:]
    /// True while matching is suspended (reported as it starts and ends).
    public internal(set) var isSuspended = true
    /// Orders that ended, with their client ids (a cancel arriving after the fill finds one here: `orderClosed`, not
    /// `unknownOrder`, naming both ids as Bybit does).
    var closed: [VenueOrderID: ClientOrderID?] = [:]
    /// Closed orders in the order they ended, and how many are remembered (the oldest are forgotten past it).
    var closedOrder: [VenueOrderID] = []
    var closedHead = 0
    public var closedOrdersRemembered = 10_000

    public init(instrument: Instrument, depth: Int, queue: Queue, fill: Fills, fees: FeeSchedule = .bybitDefault,
                marketProtectionBasisPoints: Int64 = 100, maxConditionalOrders: Int = 10) {
        self.instrument = instrument
        self.queueModel = queue
        self.fillModel = fill
        self.fees = fees
        self.marketProtectionBasisPoints = marketProtectionBasisPoints
        self.maxConditionalOrders = maxConditionalOrders
        book = OrderBook(symbol: instrument.id, depth: depth)
    }

    /// Installs newer trading rules of the instrument (checked from the next command on).
    public mutating func updateInstrument(_ instrument: Instrument) { self.instrument = instrument }

    /// Number of orders resting now.
    public var openOrderCount: Int { store.restingCount }

    /// The price a trigger source shows now.
    public func currentPrice(_ source: TriggerSource) -> Price? {
        switch source {
        case .lastPrice: lastPrice
        case .markPrice: markPrice
        case .indexPrice: indexPrice
        }
    }

    // MARK: - Reports

    func report(_ time: ExchangeTime, _ event: ExecutionReport.Event) -> ExecutionReport {
        ExecutionReport(symbol: instrument.id, time: time, event: event)
    }

    // MARK: - Liquidity

    /// Liquidity prints consumed since the book last reflected them. Small arrays, not dictionaries: a handful of
    /// prints fall between two book messages, and they are scanned and pruned in place (no allocation per message).
    struct PrintMarks: Sendable {
        struct Mark: Sendable {
            var price: Int64
            var qty: Int64
            var time: ExchangeTime
        }
        /// Asks strictly below this price were consumed by buy prints (time of the latest such print).
        var askSweep: (price: Int64, time: ExchangeTime)?
        var bidSweep: (price: Int64, time: ExchangeTime)?
        /// Quantity printed at a level (by takers of the other side), and the latest print's time.
        var askAt: [Mark] = []
        var bidAt: [Mark] = []

        var isEmpty: Bool { askSweep == nil && bidSweep == nil && askAt.isEmpty && bidAt.isEmpty }

        /// What prints consumed of the level at `price` (`Int64.max`: all of it).
        func consumed(_ side: BookSide, _ price: Int64) -> Int64 {
            if side == .ask {
                if let s = askSweep, price < s.price { return .max }
                for m in askAt where m.price == price { return m.qty }
                return 0
            }
            if let s = bidSweep, price > s.price { return .max }
            for m in bidAt where m.price == price { return m.qty }
            return 0
        }

        /// A print of `qty` at `price` by a taker on `takerSide`.
        mutating func record(takerSide: Side, price: Int64, qty: Int64, time: ExchangeTime) {
            if takerSide == .buy {
                askSweep = (max(askSweep?.price ?? price, price), time)
                Self.add(&askAt, price, qty, time)
            } else {
                bidSweep = (min(bidSweep?.price ?? price, price), time)
                Self.add(&bidAt, price, qty, time)
            }
        }

        static func add(_ marks: inout [Mark], _ price: Int64, _ qty: Int64, _ time: ExchangeTime) {
            if let i = marks.firstIndex(where: { $0.price == price }) {
                marks[i].qty += qty
                marks[i].time = time
            } else {
                marks.append(Mark(price: price, qty: qty, time: time))
            }
        }

        /// A book message stamped `time` reflects every print before it (a print at the same millisecond may not
        /// be in it yet: its mark stays, the conservative reading).
        mutating func reflect(_ time: ExchangeTime) {
            if let s = askSweep, s.time < time { askSweep = nil }
            if let s = bidSweep, s.time < time { bidSweep = nil }
            if !askAt.isEmpty { askAt.removeAll { $0.time < time } }
            if !bidAt.isEmpty { bidAt.removeAll { $0.time < time } }
        }
    }

    /// Displayed size of a level net of our taking and of prints since the book last showed it.
    func available(_ side: BookSide, _ level: BookLevel) -> Int64 {
        let p = level.price.units
        let ours = (side == .ask ? depletedAsks[p] : depletedBids[p]) ?? 0
        let printed = marks.isEmpty ? 0 : marks.consumed(side, p)
        if printed == .max { return 0 }
        return max(0, level.size.units - ours - printed)
    }

    /// The best opposite level with liquidity left for a taker on `side`.
    func bestAvailable(for side: Side) -> (price: Int64, qty: Int64)? {
        let bookSide: BookSide = side == .buy ? .ask : .bid
        for k in 0..<book.levelCount(bookSide) {
            let level = book.level(bookSide, fromBest: k)
            let qty = available(bookSide, level)
            if qty > 0 { return (level.price.units, qty) }
        }
        return nil
    }

    /// True when a `side` order at `limit` would take liquidity now.
    func crosses(_ side: Side, limit: Int64) -> Bool {
        guard let best = bestAvailable(for: side) else { return false }
        return side == .buy ? best.price <= limit : best.price >= limit
    }

    /// Net liquidity a `side` taker may take up to `limit`.
    func takeable(_ side: Side, limit: Int64) -> Int64 {
        let bookSide: BookSide = side == .buy ? .ask : .bid
        var total: Int64 = 0
        for k in 0..<book.levelCount(bookSide) {
            let level = book.level(bookSide, fromBest: k)
            let p = level.price.units
            if side == .buy ? p > limit : p < limit { break }
            total += available(bookSide, level)
        }
        return total
    }

    /// Records our use of `qty` at `price` of the opposite side (a taker fill, or the sellers a cross fill stands for).
    mutating func deplete(_ takerSide: Side, _ price: Int64, _ qty: Int64) {
        if takerSide == .buy { depletedAsks[price, default: 0] += qty } else { depletedBids[price, default: 0] += qty }
    }

    /// Others' size ahead of a new order at `price`: the displayed size where the book's span covers the price
    /// (zero if nobody is there), unknown (nil) beyond the span.
    func visibleQueue(_ side: Side, _ price: Int64) -> Int64? { Self.visibleQueue(side, price, in: book) }

    static func visibleQueue(_ side: Side, _ price: Int64, in book: OrderBook) -> Int64? {
        let bookSide: BookSide = side == .buy ? .bid : .ask
        guard let worst = book.worstLevel(bookSide) else { return nil }
        let covered = side == .buy ? price >= worst.price.units : price <= worst.price.units
        guard covered else { return nil }
        return book.displayedSize(at: Price(units: price), side: bookSide).units
    }

    /// Remembers that an order ended.
    mutating func close(_ id: VenueOrderID, clientID: ClientOrderID?) {
        // A symbol that trades fills this memory up to its bound: sized at its first closed order, not rehashed as it
        // grows (growing was ~2% of the quoting benchmark); a symbol that never trades reserves nothing.
        if closed.isEmpty { closed.reserveCapacity(min(closedOrdersRemembered, 1 << 14) + 1) }
        if closed.updateValue(clientID, forKey: id) == nil { closedOrder.append(id) }
    }

    /// Forgets the oldest closed orders beyond ``closedOrdersRemembered`` and returns their client ids (the venue
    /// forgets those too). A cancel of a forgotten order is then `unknownOrder` instead of `orderClosed`: Bybit
    /// answers both with 110001.
    mutating func forgetOldClosed() -> [ClientOrderID] {
        var forgotten: [ClientOrderID] = []
        while closedOrder.count - closedHead > closedOrdersRemembered {
            if case let clientID?? = closed.removeValue(forKey: closedOrder[closedHead]) { forgotten.append(clientID) }
            closedHead += 1
        }
        if closedHead >= 256, closedHead * 2 >= closedOrder.count {
            closedOrder.removeFirst(closedHead)
            closedHead = 0
        }
        return forgotten
    }

    /// True for an order that existed and ended.
    func isClosed(_ id: VenueOrderID) -> Bool { closed.index(forKey: id) != nil }

    /// Takes a resting order out of the book as cancelled for `cancellation` (nil when it is not resting).
    mutating func cancelResting(_ id: VenueOrderID, _ cancellation: Cancellation, at time: ExchangeTime) -> ExecutionReport? {
        guard let o = store.removeResting(id) else { return nil }
        close(id, clientID: o.clientID)
        return report(time, .cancelled(OrderCancelled(venueID: id, clientID: o.clientID, cancellation: cancellation,
                                                      filledQty: Quantity(units: o.filled))))
    }

    /// Takes an untriggered conditional order away as cancelled for `cancellation` (Bybit: `Deactivated`).
    mutating func cancelConditional(_ id: VenueOrderID, _ cancellation: Cancellation, at time: ExchangeTime) -> ExecutionReport? {
        guard let c = store.removeConditional(id) else { return nil }
        close(id, clientID: c.clientID)
        return report(time, .cancelled(OrderCancelled(venueID: id, clientID: c.clientID, cancellation: cancellation, filledQty: .zero,
                                                      wasUntriggered: true)))
    }

    mutating func nextPriority() -> UInt64 {
        priorityCounter += 1
        return priorityCounter
    }

    // MARK: - Position effects

    /// What a reduce-only order on `side` may still fill: the position it closes, or nothing.
    static func reducible(_ side: Side, position: Int64) -> Int64 {
        side == .buy ? max(0, -position) : max(0, position)
    }

    /// Applies one execution of a resting or arriving order to the ledger and reports it.
    mutating func execute(venueID: VenueOrderID, clientID: ClientOrderID?, side: Side, price: Int64, qty: Int64, leaves: Int64,
                          liquidity: Liquidity, at time: ExchangeTime, ledger: inout PositionLedger,
                          ids: inout IDMint) -> ExecutionReport {
        let p = Price(units: price), q = Quantity(units: qty)
        let rate = fees.rate(liquidity)
        let value = instrument.notional(price: p, qty: q) ?? .zero
        let fee = value.multiplied(by: rate) ?? .zero
        let outcome = ledger.apply(side: side, price: p, qty: q, fee: fee, at: time)
        return report(time, .filled(Fill(
            venueID: venueID, clientID: clientID, executionID: ids.execution(), side: side, price: p, qty: q, liquidity: liquidity,
            fee: fee, feeRate: rate, leavesQty: Quantity(units: leaves), closedQty: outcome.closedQty, closedPnl: outcome.closedPnl,
            closedPnlAfterCosts: outcome.closedPnlAfterCosts, markPrice: markPrice)))
    }

    /// After the position changed: TP/SL legs go when it is flat or flipped (they belong to the old position);
    /// reduce-only orders are cut to what still reduces, or cancelled.
    mutating func positionChanged(from before: Int64, ledger: PositionLedger, at time: ExchangeTime) -> [ExecutionReport] {
        let position = ledger.size
        var out: [ExecutionReport] = []
        if before != 0 && (position == 0 || (position > 0) != (before > 0)) {
            out += store.conditionals.filter { $0.origin != .client }
                .compactMap { cancelConditional($0.venueID, Cancellation(.protectionCleared), at: time) }
        }
        out += capReduceOnly(position: position, at: time)
        return out
    }

    /// Resting reduce-only orders cut to the position (each alone: a print filling several is capped as it goes).
    mutating func capReduceOnly(position: Int64, at time: ExchangeTime) -> [ExecutionReport] {
        var out: [ExecutionReport] = []
        for side in [Side.buy, .sell] {
            let cap = Self.reducible(side, position: position)
            for o in store.orders(side) where o.onlyReduces && o.remaining > cap {
                if cap == 0 {
                    if let cancelled = cancelResting(o.venueID, Cancellation(.reduceOnly), at: time) { out.append(cancelled) }
                } else {
                    store.update(o.venueID) { $0.remaining = cap }
                    out.append(report(time, .amended(OrderAmended(venueID: o.venueID, clientID: o.clientID, price: Price(units: o.price),
                                                                  qty: Quantity(units: o.filled + cap), cause: .reduceOnlyCap))))
                }
            }
        }
        return out
    }

    /// TP/SL attached to an order, applied as it fills: Full mode sets the position's legs at its first fill;
    /// Partial mode makes a reduce-only pair for each fill, linked to the order.
    mutating func protect(_ protection: Protection, parent: VenueOrderID, side: Side, filled qty: Int64, firstFill: Bool,
                          at time: ExchangeTime, ids: inout IDMint) -> [ExecutionReport] {
        var out: [ExecutionReport] = []
        let closing = side.opposite
        for (leg, isTakeProfit) in [(protection.takeProfit, true), (protection.stopLoss, false)] {
            guard let leg else { continue }
            let direction = TriggerDirection.protecting(long: side == .buy, takeProfit: isTakeProfit)
            let trigger = Trigger(price: leg.trigger, direction: direction, source: leg.source)
            switch protection.mode {
            case .full:
                guard firstFill else { continue }
                out += replacePositionLeg(isTakeProfit: isTakeProfit, trigger: trigger, limit: nil, size: nil, side: closing,
                                          at: time, ids: &ids)
            case .partial:
                let spec = OrderSpec(side: closing, type: leg.limitPrice == nil ? .market : .limit, timeInForce: .goodTillCancel,
                                     price: leg.limitPrice, qty: Quantity(units: qty), reduceOnly: true, trigger: trigger,
                                     closeOnTrigger: true)
                let c = ConditionalOrder(venueID: ids.order(), clientID: nil, spec: spec,
                                         origin: isTakeProfit ? .partialTakeProfit : .partialStopLoss, parent: parent,
                                         wholePosition: false, priority: nextPriority())
                store.addConditional(c)
                out.append(report(time, .accepted(OrderAccepted(venueID: c.venueID, clientID: nil, spec: spec, origin: c.origin,
                                                                parent: parent))))
            }
        }
        return out
    }

    /// Removes the position's leg of one kind and, unless `trigger` is nil, sets a new one.
    mutating func replacePositionLeg(isTakeProfit: Bool, trigger: Trigger?, limit: Price?, size: Quantity?, side: Side,
                                     at time: ExchangeTime, ids: inout IDMint) -> [ExecutionReport] {
        let kind: OrderOrigin = isTakeProfit ? .takeProfit : .stopLoss
        var out = store.conditionals.filter { $0.origin == kind }
            .compactMap { cancelConditional($0.venueID, Cancellation(.protectionCleared), at: time) }
        guard let trigger else { return out }
        let spec = OrderSpec(side: side, type: limit == nil ? .market : .limit, timeInForce: .goodTillCancel, price: limit,
                             qty: size ?? .zero, reduceOnly: true, trigger: trigger, closeOnTrigger: true)
        let c = ConditionalOrder(venueID: ids.order(), clientID: nil, spec: spec, origin: kind,
                                 parent: nil, wholePosition: size == nil, priority: nextPriority())
        store.addConditional(c)
        out.append(report(time, .accepted(OrderAccepted(venueID: c.venueID, clientID: nil, spec: spec, origin: c.origin))))
        return out
    }

    /// The position's TP/SL trigger prices now (the first leg of each kind).
    public var positionTakeProfit: Price? { store.conditionals.first { $0.origin == .takeProfit }?.trigger.price }
    public var positionStopLoss: Price? { store.conditionals.first { $0.origin == .stopLoss }?.trigger.price }

    // MARK: - Suspension

    /// True when the engine can match: its book is synced and no stream it needs is interrupted.
    var canMatch: Bool { book.isSynced && interruptions.isEmpty }

    /// Reports the start or end of a suspension after anything that may change `canMatch`; at resume, queues restart
    /// at the full displayed size and the orders that waited are matched as arrivals.
    mutating func refreshSuspension(reason: String, at time: ExchangeTime, ledger: inout PositionLedger,
                                    ids: inout IDMint) -> [ExecutionReport] {
        if isSuspended == !canMatch { return [] }
        if !canMatch {
            isSuspended = true
            return [report(time, .matchingSuspended(reason: reason))]
        }
        isSuspended = false
        var out = [report(time, .matchingResumed)]
        // What happened to our queue during the gap is unknown: everything displayed is ahead again.
        let book = self.book
        for side in [Side.buy, .sell] {
            store.updateAll(side) { o in o.queueAhead = Self.visibleQueue(side, o.price, in: book) }
        }
        let waiting = (store.bids + store.asks).filter(\.awaitingMatch).sorted { $0.priority < $1.priority }
        for o in waiting {
            guard let order = store.removeResting(o.venueID) else { continue }
            out += match(order, at: time, announce: .none, ledger: &ledger, ids: &ids)
        }
        out += crossFills(at: time, ledger: &ledger, ids: &ids)
        return out
    }

    /// The feed says `stream` is interrupted or recovered. A book stream restarts the engine's book (it waits for
    /// the snapshot that comes next); a trades stream suspends matching until it recovers.
    public mutating func feed(_ stream: FeedStream, interrupted: Bool, reason: String, at time: ExchangeTime,
                              ledger: inout PositionLedger, ids: inout IDMint) -> [ExecutionReport] {
        switch stream {
        case let .book(_, depth) where depth == book.depth:
            if interrupted { book.awaitSnapshot() }
        case .trades:
            if interrupted { interruptions[stream] = reason } else { interruptions[stream] = nil }
        default:
            return []
        }
        return refreshSuspension(reason: reason, at: time, ledger: &ledger, ids: &ids)
    }
}
