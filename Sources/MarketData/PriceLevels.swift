public import CascadeCore

/// One side of a book: levels sorted with the **best level last**, in a buffer with free room at both ends.
///
/// Bybit's deltas touch both ends of a side: the top (trading) and the bottom (levels pushed out of, or
/// entering, the depth-N window). A plain array makes changes at its front cost a full shift; here an insert
/// or delete shifts whichever part of the side is shorter, so both ends are O(1) and the middle is at most
/// half a side. Lookups are binary searches.
@usableFromInline
struct PriceLevels: Sendable {
    @usableFromInline var storage: [BookLevel]
    /// Live range `lo..<hi` of `storage`.
    @usableFromInline var lo: Int
    @usableFromInline var hi: Int
    /// Bids are ascending (best = highest last); asks are descending (best = lowest last).
    @usableFromInline let ascending: Bool

    init(expectedLevels: Int, ascending: Bool) {
        let capacity = max(64, expectedLevels * 2 + 32)
        storage = Array(repeating: BookLevel(price: .zero, size: .zero), count: capacity)
        lo = capacity / 2
        hi = lo
        self.ascending = ascending
    }

    @inlinable var count: Int { hi - lo }
    @inlinable var best: BookLevel? { hi > lo ? storage[hi - 1] : nil }
    @inlinable var worst: BookLevel? { hi > lo ? storage[lo] : nil }

    /// The `k`-th best level (0 = best).
    @inlinable func level(fromBest k: Int) -> BookLevel { storage[hi - 1 - k] }

    /// Physical index of the first live element not better-ordered before `price` (a lower bound).
    ///
    /// Branch-free halving (the select compiles to a conditional move): level prices are unpredictable, and a
    /// mispredicted branch per halving cost more than the search itself.
    @inline(__always)
    func search(_ price: Int64) -> Int {
        var n = hi - lo
        if n == 0 { return lo }
        return storage.withUnsafeBufferPointer { p in
            var base = lo
            if ascending {
                while n > 1 {
                    let half = n >> 1
                    base = p[base + half].price.units < price ? base + half : base
                    n -= half
                }
                return base + (p[base].price.units < price ? 1 : 0)
            } else {
                while n > 1 {
                    let half = n >> 1
                    base = p[base + half].price.units > price ? base + half : base
                    n -= half
                }
                return base + (p[base].price.units > price ? 1 : 0)
            }
        }
    }

    /// Displayed size at `price`, zero if absent.
    func size(at price: Int64) -> Int64 {
        let i = search(price)
        return i < hi && storage[i].price.units == price ? storage[i].size.units : 0
    }

    enum Change { case inserted, updated, deleted, deleteOfMissing }

    /// Applies one delta entry: size 0 deletes, anything else inserts or replaces.
    @inline(__always)
    mutating func apply(_ level: BookLevel) -> Change {
        let i = search(level.price.units)
        let found = i < hi && storage[i].price.units == level.price.units
        if level.size.units == 0 {
            guard found else { return .deleteOfMissing }
            remove(at: i)
            return .deleted
        }
        if found {
            storage[i].size = level.size
            return .updated
        }
        insert(level, at: i)
        return .inserted
    }

    private mutating func insert(_ level: BookLevel, at i: Int) {
        if lo == 0 && hi == storage.count { makeRoom() ; return insert(level, at: search(level.price.units)) }
        let front = i - lo, back = hi - i
        storage.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            if (front <= back && lo > 0) || hi == p.count {
                // Shift the worse part one slot towards the front.
                (base + lo - 1).update(from: base + lo, count: front)
                lo -= 1
                base[i - 1] = level
            } else {
                (base + i + 1).update(from: base + i, count: back)
                hi += 1
                base[i] = level
            }
        }
    }

    private mutating func remove(at i: Int) {
        let front = i - lo, back = hi - i - 1
        storage.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            if front < back {
                (base + lo + 1).update(from: base + lo, count: front)
                lo += 1
            } else {
                (base + i).update(from: base + i + 1, count: back)
                hi -= 1
            }
        }
    }

    /// Re-centres the live range, growing the buffer when the side is more than half full.
    private mutating func makeRoom() {
        let live = Array(storage[lo..<hi])
        let capacity = live.count * 2 >= storage.count ? storage.count * 2 : storage.count
        storage = Array(repeating: BookLevel(price: .zero, size: .zero), count: capacity)
        lo = (capacity - live.count) / 2
        hi = lo + live.count
        storage.replaceSubrange(lo..<hi, with: live)
    }

    /// Replaces the content with `levels` given best-last; the caller guarantees strict order.
    mutating func assignBestLast(_ levels: [BookLevel]) {
        if levels.count * 2 + 2 > storage.count {
            storage = Array(repeating: BookLevel(price: .zero, size: .zero), count: levels.count * 4 + 32)
        }
        lo = (storage.count - levels.count) / 2
        hi = lo + levels.count
        storage.replaceSubrange(lo..<hi, with: levels)
    }

    /// Live levels, worst first (physical order).
    var levels: ArraySlice<BookLevel> { storage[lo..<hi] }
}
