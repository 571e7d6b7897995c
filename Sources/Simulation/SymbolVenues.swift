public import CascadeCore

/// The venues of an account by symbol, stored densely. `symbols[venue: id]` borrows the stored venue in place
/// (reads and writes); a dictionary's getter, or an optional's unwrap, copies the whole venue (every book and order
/// array retained and released) on each of the several reads per market event.
public struct SymbolVenues: Sendable {
    var venues: [SimulatedExchange.SymbolVenue] = []
    /// Position in `venues` by id.
    var slot = SymbolIndexed<Int>()
    /// Ids with a venue, ascending.
    public private(set) var keys: [SymbolID] = []

    public init() {}

    /// True when `id` has a venue.
    public func contains(_ id: SymbolID) -> Bool { slot[id] != nil }

    /// The venue of `id`, which must exist (``contains(_:)``).
    public subscript(venue id: SymbolID) -> SimulatedExchange.SymbolVenue {
        // An addressor, not a `_read` coroutine: through `_read` the optimiser still copied the whole venue (800
        // bytes and every reference retained) for each read of it. A method called on the engine through it can still
        // be handed a copy: the hot one (each send's order check) goes through `_modify` (`SymbolVenue.orderCheck`).
        // The pointer outlives `withUnsafeBufferPointer`'s closure, which its documentation does not promise; it
        // holds because the elements are structs (a native buffer, never bridged) and `self`, and with it the
        // buffer, stays borrowed for the whole access: the same reasoning as Array's own addressors. Yielding
        // through `venues.span` is the documented way, and measured ~10% slower on the quoting benchmark.
        unsafeAddress {
            guard let s = slot[id] else { preconditionFailure("no venue for \(id)") }
            return venues.withUnsafeBufferPointer { UnsafePointer($0.baseAddress! + s) }
        }
        _modify {
            guard let s = slot[id] else { preconditionFailure("no venue for \(id)") }
            yield &venues[s]
        }
    }

    /// The venue of `id`, if any (a copy: for callers outside the hot path).
    public subscript(id: SymbolID) -> SimulatedExchange.SymbolVenue? { slot[id].map { venues[$0] } }

    mutating func insert(_ venue: SimulatedExchange.SymbolVenue, for id: SymbolID) {
        if let s = slot[id] { venues[s] = venue; return }
        slot[id] = venues.count
        venues.append(venue)
        keys.insert(id, at: keys.firstIndex { $0.index > id.index } ?? keys.endIndex)
    }

    public var isEmpty: Bool { keys.isEmpty }
    public var count: Int { keys.count }
    /// The venues, in id order.
    public var values: [SimulatedExchange.SymbolVenue] { keys.map { venues[slot[$0]!] } }
}
