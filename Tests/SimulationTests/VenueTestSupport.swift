import CascadeCore
import CascadeTesting
import MarketData
import Simulation

/// One simulated account on one symbol, driven by a test: market events in, commands sent with the exchange time
/// the test says the client had seen, every report logged.
struct Venue {
    var m: MarketBuilder
    var x: SimulatedExchange
    var log: [ExecutionReport] = []

    init(deposit: String = "100000", latencyMs: Int64 = 10, market: MarketBuilder = MarketBuilder(),
         _ configure: (inout VenueSettings) -> Void = { _ in }) {
        var settings = VenueSettings()
        settings.entryLatency = .constant(milliseconds: latencyMs)
        configure(&settings)
        m = market
        x = SimulatedExchange(deposit: try! USDT(deposit), settings: settings)
    }

    var symbol: SymbolID { m.symbol }
    var engine: SimulatedExchange.Engine { x.symbols[symbol]!.engine }
    var position: Int64 { x.symbols[symbol]?.ledger.size ?? 0 }
    var ledger: PositionLedger { x.symbols[symbol]!.ledger }
    func t(_ ms: Int64) -> ExchangeTime { ExchangeTime(milliseconds: ms) }

    /// Book: bids 100.0 × 5, 99.5 × 2; asks 100.5 × 3, 101.0 × 4 at 1 000.
    @discardableResult
    mutating func standardBook(at ts: Int64 = 1_000) -> [ExecutionReport] {
        book(.snapshot, ts: ts, bids: [("100.0", "5"), ("99.5", "2")], asks: [("100.5", "3"), ("101.0", "4")])
    }

    @discardableResult
    mutating func on(_ event: MarketEvent) -> [ExecutionReport] {
        let r = x.on(event, instrument: m.instrument)
        log += r
        return r
    }

    @discardableResult
    mutating func book(_ kind: BookUpdate.Kind, ts: Int64, bids: [(String, String)], asks: [(String, String)], cts: Int64? = nil,
                       depth: Int? = nil) -> [ExecutionReport] {
        let update = m.book(kind, ts: ts, bids: bids, asks: asks, cts: cts, depth: depth)
        return on(.book(update))
    }

    @discardableResult
    mutating func trades(_ list: Trade...) -> [ExecutionReport] { on(.trades(list)) }

    @discardableResult
    mutating func print(_ taker: Side, _ price: String, _ qty: String, at ms: Int64) -> [ExecutionReport] {
        on(.trades([m.trade(taker, price, qty, at: ms)]))
    }

    @discardableResult
    mutating func mark(_ price: String, at ms: Int64) -> [ExecutionReport] { on(.ticker(m.ticker(at: ms, mark: price))) }

    /// Sends `action` decided at `decided` ms.
    @discardableResult
    mutating func send(_ action: VenueCommand.Action, decided ms: Int64) -> Result<SimulatedExchange.Receipt, Rejection> {
        x.send(VenueCommand(symbol: symbol, decidedAt: t(ms), action: action))
    }

    /// Submits an order named `id`; returns its venue id (nil when refused on the call).
    @discardableResult
    mutating func submit(_ id: String, _ spec: OrderSpec, decided ms: Int64) -> VenueOrderID? {
        try? send(.submit(m.id(id), spec), decided: ms).get().venueID
    }

    @discardableResult
    mutating func advance(to ms: Int64) -> [ExecutionReport] {
        let r = x.advance(to: t(ms))
        log += r
        return r
    }

    // Order builders in readable text.
    func limit(_ side: Side, _ price: String, _ qty: String, _ tif: TimeInForce = .goodTillCancel, reduceOnly: Bool = false) -> OrderSpec {
        .limit(side, price: m.p(price), qty: m.q(qty), timeInForce: tif, reduceOnly: reduceOnly)
    }
    func market(_ side: Side, _ qty: String, reduceOnly: Bool = false) -> OrderSpec { .market(side, qty: m.q(qty), reduceOnly: reduceOnly) }
    func stop(_ side: Side, trigger: String, _ direction: TriggerDirection, by source: TriggerSource = .lastPrice, qty: String,
              limit: String? = nil, closeOnTrigger: Bool = false) -> OrderSpec {
        OrderSpec(side: side, type: limit == nil ? .market : .limit, timeInForce: .goodTillCancel, price: limit.map(m.p), qty: m.q(qty),
                  trigger: Trigger(price: m.p(trigger), direction: direction, source: source), closeOnTrigger: closeOnTrigger)
    }
}
