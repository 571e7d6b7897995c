public import CascadeCore
import MarketData

/// One symbol of the simulated exchange: the matching engine, the account its fills settle into, and funding.
///
/// Feed it the replayed market in order (`on(_:)`); send commands with the exchange time the client had seen
/// (`submit(_:lastSeen:)`). Every fill is applied to the account as it is reported; at each funding time the
/// position pays or receives funding at the rate and mark published before it, or the settlement is
/// reported as not simulated when the data has no mark price.
public struct SimulatedExchange: Sendable {
    public private(set) var engine: MatchingEngine
    public private(set) var account: SimAccount
    private var funding = FundingClock()
    /// Draws of the acknowledgement latency: a stream of their own, so entry draws stay what they were.
    private var acknowledgementRandom: SimRandom

    public init(configuration: SimConfiguration, depth: Int, wallet: USDT) {
        engine = MatchingEngine(configuration: configuration, depth: depth)
        account = SimAccount(instrument: configuration.instrument, wallet: wallet)
        acknowledgementRandom = configuration.acknowledgementLatency.random
    }

    /// The next acknowledgement delay in ms (≥ 0): how long after the exchange processed something the client
    /// hears of it on the private stream. Same seed, same draws.
    public mutating func acknowledgementDelay() -> Int64 {
        engine.configuration.acknowledgementLatency.draw(&acknowledgementRandom, floor: 0)
    }

    /// Sends a command; returns its arrival time at the exchange.
    @discardableResult
    public mutating func submit(_ command: SimCommand, lastSeen: ExchangeTime) -> ExchangeTime {
        engine.submit(command, lastSeen: lastSeen)
    }

    /// Applies one market event and returns what happened to us, in order.
    public mutating func on(_ event: MarketEvent) -> [SimReport] {
        var reports: [SimReport]
        switch event {
        case let .book(update):
            reports = settleFundingDue(at: update.exchangeTime)
            reports += engine.onBook(update)
        case let .trades(trades):
            reports = trades.first.map { settleFundingDue(at: $0.tradeTime) } ?? []
            reports += engine.onTrades(trades)
        case let .ticker(update):
            reports = engine.onTicker(update)
            if let settlement = funding.observe(update) { reports += settle(settlement) }
        case .liquidations, .klines:
            reports = []
        }
        for case let .filled(fill) in reports { account.apply(fill) }
        return reports
    }

    /// Processes commands that have arrived by `time` (end of data, lockstep). `settlingFunding` false processes
    /// commands only: at the end of the data no funding time past the last event may be settled.
    public mutating func advance(to time: ExchangeTime, settlingFunding: Bool = true) -> [SimReport] {
        let reports = (settlingFunding ? settleFundingDue(at: time) : []) + engine.advance(to: time)
        for case let .filled(fill) in reports { account.apply(fill) }
        return reports
    }

    /// Cancels every open order with `reason` (see ``MatchingEngine/cancelAll(_:at:)``).
    public mutating func cancelAll(_ reason: SimCancelReason, at time: ExchangeTime) -> [SimReport] {
        engine.cancelAll(reason, at: time)
    }

    /// Closes the whole position at `bankruptcyPrice` as a `BustTrade` (off the book, no fee) and reports it as
    /// liquidated; nothing when flat.
    public mutating func liquidate(atBankruptcyPrice bankruptcyPrice: Price, at time: ExchangeTime) -> [SimReport] {
        guard account.size != 0 else { return [] }
        let qty = Quantity(units: abs(account.size))
        let side: PositionSide = account.size > 0 ? .long : .short
        var reports = engine.fillOffBook(side: side == .long ? .sell : .buy, price: bankruptcyPrice, qty: qty, at: time)
        for case let .filled(fill) in reports { account.apply(fill) }
        reports.append(.liquidated(side: side, qty: qty, bankruptcyPrice: bankruptcyPrice, at: time))
        return reports
    }

    private mutating func settleFundingDue(at time: ExchangeTime) -> [SimReport] {
        guard let settlement = funding.due(at: time) else { return [] }
        return settle(settlement)
    }

    private mutating func settle(_ settlement: FundingClock.Settlement) -> [SimReport] {
        switch settlement {
        case let .settle(at, rate, mark):
            // Only a position open at that instant pays or receives.
            guard account.size != 0 else { return [] }
            let paid = account.settleFunding(rate: rate, mark: mark)
            return [.funding(paid: paid, rate: rate, mark: mark, at: at)]
        case let .notSimulated(at, reason):
            return [.fundingNotSimulated(reason: reason, at: at)]
        }
    }
}
