import BybitV5
import CascadeCore
import MarketData
import Simulation

/// The private topics of the simulator's `/v5/private` stream.
enum SimPrivateTopic: String, CaseIterable, Sendable {
    case order, execution, position, wallet
}

/// One account of the simulator: a cross-margin ``SimPortfolio`` (one `SimulatedExchange` per symbol, a USDT
/// deposit, leverage, margin checks, liquidation), Bybit-shaped order and execution records, and the account's
/// private-stream messages waiting for their acknowledgement time.
///
/// Orders get their Bybit `orderId` when the REST call is answered (as on Bybit), while the matching engine
/// processes them when they arrive (exchange time of the latest replayed event + entry latency). Every report
/// becomes private-stream messages stamped `report time + acknowledgement latency`; the replay releases them
/// once its exchange clock reaches that time, so a client never hears of a fill before it could have.
struct SimTrading {
    /// One order as `/v5/order/realtime` and the `order` topic show it.
    struct OrderRecord {
        var orderId: String
        var orderLinkId: String
        var symbol: String
        var side: Side
        var orderType: String
        var price: Price?
        var qty: Quantity
        var timeInForce: SimTimeInForce
        var status: String
        var filled: Int64 = 0
        var execValue = USDT.zero
        var execFee = USDT.zero
        var engineID: SimOrderID?
        var cancelType = "UNKNOWN"
        var rejectReason = "EC_NoError"
        var createdTime: Int64
        var updatedTime: Int64
        var cancelRequested = false
        var reduceOnly = false
        var closeOnTrigger = false
        /// Conditional orders: trigger price, direction (1 rise, 2 fall), source; `stopOrderType` for TP/SL legs.
        var triggerPrice: Price?
        var triggerDirection = 0
        var triggerBy = "UNKNOWN"
        var stopOrderType = "UNKNOWN"
        /// `CreateByUser`, or who else created it (trading-stop legs, the liquidation engine).
        var createType = "CreateByUser"
        /// Still working: in flight to the exchange, resting, partly filled, or waiting for its trigger.
        var isOpen: Bool { ["Created", "New", "PartiallyFilled", "Untriggered", "Triggered"].contains(status) }
        /// An amend sent while the order was still on its way to the exchange: applied on acceptance.
        var pendingAmend: (qty: Quantity?, price: Price?)?
    }
    struct ExecutionRecord {
        var execId: String
        var orderId: String
        var orderLinkId: String
        var symbol: String
        var side: Side
        var execType: String
        var price: Price
        var qty: Quantity
        var value: USDT
        var fee: USDT
        var feeRate: Rate
        var isMaker: Bool
        var time: Int64
        var orderType: String
        var createType = "CreateByUser"
        var orderPrice: Price?
        var orderQty: Quantity
        var leaves: Quantity
        var markPrice: Price?
        var seq: Int64
    }
    /// A private-stream item due at an exchange time (ms, original clock).
    struct Push {
        var due: Int64
        var topic: SimPrivateTopic
        var item: String
    }

    let name: String
    var portfolio: SimPortfolio
    var deposit: USDT { portfolio.deposit }
    var exchanges: [SymbolID: SimulatedExchange] { portfolio.exchanges }
    var orders: [String: OrderRecord] = [:]
    var orderIdOfEngine: [SymbolID: [SimOrderID: String]] = [:]
    /// `orderLinkId` → `orderId` (links are unique per account: 110072).
    var orderIdOfLink: [String: String] = [:]
    var orderSequence = 0
    var executions: [ExecutionRecord] = []
    var executionSequence = 0
    /// Bybit's `seq`: one counter per account, advanced by every fill, carried by position messages.
    var seq: Int64 = 0
    /// Private-stream items not yet released, in due order (stable for equal times).
    var pending: [Push] = []
    /// The latest trading-stop leg sent per symbol and kind ("tp"/"sl"): its record takes trigger and size from it.
    struct TradingStopLeg {
        var price: Price?
        var triggerBy: SimTriggerPrice
        var qty: Quantity?
    }
    var tradingStops: [SymbolID: [String: TradingStopLeg]] = [:]
    /// Added to every exchange time this account reports (timestamps rebased to the replay start).
    var timeOffset: Int64 = 0
    /// Exchange time (ms) of the latest replayed event.
    var clock: Int64 = 0

    init(name: String, deposit: USDT, settings: SimMarginSettings = SimMarginSettings()) {
        self.name = name
        portfolio = SimPortfolio(deposit: deposit, settings: settings)
    }

    /// Feeds one replayed market event of `instrument` (the portfolio creates the symbol's exchange on its first
    /// book and liquidates when equity falls to maintenance margin).
    mutating func on(_ event: MarketEvent, instrument: Instrument, at time: ExchangeTime) {
        clock = max(clock, time.milliseconds)
        record(portfolio.on(event, instrument: instrument))
    }

    /// Processes every command that has arrived by `time` on every symbol (lockstep advance, end of data).
    mutating func advance(to time: ExchangeTime, settlingFunding: Bool = true) {
        clock = max(clock, time.milliseconds)
        record(portfolio.advance(to: time, settlingFunding: settlingFunding))
    }

    /// Reports grouped by symbol, in order, each group recorded with its instrument.
    private mutating func record(_ reports: [SimSymbolReport]) {
        var start = 0
        while start < reports.count {
            let symbol = reports[start].symbol
            var end = start
            while end < reports.count && reports[end].symbol == symbol { end += 1 }
            if let instrument = portfolio.exchanges[symbol]?.account.instrument {
                record(reports[start..<end].map(\.report), symbol: instrument)
            }
            start = end
        }
    }

    /// Removes and returns the private items due by `time` (ms, original clock).
    mutating func takeDue(upTo time: Int64) -> [Push] {
        guard let end = pending.firstIndex(where: { $0.due > time }) else {
            defer { pending = [] }
            return pending
        }
        defer { pending.removeFirst(end) }
        return Array(pending[..<end])
    }

    /// What a create needs: the order and, for a conditional order, its trigger.
    struct NewOrder {
        var side: Side
        var price: Price?
        var qty: Quantity
        var timeInForce: SimTimeInForce
        var orderLinkId: String
        var reduceOnly = false
        var positionIndex = 0
        var trigger: (price: Price, direction: SimTriggerDirection, by: SimTriggerPrice)?
        var closeOnTrigger = false
    }

    mutating func create(symbol: Instrument, _ order: NewOrder) -> Result<OrderRecord, SimRejectReason> {
        let orderId = "sim-\(orderSequence + 1)"
        let now = clock + timeOffset
        var record = OrderRecord(orderId: orderId, orderLinkId: order.orderLinkId, symbol: symbol.symbol, side: order.side,
                                 orderType: order.price == nil ? "Market" : "Limit", price: order.price, qty: order.qty,
                                 timeInForce: order.timeInForce, status: "Created", createdTime: now, updatedTime: now)
        record.reduceOnly = order.reduceOnly || order.closeOnTrigger
        record.closeOnTrigger = order.closeOnTrigger
        let command: SimCommand
        if let trigger = order.trigger {
            record.triggerPrice = trigger.price
            record.triggerDirection = trigger.direction.rawValue
            record.triggerBy = trigger.by.rawValue
            record.stopOrderType = "Stop"
            command = .placeConditional(clientID: orderId, side: order.side, price: order.price, qty: order.qty,
                                        timeInForce: order.timeInForce, trigger: trigger.price, direction: trigger.direction,
                                        triggerBy: trigger.by, closeOnTrigger: order.closeOnTrigger || order.reduceOnly)
        } else {
            command = .place(clientID: orderId, side: order.side, price: order.price, qty: order.qty,
                             timeInForce: order.timeInForce, reduceOnly: order.reduceOnly || order.closeOnTrigger,
                             positionIndex: order.positionIndex)
        }
        // The margin check answers synchronously (110007), as Bybit's create does.
        if case let .failure(reason) = portfolio.submit(command, instrument: symbol) { return .failure(reason) }
        orderSequence += 1
        orders[orderId] = record
        if !order.orderLinkId.isEmpty { orderIdOfLink[order.orderLinkId] = orderId }
        return .success(record)
    }

    /// Position take-profit / stop-loss, one leg per command (each with its own trigger source); nil leaves a leg
    /// as it is, a price of 0 removes it. The legs become orders (`TakeProfit` / `StopLoss`) when accepted.
    mutating func tradingStop(symbol: Instrument, takeProfit: Price?, takeProfitBy: SimTriggerPrice, stopLoss: Price?,
                              stopLossBy: SimTriggerPrice, qty: Quantity?) -> Result<Void, SimRejectReason> {
        guard let exchange = exchanges[symbol.id] else { return .failure(.noMarketPrice) }
        let legs = [("tp", takeProfit, takeProfitBy), ("sl", stopLoss, stopLossBy)].compactMap { leg, price, by in
            price.map { (leg, by, SimCommand.tradingStop(takeProfit: leg == "tp" ? $0 : nil, stopLoss: leg == "sl" ? $0 : nil,
                                                         triggerBy: by, qty: qty)) }
        }
        // Check both legs before sending either, so a refusal leaves everything as it was.
        if let reason = legs.lazy.compactMap({ exchange.engine.precheck($0.2) }).first { return .failure(reason) }
        for (leg, by, command) in legs {
            if case let .failure(reason) = portfolio.submit(command, instrument: symbol) { return .failure(reason) }
            let price = leg == "tp" ? takeProfit : stopLoss
            tradingStops[symbol.id, default: [:]][leg] = TradingStopLeg(price: price, triggerBy: by, qty: qty)
        }
        return .success(())
    }

    /// Cancels by Bybit id; an order still in flight is cancelled as soon as the exchange accepts it.
    mutating func cancel(orderId: String, symbol: Instrument) -> Bool {
        guard var record = orders[orderId], record.isOpen, record.symbol == symbol.symbol else { return false }
        if let engineID = record.engineID {
            guard case .success = portfolio.submit(.cancel(engineID), instrument: symbol) else { return false }
        } else {
            record.cancelRequested = true
            orders[orderId] = record
        }
        return true
    }

    /// Amends a resting order (quantity down keeps priority; price change or quantity up re-queues). What Bybit
    /// refuses on the call is refused at once (unknown order, quantity not above the filled part, rules, 110007);
    /// the record changes only when the exchange has applied the amend.
    mutating func amend(orderId: String, symbol: Instrument, qty: Quantity?, price: Price?) -> Result<Void, SimRejectReason> {
        guard let record = orders[orderId], record.isOpen, record.symbol == symbol.symbol else { return .failure(.unknownOrder) }
        if record.triggerPrice != nil || record.stopOrderType != "UNKNOWN" { return .failure(.conditionalAmendNotSimulated) }
        if let engineID = record.engineID {
            if case let .failure(reason) = portfolio.submit(.amend(engineID, qty: qty, price: price), instrument: symbol) {
                return .failure(reason)
            }
        } else {
            if let qty, qty.units <= 0 { return .failure(.nonPositiveQuantity) }
            orders[orderId]!.pendingAmend = (qty, price)
        }
        return .success(())
    }

    /// Queues a position message for `symbol` (e.g. after a leverage change), due now.
    mutating func positionChanged(_ symbol: SymbolID) {
        guard exchanges[symbol] != nil else { return }
        pending.append(Push(due: clock, topic: .position, item: positionJSON(symbol, stream: true)))
        pending.sort { $0.due < $1.due }
    }

    func orderId(linkId: String) -> String? { orderIdOfLink[linkId] }

    // MARK: - Reports → records and private messages

    private mutating func record(_ reports: [SimReport], symbol: Instrument) {
        guard !reports.isEmpty else { return }
        let firstNew = pending.count
        var changedOrders: [String] = []
        var positionChanged = false
        var walletChanged = false
        // The batch is stamped with its latest report time (not the clock of the event that carried it in).
        var latest = Int64.min
        func touch(_ id: String) { if !changedOrders.contains(id) { changedOrders.append(id) } }
        for report in reports {
            switch report {
            case let .accepted(engineID, clientID, at):
                latest = max(latest, at.milliseconds)
                var id = clientID
                if orders[clientID] == nil {
                    // A trading-stop leg: a conditional order of its own (the engine reports the legs it replaces).
                    guard clientID == "tp" || clientID == "sl" else { continue }
                    let isTakeProfit = clientID == "tp"
                    let request = tradingStops[symbol.id]?[clientID]
                    orderSequence += 1
                    id = "sim-\(orderSequence)"
                    let size = exchanges[symbol.id]!.account.size
                    let trigger = request?.price
                    var r = OrderRecord(orderId: id, orderLinkId: "", symbol: symbol.symbol, side: size > 0 ? .sell : .buy,
                                        orderType: "Market", price: nil, qty: request?.qty ?? Quantity(units: abs(size)),
                                        timeInForce: .immediateOrCancel, status: "Untriggered",
                                        createdTime: at.milliseconds + timeOffset, updatedTime: at.milliseconds + timeOffset)
                    r.stopOrderType = (request?.qty != nil ? "Partial" : "") + (isTakeProfit ? "TakeProfit" : "StopLoss")
                    r.createType = isTakeProfit ? "CreateByTakeProfit" : "CreateByStopLoss"
                    r.reduceOnly = true
                    r.closeOnTrigger = true
                    r.triggerPrice = trigger
                    r.triggerBy = request?.triggerBy.rawValue ?? "LastPrice"
                    // Long: take profit on a rise, stop on a fall; short: mirrored.
                    r.triggerDirection = (size > 0) == isTakeProfit ? 1 : 2
                    r.engineID = engineID
                    orders[id] = r
                    orderIdOfEngine[symbol.id, default: [:]][engineID] = id
                    touch(id)
                    positionChanged = true
                    continue
                }
                var r = orders[id]!
                r.engineID = engineID
                r.status = r.triggerPrice != nil && r.status == "Created" ? "Untriggered" : "New"
                r.updatedTime = at.milliseconds + timeOffset
                orders[id] = r
                orderIdOfEngine[symbol.id, default: [:]][engineID] = id
                touch(id)
                positionChanged = true
                if let amend = r.pendingAmend {
                    _ = portfolio.submit(.amend(engineID, qty: amend.qty, price: amend.price), instrument: symbol)
                    orders[id]!.pendingAmend = nil
                }
                if r.cancelRequested { _ = portfolio.submit(.cancel(engineID), instrument: symbol) }
            case let .rejected(clientID, reason, at):
                latest = max(latest, at.milliseconds)
                var target: String? = orders[clientID] != nil ? clientID : nil
                if target == nil, clientID == "tp" || clientID == "sl" {
                    // A leg refused when it fired (e.g. nothing to sell into): the triggered leg of that kind.
                    let kind = clientID == "tp" ? "TakeProfit" : "StopLoss"
                    target = orders.values.filter { $0.symbol == symbol.symbol && $0.stopOrderType.hasSuffix(kind) && $0.status == "New" }
                        .max { $0.updatedTime < $1.updatedTime }?.orderId
                }
                guard let id = target else { continue }
                orders[id]!.status = "Rejected"
                orders[id]!.rejectReason = reason.rawValue
                orders[id]!.updatedTime = at.milliseconds + timeOffset
                touch(id)
            case let .filled(fill):
                latest = max(latest, fill.exchangeTime.milliseconds)
                if fill.isLiquidation, orderIdOfEngine[symbol.id]?[fill.orderID] == nil {
                    // The liquidation engine's takeover is an order of its own (Bybit: createType CreateByLiq).
                    orderSequence += 1
                    let at = fill.exchangeTime.milliseconds + timeOffset
                    var r = OrderRecord(orderId: "sim-\(orderSequence)", orderLinkId: "", symbol: symbol.symbol, side: fill.side,
                                        orderType: "Market", price: fill.price, qty: fill.qty, timeInForce: .immediateOrCancel,
                                        status: "New", createdTime: at, updatedTime: at)
                    r.createType = "CreateByLiq"
                    r.engineID = fill.orderID
                    orders[r.orderId] = r
                    orderIdOfEngine[symbol.id, default: [:]][fill.orderID] = r.orderId
                }
                guard let id = orderIdOfEngine[symbol.id]?[fill.orderID] ?? (orders[fill.clientID] != nil ? fill.clientID : nil),
                      var r = orders[id] else { continue }
                r.filled += fill.qty.units
                r.execValue = r.execValue + fill.value
                r.execFee = r.execFee + fill.fee
                r.status = r.filled >= r.qty.units ? "Filled" : "PartiallyFilled"
                r.updatedTime = fill.exchangeTime.milliseconds + timeOffset
                orders[id] = r
                executionSequence += 1
                seq += 1
                let fees = exchanges[symbol.id]!.engine.configuration.fees
                let e = ExecutionRecord(execId: "exec-\(executionSequence)", orderId: r.orderId, orderLinkId: r.orderLinkId,
                                        symbol: r.symbol, side: fill.side, execType: fill.execType.rawValue, price: fill.price, qty: fill.qty,
                                        value: fill.value, fee: fill.fee, feeRate: fill.isMaker ? fees.maker : fees.taker,
                                        isMaker: fill.isMaker, time: fill.exchangeTime.milliseconds + timeOffset,
                                        orderType: r.orderType, createType: r.createType, orderPrice: r.price, orderQty: r.qty,
                                        leaves: Quantity(units: max(0, r.qty.units - r.filled)),
                                        markPrice: exchanges[symbol.id]!.engine.markPrice, seq: seq)
                executions.append(e)
                pending.append(Push(due: fill.exchangeTime.milliseconds, topic: .execution, item: executionJSON(e, symbol)))
                touch(id)
                positionChanged = true
                walletChanged = true
            case let .cancelled(engineID, reason, _, at):
                latest = max(latest, at.milliseconds)
                guard let id = orderIdOfEngine[symbol.id]?[engineID], var r = orders[id] else { continue }
                // Derivatives: a cancel racing a fill stays `Cancelled` with cumExecQty > 0; a conditional order
                // that never fired ends `Deactivated`.
                r.status = r.status == "Untriggered" ? "Deactivated" : "Cancelled"
                r.cancelType = switch reason {
                case .byUser: "CancelByUser"
                case .reduceOnly: "CancelByReduceOnly"
                case .cancelAllBeforeLiquidation: "CancelAllBeforeLiq"
                case .tradingStopCleared: "CancelByTpSlTsClear"
                default: "UNKNOWN"
                }
                if reason == .postOnlyWouldTakeLiquidity { r.rejectReason = reason.rawValue }
                r.updatedTime = at.milliseconds + timeOffset
                orders[id] = r
                touch(id)
                positionChanged = true
            case let .amended(engineID, _, at):
                latest = max(latest, at.milliseconds)
                guard let id = orderIdOfEngine[symbol.id]?[engineID] else { continue }
                // The record takes the amend only now that the exchange applied it.
                if let o = exchanges[symbol.id]?.engine.openOrders.first(where: { $0.id == engineID }) {
                    orders[id]!.price = o.price
                    orders[id]!.qty = Quantity(units: orders[id]!.filled + o.remaining.units)
                }
                orders[id]!.updatedTime = at.milliseconds + timeOffset
                touch(id)
                positionChanged = true
            case let .triggered(engineID, _, at):
                latest = max(latest, at.milliseconds)
                guard let id = orderIdOfEngine[symbol.id]?[engineID] else { continue }
                orders[id]!.status = "Triggered"
                orders[id]!.updatedTime = at.milliseconds + timeOffset
                pending.append(Push(due: at.milliseconds, topic: .order, item: orderJSON(orders[id]!, symbol)))
                // It is placed at once: from here on it is a normal order (New, then filled or resting).
                orders[id]!.status = "New"
                touch(id)
                positionChanged = true
            case let .reducedToPosition(engineID, remaining, at):
                latest = max(latest, at.milliseconds)
                guard let id = orderIdOfEngine[symbol.id]?[engineID] else { continue }
                orders[id]!.qty = Quantity(units: orders[id]!.filled + remaining.units)
                orders[id]!.updatedTime = at.milliseconds + timeOffset
                touch(id)
            case let .funding(paid, rate, mark, at):
                latest = max(latest, at.milliseconds)
                executionSequence += 1
                let account = exchanges[symbol.id]!.account
                let size = Quantity(units: abs(account.size))
                let e = ExecutionRecord(execId: "funding-\(executionSequence)", orderId: "", orderLinkId: "", symbol: symbol.symbol,
                                        side: account.size > 0 ? .buy : .sell, execType: "Funding", price: mark, qty: size,
                                        value: symbol.notional(price: mark, qty: size) ?? .zero, fee: paid, feeRate: rate,
                                        isMaker: false, time: at.milliseconds + timeOffset, orderType: "UNKNOWN", orderPrice: nil,
                                        orderQty: .zero, leaves: .zero, markPrice: mark, seq: seq)
                executions.append(e)
                pending.append(Push(due: at.milliseconds, topic: .execution, item: executionJSON(e, symbol)))
                walletChanged = true
                positionChanged = true
            case let .liquidated(_, _, _, at):
                latest = max(latest, at.milliseconds)
                positionChanged = true
                walletChanged = true
            default:
                break
            }
        }
        if latest == .min { latest = clock }
        for id in changedOrders { pending.append(Push(due: latest, topic: .order, item: orderJSON(orders[id]!, symbol))) }
        if positionChanged { pending.append(Push(due: latest, topic: .position, item: positionJSON(symbol.id, stream: true))) }
        if walletChanged { pending.append(Push(due: latest, topic: .wallet, item: walletJSON())) }
        // Each batch reaches the client one acknowledgement delay after it happened; keep the queue in due order.
        let delay = portfolio.acknowledgementDelay(for: symbol.id) ?? 0
        for index in firstNew..<pending.count { pending[index].due += delay }
        pending.sort { $0.due < $1.due }
    }
}
