public import CascadeCore

/// An order resting in the simulated book.
public struct RestingOrder: Sendable, Hashable {
    public let venueID: VenueOrderID
    public let clientID: ClientOrderID?
    public let side: Side
    /// The order as accepted (its `qty` is the total, whatever was cut or amended since; see ``totalQty``).
    public var spec: OrderSpec
    /// Limit price in units.
    public var price: Int64
    public var remaining: Int64
    public var filled: Int64
    /// Others' displayed quantity ahead of us; nil while our price is beyond the visible book.
    public var queueAhead: Int64?
    /// Time priority within a price (smaller first).
    public var priority: UInt64
    public var arrival: ExchangeTime
    public var origin: OrderOrigin
    public var parent: VenueOrderID?
    /// Arrived (or was amended, or triggered) while matching was suspended: its crossing is judged at resume.
    public var awaitingMatch = false
    /// Attached TP/SL not yet applied (Full mode: set on the first fill).
    public var protection: Protection?

    public var totalQty: Int64 { remaining + filled }
    public var onlyReduces: Bool { spec.onlyReduces }
}

/// A conditional order waiting for its trigger (a client's stop, or a TP/SL leg).
public struct ConditionalOrder: Sendable, Hashable {
    public let venueID: VenueOrderID
    public let clientID: ClientOrderID?
    /// The order it becomes, with its trigger.
    public var spec: OrderSpec
    public var origin: OrderOrigin
    public var parent: VenueOrderID?
    /// A position TP/SL leg in Full mode: it closes the whole position at trigger time (its `qty` is not used).
    public var wholePosition: Bool
    public var priority: UInt64

    public var trigger: Trigger { spec.trigger! }
}

/// Orders of one symbol in price-time priority: each side sorted best price first, then by arrival priority.
///
/// A linear array per side: a strategy rests a handful of orders per side, so a linear insert and scan beat any tree
/// here, and iteration order is deterministic (it feeds reports).
public struct OrderStore: Sendable {
    public internal(set) var bids: [RestingOrder] = []
    public internal(set) var asks: [RestingOrder] = []
    /// Untriggered conditional orders, oldest first (they fire in that order).
    public private(set) var conditionals: [ConditionalOrder] = []

    public init() {}

    public var restingCount: Int { bids.count + asks.count }

    /// The orders of `side`, best first.
    public func orders(_ side: Side) -> [RestingOrder] { side == .buy ? bids : asks }

    /// Inserts an order behind every order at a better or equal price with earlier priority.
    mutating func insert(_ order: RestingOrder) {
        func before(_ a: RestingOrder, _ b: RestingOrder) -> Bool {
            if a.price != b.price { return a.side == .buy ? a.price > b.price : a.price < b.price }
            return a.priority < b.priority
        }
        if order.side == .buy {
            let i = bids.firstIndex { before(order, $0) } ?? bids.count
            bids.insert(order, at: i)
        } else {
            let i = asks.firstIndex { before(order, $0) } ?? asks.count
            asks.insert(order, at: i)
        }
    }

    /// Where an order rests.
    func locate(_ id: VenueOrderID) -> (side: Side, index: Int)? {
        if let i = bids.firstIndex(where: { $0.venueID == id }) { return (.buy, i) }
        if let i = asks.firstIndex(where: { $0.venueID == id }) { return (.sell, i) }
        return nil
    }

    public func resting(_ id: VenueOrderID) -> RestingOrder? {
        locate(id).map { $0.side == .buy ? bids[$0.index] : asks[$0.index] }
    }

    public func conditional(_ id: VenueOrderID) -> ConditionalOrder? { conditionals.first { $0.venueID == id } }

    /// Whether the order rests or waits for its trigger (looked up in place: no copy of the order).
    public func isOpen(_ id: VenueOrderID) -> Bool { locate(id) != nil || conditionals.contains { $0.venueID == id } }

    /// Finds an order (resting or conditional) by either id (in place: every cancel asks).
    public func venueID(of reference: OrderReference) -> VenueOrderID? {
        switch reference {
        case let .venue(id):
            return isOpen(id) ? id : nil
        case let .client(id):
            if let i = bids.firstIndex(where: { $0.clientID == id }) { return bids[i].venueID }
            if let i = asks.firstIndex(where: { $0.clientID == id }) { return asks[i].venueID }
            return conditionals.firstIndex { $0.clientID == id }.map { conditionals[$0].venueID }
        }
    }

    @discardableResult
    mutating func removeResting(_ id: VenueOrderID) -> RestingOrder? {
        guard let (side, i) = locate(id) else { return nil }
        return side == .buy ? bids.remove(at: i) : asks.remove(at: i)
    }

    /// Changes an order in place; the change must not alter its price or priority (use remove + insert for that).
    mutating func update(_ id: VenueOrderID, _ body: (inout RestingOrder) -> Void) {
        guard let (side, i) = locate(id) else { return }
        if side == .buy { body(&bids[i]) } else { body(&asks[i]) }
    }

    /// Changes every order of a side in place (price and priority must stay).
    mutating func updateAll(_ side: Side, _ body: (inout RestingOrder) -> Void) {
        if side == .buy { for i in bids.indices { body(&bids[i]) } } else { for i in asks.indices { body(&asks[i]) } }
    }

    mutating func addConditional(_ order: ConditionalOrder) { conditionals.append(order) }

    @discardableResult
    mutating func removeConditional(_ id: VenueOrderID) -> ConditionalOrder? {
        guard let i = conditionals.firstIndex(where: { $0.venueID == id }) else { return nil }
        return conditionals.remove(at: i)
    }

    mutating func updateConditional(_ id: VenueOrderID, _ body: (inout ConditionalOrder) -> Void) {
        guard let i = conditionals.firstIndex(where: { $0.venueID == id }) else { return }
        body(&conditionals[i])
    }

    /// Active conditional orders a client placed (Bybit's limit of 10 counts these, not the position's TP/SL).
    public var clientConditionalCount: Int { conditionals.count { $0.origin == .client } }
}
