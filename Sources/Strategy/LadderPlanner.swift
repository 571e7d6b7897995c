public import CascadeCore

/// Why a ladder layer was not placed.
public enum LayerSkip: Hashable, Sendable {
    /// After rounding away from the touch the price would still cross the other side: post-only would be refused.
    case wouldCross
    /// It rounded to the price of a layer already placed.
    case samePriceAsLayer(Int)
    /// The quantity rounded down to `qtyStep` is below `minOrderQty`.
    case belowMinOrderQty
    /// Quantity × price is below `minNotionalValue`.
    case belowMinNotional
    /// Above `maxOrderQty` (never clipped silently: a smaller order is a different decision).
    case aboveMaxOrderQty
    /// Outside the instrument's `minPrice`…`maxPrice`.
    case priceOutOfRange
}

/// One layer to place.
public struct LadderLayer: Hashable, Sendable {
    public var index: Int
    public var offsetBps: Int
    public var side: Side
    public var price: Price
    public var qty: Quantity
}

/// The ladder against a cascade, before risk: prices and quantities on the instrument's grid.
///
/// Longs liquidated (`S=Buy`: the liquidation engine sells) → buy limits below the mid; shorts liquidated → sell limits
/// above it. Offset δ (whole bps) from the mid at decision time; the price is rounded to `tickSize` **away from the
/// touch** (down for a buy, up for a sell), so rounding never makes a layer more aggressive; a layer that would still
/// cross the other side is skipped. Quantity = the layer's notional / price, rounded **down** to `qtyStep`; a layer
/// under `minOrderQty` or `minNotionalValue` is skipped with the reason, never rounded up. All exact integers.
public enum LadderPlanner {
    public struct Plan: Hashable, Sendable {
        public var layers: [LadderLayer] = []
        public var skipped: [(index: Int, reason: LayerSkip)] = []

        public static func == (a: Plan, b: Plan) -> Bool {
            a.layers == b.layers && a.skipped.elementsEqual(b.skipped) { $0.index == $1.index && $0.reason == $1.reason }
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(layers)
            for s in skipped {
                hasher.combine(s.index)
                hasher.combine(s.reason)
            }
        }
    }

    /// - Parameters:
    ///   - liquidated: the side the episode liquidated.
    ///   - bestBid/bestAsk: the touch at decision time (the mid is their average, exactly).
    ///   - offsets: δ per layer in whole bps (≥ 0).
    ///   - notional: USDT per layer.
    public static func plan(liquidated: PositionSide, bestBid: Price, bestAsk: Price, offsets: [Int], notional: USDT,
                            rules: InstrumentRules) -> Plan {
        var plan = Plan()
        let side: Side = liquidated == .long ? .buy : .sell
        let mid2 = Int128(bestBid.units) + Int128(bestAsk.units)       // twice the mid, exact
        let tick = Int128(rules.tickSize.units)
        // A ladder has a handful of layers: the same-price check scans the ones placed (no table to build and hash).
        plan.layers.reserveCapacity(offsets.count)
        for (index, delta) in offsets.enumerated() {
            // price = mid × (1 ∓ δ/10⁴), on the tick grid away from the touch.
            let scaled = mid2 * Int128(side == .buy ? 10_000 - delta : 10_000 + delta)   // = price × 20,000
            let denominator = 20_000 * tick
            let ticks = side == .buy ? floorDivide(scaled, denominator) : -floorDivide(-scaled, denominator)
            let price = Price(units: Int64(ticks * tick))
            if side == .buy ? price >= bestAsk : price <= bestBid {
                plan.skipped.append((index, .wouldCross))
                continue
            }
            if !rules.isWithinPriceLimits(price) || price.units <= 0 {
                plan.skipped.append((index, .priceOutOfRange))
                continue
            }
            if let first = plan.layers.first(where: { $0.price == price }) {
                plan.skipped.append((index, .samePriceAsLayer(first.index)))
                continue
            }
            // qty = notional / price: USDT units (1e-8) × 10⁶ / price units (1e-8) = quantity units (1e-6).
            let rawQty = notional.units * 1_000_000 / Int128(price.units)
            let step = Int128(rules.qtyStep.units)
            let qty = Quantity(units: Int64(rawQty / step * step))
            if qty < rules.minOrderQty {
                plan.skipped.append((index, .belowMinOrderQty))
                continue
            }
            if qty > rules.maxOrderQty {
                plan.skipped.append((index, .aboveMaxOrderQty))
                continue
            }
            // qty × price in 1e-8 USDT: (1e-6) × (1e-8) / 1e6.
            let value = Int128(qty.units) * Int128(price.units) / 1_000_000
            if value < rules.minNotional.units {
                plan.skipped.append((index, .belowMinNotional))
                continue
            }
            plan.layers.append(LadderLayer(index: index, offsetBps: delta, side: side, price: price, qty: qty))
        }
        return plan
    }
}
