public import CascadeCore

/// Decides when funding settles in a replay, from the ticker stream.
///
/// A settlement happens when exchange time reaches the ticker's `nextFundingTime`, at the funding rate and
/// mark price published *before* that instant (the values that applied, never ones from after). Without a
/// mark price in the data there is no honest position value: the settlement is reported as not simulated
/// instead of silently using the last price.
public struct FundingClock: Sendable {
    /// What happened at a funding time.
    public enum Settlement: Sendable, Hashable {
        case settle(at: ExchangeTime, rate: Rate, mark: Price)
        /// Funding time passed but the data lacks what is needed (`"no mark price"`, `"no funding rate"`).
        case notSimulated(at: ExchangeTime, reason: String)
    }

    private var fields = TickerFields()
    private var hasSnapshot = false
    private var settled: Set<Int64> = []

    public init() {}

    /// Feeds a ticker message; returns the settlement due before it, if its time passed a funding time.
    ///
    /// The check runs *before* merging, so the rate and mark used are those in force until that message.
    public mutating func observe(_ update: TickerUpdate) -> Settlement? {
        let result = due(at: update.exchangeTime)
        if update.kind == .snapshot {
            fields = update.fields
            hasSnapshot = true
        } else {
            fields.merge(update.fields)
        }
        return result
    }

    /// The next funding time not yet settled, once a ticker snapshot gave one.
    public var pendingTime: ExchangeTime? {
        guard hasSnapshot, let time = fields.nextFundingTime, !settled.contains(time.milliseconds) else { return nil }
        return time
    }

    /// The settlement due at exchange time `now` (for other events, or the end of the data).
    public mutating func due(at now: ExchangeTime) -> Settlement? {
        guard hasSnapshot, let time = fields.nextFundingTime, now >= time, !settled.contains(time.milliseconds) else {
            return nil
        }
        settled.insert(time.milliseconds)
        guard let rate = fields.fundingRate else { return .notSimulated(at: time, reason: "no funding rate") }
        guard let mark = fields.markPrice else { return .notSimulated(at: time, reason: "no mark price") }
        return .settle(at: time, rate: rate, mark: mark)
    }
}
