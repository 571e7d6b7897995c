public import CascadeCore

/// Where one of our orders stands, as far as the venue has said.
public enum OrderPhase: Hashable, Sendable {
    /// Journaled, not sent yet.
    case intent
    /// Sent; no answer yet.
    case sent
    /// The send failed in transport: the venue may or may not have it. Never `rejected` until the venue answers.
    case unknown
    /// A conditional order waiting for its trigger.
    case untriggered
    /// Resting on the book (possibly partly filled).
    case working
    case filled
    /// Cancelled, possibly after fills (``ManagedOrder/filledQty``).
    indirect case cancelled(CancelReason)
    /// A conditional order cancelled before it triggered.
    indirect case deactivated(CancelReason)
    /// Indirect (like the cancellations): a phase is in every order record, and a rejection's payload would make each
    /// phase 40 bytes.
    indirect case rejected(Rejection)

    /// No later report can change it (fills of an order cancelled in a cancel/fill race still arrive and count),
    /// except for an order only presumed absent (``isPresumedAbsent``).
    public var isTerminal: Bool {
        switch self {
        case .filled, .cancelled, .deactivated, .rejected: true
        case .intent, .sent, .unknown, .untriggered, .working: false
        }
    }

    /// Rejected because Bybit did not know the order when asked (its create's outcome was unknown and the queries
    /// found nothing: `unknownOrder`), not because Bybit refused it: a create is processed asynchronously, so a later
    /// report of the order is the venue's word and overrides this one.
    public var isPresumedAbsent: Bool {
        if case let .rejected(r) = self { r.isPresumedAbsence } else { false }
    }
}

/// What an order is, fixed when the engine decides it: its id (read back and as sent), spec, symbol and ladder. One
/// object per order, shared by its intent and its tracked record: journaling, applying and tracking an order copy a
/// reference, not the 230 bytes these take (the copies into fresh table storage were most of the first ladder's cold
/// cost on the decision path).
public final class OrderIdentity: Sendable, Hashable, CustomStringConvertible {
    public let id: OrderLinkID
    /// `id` as sent (formatted once: the tracker's key).
    public let clientID: ClientOrderID
    public let spec: OrderSpec
    /// The symbol and the ladder the engine placed it for (kept with the order, so placing one writes one table;
    /// nil for an order recorded without them).
    public let symbol: String?
    public let ladder: UInt64?

    init(id: OrderLinkID, clientID: ClientOrderID, spec: OrderSpec, symbol: String?, ladder: UInt64?) {
        assert(clientID.rawValue == id.description, "client id \(clientID) is not \(id)")
        self.id = id
        self.clientID = clientID
        self.spec = spec
        self.symbol = symbol
        self.ladder = ladder
    }

    /// By value, as the fields were compared when they were stored in the records themselves.
    public static func == (a: OrderIdentity, b: OrderIdentity) -> Bool {
        a === b || (a.clientID == b.clientID && a.id == b.id && a.spec == b.spec && a.symbol == b.symbol && a.ladder == b.ladder)
    }

    /// Its fields, as a record's were printed (a failing state comparison shows them).
    public var description: String {
        "OrderIdentity(\(clientID.rawValue), \(spec), symbol: \(symbol ?? "nil"), ladder: \(ladder.map(String.init) ?? "nil"))"
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(clientID)
        hasher.combine(spec)
        hasher.combine(symbol)
        hasher.combine(ladder)
    }
}

/// One order and what happened to it.
public struct ManagedOrder: Hashable, Sendable {
    /// Its fixed part (``OrderIdentity``: the accessors below read it).
    let identity: OrderIdentity
    public var id: OrderLinkID { identity.id }
    public var clientID: ClientOrderID { identity.clientID }
    public var spec: OrderSpec { identity.spec }
    public var symbol: String? { identity.symbol }
    public var ladder: UInt64? { identity.ladder }
    public internal(set) var phase: OrderPhase = .intent
    public internal(set) var venueID: VenueOrderID?
    public internal(set) var filledQty: Quantity = .zero
    /// The order's current total quantity (the spec's, or the last amendment's; filled part included).
    public internal(set) var qty: Quantity
    /// The order's current limit price (the spec's, or the last amendment's).
    public internal(set) var price: Price?
    public internal(set) var fills = 0
    /// A cancel was sent and not answered yet (the cancel/fill race window).
    public internal(set) var cancelRequested = false
    /// When the last cancel was decided, and how many were: a stray order's cancel that failed is sent again after
    /// a pause (``TradingEngine/strayCancelRetryMilliseconds``).
    public internal(set) var cancelDecidedAt: ExchangeTime?
    public internal(set) var cancelsDecided = 0
    /// A cancel was answered "no such order, or too late to cancel" (110001, 110008, 110010) since the venue last
    /// acknowledged the order: it has most likely ended (its final report is on its way), unless the cancel overtook
    /// a create Bybit had not processed yet (it processes them asynchronously); which cancel an answer belongs to
    /// cannot be told when two were sent. Another cancel waits longer, not forever.
    public internal(set) var cancelAnsweredGone = false
    /// Taken as never placed (a presumed absence), then reported by the venue after all: no ladder keeps it (every risk
    /// check meanwhile counted it as not resting), so the stray sweep cancels it until it ends.
    public internal(set) var reappeared = false
    /// What the venue said had filled when the order was cancelled (its cumulative fill). Bybit's order and execution
    /// topics are separate, so that fill can still be on its way: ``awaitsFills``.
    public internal(set) var venueFilledQty: Quantity = .zero
    /// When the venue announced it (the cancel report's time).
    public internal(set) var venueFilledAt: ExchangeTime?
    /// Fills the venue announced (``venueFilledQty``) and the engine has not counted yet.
    public var awaitsFills: Bool { venueFilledQty > filledQty }

    public init(id: OrderLinkID, spec: OrderSpec) {
        self.init(identity: OrderIdentity(id: id, clientID: id.clientOrderID, spec: spec, symbol: nil, ladder: nil))
    }

    /// The tracked record of an order the engine decided (its intent's identity).
    init(identity: OrderIdentity) {
        self.identity = identity
        qty = identity.spec.qty
        price = identity.spec.price
    }
}

/// The order state machine of the order manager: our orders by client id, moved only by what the venue reports, and
/// every fill counted once (by execution id, whatever path or how many times it arrives).
public struct OrderTracker: Sendable, Hashable {
    /// What one report did.
    public enum Outcome: Hashable, Sendable {
        /// A fill not seen before: apply it to the position.
        case newFill(Fill)
        /// A fill already counted (a redelivery after reconnect or backfill).
        case duplicateFill(ExecutionID)
        /// The order moved to another phase.
        case moved(ClientOrderID, from: OrderPhase, to: OrderPhase)
        /// About an order that is not ours (another program, a manual order): for reconciliation, never adopted.
        case notOurs(ClientOrderID?)
        /// Nothing changed (a late report about a finished order, or a report without an order).
        case none
    }

    public private(set) var orders: [ClientOrderID: ManagedOrder] = [:]
    /// The orders not terminal yet, each once: the risk check reads these instead of scanning every order the engine
    /// still remembers. An order leaves the list when it ends, and comes back (at the end) only if it was presumed
    /// absent and the venue reports it after all (``OrderPhase/isPresumedAbsent``).
    ///
    /// A list in the order the orders (re)opened, scanned, not a set: a few orders are open at a time, and hashing a
    /// set's table was on the decision path of every ladder (readers wanting another order sort it).
    public private(set) var open: [ClientOrderID] = []
    private var byVenueID: [VenueOrderID: ClientOrderID] = [:]
    private var executions: Set<ExecutionID> = []
    /// Execution ids in the order they were counted, with their report time: retired by age (``retire(orders:executionsBefore:)``).
    private var executionLog = AgedQueue<ExecutionID>()

    public init() {}

    /// Whether an execution with this id was counted (a fill, a takeover, a funding payment or an execution of
    /// unknown type: the journal holds it).
    public func hasExecution(_ id: ExecutionID) -> Bool { executions.contains(id) }

    /// Counts an execution that is not a fill (funding, an unknown type): false when it was counted before.
    public mutating func countExecution(_ id: ExecutionID, at time: ExchangeTime) -> Bool {
        guard executions.insert(id).inserted else { return false }
        executionLog.append(id, at: time)
        return true
    }

    /// Registers an order the journal has committed, before it is sent.
    public mutating func recordIntent(_ order: ManagedOrder) {
        // Not inside the precondition: under -Ounchecked its condition is never evaluated.
        let previous = orders.updateValue(order, forKey: order.clientID)
        precondition(previous == nil, "orderLinkId reused: \(order.id)")
        open.append(order.clientID)
    }

    /// The request left.
    public mutating func markSent(_ id: ClientOrderID) {
        if orders[id]?.phase == .intent { orders[id]?.phase = .sent }
    }

    /// The request failed in transport: unknown until the venue says (a query or a stream report resolves it).
    public mutating func markTransportError(_ id: ClientOrderID) {
        if let phase = orders[id]?.phase, phase == .sent || phase == .intent { orders[id]?.phase = .unknown }
    }

    /// A cancel for it was sent.
    public mutating func markCancelRequested(_ id: ClientOrderID, at time: ExchangeTime) {
        guard let order = orders[id], !order.phase.isTerminal else { return }
        orders[id]?.cancelRequested = true
        orders[id]?.cancelDecidedAt = time
        orders[id]?.cancelsDecided += 1
    }

    /// The cancel was lost in transport: it may be sent again.
    public mutating func clearCancelRequested(_ id: ClientOrderID) {
        orders[id]?.cancelRequested = false
    }

    /// Whether `command` creates an order of ours whose cancel is decided and not answered yet (the sender withdraws such
    /// an entry unsent: ``CascadeCore/SenderLaneRouter/withdrawal(_:cancelDecided:)``).
    public func cancelDecided(_ command: VenueCommand) -> Bool {
        guard case let .submit(id?, _) = command.action else { return false }
        return orders[id]?.cancelRequested == true
    }

    /// Whether `command` amends a reduce-only order of ours (the take-profit): it takes no risk on.
    public func amendsReduceOnlyOrder(_ command: VenueCommand) -> Bool {
        guard case let .amend(.client(id), _) = command.action else { return false }
        return orders[id]?.spec.reduceOnly == true
    }

    /// Applies one venue report.
    public mutating func apply(_ report: ExecutionReport) -> Outcome {
        switch report.event {
        case let .accepted(a):
            guard let id = resolve(a.clientID, a.venueID) else { return .notOurs(a.clientID) }
            byVenueID[a.venueID] = id
            orders[id]?.venueID = a.venueID
            // Resting at the venue: an earlier "no such order" (to a cancel that overtook the create) is void.
            orders[id]?.cancelAnsweredGone = false
            return move(id, to: a.spec.isConditional ? .untriggered : .working, unlessPast: true)
        case let .triggered(t):
            guard let id = resolve(t.clientID, t.venueID) else { return .notOurs(t.clientID) }
            orders[id]?.cancelAnsweredGone = false
            return move(id, to: .working, unlessPast: true)
        case let .rejected(r):
            guard let id = resolve(r.clientID, r.venueID) else { return .notOurs(r.clientID) }
            // A presumed absence concludes only an order not yet heard of: one the venue has reported meanwhile (the
            // queries' verdict can arrive after the stream's accept) is the venue's.
            if r.rejection.isPresumedAbsence, let phase = orders[id]?.phase,
               ![.intent, .sent, .unknown].contains(phase) { return .none }
            return move(id, to: .rejected(r.rejection), unlessPast: true)
        case let .filled(fill):
            // Counted once whatever happens to the order: a fill is a fact at the venue.
            guard executions.insert(fill.executionID).inserted else { return .duplicateFill(fill.executionID) }
            executionLog.append(fill.executionID, at: report.time)
            guard let id = resolve(fill.clientID, fill.venueID) else { return .notOurs(fill.clientID) }
            byVenueID[fill.venueID] = id
            orders[id]?.venueID = fill.venueID
            if var order = orders[id] {
                order.filledQty = order.filledQty + fill.qty
                order.fills += 1
                orders[id] = order
            }
            if let order = orders[id], !order.phase.isTerminal || order.phase == .filled || order.phase.isPresumedAbsent {
                // Unknown or sent orders that fill were evidently accepted.
                if order.filledQty >= order.qty { _ = move(id, to: .filled, unlessPast: false) }
                else if order.phase != .working { _ = move(id, to: .working, unlessPast: false) }
            }
            return .newFill(fill)
        case let .cancelled(c):
            guard let id = resolve(c.clientID, c.venueID) else { return .notOurs(c.clientID) }
            orders[id]?.cancelRequested = false
            if let order = orders[id], c.filledQty > order.venueFilledQty {
                orders[id]?.venueFilledQty = c.filledQty
                orders[id]?.venueFilledAt = report.time
            }
            let reason = c.cancellation.reason
            return move(id, to: c.wasUntriggered ? .deactivated(reason) : .cancelled(reason), unlessPast: true)
        case let .commandRejected(r):
            // A refused cancel of an order that filled meanwhile (the cancel/fill race) ends the race, not the order.
            guard let id = r.clientID ?? r.venueID.flatMap({ byVenueID[$0] }), orders[id] != nil else { return .notOurs(r.clientID) }
            orders[id]?.cancelRequested = false
            if case .submit = r.action { return move(id, to: .rejected(r.rejection), unlessPast: true) }
            if case .cancel = r.action, [.unknownOrder, .orderClosed].contains(r.rejection.reason) { orders[id]?.cancelAnsweredGone = true }
            // A cancel of an order left unknown by a transport error answered "no such order" concludes nothing: Bybit
            // processes a create asynchronously, so the create may still be on its way. The order stays unknown until
            // the gateway's queries settle it (found, or absent for a minute: `notFoundAfterQueries`). The backtest
            // has no transport errors.
            return .none
        case let .amended(a):
            // A reduce-only cut or an amend: the order completes at its new quantity, not the one first sent.
            guard let id = resolve(a.clientID, a.venueID) else { return .notOurs(a.clientID) }
            orders[id]?.qty = a.qty
            if let price = a.price { orders[id]?.price = price }
            if let order = orders[id], !order.phase.isTerminal, order.filledQty >= a.qty { return move(id, to: .filled, unlessPast: false) }
            return .none
        case .position, .wallet, .funding, .takeover, .unclassified, .matchingSuspended, .matchingResumed,
             .fundingNotSimulated:
            return .none
        }
    }

    /// Forgets ended orders and old execution ids, so a node that runs for months holds only a window of them.
    /// `orders` must be terminal (the caller retires a whole ended ladder); an execution counted before
    /// `executionsBefore` can no longer be recognised as a duplicate: the engine refuses fills older than that
    /// (``TradingEngine/forgottenBefore``).
    public mutating func retire(orders ids: [ClientOrderID], executionsBefore cutoff: ExchangeTime) {
        for id in ids {
            guard let order = orders.removeValue(forKey: id) else { continue }
            assert(order.phase.isTerminal, "order \(id) retired while open")
            close(id)     // defensive: a terminal order is off the list already
            if let venueID = order.venueID, byVenueID[venueID] == id { byVenueID[venueID] = nil }
        }
        for id in executionLog.removeOlder(than: cutoff) { executions.remove(id) }
    }

    /// Whether the order of this id or venue id is one of ours.
    public func knows(_ clientID: ClientOrderID?, _ venueID: VenueOrderID?) -> Bool { resolve(clientID, venueID) != nil }

    private func resolve(_ clientID: ClientOrderID?, _ venueID: VenueOrderID?) -> ClientOrderID? {
        if let clientID, orders[clientID] != nil { return clientID }
        if let venueID, let id = byVenueID[venueID] { return id }
        return nil
    }

    /// Moves an order; a terminal phase is kept (`unlessPast`: a late accept after a fill or a cancel changes nothing),
    /// except a presumed absence, which any report of the order overrides.
    private mutating func move(_ id: ClientOrderID, to phase: OrderPhase, unlessPast: Bool) -> Outcome {
        guard let order = orders[id] else { return .none }
        let from = order.phase
        if from == phase || (unlessPast && from.isTerminal && !from.isPresumedAbsent) { return .none }
        // A fill already completed it: a later cancel of the zero remainder changes nothing.
        if from == .filled { return .none }
        orders[id]?.phase = phase
        if from.isPresumedAbsent { orders[id]?.reappeared = true }
        if phase.isTerminal { close(id) } else if !open.contains(id) { open.append(id) }
        return .moved(id, from: from, to: phase)
    }

    /// Takes `id` off the open list, keeping the others in order (a restored tracker's list is the running one's).
    private mutating func close(_ id: ClientOrderID) {
        if let i = open.firstIndex(of: id) { open.remove(at: i) }
    }
}

/// Items in arrival order with a time, dropped from the front once older than a cutoff (arrival order is close to
/// time order; an item that arrived late with an early time waits for those before it, never longer than their age).
public struct AgedQueue<Item: Hashable & Sendable>: Hashable, Sendable {
    private var items: [Item] = []
    private var times: [ExchangeTime] = []
    private var head = 0

    public init() {}

    public var count: Int { items.count - head }

    public mutating func append(_ item: Item, at time: ExchangeTime) {
        items.append(item)
        times.append(time)
    }

    /// Removes and returns the items at the front older than `cutoff`.
    public mutating func removeOlder(than cutoff: ExchangeTime) -> [Item] {
        let start = head
        while head < items.count, times[head] < cutoff { head += 1 }
        let removed = Array(items[start..<head])
        // Compacted once the dead prefix is a good part of the storage, so appends stay amortised O(1).
        if head >= 64, head * 2 >= items.count {
            items.removeFirst(head)
            times.removeFirst(head)
            head = 0
        }
        return removed
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.items[a.head...].elementsEqual(b.items[b.head...]) && a.times[a.head...].elementsEqual(b.times[b.head...])
    }

    public func hash(into hasher: inout Hasher) {
        for item in items[head...] { hasher.combine(item) }
        for time in times[head...] { hasher.combine(time) }
    }
}
