import CascadeCore

/// Per-minute sums of one integer stream and order statistics over the completed minutes of the last `capacity`.
///
/// Bin `k` holds the values added at receive times `t` with `floor(t / 60 s) = k`. A bin enters the statistics
/// `lag` minutes after it completes (the detector uses `lag = 1` so its baseline never overlaps its 60 s window),
/// and only when the stream was observed for the whole minute: minutes before ``observe(since:)`` or after
/// an `observedUntil` given to ``advance(to:observedUntil:)`` are missing, never zeros. Observed minutes without values are zeros. Kept sorted
/// in blocks (``SortedBlocks``): a percentile is exact, and a minute's update shifts one block, not the whole window.
public struct MinuteBins: Sendable, Codable, Equatable {
    public static let minute: Int64 = 60_000_000_000
    /// Most completed bins kept.
    public let capacity: Int
    /// Minutes a completed bin waits before it counts.
    public let lag: Int
    /// Start of the observed span (nil: not observed now).
    public private(set) var observedSince: Int64?
    /// The minute being accumulated.
    private var current: Int64?
    private var currentValue: Int64 = 0
    /// Completed bins waiting for their lag: (minute, value, counts). At most `lag` of them between boundaries, inline.
    private var pending = InlineBins()
    /// Counted bins in minute order (oldest first): `ring[ringHead...]`, then ``stagedRing``, less the first
    /// ``stagedDrops`` (see ``settleRing()``).
    private var ring: [Bin] = []
    private var ringHead = 0
    /// A staged boundary touches neither the ring's buffer nor its pages (a week of bins, cold by a cascade's first
    /// frame: its header alone cost more than a microsecond a side): the bins it counts wait here, the oldest bins it
    /// drops are read from ``front`` and counted in ``stagedDrops``, and both reach ``ring`` at ``settle()``.
    private var stagedRing = InlineBins()
    private var stagedDrops = 0
    /// A copy of the ring's oldest bins (`ring[ringHead...]`, up to four), refreshed whenever the ring changes outside a
    /// staged boundary; `frontHoldsWholeRing`: it holds all of them. Derived state: not saved, not compared.
    private var front = InlineBins()
    private var frontHoldsWholeRing = true
    /// Counted non-zero values, ascending; zeros (most minutes of a liquidation stream) are only counted, so a
    /// quiet minute costs O(1) instead of a shift of the whole array. Values are sums of notionals or counts: ≥ 0.
    private var sortedValues = SortedBlocks()
    /// Non-zero values a minute boundary advanced with `staging` counted or dropped, not yet moved into
    /// ``sortedValues``: the detector judges a cascade's first frame (which often opens a minute) on the statistics with
    /// them, and they move in at ``settle()`` (after the node has sent what it decided) or at the next minute boundary.
    /// At most two each; a boundary that changes more moves everything in at once.
    private var stagedIn = StagedValues()
    private var stagedOut = StagedValues()
    private var zeros = 0
    private var total: Int64 = 0
    /// The percentile whose neighbourhood ``near`` keeps (see ``track(percentile:)``); not saved: its reader sets it.
    private var tracked: Int?
    /// A copy of the sorted values around ``tracked``'s rank, refreshed whenever the blocks change outside a staged
    /// boundary: the detector reads its threshold on a cascade's first frame from these few cache lines instead of
    /// binary searches over a week of blocks that are cold by then. Derived state: not saved, not compared.
    private var near = RankWindow()

    // The saved form (the staged values and ring work are saved applied: see `encode(to:)`).
    enum CodingKeys: String, CodingKey {
        case capacity, lag, observedSince, current, currentValue, pending, ring, ringHead, sortedValues, zeros, total
    }

    struct Bin: Sendable, Codable, Equatable {
        var minute: Int64
        var value: Int64
        var counted: Bool

        static let empty = Bin(minute: 0, value: 0, counted: false)
    }

    /// `lag` at most ``InlineBins/capacity`` minutes (the bins waiting for it are kept inline).
    public init(capacity: Int, lag: Int = 0) {
        precondition((0...InlineBins.capacity).contains(lag), "a lag of \(lag) minutes: at most \(InlineBins.capacity)")
        self.capacity = capacity
        self.lag = lag
        reserve()
    }

    /// Sizes the ring for the full window at once (it also holds up to an eighth of dead bins, see `dropDeadBins`): a young
    /// or restored engine's minute boundary then costs what a running one's does, with no array grown and copied on
    /// it. Reserved pages are not touched until used. Saved bins keep their synthesized form (`sortedValues` one
    /// ascending array, as before the blocks), so saved feature states restore.
    private mutating func reserve() {
        ring.reserveCapacity(capacity + deadBinsKept + lag + 2)
    }

    /// Decoded as saved (the synthesized form), then sized as ``init(capacity:lag:)`` sizes a new one: a decoded ring
    /// has no room to spare, and growing it would copy it whole at the first minute after a restart.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        capacity = try c.decode(Int.self, forKey: .capacity)
        lag = try c.decode(Int.self, forKey: .lag)
        observedSince = try c.decodeIfPresent(Int64.self, forKey: .observedSince)
        current = try c.decodeIfPresent(Int64.self, forKey: .current)
        currentValue = try c.decode(Int64.self, forKey: .currentValue)
        let savedPending = try c.decode([Bin].self, forKey: .pending)
        guard (0...InlineBins.capacity).contains(lag), savedPending.count <= lag else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "minute bins with a lag of \(lag) holding \(savedPending.count) bins"))
        }
        for bin in savedPending { _ = pending.append(bin) }
        ring = try c.decode([Bin].self, forKey: .ring)
        ringHead = try c.decode(Int.self, forKey: .ringHead)
        guard (0...ring.count).contains(ringHead) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "minute bins whose ring starts at \(ringHead) of \(ring.count) bins"))
        }
        sortedValues = try c.decode(SortedBlocks.self, forKey: .sortedValues)
        zeros = try c.decode(Int.self, forKey: .zeros)
        total = try c.decode(Int64.self, forKey: .total)
        reserve()
        refreshFront()
    }

    /// Dead bins the ring keeps before dropping them (an eighth of the window, at least 64): the buffer's slack.
    private var deadBinsKept: Int { max(64, capacity / 8) }

    /// Saved with the staged values moved in and the ring's staged work applied (on a copy: the ring's buffer is copied
    /// once when a boundary's work is unsettled): the same bytes whenever it is saved.
    public func encode(to encoder: any Encoder) throws {
        if stagedIn.count + stagedOut.count > 0 || ringStaged {
            var settled = self
            settled.settle()
            return try settled.encode(to: encoder)
        }
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(capacity, forKey: .capacity)
        try c.encode(lag, forKey: .lag)
        try c.encodeIfPresent(observedSince, forKey: .observedSince)
        try c.encodeIfPresent(current, forKey: .current)
        try c.encode(currentValue, forKey: .currentValue)
        try c.encode(pending.bins, forKey: .pending)
        try c.encode(ring, forKey: .ring)
        try c.encode(ringHead, forKey: .ringHead)
        try c.encode(sortedValues, forKey: .sortedValues)
        try c.encode(zeros, forKey: .zeros)
        try c.encode(total, forKey: .total)
    }

    /// The same bins and statistics, whether or not their staged values have moved in.
    public static func == (a: Self, b: Self) -> Bool {
        var a = a, b = b
        a.settle()
        b.settle()
        return a.capacity == b.capacity && a.lag == b.lag && a.observedSince == b.observedSince && a.current == b.current
            && a.currentValue == b.currentValue && a.pending.bins == b.pending.bins && a.ring == b.ring && a.ringHead == b.ringHead
            && a.sortedValues == b.sortedValues && a.zeros == b.zeros && a.total == b.total
    }

    /// Moves the values the latest minute boundary staged into the sorted blocks, applies its ring work (the bins it
    /// counted and dropped, see ``stagedRing``), and refreshes the tracked neighbourhood: what a boundary would
    /// otherwise cost, done when nothing waits on it.
    public mutating func settle() {
        moveStagedIn()
        settleRing()
        refreshNear()
    }

    /// Whether a staged boundary left ring work for ``settleRing()``.
    private var ringStaged: Bool { stagedRing.count > 0 || stagedDrops > 0 }

    /// Applies what staged boundaries left of the ring (the bins counted appended, the oldest dropped, dead bins
    /// dropped in bulk as `advance` drops them), then copies its front again.
    private mutating func settleRing() {
        guard ringStaged else { return }
        for k in 0..<stagedRing.count { ring.append(stagedRing[k]) }
        ringHead += stagedDrops
        stagedRing = InlineBins()
        stagedDrops = 0
        dropDeadBins()
        refreshFront()
    }

    /// Dead bins are dropped once they are an eighth of the window: the buffer stops growing a little past the
    /// window's length instead of at twice it (a node that runs for months keeps a flat footprint).
    private mutating func dropDeadBins() {
        if ringHead > deadBinsKept {
            ring.removeFirst(ringHead)
            ringHead = 0
        }
    }

    /// Copies the ring's oldest bins into ``front`` (nothing staged).
    private mutating func refreshFront() {
        front = InlineBins()
        let live = ring.count - ringHead
        for k in 0..<min(live, InlineBins.capacity) { _ = front.append(ring[ringHead + k]) }
        frontHoldsWholeRing = live <= InlineBins.capacity
    }

    /// Moves the staged values into the blocks (the copy is then stale, refreshed by ``refreshNear()``).
    private mutating func moveStagedIn() {
        guard stagedIn.count + stagedOut.count > 0 else { return }
        // Counted first: a dropped value may be one just counted.
        for k in 0..<stagedIn.count { sortedValues.insert(stagedIn[k]) }
        for k in 0..<stagedOut.count { sortedValues.remove(stagedOut[k]) }
        stagedIn = StagedValues()
        stagedOut = StagedValues()
        near.count = 0
    }

    /// Keeps a copy of the sorted values around percentile `p`'s rank (see ``near``), for a reader that reads that
    /// percentile on its critical path. Every percentile reads the copy when it holds the rank, the blocks otherwise.
    /// A `p` outside 1...100 keeps no copy (``percentile(_:)`` answers it as it always did).
    public mutating func track(percentile p: Int) {
        tracked = (1...100).contains(p) ? p : nil
        near.count = 0
        refreshNear()
    }

    /// Copies the values around the tracked rank when the copy is stale, or when zero minutes counted or dropped since
    /// have moved the rank within a quarter of the copy's edge, and nothing is staged.
    private mutating func refreshNear() {
        guard let p = tracked, stagedIn.count + stagedOut.count == 0, sortedValues.count > 0 else { return }
        let r = Self.nearestRank(p, of: count) - zeros
        let margin = RankWindow.capacity / 4
        if near.count > 0, near.base == 0 || r - near.base >= margin,
           near.base + near.count == sortedValues.count || near.base + near.count - 1 - r >= margin {
            return
        }
        let base = max(0, min(r - RankWindow.capacity / 2, sortedValues.count - RankWindow.capacity))
        near.base = base
        near.count = sortedValues.copy(from: base, into: &near.values)
    }

    /// Number of counted bins.
    public var count: Int { sortedValues.count + stagedIn.count - stagedOut.count + zeros }

    /// Marks the stream observed from `t` on (no-op when already observed).
    public mutating func observe(since t: Int64) {
        if observedSince == nil { observedSince = t }
    }

    /// A new observed span from `t` (after an interruption or a gap, once ``advance(to:observedUntil:)`` has settled
    /// the minutes before it).
    public mutating func restart(since t: Int64) {
        observedSince = t
    }

    /// Adds `value` at receive time `t`.
    public mutating func add(_ value: Int64, at t: Int64) {
        advance(to: t)
        currentValue &+= value
    }

    /// Completes the bins before `t`'s minute and counts those whose lag has passed. A bin counts only when the
    /// stream was observed over all of it: from ``observedSince`` and, when `observedUntil` is given (the stream
    /// stopped being observed then: a disconnect, or the last input before a gap), up to it. Minutes skipped without
    /// input are zeros when they count, missing otherwise. `staging`: a boundary's counted and dropped values wait for
    /// ``settle()`` (order statistics read them staged); otherwise they move in before this returns.
    public mutating func advance(to t: Int64, observedUntil: Int64? = nil, staging: Bool = false) {
        let m = floorDivide(t, Self.minute)
        guard let c = current else {
            current = m
            return
        }
        // Within the minute (or earlier) nothing is due: every bin ready by `m` moved at the boundary that opened `c`.
        guard m > c else { return }
        // The previous boundary's staged values (and ring work) move in before this one stages its own.
        settle()
        // Minutes skipped without any input: at most `capacity + lag` of them matter, and none after a stop.
        let firstSkipped = max(c + 1, m - Int64(capacity + lag) - 1)
        let stop = observedUntil.map { min(m, floorDivide($0, Self.minute) + 1) } ?? m
        // The bins this boundary counts: those waiting whose lag passes, minute `c` and the skipped minutes before `m − lag`.
        var counting = 0
        for k in 0..<pending.count where pending[k].minute + Int64(lag) < m { counting += 1 }
        if c + Int64(lag) < m { counting += 1 }
        counting += Int(max(0, min(stop, m - Int64(lag)) - firstSkipped))
        // Bins leave by age, not by count: missing minutes hold no place.
        let oldest = m - Int64(capacity + lag)
        // A staged boundary leaves the ring untouched when what it counts fits inline and what it drops is known from
        // the front copy: a front bin it keeps ends the drops, or the copy holds every bin and the ones it counts are
        // not dropped at once.
        let drops = leadingFront(before: oldest)
        let inline = staging && counting <= InlineBins.capacity
            && (drops < front.count || (frontHoldsWholeRing && (pending.count > 0 ? pending[0].minute : c) >= oldest))
        // Bins waiting for their lag, then the completed minutes, in minute order: those past their lag are counted.
        let waiting = pending
        pending = InlineBins()
        for k in 0..<waiting.count { take(waiting[k], by: m, inline: inline) }
        take(bin(c, value: currentValue, observedUntil: observedUntil), by: m, inline: inline)
        var k = firstSkipped
        while k < stop {
            take(bin(k, value: 0, observedUntil: observedUntil), by: m, inline: inline)
            k += 1
        }
        current = m
        currentValue = 0
        if inline {
            for k in 0..<drops { drop(front[k]) }
            stagedDrops = drops
        } else {
            while ringHead < ring.count && ring[ringHead].minute < oldest {
                drop(ring[ringHead])
                ringHead += 1
            }
            dropDeadBins()
            refreshFront()
        }
        // Settling also refreshes the tracked copy: the blocks and the zeros change only when the minute does.
        if !staging { settle() }
    }

    /// How many of the front copy's bins are older than minute `oldest`.
    private func leadingFront(before oldest: Int64) -> Int {
        var k = 0
        while k < front.count && front[k].minute < oldest { k += 1 }
        return k
    }

    /// Minute `minute` completed with `value`: counted when the stream was observed over all of it.
    private func bin(_ minute: Int64, value: Int64, observedUntil: Int64?) -> Bin {
        let start = minute * Self.minute
        let counted = (observedSince.map { $0 <= start } ?? false) && (observedUntil.map { $0 >= start + Self.minute } ?? true)
        return Bin(minute: minute, value: value, counted: counted)
    }

    /// A completed bin at the boundary of minute `m`: counted once its lag has passed (into ``stagedRing`` when
    /// `inline`), waiting otherwise.
    private mutating func take(_ bin: Bin, by m: Int64, inline: Bool) {
        guard bin.minute + Int64(lag) < m else {
            let fits = pending.append(bin)
            precondition(fits, "more than \(lag) bins waiting for a lag of \(lag)")
            return
        }
        guard bin.counted else { return }
        if inline {
            let fits = stagedRing.append(bin)
            precondition(fits, "a staged boundary counted more bins than it checked for")
        } else {
            ring.append(bin)
        }
        precondition(bin.value >= 0, "MinuteBins holds sums of non-negative values")
        if bin.value == 0 {
            zeros += 1
        } else if !stagedIn.append(bin.value) {
            moveStagedIn()
            sortedValues.insert(bin.value)
        }
        total &+= bin.value
    }

    /// The oldest counted bin leaves the statistics.
    private mutating func drop(_ old: Bin) {
        if old.value == 0 {
            zeros -= 1
        } else if !stagedIn.remove(old.value), !stagedOut.append(old.value) {
            // The copy waits for the next settle: a staged boundary is on the decision path.
            moveStagedIn()
            sortedValues.remove(old.value)
        }
        total &-= old.value
    }

    /// Nearest-rank percentile `p` (0 < p ≤ 100) of the counted bins: the element at `ceil(p·n/100) − 1`.
    public func percentile(_ p: Int) -> Int64? {
        let n = count
        guard n > 0 else { return nil }
        let i = Self.nearestRank(p, of: n)
        if i < zeros { return 0 }
        if let v = nearValue(rank: i - zeros) { return v }
        return stagedIn.count + stagedOut.count == 0 ? sortedValues[i - zeros] : value(rank: i - zeros)
    }

    /// The 0-based index of nearest-rank percentile `p` among `n` ascending values: `ceil(p·n/100) − 1`.
    private static func nearestRank(_ p: Int, of n: Int) -> Int { max(0, (p * n + 99) / 100 - 1) }

    /// The non-zero value at `rank` from the copy ``near``, with the staged values counted and dropped; nil when the
    /// copy does not reach it. The blocks are `B ++ W ++ A` with `W` the copy (ranks `base ..< base + count`), every
    /// value of `B` at most `W`'s first and every value of `A` at least its last; a staged value below `W`'s first
    /// moves `W` up or down a rank, one within `W`'s range joins or leaves `W` (equal values are interchangeable), and
    /// one above it changes nothing below.
    private func nearValue(rank j: Int) -> Int64? {
        guard near.count > 0 else { return nil }
        if stagedIn.count + stagedOut.count == 0 {
            return j >= near.base && j < near.base + near.count ? near.values[j - near.base] : nil
        }
        let lo = near.values[0], hi = near.values[near.count - 1]
        // The copy, then up to two values joining it: 18 of the 32 lanes at most.
        var w = SIMD32<Int64>()
        var n = near.count
        for k in 0..<n { w[k] = near.values[k] }
        var base = near.base
        for s in 0..<stagedIn.count {
            let x = stagedIn[s]
            if x < lo {
                base += 1
            } else if x <= hi {
                var k = n
                while k > 0 && w[k - 1] > x {
                    w[k] = w[k - 1]
                    k -= 1
                }
                w[k] = x
                n += 1
            }
        }
        for s in 0..<stagedOut.count {
            let x = stagedOut[s]
            if x < lo {
                base -= 1
            } else if x <= hi {
                var k = 0
                while k < n && w[k] != x { k += 1 }
                guard k < n else { return nil }   // a second copy of an end value, held outside the copy
                while k + 1 < n {
                    w[k] = w[k + 1]
                    k += 1
                }
                n -= 1
            }
        }
        guard j >= base && j < base + n else { return nil }
        return w[j - base]
    }

    /// The non-zero value at `rank` (0-based, ascending) of the sorted blocks with the staged values counted and
    /// dropped, without moving them in. Adding `stagedIn` and dropping `stagedOut` moves a rank by at most their
    /// counts, so the value is a staged one or a block value within that many ranks of `rank`; it is the candidate
    /// whose range of ranks in the result holds `rank`.
    private func value(rank j: Int) -> Int64 {
        func holds(_ x: Int64) -> Bool {
            let below = sortedValues.count(below: x, orEqual: false) + stagedIn.count(below: x, orEqual: false)
                - stagedOut.count(below: x, orEqual: false)
            let upTo = sortedValues.count(below: x, orEqual: true) + stagedIn.count(below: x, orEqual: true)
                - stagedOut.count(below: x, orEqual: true)
            return below <= j && j < upTo
        }
        for k in 0..<stagedIn.count where holds(stagedIn[k]) { return stagedIn[k] }
        let lo = max(0, j - stagedIn.count), hi = min(sortedValues.count - 1, j + stagedOut.count)
        if lo <= hi { for r in lo...hi where holds(sortedValues[r]) { return sortedValues[r] } }
        preconditionFailure("rank \(j) of \(count - zeros) non-zero bins not found")
    }

    /// Mean of the counted bins.
    public var mean: Double? { count == 0 ? nil : Double(total) / Double(count) }

}

/// Sorted values at ranks `base ..< base + count` of a ``SortedBlocks``, inline (144 bytes, no buffer of its own to
/// miss); `count` 0: none. A SIMD vector for its fixed inline storage (`InlineArray` needs macOS 26).
struct RankWindow: Sendable {
    static let capacity = SIMD16<Int64>.scalarCount
    var base = 0
    var count = 0
    var values = SIMD16<Int64>()
}

/// Up to two values, inline (no buffer of its own to miss in cache): what one minute boundary of a bins series counts
/// or drops.
struct StagedValues: Sendable {
    private(set) var count = 0
    private var first: Int64 = 0
    private var second: Int64 = 0

    subscript(i: Int) -> Int64 { i == 0 ? first : second }

    /// Adds `v`; false when full.
    mutating func append(_ v: Int64) -> Bool {
        switch count {
        case 0: first = v
        case 1: second = v
        default: return false
        }
        count += 1
        return true
    }

    /// Removes one `v`; false when not held.
    mutating func remove(_ v: Int64) -> Bool {
        if count > 1, second == v {
            count = 1
            return true
        }
        guard count > 0, first == v else { return false }
        first = second
        count -= 1
        return true
    }

    func count(below v: Int64, orEqual: Bool) -> Int {
        var n = 0
        for k in 0..<count where orEqual ? self[k] <= v : self[k] < v { n += 1 }
        return n
    }
}

/// Up to four bins, inline (no buffer of its own to miss in cache).
struct InlineBins: Sendable {
    static let capacity = 4
    private(set) var count = 0
    private var storage = (MinuteBins.Bin.empty, MinuteBins.Bin.empty, MinuteBins.Bin.empty, MinuteBins.Bin.empty)

    subscript(i: Int) -> MinuteBins.Bin {
        precondition(i >= 0 && i < count, "bin \(i) of \(count)")
        switch i {
        case 0: return storage.0
        case 1: return storage.1
        case 2: return storage.2
        default: return storage.3
        }
    }

    /// Adds `bin` at the end; false when full.
    mutating func append(_ bin: MinuteBins.Bin) -> Bool {
        switch count {
        case 0: storage.0 = bin
        case 1: storage.1 = bin
        case 2: storage.2 = bin
        case 3: storage.3 = bin
        default: return false
        }
        count += 1
        return true
    }

    var bins: [MinuteBins.Bin] { (0..<count).map { self[$0] } }
}
