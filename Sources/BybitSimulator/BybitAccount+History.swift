import BybitV5
import CascadeCore
import Foundation
import Simulation

/// Closed orders and closed PnL as Bybit keeps them for a unified account (`bybit_v5.md`, order-history and
/// closed-pnl pages): what is queryable for how long, the 7-day query window, and each list's limit bounds.
extension BybitAccount {
    static let day: Int64 = 86_400_000
    static let week: Int64 = 7 * day

    /// The `[start, end]` a history query covers (ms, clients' clock): both absent → the last 7 days; one given → 7 days
    /// from or to it; both → at most 7 days apart (else a parameter error).
    static func window(_ query: [String: String], now: Int64) -> Result<ClosedRange<Int64>, ParameterError> {
        let start = query["startTime"].flatMap { Int64($0) }, end = query["endTime"].flatMap { Int64($0) }
        if query["startTime"] != nil && start == nil || query["endTime"] != nil && end == nil {
            return .failure(ParameterError(description: "params error: startTime and endTime must be integers (ms)"))
        }
        switch (start, end) {
        case (nil, nil): return .success((now - week)...now)
        case let (s?, nil): return .success(s...(s + week))
        case let (nil, e?): return .success((e - week)...e)
        case let (s?, e?):
            guard s <= e, e - s <= week else {
                return .failure(ParameterError(description: "params error: endTime - startTime must be within 7 days"))
            }
            return .success(s...e)
        }
    }

    /// Whether Bybit still returns closed order `o` at `now`: orders that never filled (cancelled, rejected, deactivated)
    /// for 24 hours, orders with fills for 2 years. Open orders are not in history on a unified account.
    static func isInHistory(_ o: BybitOrder, now: Int64) -> Bool {
        guard !isOpen(o.orderStatus) else { return false }
        let age = now - o.updatedTime.milliseconds
        return o.cumExecQty > .zero ? age <= 730 * day : age <= day
    }

    /// `GET /v5/order/history`: closed orders, newest first by creation, by id, link, symbol, status and `orderFilter`,
    /// within the query window; limit 1…50 (default 20).
    func orderHistory(_ query: [String: String], _ c: Context) -> Answer {
        guard query["category"] == "linear" else { return .fail(.parameterError, "params error: category must be linear") }
        let filter: OrderFilter?
        switch Self.orderFilter(query["orderFilter"]) {
        case let .success(f): filter = f
        case let .failure(e): return .fail(.parameterError, e.description)
        }
        let range: ClosedRange<Int64>
        switch Self.window(query, now: c.now) {
        case let .success(r): range = r
        case let .failure(e): return .fail(.parameterError, e.description)
        }
        if let status = query["orderStatus"], BybitOrderStatus(rawValue: status) == nil {
            return .fail(.parameterError, "params error: orderStatus invalid")
        }
        // Bybit's priority when several are given: orderId > orderLinkId > symbol.
        let list = orders.values.filter { o in
            guard Self.isInHistory(o, now: c.now), c.now - o.updatedTime.milliseconds >= historyLagMilliseconds,
              range.contains(o.createdTime.milliseconds) else { return false }
            if let id = query["orderId"] { return o.orderId == id }
            if let link = query["orderLinkId"] { return o.orderLinkId == link }
            if let symbol = query["symbol"], o.symbol != symbol { return false }
            if let status = query["orderStatus"], o.orderStatus.rawValue != status { return false }
            return selects(filter, o.orderId)
        }.sorted(by: newestFirst)
        switch Self.page(list, query: query, defaultLimit: 20, maxLimit: 50) {
        case let .success((page, next)):
            return .ok(BybitRESTEncoder.list(page.map { BybitPrivateEncoder.order($0, instrument: c.instruments[$0.symbolID]) },
                                             nextPageCursor: next))
        case let .failure(e): return .fail(.parameterError, e.description)
        }
    }

    /// Newest first by creation; creation order breaks ties.
    func newestFirst(_ a: BybitOrder, _ b: BybitOrder) -> Bool {
        a.createdTime == b.createdTime ? info[a.orderId]!.number > info[b.orderId]!.number : a.createdTime > b.createdTime
    }

    /// `GET /v5/position/closed-pnl`: one record per order that closed position size (2 years kept), newest first by
    /// creation, within the query window; limit 1…100 (default 50). `closedPnl` is after the fees to open and close
    /// and the funding the closed size carried, as the ledger computes it. Bybit lists `openFee`/`closeFee` in the
    /// field table but not in its example; they are not given here.
    func closedPnL(_ query: [String: String], _ c: Context) -> Answer {
        guard query["category"] == "linear" else { return .fail(.parameterError, "params error: category must be linear") }
        let range: ClosedRange<Int64>
        switch Self.window(query, now: c.now) {
        case let .success(r): range = r
        case let .failure(e): return .fail(.parameterError, e.description)
        }
        var fills: [String: [BybitExecution]] = [:]
        for e in executions where (e.closedSize ?? .zero) > .zero { fills[e.orderId, default: []].append(e) }
        var records: [(BybitOrder, BybitRESTEncoder.ClosedPnL)] = []
        for (id, list) in fills {
            guard let o = orders[id], !Self.isOpen(o.orderStatus), c.now - o.updatedTime.milliseconds <= 730 * Self.day,
                  range.contains(o.createdTime.milliseconds), query["symbol"] == nil || o.symbol == query["symbol"] else { continue }
            let instrument = c.instruments[o.symbolID]
            var closed = Quantity.zero, exitValue = USDT.zero, entryValue = USDT.zero
            for e in list {
                let size = e.closedSize ?? .zero
                let value = instrument.notional(price: e.execPrice, qty: size) ?? .zero
                closed = closed + size
                exitValue = exitValue + value
                // The price PnL is exit − entry for a long (closed by a sell), entry − exit for a short.
                let pnl = e.execPnl ?? .zero
                entryValue = entryValue + (e.side == .sell ? value - pnl : value + pnl)
            }
            let record = BybitRESTEncoder.ClosedPnL(
                symbol: o.symbol, orderId: o.orderId, side: o.side, qty: instrument.format(o.qty),
                orderPrice: o.price.map { instrument.format($0) } ?? "0", orderType: o.orderType.rawValue,
                execType: list.first?.execType.rawValue ?? "Trade", closedSize: instrument.format(closed),
                cumEntryValue: entryValue.description, avgEntryPrice: instrument.averagePrice(value: entryValue, qty: closed).map { instrument.format($0) } ?? "0",
                cumExitValue: exitValue.description, avgExitPrice: instrument.averagePrice(value: exitValue, qty: closed).map { instrument.format($0) } ?? "0",
                closedPnl: (o.closedPnl ?? .zero).description, fillCount: list.count,
                leverage: exchange.leverage(o.symbolID).description,
                createdTime: o.createdTime.milliseconds, updatedTime: o.updatedTime.milliseconds)
            records.append((o, record))
        }
        records.sort { newestFirst($0.0, $1.0) }
        switch Self.page(records.map(\.1), query: query, defaultLimit: 50, maxLimit: 100) {
        case let .success((page, next)): return .ok(BybitRESTEncoder.list(page.map(BybitRESTEncoder.closedPnL), nextPageCursor: next))
        case let .failure(e): return .fail(.parameterError, e.description)
        }
    }

    /// One page of `list` by `limit` (Bybit's default; outside 1…`maxLimit` a parameter error) and `cursor` (an offset
    /// we issued); the next cursor, or "" on the last page.
    static func page<T>(_ list: [T], query: [String: String], defaultLimit: Int, maxLimit: Int) -> Result<([T], String), ParameterError> {
        var limit = defaultLimit
        if let text = query["limit"] {
            guard let n = Int(text), (1...maxLimit).contains(n) else {
                return .failure(ParameterError(description: "params error: limit must be an integer in [1, \(maxLimit)]"))
            }
            limit = n
        }
        var offset = 0
        if let text = query["cursor"], !text.isEmpty {
            guard let n = Int(text), n >= 0 else { return .failure(ParameterError(description: "params error: cursor invalid")) }
            offset = min(n, list.count)
        }
        let end = min(offset + limit, list.count)
        return .success((Array(list[offset..<end]), end < list.count ? String(end) : ""))
    }
}
