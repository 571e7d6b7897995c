public import CascadeCore

/// Resting size within a band around the mid price, and how much of that band the book actually covers.
public struct DepthWithinBand: Equatable, Sendable {
    /// Total displayed size of the levels inside the band.
    public var quantity: Quantity
    /// Σ price × size of those levels, exact.
    public var notional: USDT
    /// Levels inside the band.
    public var levels: Int
    /// Distance from mid to the farthest level the book holds on that side, in hundredths of a basis point.
    /// A depth-limited topic (50/200 levels) often covers only a few bps: a band wider than this is unknown
    /// beyond it, not empty.
    public var coveredCentiBps: Int64
    /// True when the book holds a level at or beyond the band edge, so the band is fully observed.
    public var isBandFullyCovered: Bool
}

extension OrderBook {
    /// Number of levels per side.
    public var bidCount: Int { bids.count }
    public var askCount: Int { asks.count }

    /// Mid price ×2 in price units (exact: the mid of two prices may fall on a half unit).
    public var doubledMid: Int64? {
        guard let b = bestBid, let a = bestAsk else { return nil }
        return b.price.units + a.price.units
    }

    /// Best ask − best bid.
    public var spread: Price? {
        guard let b = bestBid, let a = bestAsk else { return nil }
        return Price(units: a.price.units - b.price.units)
    }

    /// The worst (farthest from the touch) level a side holds: the edge of the span the book covers.
    public func worstLevel(_ side: BookSide) -> BookLevel? { side == .bid ? bids.worst : asks.worst }

    /// The best `n` levels of a side, best first.
    public func topLevels(_ side: BookSide, _ n: Int) -> [BookLevel] {
        let levels = side == .bid ? bids : asks
        return (0..<min(n, levels.count)).map { levels.level(fromBest: $0) }
    }

    /// Displayed size at exactly `price` on `side` (zero when no level is there): the queue ahead of a new order.
    public func displayedSize(at price: Price, side: BookSide) -> Quantity {
        Quantity(units: (side == .bid ? bids : asks).size(at: price.units))
    }

    /// Cumulative displayed size and notional within `basisPoints` of the mid on `side`, with the span covered.
    /// Returns `nil` when either side is empty (no mid) or the summed size overflows.
    public func depth(within basisPoints: Int, side: BookSide) -> DepthWithinBand? {
        guard let twiceMid = doubledMid else { return nil }
        let levels = side == .bid ? bids : asks
        let mid2 = Int128(twiceMid)
        var qty: Int64 = 0
        var notional = Int128(0)
        var inside = 0
        // Level p is inside when |2·mid − 2·p| · 10_000 ≤ bps · 2·mid (all exact integers).
        let limit = (Int128(basisPoints) * mid2).magnitude
        var covered = true
        var k = 0
        while true {
            guard k < levels.count else {
                covered = false
                break
            }
            let level = levels.level(fromBest: k)
            let distance = (mid2 - 2 * Int128(level.price.units)).magnitude * 10_000
            if distance > limit { break }
            let (sum, overflow) = qty.addingReportingOverflow(level.size.units)
            if overflow { return nil }
            qty = sum
            notional += Int128(level.price.units) * Int128(level.size.units)
            inside += 1
            k += 1
        }
        let farthest = levels.worst.map { Int128($0.price.units) } ?? mid2 / 2
        let coveredCenti = Int64((mid2 - 2 * farthest).magnitude * 1_000_000 / mid2.magnitude)
        guard let value = FixedDecimal.rescaleWide(notional, from: Price.digits + Quantity.digits, to: USDT.digits) else {
            return nil
        }
        return DepthWithinBand(quantity: Quantity(units: qty), notional: USDT(units: value), levels: inside,
                               coveredCentiBps: coveredCenti, isBandFullyCovered: covered)
    }
}

extension OrderBook {
    /// Levels on `side`.
    @inlinable public func levelCount(_ side: BookSide) -> Int { side == .bid ? bids.count : asks.count }

    /// The `k`-th best level of `side` (0 = best); `k` must be below ``levelCount(_:)``. No allocation, for walking a
    /// side level by level.
    @inlinable public func level(_ side: BookSide, fromBest k: Int) -> BookLevel {
        side == .bid ? bids.level(fromBest: k) : asks.level(fromBest: k)
    }
}
