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
    public var bidCount: Int { bidPrices.count }
    public var askCount: Int { askPrices.count }

    /// The best bid, if any.
    @inlinable public var bestBid: BookLevel? {
        guard let p = bidPrices.last, let q = bidSizes.last else { return nil }
        return BookLevel(price: Price(units: p), size: Quantity(units: q))
    }

    /// The best ask, if any.
    @inlinable public var bestAsk: BookLevel? {
        guard let p = askPrices.last, let q = askSizes.last else { return nil }
        return BookLevel(price: Price(units: p), size: Quantity(units: q))
    }

    /// Mid price ×2 in price units (exact: the mid of two prices may fall on a half unit).
    public var doubledMid: Int64? {
        guard let b = bidPrices.last, let a = askPrices.last else { return nil }
        return b + a
    }

    /// Best ask − best bid.
    public var spread: Price? {
        guard let b = bidPrices.last, let a = askPrices.last else { return nil }
        return Price(units: a - b)
    }

    /// The best `n` levels of a side, best first.
    public func topLevels(_ side: BookSide, _ n: Int) -> [BookLevel] {
        let (prices, sizes) = side == .bid ? (bidPrices, bidSizes) : (askPrices, askSizes)
        let count = min(n, prices.count)
        var out: [BookLevel] = []
        out.reserveCapacity(count)
        var i = prices.count - 1
        while out.count < count {
            out.append(BookLevel(price: Price(units: prices[i]), size: Quantity(units: sizes[i])))
            i -= 1
        }
        return out
    }

    /// Displayed size at exactly `price` on `side` (zero when no level is there): the queue ahead of a new order.
    public func displayedSize(at price: Price, side: BookSide) -> Quantity {
        let (prices, sizes) = side == .bid ? (bidPrices, bidSizes) : (askPrices, askSizes)
        let i = Self.insertionIndex(prices, price.units, ascending: side == .bid)
        return i < prices.count && prices[i] == price.units ? Quantity(units: sizes[i]) : .zero
    }

    /// Cumulative displayed size and notional within `basisPoints` of the mid on `side`, with the span covered.
    /// Returns `nil` when either side is empty (no mid).
    public func depth(within basisPoints: Int, side: BookSide) -> DepthWithinBand? {
        guard let twiceMid = doubledMid else { return nil }
        let (prices, sizes) = side == .bid ? (bidPrices, bidSizes) : (askPrices, askSizes)
        let mid2 = Int128(twiceMid)
        var qty: Int64 = 0
        var notional = Int128(0)
        var levels = 0
        var i = prices.count - 1
        // Level p is inside when |2·mid − 2·p| · 10_000 ≤ bps · 2·mid (all exact integers).
        let limit = Int128(basisPoints) * mid2
        while i >= 0 {
            let distance = (mid2 - 2 * Int128(prices[i])).magnitude * 10_000
            if distance > limit.magnitude { break }
            qty += sizes[i]
            notional += Int128(prices[i]) * Int128(sizes[i])
            levels += 1
            i -= 1
        }
        let farthest = prices.first.map { Int128($0) } ?? mid2 / 2
        let coveredCenti = Int64((mid2 - 2 * farthest).magnitude * 1_000_000 / mid2.magnitude)
        let value = FixedDecimal.rescale(notional, from: scale.priceDigits + scale.qtyDigits, to: USDT.digits) ?? Int64.max
        return DepthWithinBand(quantity: Quantity(units: qty), notional: USDT(units: value), levels: levels,
                               coveredCentiBps: coveredCenti, isBandFullyCovered: i >= 0)
    }
}
