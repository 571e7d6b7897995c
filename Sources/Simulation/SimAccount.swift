public import CascadeCore

/// One-way position and wallet of a simulated USDT account for one symbol, exact to 1e-8 USDT.
///
/// Accounting rules:
/// - The position keeps its signed size and signed **entry value** `E` (Σ price × qty of the open part;
///   positive long, negative short). Average entry price = `E / size`.
/// - A fill that reduces the position realises `closed × price − E × closed / |size|` (long; mirrored for
///   short); the closed part of `E` is rounded half to even and removed from `E` exactly, so
///   `wallet + unrealised` always equals `initial + Σ signedQty × (mark − fillPrice) − fees − funding`.
/// - Fees (maker/taker, on exec value) leave the wallet at each fill; negative fees (rebates) add to it.
/// - Funding: at a settlement the position pays `size × mark × rate` (positive rate: longs pay shorts);
///   only a position open at that instant pays or receives.
public struct SimAccount: Sendable, Hashable {
    public let instrument: Instrument
    public private(set) var wallet: USDT
    /// Signed size in quantity units (long > 0).
    public private(set) var size: Int64 = 0
    /// Signed entry value of the open position.
    public private(set) var entryValue = USDT.zero
    public private(set) var realisedPnL = USDT.zero
    public private(set) var feesPaid = USDT.zero
    public private(set) var fundingPaid = USDT.zero

    public init(instrument: Instrument, wallet: USDT) {
        self.instrument = instrument
        self.wallet = wallet
    }

    /// Applies one of our fills.
    public mutating func apply(_ fill: SimFill) {
        let q = fill.qty.units
        let signed = fill.side == .buy ? q : -q
        let value = fill.value
        wallet = wallet - fill.fee
        feesPaid = feesPaid + fill.fee
        if size == 0 || (size > 0) == (signed > 0) {
            size += signed
            entryValue = entryValue + (signed > 0 ? value : -value)
            return
        }
        let closed = min(abs(size), q)
        // The closed share of the entry value, rounded half to even, removed exactly.
        let closedEntry = USDT(units: FixedDecimal.divideRoundingHalfEven(entryValue.units * Int128(closed), Int128(abs(size))))
        let closedValue = closed == q ? value
            : (instrument.notional(price: fill.price, qty: Quantity(units: closed)) ?? .zero)
        // Long closed by a sell: receives closedValue, gives up closedEntry. Short closed by a buy: mirrored.
        let pnl = size > 0 ? closedValue - closedEntry : (-closedEntry) - closedValue
        realisedPnL = realisedPnL + pnl
        wallet = wallet + pnl
        entryValue = entryValue - closedEntry
        size += size > 0 ? -closed : closed
        let rest = q - closed
        if rest > 0 {
            // The fill flipped the position: the remainder opens the other side at the fill price.
            let restValue = value - closedValue
            size += signed > 0 ? rest : -rest
            entryValue = signed > 0 ? restValue : -restValue
        }
        if size == 0 { entryValue = .zero }
    }

    /// Settles funding at `rate` on the position marked at `mark`; returns what the account paid (negative:
    /// received). Positive rate: longs pay.
    @discardableResult
    public mutating func settleFunding(rate: Rate, mark: Price) -> USDT {
        guard size != 0 else { return .zero }
        let positionValue = instrument.notional(price: mark, qty: Quantity(units: abs(size))) ?? .zero
        let amount = positionValue.multiplied(by: rate) ?? .zero
        let paid = size > 0 ? amount : -amount
        wallet = wallet - paid
        fundingPaid = fundingPaid + paid
        return paid
    }

    /// Unrealised PnL at `mark`: signed size × mark − signed entry value.
    public func unrealisedPnL(mark: Price) -> USDT {
        let markValue = instrument.notional(price: mark, qty: Quantity(units: abs(size))) ?? .zero
        return (size >= 0 ? markValue : -markValue) - entryValue
    }

    /// Wallet plus unrealised PnL.
    public func equity(mark: Price) -> USDT { wallet + unrealisedPnL(mark: mark) }

    /// Average entry price (rounded half to even to the price scale), nil when flat.
    public var averageEntryPrice: Price? {
        guard size != 0 else { return nil }
        return instrument.averagePrice(value: USDT(units: abs(entryValue.units)), qty: Quantity(units: abs(size))) ?? Price(units: 0)
    }
}
