import BybitV5
import CascadeCore
import MarketData
import Simulation

/// The trading half of the simulator: one `SimulatedExchange` per symbol, one account (a USDT deposit plus
/// each symbol's realised PnL, fees and funding), and Bybit-shaped order and execution records.
///
/// Orders get their Bybit `orderId` when the REST call is answered (as on Bybit), while the matching engine
/// processes them when they arrive (exchange time of the latest replayed event + latency).
struct SimTrading {
    /// One order as `/v5/order/realtime` lists it.
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
        var engineID: SimOrderID?
        var cancelType = "UNKNOWN"
        var rejectReason = "EC_NoError"
        var createdTime: Int64
        var updatedTime: Int64
        var cancelRequested = false
        /// Still working: in flight to the exchange, resting, or partly filled.
        var isOpen: Bool { ["Created", "New", "PartiallyFilled"].contains(status) }
        /// An amend sent while the order was still on its way to the exchange: applied on acceptance.
        var pendingAmend: (qty: Quantity?, price: Price?)?
    }
    struct ExecutionRecord {
        var execId: String
        var orderId: String
        var orderLinkId: String
        var symbol: String
        var fill: SimFill
    }

    let deposit: USDT
    var exchanges: [SymbolID: SimulatedExchange] = [:]
    var orders: [String: OrderRecord] = [:]
    var orderIdOfEngine: [SymbolID: [SimOrderID: String]] = [:]
    var orderSequence = 0
    var executions: [ExecutionRecord] = []
    var executionSequence = 0

    init(deposit: USDT) { self.deposit = deposit }

    /// Feeds one replayed market event of `instrument`; creates that symbol's exchange on its first book.
    mutating func on(_ event: MarketEvent, instrument: Instrument) {
        if exchanges[instrument.id] == nil {
            guard case let .book(update) = event else { return }
            exchanges[instrument.id] = SimulatedExchange(configuration: SimConfiguration(instrument: instrument),
                                                         depth: update.depth, wallet: .zero)
        }
        // One book depth drives matching: messages of other depths of the same symbol are not applied twice.
        if case let .book(update) = event, update.depth != exchanges[instrument.id]!.engine.book.depth { return }
        let reports = exchanges[instrument.id]!.on(event)
        record(reports, symbol: instrument)
    }

    /// Wallet balance: the deposit plus every symbol's realised PnL, fees and funding.
    var walletBalance: USDT { exchanges.values.reduce(deposit) { $0 + $1.account.wallet } }

    mutating func create(symbol: Instrument, side: Side, price: Price?, qty: Quantity, timeInForce: SimTimeInForce,
                         orderLinkId: String, reduceOnly: Bool, positionIndex: Int, now: Int64) -> Result<OrderRecord, SimRejectReason> {
        guard exchanges[symbol.id] != nil, let lastSeen = exchanges[symbol.id]!.engine.book.lastExchangeTime else {
            return .failure(.noMarketPrice)
        }
        orderSequence += 1
        let orderId = "sim-\(orderSequence)"
        let record = OrderRecord(orderId: orderId, orderLinkId: orderLinkId, symbol: symbol.symbol, side: side,
                                 orderType: price == nil ? "Market" : "Limit", price: price, qty: qty, timeInForce: timeInForce,
                                 status: "Created", createdTime: now, updatedTime: now)
        orders[orderId] = record
        exchanges[symbol.id]!.submit(.place(clientID: orderId, side: side, price: price, qty: qty, timeInForce: timeInForce,
                                            reduceOnly: reduceOnly, positionIndex: positionIndex), lastSeen: lastSeen)
        return .success(record)
    }

    /// Cancels by Bybit id; an order still in flight is cancelled as soon as the exchange accepts it.
    mutating func cancel(orderId: String, symbol: Instrument) -> Bool {
        guard var record = orders[orderId], record.isOpen else { return false }
        guard let lastSeen = exchanges[symbol.id]?.engine.book.lastExchangeTime else { return false }
        if let engineID = record.engineID {
            exchanges[symbol.id]!.submit(.cancel(engineID), lastSeen: lastSeen)
        } else {
            record.cancelRequested = true
            orders[orderId] = record
        }
        return true
    }

    /// Amends a resting order (quantity down keeps priority; price change or quantity up re-queues).
    mutating func amend(orderId: String, symbol: Instrument, qty: Quantity?, price: Price?) -> Bool {
        guard let record = orders[orderId], record.isOpen,
              let lastSeen = exchanges[symbol.id]?.engine.book.lastExchangeTime else { return false }
        if let engineID = record.engineID {
            exchanges[symbol.id]!.submit(.amend(engineID, qty: qty, price: price), lastSeen: lastSeen)
        } else {
            orders[orderId]!.pendingAmend = (qty, price)
        }
        if let qty { orders[orderId]!.qty = qty }
        if let price { orders[orderId]!.price = price }
        return true
    }

    func orderId(linkId: String) -> String? { orders.values.first { $0.orderLinkId == linkId }?.orderId }

    private mutating func record(_ reports: [SimReport], symbol: Instrument) {
        for report in reports {
            switch report {
            case let .accepted(engineID, clientID, at):
                guard var r = orders[clientID] else { continue }   // trading-stop legs have no REST record
                r.engineID = engineID
                r.status = "New"
                r.updatedTime = at.milliseconds
                orders[clientID] = r
                orderIdOfEngine[symbol.id, default: [:]][engineID] = clientID
                if let lastSeen = exchanges[symbol.id]?.engine.book.lastExchangeTime {
                    if let amend = r.pendingAmend {
                        exchanges[symbol.id]!.submit(.amend(engineID, qty: amend.qty, price: amend.price), lastSeen: lastSeen)
                        orders[clientID]!.pendingAmend = nil
                    }
                    if r.cancelRequested { exchanges[symbol.id]!.submit(.cancel(engineID), lastSeen: lastSeen) }
                }
            case let .rejected(clientID, reason, at):
                orders[clientID]?.status = "Rejected"
                orders[clientID]?.rejectReason = reason.rawValue
                orders[clientID]?.updatedTime = at.milliseconds
            case let .filled(fill):
                guard var r = orders[fill.clientID] else { continue }
                r.filled += fill.qty.units
                r.status = r.filled >= r.qty.units ? "Filled" : "PartiallyFilled"
                r.updatedTime = fill.exchangeTime.milliseconds
                orders[fill.clientID] = r
                executionSequence += 1
                executions.append(ExecutionRecord(execId: "exec-\(executionSequence)", orderId: r.orderId,
                                                  orderLinkId: r.orderLinkId, symbol: r.symbol, fill: fill))
            case let .cancelled(engineID, reason, _, at):
                guard let id = orderIdOfEngine[symbol.id]?[engineID], var r = orders[id] else { continue }
                // A cancel racing a fill: Bybit reports Cancelled with cumExecQty > 0 (PartiallyFilledCanceled).
                r.status = r.filled > 0 ? "PartiallyFilledCanceled" : "Cancelled"
                r.cancelType = reason == .byUser ? "CancelByUser" : "UNKNOWN"
                if reason == .postOnlyWouldTakeLiquidity { r.rejectReason = reason.rawValue }
                r.updatedTime = at.milliseconds
                orders[id] = r
            default:
                break
            }
        }
    }
}
