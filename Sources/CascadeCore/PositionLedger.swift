/// One symbol's one-way position and what it has realised, exact to 1e-8 USDT. The simulated venue keeps one per
/// account and symbol; the trading engine keeps its own from the venue's reports, with the same rules, so the two can
/// be compared to the unit.
///
/// Accounting rules (Bybit's meanings, `bybit_v5.md` §3.3–3.5):
/// - The position keeps its signed size and signed **entry value** `E` (Σ price × qty of the open part; positive
///   long). Average entry price = `E / size`, rounded half to even.
/// - A fill that reduces the position closes `c` of it at price `p`: its **price PnL** (Bybit `execPnl`, no fees, no
///   funding) is `c × p − E × c / |size|` for a long (mirrored for a short); the closed share of `E` is rounded half
///   to even and removed from `E` exactly, so `wallet + unrealised` always equals
///   `deposit + Σ signedQty × (mark − fillPrice) − fees − funding`.
/// - **Realised PnL** (Bybit's position `curRealisedPnl` / `cumRealisedPnl`, the wallet's `cumRealisedPnl`) moves by
///   every fee (opening fees realise at once, as Bybit shows them), every funding payment and every price PnL.
///   `current` restarts when a position opens from flat; `cumulative` never does.
/// - **Closed PnL** of a closing fill (Bybit `closedPnl` of the order and of `/v5/position/closed-pnl`) is its price
///   PnL minus the fees to open and the funding the closed part carried (apportioned by size) minus the fee to close
///   it: what closing that size earned in the end.
public struct PositionLedger: Sendable, Hashable {
    public let instrument: Instrument
    /// Signed size in quantity units (long > 0).
    public private(set) var size: Int64 = 0
    /// Signed entry value of the open position.
    public private(set) var entryValue = USDT.zero
    /// Fees to open and funding carried by the open position, not yet closed (apportioned to closes by size).
    public private(set) var openCosts = USDT.zero
    public private(set) var cumulativeRealisedPnl = USDT.zero
    public private(set) var currentRealisedPnl = USDT.zero
    public private(set) var feesPaid = USDT.zero
    public private(set) var fundingPaid = USDT.zero
    /// When the current position was opened from flat; the last one's when flat (nil: never).
    public private(set) var openedAt: ExchangeTime?

    public init(instrument: Instrument) { self.instrument = instrument }

    /// What one fill did to the position.
    public struct Outcome: Sendable, Hashable {
        /// The quantity that closed an existing position (Bybit `closedSize`).
        public var closedQty: Quantity
        /// Its price PnL (Bybit `execPnl`).
        public var closedPnl: USDT
        /// Price PnL minus the apportioned opening fees and funding and the closing fee (Bybit `closedPnl`).
        public var closedPnlAfterCosts: USDT
    }

    /// Applies one execution: `side` `qty` at `price`, paying `fee` (negative: rebate).
    @discardableResult
    public mutating func apply(side: Side, price: Price, qty: Quantity, fee: USDT, at time: ExchangeTime) -> Outcome {
        let q = qty.units
        let signed = side == .buy ? q : -q
        let value = instrument.notional(price: price, qty: qty) ?? .zero
        feesPaid = feesPaid + fee
        if size == 0 {
            currentRealisedPnl = .zero
            openedAt = time
        }
        if size == 0 || (size > 0) == (signed > 0) {
            size += signed
            entryValue = entryValue + (signed > 0 ? value : -value)
            openCosts = openCosts + fee
            realise(-fee)
            return Outcome(closedQty: .zero, closedPnl: .zero, closedPnlAfterCosts: .zero)
        }
        let closed = min(abs(size), q)
        let closedEntry = Self.share(entryValue, closed, abs(size))
        let closedCosts = Self.share(openCosts, closed, abs(size))
        let closedValue = closed == q ? value : (instrument.notional(price: price, qty: Quantity(units: closed)) ?? .zero)
        // Long closed by a sell: receives closedValue, gives up closedEntry. Short closed by a buy: mirrored.
        let pricePnL = size > 0 ? closedValue - closedEntry : (-closedEntry) - closedValue
        let closeFee = closed == q ? fee : Self.share(fee, closed, q)
        entryValue = entryValue - closedEntry
        openCosts = openCosts - closedCosts
        size += size > 0 ? -closed : closed
        realise(pricePnL - fee)
        let rest = q - closed
        if rest > 0 {
            // The fill flipped the position: the remainder opens a new one on the other side at the fill price, with
            // its share of the fee as its opening cost (and its only realised PnL so far).
            openedAt = time
            size = signed > 0 ? rest : -rest
            let restValue = value - closedValue
            entryValue = signed > 0 ? restValue : -restValue
            openCosts = fee - closeFee
            currentRealisedPnl = -openCosts
        } else if size == 0 {
            entryValue = .zero
            openCosts = .zero
        }
        return Outcome(closedQty: Quantity(units: closed), closedPnl: pricePnL,
                       closedPnlAfterCosts: pricePnL - closedCosts - closeFee)
    }

    /// Settles funding at `rate` on the position marked at `mark`; returns what the account paid (negative:
    /// received). Positive rate: longs pay. Only an open position pays or receives.
    @discardableResult
    public mutating func settleFunding(rate: Rate, mark: Price) -> USDT {
        guard size != 0 else { return .zero }
        let positionValue = instrument.notional(price: mark, qty: Quantity(units: abs(size))) ?? .zero
        let amount = positionValue.multiplied(by: rate) ?? .zero
        let paid = size > 0 ? amount : -amount
        recordFunding(paid: paid)
        return paid
    }

    /// Books a funding payment the venue reported (`paid` > 0: the account paid). Funding is never a fill: the size
    /// and entry value do not move; it is carried by the open position and realised at once.
    public mutating func recordFunding(paid: USDT) {
        fundingPaid = fundingPaid + paid
        openCosts = openCosts + paid
        realise(-paid)
    }

    private mutating func realise(_ amount: USDT) {
        cumulativeRealisedPnl = cumulativeRealisedPnl + amount
        currentRealisedPnl = currentRealisedPnl + amount
    }

    /// This symbol's part of the wallet balance: everything it realised.
    public var walletContribution: USDT { cumulativeRealisedPnl }

    /// Unrealised PnL at `mark`: signed size × mark − signed entry value.
    public func unrealisedPnL(mark: Price) -> USDT {
        let markValue = instrument.notional(price: mark, qty: Quantity(units: abs(size))) ?? .zero
        return (size >= 0 ? markValue : -markValue) - entryValue
    }

    /// Average entry price (rounded half to even), nil when flat.
    public var averageEntryPrice: Price? {
        guard size != 0 else { return nil }
        return instrument.averagePrice(value: USDT(units: abs(entryValue.units)), qty: Quantity(units: abs(size)))
    }

    /// `amount × part / whole`, rounded half to even.
    static func share(_ amount: USDT, _ part: Int64, _ whole: Int64) -> USDT {
        part == whole ? amount : USDT(units: FixedDecimal.divideRoundingHalfEven(amount.units * Int128(part), Int128(whole)))
    }
}
