/// A sorted multiset of integers in blocks of at most `2 × blockSize`, each its own buffer, with every block's largest
/// value and size kept in two small arrays: an insert or removal shifts one block (≤ 2 KB) instead of the whole set,
/// and finds it by reading ~1 KB of block maxima. `MinuteBins` keeps up to a week of minutes (10,080 values for the
/// detector): as one sorted array, the minute boundary a cascade's first frame often crosses shifted ~40 KB twice
/// per side, ~4 µs each when the array was not in cache. The same values in the same order as one sorted array, so
/// every order statistic is exact.
struct SortedBlocks: Sendable, Equatable {
    static let blockSize = 128
    private var blocks: [[Int64]] = []
    /// Per block: its largest value (its last).
    private var maxima: [Int64] = []
    /// Per block: how many values it holds.
    private var sizes: [Int] = []
    private(set) var count = 0

    init() {}

    /// The values of `sorted` (ascending).
    init(sorted: [Int64]) {
        var i = 0
        while i < sorted.count {
            let end = min(sorted.count, i + Self.blockSize)
            append(block: Array(sorted[i..<end]))
            i = end
        }
        count = sorted.count
    }

    /// Every value, ascending.
    var sorted: [Int64] { blocks.flatMap { $0 } }

    /// The block holding the first value ≥ `v` (the last block when every value is smaller); nil when empty.
    private func block(for v: Int64) -> Int? {
        maxima.isEmpty ? nil : min(Self.lowerBound(maxima, v), maxima.count - 1)
    }

    mutating func insert(_ v: Int64) {
        count += 1
        guard let k = block(for: v) else {
            append(block: [v])
            return
        }
        blocks[k].insert(v, at: Self.lowerBound(blocks[k], v))
        maxima[k] = max(maxima[k], v)
        sizes[k] += 1
        if sizes[k] >= 2 * Self.blockSize { split(k) }
    }

    /// Removes one `v`, which must be present.
    mutating func remove(_ v: Int64) {
        guard let k = block(for: v) else { preconditionFailure("removing \(v) from an empty set") }
        let i = Self.lowerBound(blocks[k], v)
        precondition(i < sizes[k] && blocks[k][i] == v, "removing \(v), which the set does not hold")
        blocks[k].remove(at: i)
        sizes[k] -= 1
        count -= 1
        if sizes[k] == 0 {
            blocks.remove(at: k)
            maxima.remove(at: k)
            sizes.remove(at: k)
            return
        }
        maxima[k] = blocks[k][sizes[k] - 1]
        // A block left small joins its next neighbour when both fit in one: blocks drained by the window's evictions
        // do not pile up as slivers.
        if sizes[k] < Self.blockSize / 4, k + 1 < blocks.count, sizes[k] + sizes[k + 1] < 2 * Self.blockSize { merge(k) }
    }

    /// The value at `rank` (0-based, ascending).
    subscript(rank: Int) -> Int64 {
        let (k, r) = locate(rank)
        return blocks[k][r]
    }

    /// The block holding `rank` and the rank's place in it, found from the nearer end: order statistics near the top
    /// (p99) are the common reads.
    private func locate(_ rank: Int) -> (block: Int, offset: Int) {
        precondition(rank >= 0 && rank < count, "rank \(rank) out of 0..<\(count)")
        if rank >= count / 2 {
            var r = count - 1 - rank, k = sizes.count - 1
            while r >= sizes[k] {
                r -= sizes[k]
                k -= 1
            }
            return (k, sizes[k] - 1 - r)
        }
        var r = rank, k = 0
        while r >= sizes[k] {
            r -= sizes[k]
            k += 1
        }
        return (k, r)
    }

    /// Copies the values from `rank` on into `window` (as many as fit and exist); returns how many.
    func copy(from rank: Int, into window: inout SIMD16<Int64>) -> Int {
        var (k, r) = locate(rank)
        var n = 0
        while n < window.scalarCount && k < blocks.count {
            window[n] = blocks[k][r]
            n += 1
            r += 1
            if r == sizes[k] {
                r = 0
                k += 1
            }
        }
        return n
    }

    /// How many values are below `v` (at or below it with `orEqual`).
    func count(below v: Int64, orEqual: Bool) -> Int {
        // Blocks before the first whose largest value reaches `v` (passes it with `orEqual`) lie wholly below it.
        let lo = Self.lowerBound(maxima, v, pastEqual: orEqual)
        guard lo < blocks.count else { return count }
        let a = Self.lowerBound(blocks[lo], v, pastEqual: orEqual)
        // The sizes summed from the nearer end: order statistics near the top (p99) are the common reads.
        if lo <= sizes.count / 2 { return sizes[..<lo].reduce(0, +) + a }
        return count - sizes[lo...].reduce(0, +) + a
    }

    private mutating func append(block: [Int64]) {
        var b = block
        b.reserveCapacity(2 * Self.blockSize)
        blocks.append(b)
        maxima.append(b[b.count - 1])
        sizes.append(b.count)
    }

    private mutating func split(_ k: Int) {
        let half = sizes[k] / 2
        var upper: [Int64] = []
        upper.reserveCapacity(2 * Self.blockSize)
        upper.append(contentsOf: blocks[k][half...])
        blocks[k].removeSubrange(half...)
        sizes[k] = half
        maxima[k] = blocks[k][half - 1]
        blocks.insert(upper, at: k + 1)
        maxima.insert(upper[upper.count - 1], at: k + 1)
        sizes.insert(upper.count, at: k + 1)
    }

    private mutating func merge(_ k: Int) {
        blocks[k].append(contentsOf: blocks[k + 1])
        sizes[k] += sizes[k + 1]
        maxima[k] = maxima[k + 1]
        blocks.remove(at: k + 1)
        maxima.remove(at: k + 1)
        sizes.remove(at: k + 1)
    }

    /// The same values in the same order, whatever their blocks.
    static func == (a: Self, b: Self) -> Bool {
        guard a.count == b.count else { return false }
        var i = a.blocks.lazy.joined().makeIterator(), j = b.blocks.lazy.joined().makeIterator()
        while let x = i.next() { if x != j.next() { return false } }
        return true
    }

    /// The first index whose value is ≥ `v` (> `v` with `pastEqual`: the upper bound).
    static func lowerBound(_ a: [Int64], _ v: Int64, pastEqual: Bool = false) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if pastEqual ? a[mid] <= v : a[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

// Saved as one ascending array (the form `MinuteBins` saved before the blocks).
extension SortedBlocks: Codable {
    init(from decoder: any Decoder) throws {
        let values = try decoder.singleValueContainer().decode([Int64].self)
        guard zip(values, values.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "values not ascending"))
        }
        self.init(sorted: values)
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(sorted)
    }
}
