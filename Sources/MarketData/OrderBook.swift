public import CascadeCore

/// How a book judges the update id `u` of consecutive deltas.
///
/// Bybit documents `u` as an update id and shows `u == 1` restarts, but does not promise `+1` steps for
/// every depth, so the default only requires `u` to increase. Both counters are kept under either policy.
public enum UpdateIDPolicy: String, Sendable, CaseIterable {
    /// `u` must be exactly the previous `u + 1`; anything else requests a resync.
    case strict
    /// `u` must increase; a jump is counted but accepted, a repeat or decrease requests a resync.
    case monotonic
}

/// An integrity problem that invalidated a book until its next snapshot. Carries both sides of the comparison.
public enum BookError: Error, Equatable, Sendable {
    case updateIDGap(expected: UInt64, got: UInt64)
    case updateIDRegression(previous: UInt64, got: UInt64)
    case crossed(bid: Price, ask: Price)
    /// A message of this book's topic could not be decoded: the book misses an update it cannot recover.
    case frameLost
}

/// Where a book stands with respect to the exchange's stream.
public enum BookSyncState: Equatable, Sendable {
    /// No snapshot yet: deltas are ignored (and counted).
    case awaitingSnapshot
    case synced
    /// An integrity check failed; the consumer must resubscribe so Bybit sends a new snapshot.
    case needsResync(BookError)
}

/// What applying one message did.
public enum BookApplyOutcome: Equatable, Sendable {
    case replaced
    case applied
    /// A delta arrived while the book was not synced; nothing changed.
    case ignoredUntilSnapshot
    /// The message broke an integrity rule; the book is now ``BookSyncState/needsResync(_:)``.
    case invalidated(BookError)
}

/// Counters a user needs to trust a book built from a stream.
public struct BookStats: Equatable, Sendable {
    public var snapshots = 0
    /// Snapshots with `u == 1` after the first: Bybit service restarts.
    public var restartSnapshots = 0
    public var deltas = 0
    /// Level entries applied (snapshot levels plus delta entries).
    public var levelUpdates = 0
    public var deletes = 0
    /// Deletes of a price the book did not hold (counted, harmless).
    public var deletesOfMissingLevels = 0
    /// Deltas whose `u` was not exactly previous + 1 (but larger).
    public var updateIDJumps = 0
    /// Deltas whose `u` did not increase.
    public var updateIDRegressions = 0
    /// Messages whose cross sequence `seq` went down.
    public var sequenceRegressions = 0
    public var crossedBooks = 0
    public var resyncsRequested = 0
    public var deltasIgnoredUntilSnapshot = 0
    /// Snapshot levels that were not strictly sorted best-first (the book sorts them).
    public var unsortedSnapshots = 0
    /// Times a side held more levels than the topic depth after a message.
    public var overDepth = 0
    public init() {}
}

/// A price-level order book of one symbol and one topic depth, on integer prices.
///
/// Storage: each side is a pair of parallel arrays sorted so that the **best level is last** (bids ascending,
/// asks descending). Bybit's changes cluster at the top of the book, so inserts and deletes there move few
/// elements, and lookups are binary searches. Rules: a snapshot (or `u == 1`) replaces the book; in a delta
/// size 0 deletes, any other size inserts or replaces; integrity failures (update-id gap or regression per
/// ``UpdateIDPolicy``, crossed book) mark the book ``BookSyncState/needsResync(_:)`` until the next snapshot.
public struct OrderBook: Sendable {
    public let symbol: SymbolID
    /// Topic depth (50, 200, …); books of different depths are distinct.
    public let depth: Int
    public var policy: UpdateIDPolicy
    public private(set) var state: BookSyncState = .awaitingSnapshot
    public private(set) var stats = BookStats()
    public private(set) var lastUpdateID: UInt64?
    public private(set) var lastSequence: UInt64?
    public private(set) var lastExchangeTime: ExchangeTime?
    public private(set) var lastMatchTime: ExchangeTime?
    public private(set) var lastLocalTime: LocalTime?

    /// The best levels, kept by every apply: a reader reads them from the book's own record, not from each side's
    /// buffer (on a book last touched long ago, such as the one a cascade's first decision reads, that is a cache
    /// miss on the buffer's header and another on its last level, per side).
    public private(set) var bestBid: BookLevel?
    public private(set) var bestAsk: BookLevel?

    @usableFromInline var bids: PriceLevels
    @usableFromInline var asks: PriceLevels
    // Scratch buffer for snapshots (kept to avoid an allocation per snapshot).
    var scratch: [BookLevel] = []

    public init(symbol: SymbolID, depth: Int, policy: UpdateIDPolicy = .monotonic) {
        self.symbol = symbol
        self.depth = depth
        self.policy = policy
        bids = PriceLevels(expectedLevels: depth, ascending: true)
        asks = PriceLevels(expectedLevels: depth, ascending: false)
    }

    /// True when the book mirrors the exchange (a snapshot was applied and no check failed since).
    @inlinable public var isSynced: Bool { state == .synced }

    /// Applies one message of this book's topic.
    @discardableResult
    public mutating func apply(_ update: BookUpdate) -> BookApplyOutcome {
        // A repeated `seq` is not a regression: Bybit's level-1 stream re-pushes an unchanged book every 3 s.
        if let last = lastSequence, update.sequence != 0, update.sequence < last { stats.sequenceRegressions += 1 }
        if update.replacesBook {
            if update.updateID == 1 && stats.snapshots > 0 { stats.restartSnapshots += 1 }
            replace(update)
            return finish(update, outcome: .replaced)
        }
        guard case .synced = state, let previous = lastUpdateID else {
            stats.deltasIgnoredUntilSnapshot += 1
            return .ignoredUntilSnapshot
        }
        stats.deltas += 1
        let u = update.updateID
        if u <= previous {
            stats.updateIDRegressions += 1
            return invalidate(.updateIDRegression(previous: previous, got: u))
        }
        if u != previous &+ 1 {
            stats.updateIDJumps += 1
            if policy == .strict { return invalidate(.updateIDGap(expected: previous &+ 1, got: u)) }
        }
        for level in update.bids { count(bids.apply(level)) }
        for level in update.asks { count(asks.apply(level)) }
        stats.levelUpdates += update.bids.count + update.asks.count
        return finish(update, outcome: .applied)
    }

    /// Forgets the stream position after a session boundary (reconnect, resubscribe): the next message must
    /// be a snapshot, and deltas before it are ignored and counted, not reported as update-id anomalies.
    public mutating func awaitSnapshot() {
        state = .awaitingSnapshot
        lastUpdateID = nil
    }

    /// Marks the book as needing a resync (e.g. after a feed gap detected elsewhere) until the next snapshot.
    public mutating func invalidate(_ error: BookError) -> BookApplyOutcome {
        state = .needsResync(error)
        stats.resyncsRequested += 1
        return .invalidated(error)
    }

    @inline(__always)
    private mutating func count(_ change: PriceLevels.Change) {
        switch change {
        case .deleted: stats.deletes += 1
        case .deleteOfMissing:
            stats.deletes += 1
            stats.deletesOfMissingLevels += 1
        case .inserted, .updated: break
        }
    }

    private mutating func finish(_ update: BookUpdate, outcome: BookApplyOutcome) -> BookApplyOutcome {
        lastUpdateID = update.updateID
        if update.sequence != 0 { lastSequence = update.sequence }
        lastExchangeTime = update.exchangeTime
        lastMatchTime = update.matchTime ?? lastMatchTime
        lastLocalTime = update.localTime
        if bids.count > depth || asks.count > depth { stats.overDepth += 1 }
        bestBid = bids.best
        bestAsk = asks.best
        if let bid = bestBid, let ask = bestAsk, bid.price >= ask.price {
            stats.crossedBooks += 1
            return invalidate(.crossed(bid: bid.price, ask: ask.price))
        }
        if outcome == .replaced { state = .synced }
        return outcome
    }

    private mutating func replace(_ update: BookUpdate) {
        stats.snapshots += 1
        stats.levelUpdates += update.bids.count + update.asks.count
        let bidsSorted = Self.fill(&bids, from: update.bids, scratch: &scratch)
        let asksSorted = Self.fill(&asks, from: update.asks, scratch: &scratch)
        if !(bidsSorted && asksSorted) { stats.unsortedSnapshots += 1 }
    }

    /// Snapshots list the best level first; storage keeps it last. Unsorted input is sorted (and counted),
    /// a repeated price keeps its last size, and size-0 entries are dropped.
    /// Returns whether the input was strictly sorted.
    private static func fill(_ side: inout PriceLevels, from levels: [BookLevel], scratch: inout [BookLevel]) -> Bool {
        scratch.removeAll(keepingCapacity: true)
        var sorted = true
        for level in levels.reversed() where level.size.units > 0 {
            if let last = scratch.last {
                let inOrder = side.ascending ? last.price < level.price : last.price > level.price
                if !inOrder { sorted = false }
            }
            scratch.append(level)
        }
        if !sorted {
            // Rebuild from the message order so that a repeated price keeps its last size, as in a delta.
            var byPrice: [Int64: BookLevel] = [:]
            for level in levels where level.size.units > 0 { byPrice[level.price.units] = level }
            scratch = byPrice.values.sorted { side.ascending ? $0.price < $1.price : $0.price > $1.price }
        }
        side.assignBestLast(scratch)
        return sorted
    }
}
