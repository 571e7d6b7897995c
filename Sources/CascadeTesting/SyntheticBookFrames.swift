import CascadeCore

/// Generates a seeded, self-consistent stream of Bybit `orderbook.{depth}` frames (JSON text) for tests and
/// benchmarks: one snapshot, then deltas that move sizes, delete and insert levels near the top, `u` +1 each.
///
/// Prices are printed with 2 decimals and sizes with 3, like BTCUSDT; the generator keeps its own reference
/// book so every delta is valid against it.
public struct SyntheticBookFrames {
    public let symbol: String
    public let depth: Int
    private var rng: SeededRandom
    private var bids: [Int64: Int64] = [:]   // price (cents) -> size (milli)
    private var asks: [Int64: Int64] = [:]
    private var u: UInt64 = 1_000_000
    private var seq: UInt64 = 50_000_000
    private var ts: Int64 = 1_721_347_021_000
    private var mid: Int64

    public init(symbol: String = "BTCUSDT", depth: Int = 50, seed: UInt64, midCents: Int64 = 6_400_000) {
        self.symbol = symbol
        self.depth = depth
        self.rng = SeededRandom(seed: seed)
        self.mid = midCents
    }

    /// Levels per side of the generator's own reference book.
    public var referenceLevelCounts: (bids: Int, asks: Int) { (bids.count, asks.count) }
    /// Best bid and ask of the reference book as Bybit text (price, size).
    public var referenceBest: (bid: (String, String), ask: (String, String))? {
        guard let b = bids.keys.max(), let a = asks.keys.min() else { return nil }
        return ((Self.price(b), Self.size(bids[b]!)), (Self.price(a), Self.size(asks[a]!)))
    }

    static func price(_ cents: Int64) -> String { FixedDecimal.format(cents, digits: 2, minimumFractionDigits: 2) }
    static func size(_ milli: Int64) -> String { FixedDecimal.format(milli, digits: 3, minimumFractionDigits: 3) }

    /// The first frame: a snapshot of `depth` levels per side around the mid, stamped `ts` (default: 20 ms after the
    /// previous frame).
    public mutating func snapshot(ts: Int64? = nil) -> String {
        if let ts { self.ts = ts - 20 }
        bids = [:]
        asks = [:]
        for i in 0..<Int64(depth) {
            bids[mid - 5 - i * 10] = Int64(rng.next() % 5000) + 1
            asks[mid + 5 + i * 10] = Int64(rng.next() % 5000) + 1
        }
        return frame(type: "snapshot", bids: bids.sorted { $0.key > $1.key }, asks: asks.sorted { $0.key < $1.key })
    }

    /// The next delta: `changes` level entries split across both sides (updates, inserts and deletes), stamped `ts`
    /// (default: 20 ms after the previous frame). A caller that mixes in other topics passes its own times, so every
    /// frame of a file stays in exchange-time order.
    public mutating func delta(changes: Int = 8, ts: Int64? = nil) -> String {
        if let ts { self.ts = ts - 20 }
        var b: [(Int64, Int64)] = []
        var a: [(Int64, Int64)] = []
        for k in 0..<changes {
            let bidSide = k % 2 == 0
            var side = bidSide ? bids : asks
            let best = bidSide ? side.keys.max()! : side.keys.min()!
            let offset = Int64(rng.next() % 12) * 10
            let p = bidSide ? best - offset : best + offset
            let roll = rng.next() % 10
            var q: Int64
            if roll < 2, side.count > depth / 2, side[p] != nil {
                q = 0
                side[p] = nil
            } else {
                q = Int64(rng.next() % 5000) + 1
                side[p] = q
            }
            // Keep the side at `depth` levels like Bybit: push out the worst level with an explicit delete.
            var out: [(Int64, Int64)] = [(p, q)]
            while side.count > depth {
                let worst = bidSide ? side.keys.min()! : side.keys.max()!
                side[worst] = nil
                out.append((worst, 0))
            }
            if bidSide { bids = side; b.append(contentsOf: out) } else { asks = side; a.append(contentsOf: out) }
        }
        // Keep the book uncrossed: the generator only moves levels on their own side of the mid.
        return frame(type: "delta", bids: b.filter { $0.0 < mid }, asks: a.filter { $0.0 > mid })
    }

    private mutating func frame(type: String, bids: [(key: Int64, value: Int64)], asks: [(key: Int64, value: Int64)]) -> String {
        frame(type: type, bids: bids.map { ($0.key, $0.value) }, asks: asks.map { ($0.key, $0.value) })
    }

    private mutating func frame(type: String, bids: [(Int64, Int64)], asks: [(Int64, Int64)]) -> String {
        u += 1
        seq += 1 + rng.next() % 50
        ts += 20
        let b = bids.map { "[\"\(Self.price($0.0))\",\"\(Self.size($0.1))\"]" }.joined(separator: ",")
        let a = asks.map { "[\"\(Self.price($0.0))\",\"\(Self.size($0.1))\"]" }.joined(separator: ",")
        return "{\"topic\":\"orderbook.\(depth).\(symbol)\",\"type\":\"\(type)\",\"ts\":\(ts),\"data\":{\"s\":\"\(symbol)\",\"b\":[\(b)],\"a\":[\(a)],\"u\":\(u),\"seq\":\(seq)},\"cts\":\(ts - 2)}"
    }
}
