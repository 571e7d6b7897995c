import BybitV5
import CascadeCore
import Foundation
import Simulation

/// The signed REST endpoints of one account: Bybit requests become ``CascadeCore/VenueCommand``s for the
/// account's ``Simulation/SimulatedExchange``; answers are read from the Bybit records and written by BybitV5's
/// encoders. A command is decided at the replay's exchange clock when the request arrives (`decidedAt`).
extension BybitAccount {
    /// A REST answer before its envelope.
    struct Answer {
        var code: BybitRetCode = .ok
        var message = "OK"
        var result = "{}"
        static func ok(_ result: String) -> Answer { Answer(result: result) }
        static func fail(_ code: BybitRetCode, _ message: String) -> Answer { Answer(code: code, message: message) }
        static func refused(_ rejection: Rejection) -> Answer {
            let (code, message) = BybitCodes.retCode(rejection.reason)
            return Answer(code: code, message: message)
        }
    }

    /// What a request says about an order: its symbol's instrument and its spec.
    struct Context {
        var instruments: InstrumentTable
        /// The replay's exchange clock (ms, recorded): what the client had seen when it sent the request.
        var decidedAt: ExchangeTime
        /// The same, as clients see it (rebased).
        var now: Int64
    }

    static func text(_ json: [String: Any], _ key: String) -> String? {
        guard let t = json[key] as? String, !t.isEmpty else { return nil }
        return t
    }

    static func instrument(_ json: [String: Any], _ c: Context) -> Instrument? {
        text(json, "symbol").flatMap { c.instruments.lookup($0) }.map { c.instruments[$0] }
    }

    // MARK: - Orders

    /// `POST /v5/order/create` (and one item of a batch).
    mutating func create(_ json: [String: Any], _ c: Context) -> (Answer, VenueOrderID?) {
        func fail(_ message: String) -> (Answer, VenueOrderID?) { (.fail(.parameterError, "params error: \(message)"), nil) }
        guard json["category"] as? String == "linear" else { return fail("category must be linear") }
        guard let instrument = Self.instrument(json, c) else { return fail("symbol invalid") }
        let side: Side
        switch json["side"] as? String {
        case "Buy": side = .buy
        case "Sell": side = .sell
        default: return fail("side invalid")
        }
        guard let qtyText = Self.text(json, "qty"), let qty = try? instrument.quantity(qtyText) else { return fail("qty invalid") }
        let type = json["orderType"] as? String ?? "Limit"
        guard type == "Limit" || type == "Market" else { return fail("orderType invalid") }
        var price: Price?
        if type == "Limit" {
            guard let p = Self.text(json, "price").flatMap({ try? instrument.price($0) }) else { return fail("price invalid") }
            price = p
        }
        let tif: TimeInForce
        switch type == "Market" ? "IOC" : (json["timeInForce"] as? String ?? "GTC") {
        case "PostOnly": tif = .postOnly
        case "IOC": tif = .immediateOrCancel
        case "FOK": tif = .fillOrKill
        case "GTC": tif = .goodTillCancel
        default: return fail("timeInForce invalid")
        }
        var clientID: ClientOrderID?
        if let link = json["orderLinkId"] as? String, !link.isEmpty {
            guard let id = try? ClientOrderID(link) else { return fail("orderLinkId must be at most 36 of [A-Za-z0-9_-]") }
            if links[link] != nil { return (.refused(Rejection(.duplicateClientID)), nil) }
            clientID = id
        }
        guard (json["positionIdx"] as? NSNumber)?.intValue ?? 0 == 0 else { return (.refused(Rejection(.positionIndexMismatch)), nil) }
        var trigger: Trigger?
        if let text = Self.text(json, "triggerPrice"), text != "0" {
            guard let t = try? instrument.price(text), t.units > 0 else { return fail("triggerPrice invalid") }
            guard let direction = (json["triggerDirection"] as? NSNumber).flatMap({ BybitTriggerDirection(rawValue: $0.intValue) }) else {
                return fail("triggerDirection must be 1 (rise) or 2 (fall)")
            }
            guard let by = BybitTriggerBy(rawValue: json["triggerBy"] as? String ?? "LastPrice") else { return fail("triggerBy invalid") }
            trigger = Trigger(price: t, direction: BybitCodes.direction(direction), source: BybitCodes.triggerSource(by))
        }
        let protection: Protection?
        switch Self.protection(json, instrument: instrument) {
        case let .success(p): protection = p
        case let .failure(error): return (.fail(.parameterError, error.description), nil)
        }
        let spec = OrderSpec(side: side, type: type == "Market" ? .market : .limit, timeInForce: tif, price: price, qty: qty,
                             reduceOnly: json["reduceOnly"] as? Bool ?? false, trigger: trigger,
                             closeOnTrigger: json["closeOnTrigger"] as? Bool ?? false, protection: protection)
        let command = VenueCommand(symbol: instrument.id, decidedAt: c.decidedAt, action: .submit(clientID, spec))
        switch exchange.send(command) {
        case let .success(receipt):
            guard let id = receipt.venueID else { return (.fail(.serverError, "no order id"), nil) }
            recordSent(id, clientID: clientID, spec: spec, instrument: instrument, at: c.now)
            return (.ok(BybitRESTEncoder.orderID(id.rawValue, clientID?.rawValue ?? "")), id)
        case let .failure(rejection):
            return (.refused(rejection), nil)
        }
    }

    /// TP/SL attached to a create: `takeProfit`/`stopLoss` with their trigger source, order type and limit price and
    /// `tpslMode` (`Full`: market exits only; `Partial`: market or limit). `"0"` or absent: no leg.
    static func protection(_ json: [String: Any], instrument: Instrument) -> Result<Protection?, ParameterError> {
        guard let mode = tpslMode(json, allowingEmpty: true) else {
            return .failure(ParameterError(description: "params error: tpslMode must be Full or Partial"))
        }
        let takeProfit: ProtectionLeg?, stopLoss: ProtectionLeg?
        switch leg(json, "tp", "takeProfit", mode: mode, instrument: instrument) {
        case let .success(l): takeProfit = l
        case let .failure(e): return .failure(e)
        }
        switch leg(json, "sl", "stopLoss", mode: mode, instrument: instrument) {
        case let .success(l): stopLoss = l
        case let .failure(e): return .failure(e)
        }
        if takeProfit == nil && stopLoss == nil { return .success(nil) }
        return .success(Protection(takeProfit: takeProfit, stopLoss: stopLoss, mode: mode))
    }

    /// `tpslMode` (`Full` when absent; nil: not Full or Partial).
    static func tpslMode(_ json: [String: Any], allowingEmpty: Bool = false) -> TPSLMode? {
        switch json["tpslMode"] as? String ?? "Full" {
        case "Full": .full
        case "" where allowingEmpty: .full
        case "Partial": .partial
        default: nil
        }
    }

    /// One TP/SL leg named `name` (`takeProfit`/`stopLoss`) with its `{prefix}TriggerBy`, `{prefix}OrderType` and
    /// `{prefix}LimitPrice`, for a create and a trading stop alike: `Limit` exits only in Partial mode, with a limit
    /// price (§5.5). Absent or `"0"`: nil (a trading stop reads `"0"` as removal before asking).
    static func leg(_ json: [String: Any], _ prefix: String, _ name: String, mode: TPSLMode,
                    instrument: Instrument) -> Result<ProtectionLeg?, ParameterError> {
        func fail(_ text: String) -> Result<ProtectionLeg?, ParameterError> { .failure(ParameterError(description: "params error: \(text)")) }
        guard let text = Self.text(json, name), text != "0" else { return .success(nil) }
        guard let trigger = try? instrument.price(text), trigger.units > 0 else { return fail("\(name) invalid") }
        guard let by = BybitTriggerBy(rawValue: json["\(prefix)TriggerBy"] as? String ?? "LastPrice") else {
            return fail("\(prefix)TriggerBy invalid")
        }
        var limit: Price?
        switch json["\(prefix)OrderType"] as? String ?? "Market" {
        case "Market": break
        case "Limit":
            guard mode == .partial else { return fail("\(prefix)OrderType Limit needs tpslMode Partial") }
            guard let l = Self.text(json, "\(prefix)LimitPrice").flatMap({ try? instrument.price($0) }), l.units > 0 else {
                return fail("\(prefix)LimitPrice required with a Limit \(prefix) order")
            }
            limit = l
        default:
            return fail("\(prefix)OrderType must be Market or Limit")
        }
        return .success(ProtectionLeg(trigger: trigger, source: BybitCodes.triggerSource(by), limitPrice: limit))
    }

    /// `orderFilter` of a cancel-all or a list (absent: nil, every kind); a failure answer for an unknown value.
    static func orderFilter(_ text: String?) -> Result<OrderFilter?, ParameterError> {
        guard let text, !text.isEmpty else { return .success(nil) }
        guard let filter = BybitOrderFilter(rawValue: text).flatMap(BybitCodes.orderFilter) else {
            return .failure(ParameterError(description: "params error: orderFilter must be Order, StopOrder or OpenOrder"))
        }
        return .success(filter)
    }

    /// A request parameter Bybit would refuse (10001), with Bybit-style text.
    struct ParameterError: Error { var description: String }

    /// The order a request names by `orderId` (first, as Bybit) or `orderLinkId`.
    func orderID(_ json: [String: Any]) -> String? {
        if let id = Self.text(json, "orderId") { return id }
        return Self.text(json, "orderLinkId").flatMap { links[$0] }
    }

    /// `POST /v5/order/amend`: quantity, price, trigger price of an open order (conditional orders included).
    mutating func amend(_ json: [String: Any], _ c: Context) -> Answer {
        guard let instrument = Self.instrument(json, c) else { return .fail(.parameterError, "params error: symbol") }
        // A field given but unreadable refuses the whole amend (never half of it).
        var amendment = OrderAmendment()
        do {
            amendment.qty = try Self.text(json, "qty").map { try instrument.quantity($0) }
            amendment.price = try Self.text(json, "price").map { try instrument.price($0) }
            amendment.triggerPrice = try Self.text(json, "triggerPrice").map { try instrument.price($0) }
        } catch {
            return .fail(.parameterError, "params error: \(error)")
        }
        // TP/SL changes by amend are not simulated: refused, not ignored.
        for field in ["takeProfit", "stopLoss", "tpTriggerBy", "slTriggerBy", "tpLimitPrice", "slLimitPrice"] where json[field] != nil {
            return .fail(.parameterError, "params error: \(field) by amend is not simulated (use /v5/position/trading-stop)")
        }
        guard !amendment.isEmpty else { return .fail(.parameterError, "params error: nothing to amend") }
        guard let id = orderID(json), let o = orders[id], o.symbol == instrument.symbol else {
            return .fail(.orderDoesNotExist, "order not exists or too late to replace")
        }
        let command = VenueCommand(symbol: instrument.id, decidedAt: c.decidedAt, action: .amend(.venue(VenueOrderID(id)), amendment))
        if case let .failure(rejection) = exchange.send(command) {
            if rejection.reason == .unknownOrder || rejection.reason == .orderClosed {
                return .fail(.orderDoesNotExist, "order not exists or too late to replace")
            }
            return .refused(rejection)
        }
        return .ok(BybitRESTEncoder.orderID(id, o.orderLinkId))
    }

    /// `POST /v5/order/cancel`.
    mutating func cancel(_ json: [String: Any], _ c: Context) -> Answer {
        guard let instrument = Self.instrument(json, c) else { return .fail(.parameterError, "params error: symbol") }
        guard Self.text(json, "orderId") != nil || Self.text(json, "orderLinkId") != nil else {
            return .fail(.parameterError, "params error: OrderId or orderLinkId is required")
        }
        guard let id = orderID(json), let o = orders[id], o.symbol == instrument.symbol,
              case .success = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: c.decidedAt,
                                                         action: .cancel(.venue(VenueOrderID(id))))) else {
            return .fail(.orderDoesNotExist, "order not exists or too late to cancel")
        }
        return .ok(BybitRESTEncoder.orderID(id, o.orderLinkId))
    }

    /// True while an order can still trade or trigger (Bybit's `Triggered` is the moment it becomes active).
    static func isOpen(_ status: BybitOrderStatus) -> Bool { status.isOpen }     // Triggered included: the order goes on

    /// Whether `filter` (Bybit's linear `orderFilter`) selects an order (nil: every kind, TP/SL included): the
    /// venue's own reading (``CascadeCore/OrderFilter/selects(origin:waitingForTrigger:)``); an order that ended
    /// before its trigger fired counts as still conditional.
    func selects(_ filter: OrderFilter?, _ id: String) -> Bool {
        guard let filter, let info = info[id], let o = orders[id] else { return true }
        return filter.selects(origin: info.origin, waitingForTrigger: o.orderStatus == .untriggered || o.orderStatus == .deactivated)
    }

    /// `POST /v5/order/cancel-all`: one cancel-all per symbol concerned; the answer lists the orders open now that it
    /// will cancel (Bybit: "the ack indicates that the request is successfully accepted").
    mutating func cancelAll(_ json: [String: Any], _ c: Context) -> Answer {
        let filter: OrderFilter?
        switch Self.orderFilter(Self.text(json, "orderFilter")) {
        case let .success(f): filter = f
        case let .failure(e): return .fail(.parameterError, e.description)
        }
        let symbol = Self.text(json, "symbol")
        let open = orders.values.filter { Self.isOpen($0.orderStatus) && (symbol == nil || $0.symbol == symbol) && selects(filter, $0.orderId) }
            .sorted { info[$0.orderId]!.number < info[$1.orderId]!.number }
        for id in Set(open.map(\.symbolID)).sorted() {
            _ = exchange.send(VenueCommand(symbol: id, decidedAt: c.decidedAt, action: .cancelAll(filter)))
        }
        return .ok(BybitRESTEncoder.cancelAll(open.map { ($0.orderId, $0.orderLinkId) }))
    }

    /// `GET /v5/order/realtime`: open orders (`openOnly` 0, the default) or the 500 latest closed ones (`openOnly` 1);
    /// a query by `orderId` or `orderLinkId` ignores `openOnly` and finds the order open or among those 500. Newest
    /// first, filtered by symbol, id, link and `orderFilter`, paged by `limit` (1…50, default 20) and `cursor`.
    func realtime(_ query: [String: String], _ c: Context) -> Answer {
        guard query["category"] == "linear" else { return .fail(.parameterError, "params error: category must be linear") }
        guard query["symbol"] != nil || query["settleCoin"] != nil || query["baseCoin"] != nil || query["orderId"] != nil
                || query["orderLinkId"] != nil else {
            return .fail(.parameterError, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        }
        let filter: OrderFilter?
        switch Self.orderFilter(query["orderFilter"]) {
        case let .success(f): filter = f
        case let .failure(e): return .fail(.parameterError, e.description)
        }
        let byID = query["orderId"] != nil || query["orderLinkId"] != nil
        let openOnly = query["openOnly"].map { Int($0) } ?? 0
        guard openOnly == 0 || openOnly == 1 else { return .fail(.parameterError, "params error: openOnly must be 0 or 1") }
        let closed = orders.values.filter { !Self.isOpen($0.orderStatus) }
            .filter { order in realtimeForgetsEndedBefore.map { order.updatedTime.milliseconds >= $0 } ?? true }
            .sorted { $0.updatedTime == $1.updatedTime ? info[$0.orderId]!.number > info[$1.orderId]!.number : $0.updatedTime > $1.updatedTime }
            .prefix(500)
        let open = byID || openOnly == 0 ? orders.values.filter { Self.isOpen($0.orderStatus) } : []
        let list = (open + (byID || openOnly == 1 ? Array(closed) : []))
            .filter { query["symbol"] == nil || $0.symbol == query["symbol"] }
            .filter { query["orderId"] == nil || $0.orderId == query["orderId"] }
            .filter { query["orderLinkId"] == nil || $0.orderLinkId == query["orderLinkId"] }
            .filter { selects(filter, $0.orderId) }
            .sorted(by: newestFirst)
        switch Self.page(list, query: query, defaultLimit: 20, maxLimit: 50) {
        case let .success((page, next)):
            return .ok(BybitRESTEncoder.list(page.map { BybitPrivateEncoder.order($0, instrument: c.instruments[$0.symbolID]) },
                                             nextPageCursor: next))
        case let .failure(e): return .fail(.parameterError, e.description)
        }
    }

    /// `GET /v5/execution/list`: newest first, filtered, paged.
    func executionList(_ query: [String: String], _ c: Context) -> Answer {
        let start = query["startTime"].flatMap { Int64($0) }, end = query["endTime"].flatMap { Int64($0) }
        let list = executions.reversed()
            .filter { query["symbol"] == nil || $0.symbol == query["symbol"] }
            .filter { query["orderId"] == nil || $0.orderId == query["orderId"] }
            .filter { query["orderLinkId"] == nil || $0.orderLinkId == query["orderLinkId"] }
            .filter { query["execType"] == nil || $0.execType.rawValue == query["execType"] }
            .filter { start == nil || $0.execTime.milliseconds >= start! }
            .filter { end == nil || $0.execTime.milliseconds <= end! }
        switch Self.page(Array(list), query: query, defaultLimit: 50, maxLimit: 100) {
        case let .success((page, next)):
            return .ok(BybitRESTEncoder.list(page.map { BybitPrivateEncoder.execution($0, instrument: c.instruments[$0.symbolID]) },
                                             nextPageCursor: next))
        case let .failure(e): return .fail(.parameterError, e.description)
        }
    }

    /// `GET /v5/position/list`: the named symbol (flat included), or every position open (`settleCoin` only); one of
    /// the two is required for linear. Limit 1…200 (default 20). Other categories hold no positions here.
    func positionList(_ query: [String: String], _ c: Context) -> Answer {
        guard let category = query["category"] else { return .fail(.parameterError, "params error: category is required") }
        guard category == "linear" else { return .ok(BybitRESTEncoder.list([], category: category)) }
        guard query["symbol"] != nil || query["settleCoin"] != nil else {
            return .fail(.parameterError, "Missing some parameters that must be filled in, symbol or settleCoin")
        }
        if let coin = query["settleCoin"], query["symbol"] == nil, coin != "USDT" { return .ok(BybitRESTEncoder.list([])) }
        var items: [String] = []
        for id in exchange.symbols.keys.sorted() {
            let instrument = c.instruments[id]
            if let symbol = query["symbol"], symbol != instrument.symbol { continue }
            let report = exchange.positionReport(id)
            if query["symbol"] == nil && report.size == .zero { continue }
            items.append(BybitPrivateEncoder.position(position(report, instrument: instrument, at: ExchangeTime(milliseconds: c.now)),
                                                      instrument: instrument, stream: false))
        }
        switch Self.page(items, query: query, defaultLimit: 20, maxLimit: 200) {
        case let .success((page, next)): return .ok(BybitRESTEncoder.list(page, nextPageCursor: next))
        case let .failure(e): return .fail(.parameterError, e.description)
        }
    }

    /// `GET /v5/account/wallet-balance`.
    func walletBalance() -> Answer {
        .ok(BybitRESTEncoder.plainList([BybitPrivateEncoder.wallet(wallet(exchange.walletReport))]))
    }

    /// `POST /v5/position/trading-stop`: per leg, absent leaves it, `"0"` removes it, a price sets it; each leg with
    /// its own trigger source; Partial mode with `tpSize`/`slSize` and optional limit exits.
    mutating func tradingStop(_ json: [String: Any], _ c: Context) -> Answer {
        guard let instrument = Self.instrument(json, c) else { return .fail(.parameterError, "params error: symbol") }
        guard (json["positionIdx"] as? NSNumber)?.intValue ?? 0 == 0 else { return .refused(Rejection(.positionIndexMismatch)) }
        guard let mode = Self.tpslMode(json) else { return .fail(.parameterError, "params error: tpslMode must be Full or Partial") }
        // Absent: unchanged; "0": removed; a price: set (the same leg rules as a create's TP/SL).
        func change(_ prefix: String, _ name: String) -> Result<LegChange, ParameterError> {
            guard let text = Self.text(json, name) else { return .success(.unchanged) }
            if text == "0" { return .success(.remove) }
            return Self.leg(json, prefix, name, mode: mode, instrument: instrument).map { $0.map(LegChange.set) ?? .unchanged }
        }
        let tp: LegChange, sl: LegChange
        switch (change("tp", "takeProfit"), change("sl", "stopLoss")) {
        case let (.success(t), .success(s)): (tp, sl) = (t, s)
        case let (.failure(e), _), let (_, .failure(e)): return .fail(.parameterError, e.description)
        }
        if case .unchanged = tp, case .unchanged = sl { return .fail(.parameterError, "params error: takeProfit or stopLoss required") }
        var size: Quantity?
        if mode == .partial {
            let tpSize = Self.text(json, "tpSize").flatMap { try? instrument.quantity($0) }
            let slSize = Self.text(json, "slSize").flatMap { try? instrument.quantity($0) }
            guard let q = tpSize ?? slSize, q.units > 0, tpSize == nil || slSize == nil || tpSize == slSize else {
                return .fail(.parameterError, "params error: tpSize/slSize required in Partial mode, and equal")
            }
            size = q
        }
        let stop = TradingStop(takeProfit: tp, stopLoss: sl, mode: mode, size: size)
        if case let .failure(rejection) = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: c.decidedAt,
                                                                     action: .setTradingStop(stop))) {
            return .refused(rejection)
        }
        return .ok("{}")
    }

    /// `POST /v5/position/set-leverage` (one-way mode, cross margin: both sides equal). Applied at once; a position
    /// message follows.
    mutating func setLeverage(_ json: [String: Any], _ c: Context) -> Answer {
        guard json["category"] as? String == "linear" else { return .fail(.parameterError, "params error: category must be linear") }
        guard let instrument = Self.instrument(json, c) else { return .fail(.parameterError, "params error: symbol") }
        guard let buy = Self.text(json, "buyLeverage").flatMap({ try? Rate($0) }),
              let sell = Self.text(json, "sellLeverage").flatMap({ try? Rate($0) }) else {
            return .fail(.parameterError, "params error: buyLeverage and sellLeverage are required")
        }
        guard buy == sell else { return .fail(.parameterError, "params error: buyLeverage must equal sellLeverage in one-way mode") }
        exchange.updateInstrument(instrument)
        if case let .failure(rejection) = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: c.decidedAt, action: .setLeverage(buy))) {
            return .refused(rejection)
        }
        if exchange.symbols.contains(instrument.id) {
            let report = exchange.positionReport(instrument.id)
            push(.position, BybitPrivateEncoder.position(position(report, instrument: instrument, at: ExchangeTime(milliseconds: c.now)),
                                                         instrument: instrument, stream: true), due: c.decidedAt.milliseconds)
        }
        return .ok("{}")
    }
}
