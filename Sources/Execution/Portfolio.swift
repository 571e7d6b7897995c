public import CascadeCore

/// The engine's own positions and wallet, from the venue's reports only, with the venue's accounting rules
/// (``CascadeCore/PositionLedger``). Sign conventions: sizes are positive long; a fee or funding amount is positive
/// when the account paid it (negative: a rebate or funding received); realised PnL and the wallet move by price PnL
/// minus fees minus funding; equity = wallet + unrealised PnL at mark.
public struct Portfolio: Sendable {
    /// Wallet balance before anything this portfolio books (the deposit, or the balance the venue reported at start).
    public let startingBalance: USDT
    public private(set) var ledgers: [SymbolID: PositionLedger] = [:]
    /// Funding booked, per symbol (never a fill).
    public private(set) var funding: [SymbolID: USDT] = [:]

    public init(startingBalance: USDT) { self.startingBalance = startingBalance }

    /// Books a fill not seen before (``OrderTracker`` decides that). A fill without a fee is booked with none: the
    /// venue reports fees on every fill, so a missing one is a defect to reconcile, not zero.
    @discardableResult
    public mutating func apply(_ fill: Fill, instrument: Instrument, at time: ExchangeTime) -> PositionLedger.Outcome {
        ledgers[instrument.id, default: PositionLedger(instrument: instrument)]
            .apply(side: fill.side, price: fill.price, qty: fill.qty, fee: fill.fee ?? .zero, at: time)
    }

    /// Books a funding payment.
    public mutating func apply(_ payment: FundingPayment, instrument: Instrument) {
        ledgers[instrument.id, default: PositionLedger(instrument: instrument)].recordFunding(paid: payment.amount)
        funding[instrument.id, default: .zero] = funding[instrument.id, default: .zero] + payment.amount
    }

    /// Signed size of `symbol` (quantity units, positive long).
    public func size(_ symbol: SymbolID) -> Int64 { ledgers[symbol]?.size ?? 0 }

    /// Wallet balance: the start plus everything realised (price PnL − fees − funding).
    public var wallet: USDT {
        ledgers.values.reduce(startingBalance) { $0 + $1.walletContribution }
    }

    /// Wallet plus unrealised PnL at the given marks; nil when an open position has no mark (never a guessed one).
    public func equity(marks: [SymbolID: Price]) -> USDT? {
        var total = wallet
        for (symbol, ledger) in ledgers where ledger.size != 0 {
            guard let mark = marks[symbol] else { return nil }
            total = total + ledger.unrealisedPnL(mark: mark)
        }
        return total
    }
}
