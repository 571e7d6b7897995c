public import CascadeCore
import MarketData

/// Margin settings of a ``SimPortfolio``.
public struct SimMarginSettings: Sendable {
    /// Leverage of a symbol until ``SimPortfolio/setLeverage(_:instrument:)`` changes it (Bybit's default: 10).
    public var defaultLeverage = Rate(units: 100_000_000_000)
    /// Maintenance margin rate of every position (0.005: Bybit's lowest BTCUSDT risk tier). A setting, not
    /// instrument data: Bybit takes it from per-symbol risk-limit tiers, which our recordings lack.
    public var maintenanceMarginRate = Rate(units: 50_000_000)
    /// Builds each symbol's exchange settings (latency, fees, queue model) when its exchange is created.
    public var configuration: @Sendable (Instrument) -> SimConfiguration = { SimConfiguration(instrument: $0) }

    public init() {}
}

/// A Bybit unified account trading USDT perpetuals in cross margin, one-way mode: one USDT wallet shared by one
/// ``SimulatedExchange`` per symbol, with Bybit's pre-trade margin check and liquidation.
///
/// Each symbol's exchange is created on its first book update, with that update's depth; book updates of other
/// depths of the symbol are ignored (one book drives matching), and so is anything before the first book.
///
/// Margin rules (every amount exact to 1e-8 USDT, each product or quotient rounded half to even; bankruptcy and
/// liquidation prices rounded as stated):
/// - **Valuation.** A position is valued at the mark price, else the last traded price, else (no price yet) at
///   its entry value. Unrealised PnL = signed size × that price − signed entry value.
/// - **Order cost** (Bybit's formula) of an order of value `V = price × qty` at leverage `L` and taker rate `t`:
///   `V / L + V × t + V × (1 ∓ 1/L) × t` — initial margin, fee to open, fee to close at the bankruptcy price
///   (− for a buy, + for a sell). A limit order is valued at its price; a market order at the best opposite
///   price (else the valuation price); a conditional order at its limit price, else its trigger price.
/// - **Order IM** of a symbol, in one-way mode: per side, the orders that would close the position (the side
///   opposite it) use up the position size first — reduce-only orders, then market orders, then by price
///   priority — and cost nothing; every other order quantity costs its order cost. Reduce-only orders never
///   cost anything. Only one side can end up filled into a position, so the symbol's order IM is the larger of
///   the two sides. Resting orders and placements still in flight count; untriggered conditional orders do not
///   (Bybit reserves margin for them only when they trigger).
/// - **Position IM** = |entry value| / leverage; **maintenance margin** = position value × MMR.
/// - **Available balance** = wallet + unrealised PnL − Σ position IM − Σ order IM (negative when losses ate
///   into the margin).
/// - **Pre-trade check** (synchronous, like Bybit answering the create call): a placement, or an amend of a
///   resting order, is refused with 110007 when the order IM it adds exceeds the available balance. An order
///   that adds nothing (it only reduces, or the other side dominates) always passes. A conditional order is
///   checked when placed, not again when it triggers.
/// - **Liquidation** after every event: when equity ≤ total maintenance margin and there is a position, every
///   open order of every symbol is cancelled (`CancelAllBeforeLiq`) and every position is closed at its
///   bankruptcy price by a fee-free `BustTrade`. The equity is shared across positions in proportion to their
///   maintenance margin, and a position's bankruptcy price is where it would have lost its share: closing all
///   there leaves the wallet at zero, rounded in the account's favour (never negative). Bybit's insurance fund
///   absorbs whatever the market takes past bankruptcy, so the account loses no more.
public struct SimPortfolio: Sendable {
    public let deposit: USDT
    public let settings: SimMarginSettings
    public private(set) var exchanges: [SymbolID: SimulatedExchange] = [:]
    private var leverages: [SymbolID: Rate] = [:]

    /// Leverage bounds when the instrument's rules do not publish a maximum (Bybit's BTCUSDT range).
    public static let fallbackMaxLeverage = Rate(units: 1_000_000_000_000)
    static let one = Int128(10_000_000_000)   // 1 at Rate's scale

    public init(deposit: USDT, settings: SimMarginSettings = SimMarginSettings()) {
        self.deposit = deposit
        self.settings = settings
    }

    // MARK: - Market and commands

    /// Feeds one replayed event of `instrument` to its exchange, then liquidates if the account fell to its
    /// maintenance margin.
    public mutating func on(_ event: MarketEvent, instrument: Instrument) -> [SimSymbolReport] {
        let id = instrument.id
        if exchanges[id] == nil {
            guard case let .book(update) = event else { return [] }
            exchanges[id] = SimulatedExchange(configuration: settings.configuration(instrument), depth: update.depth, wallet: .zero)
        }
        if case let .book(update) = event, update.depth != exchanges[id]!.engine.book.depth { return [] }
        var reports = exchanges[id]!.on(event).map { SimSymbolReport(symbol: id, report: $0) }
        reports += liquidateIfNeeded(at: exchanges[id]!.engine.exchangeTime)
        return reports
    }

    /// Processes every symbol's commands that have arrived by `time` (end of data, lockstep), then checks
    /// liquidation.
    public mutating func advance(to time: ExchangeTime, settlingFunding: Bool = true) -> [SimSymbolReport] {
        var reports: [SimSymbolReport] = []
        for id in exchanges.keys.sorted() {
            reports += exchanges[id]!.advance(to: time, settlingFunding: settlingFunding).map { SimSymbolReport(symbol: id, report: $0) }
        }
        return reports + liquidateIfNeeded(at: time)
    }

    /// Sends a command for `instrument` after the margin check; returns its arrival time at the exchange.
    ///
    /// Refused at once with ``SimRejectReason/noMarketPrice`` before the symbol's first book (or for a market
    /// order nothing can price), and with ``SimRejectReason/insufficientAvailableBalance`` (110007) when the
    /// order IM it adds exceeds the available balance. Everything else is decided by the engine at arrival.
    public mutating func submit(_ command: SimCommand, instrument: Instrument) -> Result<ExchangeTime, SimRejectReason> {
        let id = instrument.id
        guard let exchange = exchanges[id], let lastSeen = exchange.engine.book.lastExchangeTime else {
            return .failure(.noMarketPrice)
        }
        // What Bybit refuses on the call itself (rules, reduce-only, trigger side, …), judged on the state now.
        if let reason = exchange.engine.precheck(command) { return .failure(reason) }
        let added: USDT
        switch addedOrderIM(command, id) {
        case let .success(amount): added = amount
        case let .failure(reason): return .failure(reason)
        }
        if added > .zero && added > availableBalance { return .failure(.insufficientAvailableBalance) }
        return .success(exchanges[id]!.submit(command, lastSeen: lastSeen))
    }

    /// Sets the leverage of `instrument` (both sides: one-way mode).
    ///
    /// 1...`maxLeverage` of the rules (1...100 when unknown), else 10001; the current value is 110043; a change
    /// whose extra initial margin (position and orders, at the new leverage) exceeds the available balance is
    /// 110044 (Bybit's "available margin is insufficient"). Raising leverage only frees margin.
    public mutating func setLeverage(_ leverage: Rate, instrument: Instrument) -> Result<Void, SimRejectReason> {
        let id = instrument.id
        let maximum = instrument.rules?.maxLeverage ?? Self.fallbackMaxLeverage
        guard Int128(leverage.units) >= Self.one, leverage <= maximum else { return .failure(.leverageOutOfRange) }
        guard leverage != self.leverage(id) else { return .failure(.leverageNotModified) }
        if exchanges[id] != nil {
            let extra = positionIM(id, leverage: leverage) + orderIM(id, leverage: leverage) - positionIM(id) - orderIM(id)
            if extra > .zero && extra > availableBalance { return .failure(.leverageInsufficientMargin) }
        }
        leverages[id] = leverage
        return .success(())
    }

    /// The next private-stream delay of `symbol`'s exchange in ms (see ``SimulatedExchange/acknowledgementDelay()``);
    /// nil before its first book.
    public mutating func acknowledgementDelay(for symbol: SymbolID) -> Int64? {
        exchanges[symbol]?.acknowledgementDelay()
    }

    // MARK: - Wallet and position views

    /// The symbol's leverage (the default until set).
    public func leverage(_ symbol: SymbolID) -> Rate { leverages[symbol] ?? settings.defaultLeverage }

    /// Deposit plus every symbol's realised PnL, fees and funding.
    public var walletBalance: USDT { exchanges.values.reduce(deposit) { $0 + $1.account.wallet } }
    public var unrealisedPnL: USDT { sum { unrealisedPnL($0) } }
    /// Wallet balance plus unrealised PnL (Bybit's margin balance).
    public var equity: USDT { walletBalance + unrealisedPnL }
    public var totalPositionIM: USDT { sum { positionIM($0) } }
    public var totalOrderIM: USDT { sum { orderIM($0) } }
    public var totalMaintenanceMargin: USDT { sum { maintenanceMargin($0) } }
    public var availableBalance: USDT { equity - totalPositionIM - totalOrderIM }

    /// The price a position is valued at: mark, else last traded price; nil before either is known.
    public func valuationPrice(_ symbol: SymbolID) -> Price? {
        exchanges[symbol].flatMap { $0.engine.markPrice ?? $0.engine.lastPrice }
    }

    public func unrealisedPnL(_ symbol: SymbolID) -> USDT {
        guard let account = exchanges[symbol]?.account, let price = valuationPrice(symbol) else { return .zero }
        return account.unrealisedPnL(mark: price)
    }

    /// |size| × valuation price (the entry value before any price is known).
    public func positionValue(_ symbol: SymbolID) -> USDT {
        guard let account = exchanges[symbol]?.account, account.size != 0 else { return .zero }
        guard let price = valuationPrice(symbol) else { return USDT(units: abs(account.entryValue.units)) }
        return account.instrument.notional(price: price, qty: Quantity(units: abs(account.size))) ?? .zero
    }

    public func positionIM(_ symbol: SymbolID) -> USDT { positionIM(symbol, leverage: leverage(symbol)) }

    public func orderIM(_ symbol: SymbolID) -> USDT { orderIM(symbol, leverage: leverage(symbol)) }

    public func maintenanceMargin(_ symbol: SymbolID) -> USDT {
        positionValue(symbol).multiplied(by: settings.maintenanceMarginRate) ?? .zero
    }

    /// The mark at which the account's equity would equal its maintenance margin, other symbols' marks held
    /// fixed; nil when flat or when no positive mark gets there. Long: the highest price unit at or below
    /// which it is liquidated; short: the lowest at or above.
    public func estimatedLiquidationPrice(_ symbol: SymbolID) -> Price? {
        guard let account = exchanges[symbol]?.account, account.size != 0 else { return nil }
        let qty = Int128(abs(account.size))
        let entry = abs(account.entryValue.units)
        let otherEquity = (equity - unrealisedPnL(symbol)).units
        let otherMM = (totalMaintenanceMargin - maintenanceMargin(symbol)).units
        let r = Int128(settings.maintenanceMarginRate.units)
        // Long: E_other + q·m − entry = MM_other + q·m·r  →  q·m = (entry − E_other + MM_other) / (1 − r).
        // Short: E_other + entry − q·m = MM_other + q·m·r →  q·m = (E_other + entry − MM_other) / (1 + r).
        // With q·m in USDT units = q·m_units × 10^(8 − D): m_units = N × 10^(D + 2) / (q × (10^10 ∓ r)).
        let long = account.size > 0
        let numerator = long ? entry - otherEquity + otherMM : otherEquity + entry - otherMM
        let digits = Price.digits + Quantity.digits
        let denominator = qty * (long ? Self.one - r : Self.one + r)
        guard denominator > 0, let scaled = Self.timesPowerOfTen(numerator, digits + 2) else { return nil }
        let m = Self.divide(scaled, denominator, roundingUp: !long)
        guard m > 0, let units = Int64(exactly: m) else { return nil }
        return Price(units: units)
    }

    /// Bybit's order cost of `qty` at `price` on `side`: `V/L + V·t + V·(1 ∓ 1/L)·t` with `V = price × qty`
    /// (each of the three terms rounded half to even); nil on overflow.
    public static func orderCost(side: Side, price: Price, qty: Quantity, leverage: Rate, takerFee: Rate,
                                 instrument: Instrument) -> USDT? {
        guard leverage.units > 0, let value = instrument.notional(price: price, qty: qty),
              let openFee = value.multiplied(by: takerFee) else { return nil }
        let l = Int128(leverage.units)
        let initial = FixedDecimal.divideRoundingHalfEven(value.units * one, l)
        let closeFactor = side == .buy ? l - one : l + one
        let close = FixedDecimal.divideRoundingHalfEven(value.units * Int128(takerFee.units) * closeFactor, l * one)
        return USDT(units: initial + close) + openFee
    }

    // MARK: - Margin internals

    private func sum(_ amount: (SymbolID) -> USDT) -> USDT { exchanges.keys.reduce(.zero) { $0 + amount($1) } }

    private func positionIM(_ symbol: SymbolID, leverage: Rate) -> USDT {
        guard let account = exchanges[symbol]?.account, account.size != 0 else { return .zero }
        return USDT(units: FixedDecimal.divideRoundingHalfEven(abs(account.entryValue.units) * Self.one, Int128(leverage.units)))
    }

    /// An order as margin sees it.
    struct MarginOrder {
        var side: Side
        /// nil: a market order.
        var price: Price?
        var qty: Int64
        var reduceOnly: Bool
    }

    /// Resting orders and placements still in flight (untriggered conditionals reserve nothing).
    private func openOrders(_ symbol: SymbolID) -> [MarginOrder] {
        guard let engine = exchanges[symbol]?.engine else { return [] }
        var orders = engine.resting.keys.sorted().map { id in
            let o = engine.resting[id]!
            return MarginOrder(side: o.side, price: o.price, qty: o.remaining, reduceOnly: o.reduceOnly)
        }
        for entry in engine.inbound {
            if case let .place(_, side, price, qty, _, reduceOnly, _) = entry.command {
                orders.append(MarginOrder(side: side, price: price, qty: qty.units, reduceOnly: reduceOnly))
            }
        }
        return orders
    }

    private func orderIM(_ symbol: SymbolID, leverage: Rate) -> USDT {
        orderIM(symbol, openOrders(symbol), leverage: leverage)
    }

    /// The larger side's cost, after netting the side opposite the position against it (see the type's rules).
    private func orderIM(_ symbol: SymbolID, _ orders: [MarginOrder], leverage: Rate) -> USDT {
        guard let exchange = exchanges[symbol] else { return .zero }
        let position = exchange.account.size
        let taker = exchange.engine.configuration.fees.taker
        var costs: [USDT] = []
        for side in [Side.buy, .sell] {
            let closes = side == .buy ? position < 0 : position > 0
            var netting = closes ? abs(position) : 0
            // Whatever fills first closes first: reduce-only, then market orders, then the best price.
            let ranked = orders.enumerated().filter { $0.element.side == side }.sorted { a, b in
                let x = a.element, y = b.element
                if x.reduceOnly != y.reduceOnly { return x.reduceOnly }
                if (x.price == nil) != (y.price == nil) { return x.price == nil }
                if let p = x.price, let q = y.price, p != q { return side == .buy ? p > q : p < q }
                return a.offset < b.offset
            }
            var cost = USDT.zero
            for (_, order) in ranked {
                let netted = min(netting, order.qty)
                netting -= netted
                let charged = order.reduceOnly ? 0 : order.qty - netted
                guard charged > 0, let price = order.price ?? marketPrice(symbol, side) else { continue }
                cost = cost + (Self.orderCost(side: side, price: price, qty: Quantity(units: charged), leverage: leverage,
                                              takerFee: taker, instrument: exchange.account.instrument) ?? .zero)
            }
            costs.append(cost)
        }
        return max(costs[0], costs[1])
    }

    /// What a market order is valued at: the best opposite price, else the valuation price.
    private func marketPrice(_ symbol: SymbolID, _ side: Side) -> Price? {
        guard let book = exchanges[symbol]?.engine.book else { return nil }
        return (side == .buy ? book.bestAsk : book.bestBid)?.price ?? valuationPrice(symbol)
    }

    /// The order IM `command` would add to its symbol (zero for cancels, trading-stops and reducing orders).
    private func addedOrderIM(_ command: SimCommand, _ symbol: SymbolID) -> Result<USDT, SimRejectReason> {
        let leverage = leverage(symbol)
        let current = openOrders(symbol)
        var next = current
        switch command {
        case let .place(_, side, price, qty, _, reduceOnly, _):
            if reduceOnly { return .success(.zero) }
            if price == nil && marketPrice(symbol, side) == nil { return .failure(.noMarketPrice) }
            next.append(MarginOrder(side: side, price: price, qty: qty.units, reduceOnly: false))
        case let .placeConditional(_, side, price, qty, _, trigger, _, _, closeOnTrigger):
            // Checked as if it were placed now, at its limit or trigger price; it reserves nothing until it fires.
            if closeOnTrigger { return .success(.zero) }
            next.append(MarginOrder(side: side, price: price ?? trigger, qty: qty.units, reduceOnly: false))
        case let .amend(id, qty, price):
            guard let engine = exchanges[symbol]?.engine, let order = engine.resting[id],
                  let index = engine.resting.keys.sorted().firstIndex(of: id) else { return .success(.zero) }
            next[index].price = price ?? order.price
            if let qty { next[index].qty = max(0, qty.units - order.filled) }
        case .tradingStop, .cancel:
            return .success(.zero)
        }
        let added = orderIM(symbol, next, leverage: leverage) - orderIM(symbol, current, leverage: leverage)
        return .success(max(added, .zero))
    }

    // MARK: - Liquidation

    private mutating func liquidateIfNeeded(at time: ExchangeTime) -> [SimSymbolReport] {
        // One pass without allocating (this runs after every event): equity and maintenance margin.
        var equityUnits = deposit.units
        var totalMargin: Int128 = 0
        var anyPosition = false
        for (id, exchange) in exchanges {
            equityUnits += exchange.account.wallet.units
            guard exchange.account.size != 0 else { continue }
            anyPosition = true
            equityUnits += unrealisedPnL(id).units
            totalMargin += maintenanceMargin(id).units
        }
        guard anyPosition, equityUnits <= totalMargin else { return [] }
        let positioned = exchanges.keys.sorted().filter { exchanges[$0]!.account.size != 0 }
        let equity = equityUnits
        let margins = positioned.map { maintenanceMargin($0).units }
        let total = margins.reduce(0, +)
        // Shares of the equity in proportion to maintenance margin (position value if the rate is zero); the last
        // position takes the rounding remainder so the shares sum to the equity exactly.
        let weights = total > 0 ? margins : positioned.map { positionValue($0).units }
        let weightSum = weights.reduce(0, +)
        var prices: [(SymbolID, Price)] = []
        var shared: Int128 = 0
        for (i, symbol) in positioned.enumerated() {
            let share = i == positioned.count - 1 ? equity - shared
                : (weightSum > 0 ? FixedDecimal.divideRoundingHalfEven(equity * weights[i], weightSum) : 0)
            shared += share
            prices.append((symbol, bankruptcyPrice(symbol, equityShare: share)))
        }
        var reports: [SimSymbolReport] = []
        for symbol in exchanges.keys.sorted() {
            reports += exchanges[symbol]!.cancelAll(.cancelAllBeforeLiquidation, at: time).map { SimSymbolReport(symbol: symbol, report: $0) }
        }
        for (symbol, price) in prices {
            reports += exchanges[symbol]!.liquidate(atBankruptcyPrice: price, at: time).map { SimSymbolReport(symbol: symbol, report: $0) }
        }
        return reports
    }

    /// The price at which closing the position loses exactly `equityShare` from its valuation now, rounded in the
    /// account's favour (a long sells at or above it, a short buys at or below), at least one price unit.
    private func bankruptcyPrice(_ symbol: SymbolID, equityShare: Int128) -> Price {
        let account = exchanges[symbol]!.account
        let long = account.size > 0
        // Closing value that leaves the share lost: a long sells for value − share, a short buys back for value + share.
        let target = long ? positionValue(symbol).units - equityShare : positionValue(symbol).units + equityShare
        // price units = value units × 10^(D − 8) / qty.
        let shift = Price.digits + Quantity.digits - USDT.digits
        let qty = Int128(abs(account.size))
        guard let numerator = Self.timesPowerOfTen(target, max(shift, 0)),
              let denominator = Self.timesPowerOfTen(qty, max(-shift, 0)) else {
            // Only scales far beyond any Bybit symbol's overflow 128 bits here: close at the valuation price.
            return valuationPrice(symbol) ?? account.averageEntryPrice ?? Price(units: 1)
        }
        let units = Self.divide(numerator, denominator, roundingUp: long)
        return Price(units: Int64(clamping: max(units, 1)))
    }

    static func timesPowerOfTen(_ value: Int128, _ exponent: Int) -> Int128? {
        var result = value
        for _ in 0..<exponent {
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
