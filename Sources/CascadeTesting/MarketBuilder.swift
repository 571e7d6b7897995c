public import CascadeCore

/// Builds market events of one symbol from readable text, through the production initialisers: book snapshots and
/// deltas with increasing update ids, prints, tickers and liquidations at given exchange milliseconds.
///
/// Synthetic market data for tests only: every value is written by the test that uses it.
public struct MarketBuilder: Sendable {
    public var instrument: Instrument
    /// Update id of the last book message built.
    public var updateID: UInt64 = 1
    /// Depth of the books built.
    public var depth: Int

    public init(instrument: Instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT"), depth: Int = 50) {
        self.instrument = instrument
        self.depth = depth
    }

    public var symbol: SymbolID { instrument.id }
    public func p(_ text: String) -> Price { try! instrument.price(text) }
    public func q(_ text: String) -> Quantity { try! instrument.quantity(text) }
    public func usdt(_ text: String) -> USDT { try! USDT(text) }
    public func t(_ ms: Int64) -> ExchangeTime { ExchangeTime(milliseconds: ms) }

    /// A book message at `ts` (levels as `(price, size)` text; size "0" deletes in a delta).
    public mutating func book(_ kind: BookUpdate.Kind, ts: Int64, bids: [(String, String)], asks: [(String, String)],
                              cts: Int64? = nil, depth: Int? = nil) -> BookUpdate {
        updateID += 1
        return BookUpdate(symbol: instrument.id, depth: depth ?? self.depth, kind: kind, updateID: updateID, sequence: updateID,
                          exchangeTime: t(ts), matchTime: cts.map(t), localTime: LocalTime(nanoseconds: ts * 1_000_000),
                          bids: bids.map { BookLevel(price: p($0.0), size: q($0.1)) },
                          asks: asks.map { BookLevel(price: p($0.0), size: q($0.1)) })
    }

    /// One print by a `taker` at match time `at` (envelope `ts` defaults to the same millisecond).
    public func trade(_ taker: Side, _ price: String, _ qty: String, at time: Int64, ts: Int64? = nil, rpi: Bool = false) -> Trade {
        Trade(symbol: instrument.id, price: p(price), qty: q(qty), takerSide: taker, tickDirection: nil, id: "t\(time)",
              tradeTime: t(time), exchangeTime: t(ts ?? time), localTime: LocalTime(nanoseconds: (ts ?? time) * 1_000_000),
              isBlockTrade: false, isRPI: rpi, sequence: nil)
    }

    /// A ticker message at `ts` with the fields given (delta unless `snapshot`).
    public func ticker(at ts: Int64, mark: String? = nil, index: String? = nil, last: String? = nil, fundingRate: String? = nil,
                       nextFunding: Int64? = nil, snapshot: Bool = false) -> TickerUpdate {
        var f = TickerFields()
        f.markPrice = mark.map(p)
        f.indexPrice = index.map(p)
        f.lastPrice = last.map(p)
        f.fundingRate = fundingRate.map { try! Rate($0) }
        f.nextFundingTime = nextFunding.map(t)
        return TickerUpdate(symbol: instrument.id, kind: snapshot ? .snapshot : .delta, fields: f, crossSequence: nil,
                            exchangeTime: t(ts), localTime: LocalTime(nanoseconds: ts * 1_000_000))
    }

    /// A liquidation updated at `updated` and published at `ts`.
    public func liquidation(_ liquidated: PositionSide, qty: String, price: String, updated: Int64, ts: Int64,
                            receivedNs: Int64? = nil, source: LiquidationSource = .all) -> Liquidation {
        Liquidation(symbol: instrument.id, liquidatedSide: liquidated, qty: q(qty), bankruptcyPrice: p(price),
                    notional: instrument.notional(price: p(price), qty: q(qty)) ?? .zero, updatedTime: t(updated), exchangeTime: t(ts),
                    localTime: LocalTime(nanoseconds: receivedNs ?? ts * 1_000_000), source: source)
    }

    /// A client order id (tests name orders by short text).
    public func id(_ text: String) -> ClientOrderID { try! ClientOrderID(text) }
}

/// Views of report lists for assertions.
extension Array where Element == ExecutionReport {
    public var fills: [Fill] { compactMap { if case let .filled(f) = $0.event { f } else { nil } } }
    public var accepted: [OrderAccepted] { compactMap { if case let .accepted(a) = $0.event { a } else { nil } } }
    public var cancellations: [OrderCancelled] { compactMap { if case let .cancelled(c) = $0.event { c } else { nil } } }
    public var amendments: [OrderAmended] { compactMap { if case let .amended(a) = $0.event { a } else { nil } } }
    public var rejections: [OrderRejected] { compactMap { if case let .rejected(r) = $0.event { r } else { nil } } }
    public var commandRejections: [CommandRejected] { compactMap { if case let .commandRejected(r) = $0.event { r } else { nil } } }
    public var triggers: [OrderTriggered] { compactMap { if case let .triggered(t) = $0.event { t } else { nil } } }
    public var positions: [PositionReport] { compactMap { if case let .position(p) = $0.event { p } else { nil } } }
    public var wallets: [WalletReport] { compactMap { if case let .wallet(w) = $0.event { w } else { nil } } }
    public var fundings: [FundingPayment] { compactMap { if case let .funding(f) = $0.event { f } else { nil } } }
    public var takeovers: [Takeover] { compactMap { if case let .takeover(t) = $0.event { t } else { nil } } }
    /// Cancellations for one reason.
    public func cancelled(_ reason: CancelReason) -> [OrderCancelled] { cancellations.filter { $0.cancellation.reason == reason } }
    /// True when matching was suspended or resumed in these reports.
    public var suspensions: [String] { compactMap { if case let .matchingSuspended(r) = $0.event { r } else { nil } } }
    public var resumed: Bool { contains { if case .matchingResumed = $0.event { true } else { false } } }
}
