import BybitV5
import CascadeCore
import MarketData
import Simulation

/// The simulated venue of `cascade sim`: every account, each trading alone against the replayed market (accounts do
/// not see each other's orders), fed the same events in configuration order.
struct SimVenue {
    let specs: [SimAccountSpec]
    var settings: VenueSettings
    /// Accounts in configuration order (every event reaches them in this order).
    var accounts: [BybitAccount]
    var index: [String: Int] = [:]

    init(specs: [SimAccountSpec], settings: VenueSettings) {
        self.specs = specs
        self.settings = settings
        accounts = specs.map { BybitAccount(name: $0.name, deposit: $0.deposit, settings: settings) }
        for (i, spec) in specs.enumerated() { index[spec.name] = i }
    }

    /// Feeds one replayed input to every account.
    mutating func apply(_ input: FeedInput, change: FeedState.Change, instruments: InstrumentTable, clock: Int64) {
        for i in accounts.indices {
            if case let .event(event) = input, let symbol = event.symbol {
                let reports = accounts[i].exchange.on(event, instrument: instruments[symbol])
                accounts[i].apply(reports, instruments: instruments)
            }
            if !change.isSteady {
                let reports = accounts[i].exchange.feedChanged(change, at: ExchangeTime(milliseconds: clock))
                accounts[i].apply(reports, instruments: instruments)
            }
        }
    }

    /// Processes every command that has arrived by `time` (end of data, lockstep).
    mutating func advance(to time: ExchangeTime, settlingFunding: Bool, instruments: InstrumentTable) {
        for i in accounts.indices {
            accounts[i].apply(accounts[i].exchange.advance(to: time, settlingFunding: settlingFunding), instruments: instruments)
        }
    }

    mutating func setTimeOffset(_ offset: Int64) {
        for i in accounts.indices { accounts[i].timeOffset = offset }
    }

    /// Every account starts again from its deposit on the market as it is now: each symbol's venue is seeded with the
    /// current book (the matching depth) and ticker, so trading goes on at once.
    mutating func reset(feed: FeedState, instruments: InstrumentTable, timeOffset: Int64) {
        let old = accounts
        accounts = specs.map { BybitAccount(name: $0.name, deposit: $0.deposit, settings: settings) }
        for i in accounts.indices {
            accounts[i].timeOffset = timeOffset
            for (id, choice) in old[i].exchange.depthChoices.sorted(by: { $0.key < $1.key }) {
                guard let book = feed.book(id, depth: choice.depth), book.isSynced, let u = book.lastUpdateID,
                      let ts = book.lastExchangeTime else { continue }
                let snapshot = BookUpdate(symbol: id, depth: choice.depth, kind: .snapshot, updateID: u, sequence: book.lastSequence ?? 0,
                                          exchangeTime: ts, matchTime: book.lastMatchTime,
                                          localTime: book.lastLocalTime ?? LocalTime(nanoseconds: 0),
                                          bids: book.topLevels(.bid, choice.depth), asks: book.topLevels(.ask, choice.depth))
                _ = accounts[i].exchange.on(.book(snapshot), instrument: instruments[id])
                if let ticker = feed.tickers[id], ticker.hasSnapshot, let t = ticker.lastExchangeTime {
                    let update = TickerUpdate(symbol: id, kind: .snapshot, fields: ticker.fields, crossSequence: ticker.lastCrossSequence,
                                              exchangeTime: t, localTime: ticker.lastLocalTime ?? LocalTime(nanoseconds: 0))
                    _ = accounts[i].exchange.on(.ticker(update), instrument: instruments[id])
                }
            }
            accounts[i].pending = []
        }
    }
}
