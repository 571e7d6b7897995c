public import CascadeCore

/// The cross-margin USDT account: Bybit's unified account trading USDT perpetuals in one-way mode.
///
/// Margin rules (every amount exact to 1e-8 USDT, each product or quotient rounded half to even; bankruptcy and
/// liquidation prices rounded as stated):
/// - **Valuation.** A position is valued at the mark price, else the last traded price, else (no price yet) at its
///   entry value. Unrealised PnL = signed size × that price − signed entry value.
/// - **Order cost** (Bybit's formula) of an order of value `V = price × qty` at leverage `L` and taker rate `t`:
///   `V / L + V × t + V × (1 ∓ 1/L) × t` — initial margin, fee to open, fee to close at the bankruptcy price (− for a
///   buy, + for a sell). A limit order is valued at its price; a market order at the best opposite price (else the
///   valuation price); a conditional order at its limit price, else its trigger price.
/// - **Order IM** of a symbol, one-way mode: per side, the orders that would close the position (the side opposite
///   it) use up the position size first — reduce-only orders, then market orders, then by price priority — and cost
///   nothing; every other quantity costs its order cost. Reduce-only orders never cost anything. Only one side can
///   end up filled into a position, so the symbol's order IM is the larger side's. Resting orders and placements in
///   flight count; untriggered conditional orders do not (Bybit reserves margin for them when they trigger).
/// - **Position IM** = |entry value| / leverage; **maintenance margin** = position value × MMR.
/// - **Available balance** = wallet + unrealised PnL − Σ position IM − Σ order IM (negative when losses ate into the
///   margin).
/// - **Pre-trade check** (on the call, like Bybit answering the create): a placement, or an amend, is refused with
///   110007 when the order IM it adds exceeds the available balance. An order that adds nothing (it only reduces,
///   or the other side dominates) passes. A conditional order is checked when placed as if it were active, and
///   again when it fires: one that does not fit then is cancelled, unless it only closes.
/// - **Liquidation** after every event: when equity ≤ total maintenance margin and there is a position, every open
///   order of every symbol (and every placement in flight) is cancelled (`CancelAllBeforeLiq`) and every position
///   is taken over at its bankruptcy price by a fee-free `BustTrade`. The equity is shared across positions in
///   proportion to their maintenance margin; a position's bankruptcy price is where it would have lost its share,
///   so closing all there leaves the wallet at zero, rounded in the account's favour (never negative). Bybit's
///   insurance fund absorbs whatever the market takes past bankruptcy.
extension SimulatedExchange {
    static let one = Int128(10_000_000_000)   // 1 at Rate's scale

    /// Leverage bounds when the instrument's rules do not publish a maximum (Bybit's BTCUSDT range).
    public static let fallbackMaxLeverage = Rate(units: 1_000_000_000_000)

    // MARK: - Views

    public func leverage(_ symbol: SymbolID) -> Rate { leverages[symbol] ?? settings.defaultLeverage }

    /// Deposit plus everything every symbol realised (fees and funding included).
    public var walletBalance: USDT { symbols.keys.reduce(deposit) { $0 + symbols[venue: $1].ledger.walletContribution } }
    public var unrealisedPnL: USDT { sum { unrealisedPnL($0) } }
    /// Wallet balance plus unrealised PnL (Bybit's margin balance).
    public var equity: USDT { walletBalance + unrealisedPnL }
    public var totalPositionIM: USDT { sum { positionIM($0) } }
    public var totalOrderIM: USDT { sum { orderIM($0) } }
    public var totalMaintenanceMargin: USDT { sum { maintenanceMargin($0) } }
    public var availableBalance: USDT { equity - totalPositionIM - totalOrderIM }

    /// The price a position is valued at: mark, else last traded price; nil before either is known.
    public func valuationPrice(_ symbol: SymbolID) -> Price? {
        guard symbols.contains(symbol) else { return nil }
        return symbols[venue: symbol].engine.markPrice ?? symbols[venue: symbol].engine.lastPrice
    }

    public func unrealisedPnL(_ symbol: SymbolID) -> USDT {
        guard let price = valuationPrice(symbol) else { return .zero }
        return symbols[venue: symbol].ledger.unrealisedPnL(mark: price)
    }

    /// |size| × valuation price (the entry value before any price is known).
    public func positionValue(_ symbol: SymbolID) -> USDT {
        guard symbols.contains(symbol), symbols[venue: symbol].ledger.size != 0 else { return .zero }
        let ledger = symbols[venue: symbol].ledger
        guard let price = valuationPrice(symbol) else { return USDT(units: abs(ledger.entryValue.units)) }
        return ledger.instrument.notional(price: price, qty: Quantity(units: abs(ledger.size))) ?? .zero
    }

    public func positionIM(_ symbol: SymbolID) -> USDT { positionIM(symbol, leverage: leverage(symbol)) }
    public func orderIM(_ symbol: SymbolID) -> USDT { orderIM(symbol, openOrders(symbol), leverage: leverage(symbol)) }
    public func maintenanceMargin(_ symbol: SymbolID) -> USDT {
        positionValue(symbol).multiplied(by: settings.maintenanceMarginRate) ?? .zero
    }

    /// The mark at which the account's equity would equal its maintenance margin (`rate`: the MMR) or zero (`rate`
    /// nil: the bankruptcy price), other symbols' marks held fixed; nil when flat or when no positive mark gets
    /// there. Long: the highest price unit at or below which it happens; short: the lowest at or above.
    public func estimatedLiquidationPrice(_ symbol: SymbolID) -> Price? { criticalPrice(symbol, maintenance: true) }
    public func estimatedBankruptcyPrice(_ symbol: SymbolID) -> Price? { criticalPrice(symbol, maintenance: false) }

    /// `otherEquity`: the account's equity less this symbol's unrealised PnL, when the caller has it already.
    func criticalPrice(_ symbol: SymbolID, maintenance: Bool, otherEquity known: USDT? = nil) -> Price? {
        guard symbols.contains(symbol), symbols[venue: symbol].ledger.size != 0 else { return nil }
        let ledger = symbols[venue: symbol].ledger
        let qty = Int128(abs(ledger.size))
        let entry = abs(ledger.entryValue.units)
        let otherEquity = (known ?? (equity - unrealisedPnL(symbol))).units
        let otherMM = maintenance ? (totalMaintenanceMargin - maintenanceMargin(symbol)).units : 0
        let r = maintenance ? Int128(settings.maintenanceMarginRate.units) : 0
        // Long: E_other + q·m − entry = MM_other + q·m·r  →  q·m = (entry − E_other + MM_other) / (1 − r).
        // Short: E_other + entry − q·m = MM_other + q·m·r →  q·m = (E_other + entry − MM_other) / (1 + r).
        // With q·m in USDT units = q·m_units × 10^(8 − D): m_units = N × 10^(D + 2) / (q × (10^10 ∓ r)).
        let long = ledger.size > 0
        let numerator = long ? entry - otherEquity + otherMM : otherEquity + entry - otherMM
        let digits = Price.digits + Quantity.digits
        let denominator = qty * (long ? Self.one - r : Self.one + r)
        guard denominator > 0, let scaled = Self.timesPowerOfTen(numerator, digits + 2) else { return nil }
        let m = Self.divide(scaled, denominator, roundingUp: !long)
        guard m > 0, let units = Int64(exactly: m) else { return nil }
        return Price(units: units)
    }

    /// Bybit's order cost of `qty` at `price` on `side`: `V/L + V·t + V·(1 ∓ 1/L)·t` with `V = price × qty` (each
    /// of the three terms rounded half to even); nil on overflow.
    public static func orderCost(side: Side, price: Price, qty: Quantity, leverage: Rate, takerFee: Rate) -> USDT? {
        guard leverage.units > 0, let value = Instrument.notional(price: price, qty: qty),
              let openFee = value.multiplied(by: takerFee) else { return nil }
        let l = Int128(leverage.units)
        let initial = FixedDecimal.divideRoundingHalfEven(value.units * one, l)
        let closeFactor = side == .buy ? l - one : l + one
        let close = FixedDecimal.divideRoundingHalfEven(value.units * Int128(takerFee.units) * closeFactor, l * one)
        return USDT(units: initial + close) + openFee
    }

    /// The symbol's position as the venue states it.
    public func positionReport(_ symbol: SymbolID) -> PositionReport {
        // Borrowed in place (`symbols[symbol]` would copy the venue: this runs after every order event).
        guard symbols.contains(symbol) else { return PositionReport(size: .zero, seq: seq) }
        let l = symbols[venue: symbol].ledger
        // Both critical prices share the rest of the account's equity (summed over every symbol): computed once.
        let otherEquity = l.size == 0 ? nil : equity - unrealisedPnL(symbol)
        return PositionReport(
            size: Quantity(units: l.size), averagePrice: l.averageEntryPrice, markPrice: valuationPrice(symbol),
            liquidationPrice: criticalPrice(symbol, maintenance: true, otherEquity: otherEquity),
            bankruptcyPrice: criticalPrice(symbol, maintenance: false, otherEquity: otherEquity),
            leverage: leverage(symbol), positionValue: positionValue(symbol), unrealisedPnl: unrealisedPnL(symbol),
            currentRealisedPnl: l.currentRealisedPnl, cumulativeRealisedPnl: l.cumulativeRealisedPnl,
            initialMargin: positionIM(symbol), maintenanceMargin: maintenanceMargin(symbol),
            takeProfit: symbols[venue: symbol].engine.positionTakeProfit, stopLoss: symbols[venue: symbol].engine.positionStopLoss,
            status: .normal, adlRankIndicator: 0, seq: seq, createdTime: l.openedAt)
    }

    /// The account's USDT margin state.
    public var walletReport: WalletReport {
        WalletReport(walletBalance: walletBalance, equity: equity, availableBalance: availableBalance, unrealisedPnl: unrealisedPnL,
                     initialMargin: totalPositionIM + totalOrderIM, orderInitialMargin: totalOrderIM,
                     maintenanceMargin: totalMaintenanceMargin, cumulativeRealisedPnl: walletBalance - deposit)
    }

    // MARK: - Checks

    /// Sets the leverage of `symbol` (both sides: one-way mode): 1…`maxLeverage` of the rules (1…100 when unknown),
    /// else refused; the current value is refused (Bybit 110043); a change whose extra initial margin (position and
    /// orders, at the new leverage) exceeds the available balance is refused (Bybit 110044).
    mutating func setLeverage(_ leverage: Rate, symbol: SymbolID) -> Rejection? {
        let rules = instruments[symbol]?.rules
        let maximum = rules?.maxLeverage ?? Self.fallbackMaxLeverage
        let minimum = rules?.minLeverage.map { Int128($0.units) } ?? Self.one
        guard Int128(leverage.units) >= minimum, leverage <= maximum else { return Rejection(.leverageOutOfRange) }
        if let step = rules?.leverageStep, step.units > 0, leverage.units % step.units != 0 { return Rejection(.leverageNotOnStep) }
        guard leverage != self.leverage(symbol) else { return Rejection(.leverageNotModified) }
        if symbols.contains(symbol) {
            let extra = positionIM(symbol, leverage: leverage) + orderIM(symbol, openOrders(symbol), leverage: leverage)
                - positionIM(symbol) - orderIM(symbol)
            if extra > .zero && extra > availableBalance { return Rejection(.leverageInsufficientMargin) }
        }
        leverages[symbol] = leverage
        return nil
    }

    /// 110007 when the order IM `action` adds exceeds the available balance.
    func marginCheck(_ action: VenueCommand.Action, _ symbol: SymbolID) -> Rejection? {
        guard case let .submit(_, spec) = action else { return marginCheckFromOrderList(action, symbol) }
        if spec.onlyReduces { return nil }                                          // adds nothing
        guard let figures = placementMargin(spec, symbol) else { return marginCheckFromOrderList(action, symbol) }
        return figures.added > .zero && figures.added > figures.available ? Rejection(.insufficientBalance) : nil
    }

    /// What placing `spec` (not reduce-only) adds to the order IM, and the available balance before it. A placement
    /// changes only its own side's order IM: both sides are valued in one pass when nothing nets, and the placement's
    /// side is its old cost plus the new order's when that side nets nothing (re-valued with it otherwise); the
    /// symbol's current IM is reused in the available balance. Equal to ``addedOrderIM(_:_:)`` and
    /// ``availableBalance`` (a test checks both, exactly).
    func placementMargin(_ spec: OrderSpec, _ symbol: SymbolID) -> (added: USDT, available: USDT)? {
        guard !spec.onlyReduces, symbols.contains(symbol) else { return nil }
        let lev = leverage(symbol)
        var orders = openOrders(symbol)
        let (buy, sell) = sideIMs(symbol, orders, leverage: lev)
        let newOrder = MarginOrder(side: spec.side, price: spec.price ?? spec.trigger?.price, qty: spec.qty.units, reduceOnly: false)
        let changed: USDT
        if nets(spec.side, symbol) {
            orders.append(newOrder)
            changed = sideIM(spec.side, symbol, orders, leverage: lev)
        } else {
            changed = (spec.side == .buy ? buy : sell) + charge(newOrder, newOrder.qty, side: spec.side, symbol, leverage: lev)
        }
        let current = max(buy, sell)
        let added = max((spec.side == .buy ? max(changed, sell) : max(buy, changed)) - current, .zero)
        let available = equity - totalPositionIM - (sum { $0 == symbol ? .zero : orderIM($0) } + current)
        return (added, available)
    }

    /// The general check: the symbol's order list re-valued with and without `action` (netting included).
    func marginCheckFromOrderList(_ action: VenueCommand.Action, _ symbol: SymbolID) -> Rejection? {
        let added = addedOrderIM(action, symbol)
        return added > .zero && added > availableBalance ? Rejection(.insufficientBalance) : nil
    }

    /// What a fired conditional order would add to the order IM if placed now.
    func triggeredCost(_ c: ConditionalOrder, _ symbol: SymbolID) -> USDT {
        let current = openOrders(symbol)
        var next = current
        next.append(MarginOrder(side: c.spec.side, price: c.spec.price, qty: c.spec.qty.units, reduceOnly: false))
        let lev = leverage(symbol)
        return max(orderIM(symbol, next, leverage: lev) - orderIM(symbol, current, leverage: lev), .zero)
    }

    // MARK: - Margin internals

    func sum(_ amount: (SymbolID) -> USDT) -> USDT { symbols.keys.reduce(.zero) { $0 + amount($1) } }

    func positionIM(_ symbol: SymbolID, leverage: Rate) -> USDT {
        guard symbols.contains(symbol), symbols[venue: symbol].ledger.size != 0 else { return .zero }
        let ledger = symbols[venue: symbol].ledger
        return USDT(units: FixedDecimal.divideRoundingHalfEven(abs(ledger.entryValue.units) * Self.one, Int128(leverage.units)))
    }

    /// An order as margin sees it.
    struct MarginOrder {
        var venueID: VenueOrderID?
        var side: Side
        /// nil: a market order.
        var price: Price?
        var qty: Int64
        var reduceOnly: Bool
        init(venueID: VenueOrderID? = nil, side: Side, price: Price?, qty: Int64, reduceOnly: Bool) {
            self.venueID = venueID
            self.side = side
            self.price = price
            self.qty = qty
            self.reduceOnly = reduceOnly
        }
    }

    /// Resting orders and placements in flight (untriggered conditionals reserve nothing), read in place: this runs
    /// on every placement.
    func openOrders(_ symbol: SymbolID) -> [MarginOrder] {
        guard symbols.contains(symbol) else { return [] }
        var orders: [MarginOrder] = []
        orders.reserveCapacity(symbols[venue: symbol].engine.store.restingCount + 1)
        // Field by field (a resting order is ~200 bytes: no copy of each).
        func add(_ o: borrowing RestingOrder) {
            orders.append(MarginOrder(venueID: o.venueID, side: o.side, price: o.spec.type == .market ? nil : Price(units: o.price),
                                      qty: o.remaining, reduceOnly: o.onlyReduces))
        }
        symbols[venue: symbol].engine.store.bids.withUnsafeBufferPointer { for i in $0.indices { add($0[i]) } }
        symbols[venue: symbol].engine.store.asks.withUnsafeBufferPointer { for i in $0.indices { add($0[i]) } }
        for i in inFlightHead..<inFlight.count {
            guard let (id, spec) = inFlightSubmit(at: i, of: symbol), !spec.isConditional else { continue }
            orders.append(MarginOrder(venueID: id, side: spec.side, price: spec.price, qty: spec.qty.units, reduceOnly: spec.onlyReduces))
        }
        return orders
    }

    /// The larger side's cost, after netting the side opposite the position against it (see the rules above).
    func orderIM(_ symbol: SymbolID, _ orders: [MarginOrder], leverage: Rate) -> USDT {
        let (buy, sell) = sideIMs(symbol, orders, leverage: leverage)
        return max(buy, sell)
    }

    /// Whether `side`'s orders net against the position (that side closes it first).
    func nets(_ side: Side, _ symbol: SymbolID) -> Bool {
        let position = symbols[venue: symbol].ledger.size
        return side == .buy ? position < 0 : position > 0
    }

    /// What `qty` of `order` costs on `side` (nothing for a market order with no price to value it at).
    func charge(_ order: MarginOrder, _ qty: Int64, side: Side, _ symbol: SymbolID, leverage: Rate) -> USDT {
        guard qty > 0, let price = order.price ?? marketPrice(symbol, side) else { return .zero }
        return Self.orderCost(side: side, price: price, qty: Quantity(units: qty), leverage: leverage,
                              takerFee: symbols[venue: symbol].engine.fees.taker) ?? .zero
    }

    /// Both sides' costs: one pass over the orders when neither side nets (no position), else ``sideIM`` per side.
    func sideIMs(_ symbol: SymbolID, _ orders: [MarginOrder], leverage: Rate) -> (buy: USDT, sell: USDT) {
        guard symbols.contains(symbol) else { return (.zero, .zero) }
        guard symbols[venue: symbol].ledger.size == 0 else {
            return (sideIM(.buy, symbol, orders, leverage: leverage), sideIM(.sell, symbol, orders, leverage: leverage))
        }
        var buy = USDT.zero, sell = USDT.zero
        for order in orders where !order.reduceOnly {
            let cost = charge(order, order.qty, side: order.side, symbol, leverage: leverage)
            if order.side == .buy { buy = buy + cost } else { sell = sell + cost }
        }
        return (buy, sell)
    }

    /// One side's cost: its orders' costs, less what closes the position (that side nets it first).
    func sideIM(_ side: Side, _ symbol: SymbolID, _ orders: [MarginOrder], leverage: Rate) -> USDT {
        guard symbols.contains(symbol) else { return .zero }
        let position = symbols[venue: symbol].ledger.size
        var netting = nets(side, symbol) ? abs(position) : 0
        var cost = USDT.zero
        // Nothing to net: every order is charged whole, in any order (no sort on the common path).
        if netting == 0 {
            for order in orders where order.side == side && !order.reduceOnly {
                cost = cost + charge(order, order.qty, side: side, symbol, leverage: leverage)
            }
            return cost
        }
        // Whatever fills first closes first: reduce-only, then market orders, then the best price, then the order
        // given. Sorted on integer keys (no copies of the orders while sorting).
        var ranked: [(reduceOnly: Int64, market: Int64, price: Int64, index: Int)] = []
        for (index, o) in orders.enumerated() where o.side == side {
            let price = o.price.map { side == .buy ? -$0.units : $0.units } ?? 0
            ranked.append((o.reduceOnly ? 0 : 1, o.price == nil ? 0 : 1, price, index))
        }
        ranked.sort { ($0.reduceOnly, $0.market, $0.price, $0.index) < ($1.reduceOnly, $1.market, $1.price, $1.index) }
        for key in ranked {
            let order = orders[key.index]
            let netted = min(netting, order.qty)
            netting -= netted
            cost = cost + charge(order, order.reduceOnly ? 0 : order.qty - netted, side: side, symbol, leverage: leverage)
        }
        return cost
    }

    /// What a market order is valued at: the best opposite price, else the valuation price.
    func marketPrice(_ symbol: SymbolID, _ side: Side) -> Price? {
        guard symbols.contains(symbol) else { return nil }
        return symbols[venue: symbol].engine.bestAvailable(for: side).map { Price(units: $0.price) } ?? valuationPrice(symbol)
    }

    /// The order IM `action` would add to its symbol (zero for cancels, trading stops and reducing orders).
    func addedOrderIM(_ action: VenueCommand.Action, _ symbol: SymbolID) -> USDT {
        let lev = leverage(symbol)
        let current = openOrders(symbol)
        var next = current
        switch action {
        case let .submit(_, spec):
            if spec.onlyReduces { return .zero }
            // A conditional order is checked as if placed now, at its limit or trigger price.
            next.append(MarginOrder(side: spec.side, price: spec.price ?? spec.trigger?.price, qty: spec.qty.units, reduceOnly: false))
        case let .amend(.venue(id), amendment):
            guard let index = next.firstIndex(where: { $0.venueID == id }) else { return .zero }
            if let price = amendment.price { next[index].price = price }
            if let qty = amendment.qty {
                let filled = symbols[symbol]?.engine.store.resting(id)?.filled ?? 0
                next[index].qty = max(0, qty.units - filled)
            }
        default:
            return .zero
        }
        return max(orderIM(symbol, next, leverage: lev) - orderIM(symbol, current, leverage: lev), .zero)
    }

    // MARK: - Liquidation

    mutating func liquidateIfNeeded(at time: ExchangeTime, out: inout [ExecutionReport]) {
        // One pass without allocating (this runs after every event): equity and maintenance margin.
        var equityUnits = deposit.units
        var totalMargin: Int128 = 0
        var anyPosition = false
        for id in symbols.keys {
            equityUnits += symbols[venue: id].ledger.walletContribution.units
            guard symbols[venue: id].ledger.size != 0 else { continue }
            anyPosition = true
            equityUnits += unrealisedPnL(id).units
            totalMargin += maintenanceMargin(id).units
        }
        guard anyPosition, equityUnits <= totalMargin else { return }
        let positioned = symbols.keys.filter { symbols[venue: $0].ledger.size != 0 }
        let margins = positioned.map { maintenanceMargin($0).units }
        let total = margins.reduce(0, +)
        // Shares of the equity in proportion to maintenance margin (position value if the rate is zero); the last
        // position takes the rounding remainder so the shares sum to the equity exactly.
        let weights = total > 0 ? margins : positioned.map { positionValue($0).units }
        let weightSum = weights.reduce(0, +)
        var prices: [(SymbolID, Price)] = []
        var shared: Int128 = 0
        for (i, symbol) in positioned.enumerated() {
            let share = i == positioned.count - 1 ? equityUnits - shared
                : (weightSum > 0 ? FixedDecimal.divideRoundingHalfEven(equityUnits * weights[i], weightSum) : 0)
            shared += share
            prices.append((symbol, bankruptcyPrice(symbol, equityShare: share)))
        }
        let reason = Cancellation(.beforeLiquidation)
        for symbol in symbols.keys {
            append(symbols[venue: symbol].engine.cancelAll(nil, reason: reason, at: time), to: &out)
        }
        // Placements in flight were acknowledged by the venue: they are open orders there, cancelled with the rest.
        var kept: [InFlight] = []
        for entry in inFlight[inFlightHead...] {
            guard case let .submit(clientID, spec) = entry.command.action, let id = entry.venueID else {
                kept.append(entry)
                continue
            }
            append([ExecutionReport(symbol: entry.command.symbol, time: time,
                                    event: .accepted(OrderAccepted(venueID: id, clientID: clientID, spec: spec))),
                    ExecutionReport(symbol: entry.command.symbol, time: time,
                                    event: .cancelled(OrderCancelled(venueID: id, clientID: clientID, cancellation: reason,
                                                                     filledQty: .zero, wasUntriggered: spec.isConditional)))],
                   to: &out)
            if symbols.contains(entry.command.symbol) { symbols[venue: entry.command.symbol].engine.close(id, clientID: clientID) }
        }
        inFlight = kept
        inFlightHead = 0
        for (symbol, price) in prices {
            append(symbols[venue: symbol].takeover(at: price, time: time, ids: &ids), to: &out)
        }
    }

    /// The price at which closing the position loses exactly `equityShare` from its valuation now, rounded in the
    /// account's favour (a long sells at or above it, a short buys at or below), at least one price unit.
    func bankruptcyPrice(_ symbol: SymbolID, equityShare: Int128) -> Price {
        let ledger = symbols[venue: symbol].ledger
        let long = ledger.size > 0
        // Closing value that leaves the share lost: a long sells for value − share, a short buys back for value + share.
        let target = long ? positionValue(symbol).units - equityShare : positionValue(symbol).units + equityShare
        // price units = value units × 10^(D − 8) / qty.
        let shift = Price.digits + Quantity.digits - USDT.digits
        let qty = Int128(abs(ledger.size))
        guard let numerator = Self.timesPowerOfTen(target, max(shift, 0)),
              let denominator = Self.timesPowerOfTen(qty, max(-shift, 0)) else {
            // Only scales far beyond any Bybit symbol's overflow 128 bits here: close at the valuation price.
            return valuationPrice(symbol) ?? ledger.averageEntryPrice ?? Price(units: 1)
        }
        let units = Self.divide(numerator, denominator, roundingUp: long)
        return Price(units: Int64(clamping: max(units, 1)))
    }

    static func timesPowerOfTen(_ value: Int128, _ exponent: Int) -> Int128? {
        var result = value
        for _ in 0..<max(exponent, 0) {
            let (m, overflow) = result.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            result = m
        }
        return result
    }

    /// `a / b` (b > 0) rounded toward +∞ or −∞.
    static func divide(_ a: Int128, _ b: Int128, roundingUp: Bool) -> Int128 {
        let (q, r) = a.quotientAndRemainder(dividingBy: b)
        if r == 0 { return q }
        if roundingUp { return r > 0 ? q + 1 : q }
        return r < 0 ? q - 1 : q
    }
}
