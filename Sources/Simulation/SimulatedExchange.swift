public import CascadeCore
public import MarketData

/// One account at a simulated Bybit: a matching engine per symbol, the commands on their way to the venue, the
/// cross-margin USDT account (positions, wallet, margin, liquidation) and funding.
///
/// Feed it the replayed market in exchange-time order (``on(_:instrument:)``, ``feedChanged(_:at:)``) and send it
/// commands (``send(_:leavingAt:)``); everything that happens comes back as ``CascadeCore/ExecutionReport``s, stamped with the
/// exchange time it happened at.
///
/// Timing rules (what keeps a backtest from reacting faster than the market allows):
/// - A command decided at `decidedAt` (the exchange time of the last event its sender saw, of any kind) arrives at
///   `decidedAt` + entry latency (≥ 1 ms; constant or sampled with a seed). Commands of one account never overtake
///   each other (one connection is first in, first out), and none arrives before the venue's clock.
/// - A command is processed after every market event stamped before its arrival, and after the events stamped at
///   the same millisecond (the conservative order). A print whose match time `T` is before an order's arrival
///   never touches it.
/// - Funding settles at each funding instant with the rate and mark published before it, after the commands that
///   arrived before that instant, on the position actually held then.
/// - After every event the account is checked for liquidation (see ``SimulatedExchange/Margin``).
///
/// Position and wallet reports follow every step that changed them: a position report per symbol touched (Bybit
/// publishes one on every create, amend and cancel), a wallet report after fills, funding and takeovers.
public struct SimulatedExchange: Sendable {
    public typealias Engine = MatchingEngine<QueueModelChoice, FillModelChoice>

    /// One symbol at the venue: its engine, the account's position in it, its funding clock and leverage.
    public struct SymbolVenue: Sendable {
        public internal(set) var engine: Engine
        public internal(set) var ledger: PositionLedger
        var funding = FundingClock()

        mutating func process(_ action: VenueCommand.Action, venueID: VenueOrderID?, at time: ExchangeTime,
                              ids: inout IDMint) -> [ExecutionReport] {
            engine.process(action, venueID: venueID, at: time, ledger: &ledger, ids: &ids)
        }
        mutating func apply(book update: BookUpdate, ids: inout IDMint) -> [ExecutionReport] {
            engine.apply(book: update, ledger: &ledger, ids: &ids)
        }
        mutating func apply(print trade: Trade, ids: inout IDMint) -> (reports: [ExecutionReport], fired: [ConditionalOrder]) {
            engine.apply(print: trade, ledger: &ledger, ids: &ids)
        }
        mutating func placeTriggered(_ c: ConditionalOrder, at time: ExchangeTime, ids: inout IDMint) -> [ExecutionReport] {
            engine.placeTriggered(c, at: time, ledger: &ledger, ids: &ids)
        }
        mutating func feed(_ stream: FeedStream, interrupted: Bool, reason: String, at time: ExchangeTime,
                           ids: inout IDMint) -> [ExecutionReport] {
            engine.feed(stream, interrupted: interrupted, reason: reason, at: time, ledger: &ledger, ids: &ids)
        }
        mutating func takeover(at price: Price, time: ExchangeTime, ids: inout IDMint) -> [ExecutionReport] {
            engine.takeover(.bustTrade, price: price, at: time, ledger: &ledger, ids: &ids)
        }
        /// The engine's order check, through a modify access: through the read addressor the optimiser still copied the
        /// whole engine (800 bytes, every reference retained) to call this method on it, on every send (seen in the
        /// disassembly of `send`). The modify access writes nothing back; on an exchange value shared with a copy it
        /// would make the copy, as any send does. The other checks of `send` run on amends and cancels only.
        mutating func orderCheck(_ spec: OrderSpec, pendingConditionals: Int) -> Rejection? {
            engine.orderCheck(spec, pendingConditionals: pendingConditionals)
        }
    }

    /// A command on its way to the venue.
    struct InFlight: Sendable {
        var arrival: ExchangeTime
        var command: VenueCommand
        var venueID: VenueOrderID?
    }

    /// What the venue answered when a command was sent.
    public struct Receipt: Sendable, Hashable {
        /// When the command reaches the venue.
        public var arrival: ExchangeTime
        /// The venue's id of a submitted order (Bybit answers the create call with it).
        public var venueID: VenueOrderID?
    }

    /// How a symbol's matching depth was chosen.
    public enum DepthChoice: Sendable, Hashable {
        /// Named up front (the deepest the recording carries).
        case configured(Int)
        /// Not named: the first depth the data showed (a recording should name it; see ``VenueSettings/matchingDepths``).
        case firstSeen(Int)
        public var depth: Int {
            switch self {
            case let .configured(d), let .firstSeen(d): d
            }
        }
    }

    public let deposit: USDT
    public let settings: VenueSettings
    public internal(set) var symbols = SymbolVenues()
    public internal(set) var depthChoices: [SymbolID: DepthChoice] = [:]
    /// Instruments met, with their latest rules.
    public internal(set) var instruments: [SymbolID: Instrument] = [:]
    /// Leverage set per symbol (the default until set; may be set before the symbol has a market).
    var leverages: [SymbolID: Rate] = [:]
    /// Exchange time of the latest event of any kind: what a client deciding now has seen.
    public internal(set) var clock = ExchangeTime(milliseconds: 0)
    /// Executions so far (Bybit's `seq`: a position report with this value includes every one of them).
    public internal(set) var seq: Int64 = 0
    var inFlight: [InFlight] = []
    var inFlightHead = 0
    var lastArrival = ExchangeTime(milliseconds: 0)
    var ids = IDMint()
    var entryRandom: SeededRandom
    var acknowledgementRandom: SeededRandom
    /// Client ids sent and their orders: unique per account, as far as the remembered closed orders reach
    /// (``VenueSettings/closedOrdersRemembered``).
    var clientIDs: [ClientOrderID: VenueOrderID] = [:]
    /// Fault hook (tests of the cancel/fill race): cancels take this much longer than other commands to reach the
    /// matching engine (commands still arrive in the order sent). 0 outside such a test.
    public var cancelDelayMilliseconds: Int64 = 0
    /// Symbols whose position changed in this step, in id order (a handful: a sorted array, not a set to sort).
    var touched: [SymbolID] = []
    var walletTouched = false
    /// Each symbol's next funding instant not yet settled (kept here so the per-event check touches no symbol).
    var pendingFunding: [SymbolID: ExchangeTime] = [:]

    public init(deposit: USDT, settings: VenueSettings = VenueSettings()) {
        self.deposit = deposit
        self.settings = settings
        entryRandom = settings.entryLatency.random
        acknowledgementRandom = settings.acknowledgementLatency.random
    }

    /// Restarts the sampled-latency draws from `seed` (both streams): copies of one venue (the backtest's placebo
    /// probes) each draw their own latencies instead of all repeating the first draws.
    public mutating func reseedLatencies(_ seed: UInt64) {
        entryRandom = SeededRandom(seed: seed)
        acknowledgementRandom = SeededRandom(seed: seed ^ 0x6a09_e667_f3bc_c908)
    }

    /// The next acknowledgement delay in ms (≥ 0): how long after the venue processed something the client hears of
    /// it. A stream of its own, so entry draws stay what they were.
    public mutating func acknowledgementDelay() -> Int64 {
        settings.acknowledgementLatency.draw(&acknowledgementRandom, floor: 0)
    }

    /// Commands sent and not yet at the venue.
    public var commandsInFlight: [VenueCommand] { inFlight[inFlightHead...].map(\.command) }

    /// The venue id of an order named by either id (orders ever sent by this account).
    public func resolve(_ reference: OrderReference) -> VenueOrderID? {
        switch reference {
        case let .venue(id): id
        case let .client(id): clientIDs[id]
        }
    }

    /// Installs an instrument or its newer trading rules.
    public mutating func updateInstrument(_ instrument: Instrument) {
        instruments[instrument.id] = instrument
        if symbols.contains(instrument.id) { symbols[venue: instrument.id].engine.updateInstrument(instrument) }
    }

    // MARK: - Client side

    /// Sends a command. What Bybit refuses on the call itself is refused here at once (instrument rules, reduce-only
    /// without a position, a trigger already reached, 110007 margin, an unknown order…); everything else is decided
    /// when the command arrives. A leverage change is applied at once (Bybit answers it synchronously).
    ///
    /// `leavingAt`: when the command left the client, if later than its decision (a sender that waits for earlier
    /// answers); its latency runs from then.
    public mutating func send(_ command: VenueCommand, leavingAt: ExchangeTime? = nil) -> Result<Receipt, Rejection> {
        send(command, leavingAt: leavingAt, latency: nil)
    }

    /// Sends entry creates in one call (Bybit's `create-batch`): each is checked as ``send(_:leavingAt:)`` checks it, in
    /// order (a later one sees the earlier ones in flight), and those accepted share one latency draw, so they arrive
    /// together, in order.
    public mutating func send(batch commands: [VenueCommand], leavingAt: ExchangeTime? = nil) -> [Result<Receipt, Rejection>] {
        let latency = settings.entryLatency.draw(&entryRandom, floor: 1)
        return commands.map { send($0, leavingAt: leavingAt, latency: latency) }
    }

    mutating func send(_ command: VenueCommand, leavingAt: ExchangeTime?, latency drawn: Int64?) -> Result<Receipt, Rejection> {
        let symbol = command.symbol
        let leaves = max(leavingAt ?? command.decidedAt, command.decidedAt)
        if case let .setLeverage(leverage) = command.action {
            if let rejection = setLeverage(leverage, symbol: symbol) { return .failure(rejection) }
            return .success(Receipt(arrival: max(clock, leaves), venueID: nil))
        }
        guard symbols.contains(symbol) else { return .failure(Rejection(.noMarketPrice)) }
        var command = command
        var venueID: VenueOrderID?
        switch command.action {
        case let .submit(clientID, spec):
            if let clientID, clientIDs[clientID] != nil { return .failure(Rejection(.duplicateClientID)) }
            let pending = inFlightSubmits(symbol) { $0.isConditional }
            if let rejection = symbols[venue: symbol].orderCheck(spec, pendingConditionals: pending) { return .failure(rejection) }
            if spec.reduceOnly && !spec.isConditional && Engine.reducible(spec.side, position: symbols[venue: symbol].ledger.size) == 0 {
                return .failure(Rejection(.reduceOnlyWouldIncrease))
            }
            if spec.type == .market && marketPrice(symbol, spec.side) == nil { return .failure(Rejection(.noMarketPrice)) }
            if let rejection = marginCheck(command.action, symbol) { return .failure(rejection) }
            venueID = ids.order()
            if let clientID { clientIDs[clientID] = venueID }
            for forgotten in symbols[venue: symbol].engine.forgetOldClosed() { clientIDs[forgotten] = nil }
        case let .amend(reference, amendment):
            guard let id = resolve(reference) else { return .failure(Rejection(.unknownOrder)) }
            command.action = .amend(.venue(id), amendment)
            if let o = symbols[venue: symbol].engine.store.resting(id) {
                if let reason = symbols[venue: symbol].engine.amendCheck(resting: o, amendment) { return .failure(Rejection(reason)) }
            } else if let c = symbols[venue: symbol].engine.store.conditional(id) {
                if let reason = symbols[venue: symbol].engine.amendCheck(conditional: c, amendment) { return .failure(Rejection(reason)) }
            } else if isInFlight(id, symbol) {
                if amendment.isEmpty { return .failure(Rejection(.nothingToAmend)) }
                if let qty = amendment.qty, qty.units <= 0 { return .failure(Rejection(.nonPositiveQuantity)) }
            } else {
                return .failure(Rejection(symbols[venue: symbol].engine.isClosed(id) ? .orderClosed : .unknownOrder))
            }
            if let rejection = marginCheck(command.action, symbol) { return .failure(rejection) }
        case let .cancel(reference):
            guard let id = resolve(reference) else { return .failure(Rejection(.unknownOrder)) }
            command.action = .cancel(.venue(id))
            let open = symbols[venue: symbol].engine.store.isOpen(id) || isInFlight(id, symbol)
            if !open { return .failure(Rejection(symbols[venue: symbol].engine.isClosed(id) ? .orderClosed : .unknownOrder)) }
        case .cancelAll:
            break
        case let .setTradingStop(stop):
            if let reason = symbols[venue: symbol].engine.tradingStopCheck(stop, position: symbols[venue: symbol].ledger.size) { return .failure(Rejection(reason)) }
        case .setLeverage:
            break
        }
        var latency = drawn ?? settings.entryLatency.draw(&entryRandom, floor: 1)
        if case .cancel = command.action { latency += cancelDelayMilliseconds }
        let arrival = max(ExchangeTime(milliseconds: leaves.milliseconds + latency), lastArrival, clock)
        lastArrival = arrival
        inFlight.append(InFlight(arrival: arrival, command: command, venueID: venueID))
        return .success(Receipt(arrival: arrival, venueID: venueID))
    }

    /// The command in flight at `i` when it is a placement of `symbol` (with the venue id it was given): the one rule
    /// every in-flight question reads, by index (no array of them: every send asks).
    func inFlightSubmit(at i: Int, of symbol: SymbolID) -> (venueID: VenueOrderID, spec: OrderSpec)? {
        guard inFlight[i].command.symbol == symbol, let id = inFlight[i].venueID, case let .submit(_, spec) = inFlight[i].command.action
        else { return nil }
        return (id, spec)
    }

    /// How many placements of `symbol` in flight match.
    func inFlightSubmits(_ symbol: SymbolID, where match: (OrderSpec) -> Bool) -> Int {
        (inFlightHead..<inFlight.count).count { inFlightSubmit(at: $0, of: symbol).map { match($0.spec) } ?? false }
    }

    /// True when the placement `id` of `symbol` is in flight.
    func isInFlight(_ id: VenueOrderID, _ symbol: SymbolID) -> Bool {
        (inFlightHead..<inFlight.count).contains { inFlight[$0].venueID == id && inFlightSubmit(at: $0, of: symbol) != nil }
    }

    // MARK: - Market side

    /// Applies one replayed market event of `instrument` and returns what happened to the account, in order.
    /// A symbol's venue opens with its first book message at the matching depth; before it, the symbol has no market.
    public mutating func on(_ event: MarketEvent, instrument: Instrument) -> [ExecutionReport] {
        let id = instrument.id
        if instruments.index(forKey: id) == nil { instruments[id] = instrument }
        var out: [ExecutionReport] = []
        // The clock moves with each event's envelope time (read from the payload bound here: no second copy of it).
        switch event {
        case let .book(update):
            clock = max(clock, update.exchangeTime)
            if !symbols.contains(id) {
                let choice = settings.matchingDepths[id].map(DepthChoice.configured) ?? .firstSeen(update.depth)
                guard update.depth == choice.depth else { break }
                depthChoices[id] = choice
                symbols.insert(SymbolVenue(engine: Engine(instrument: instrument, depth: choice.depth, queue: settings.queue,
                                                           fill: settings.fill, fees: settings.fees,
                                                           marketProtectionBasisPoints: settings.marketProtectionBasisPoints,
                                                           maxConditionalOrders: settings.maxConditionalOrders),
                                           ledger: PositionLedger(instrument: instrument)), for: id)
                symbols[venue: id].engine.closedOrdersRemembered = settings.closedOrdersRemembered
            }
            guard update.depth == symbols[venue: id].engine.book.depth else { break }
            processDue(before: update.exchangeTime, out: &out)
            append(symbols[venue: id].apply(book: update, ids: &ids), to: &out)
        case let .trades(trades):
            if let time = trades.first?.exchangeTime { clock = max(clock, time) }
            guard symbols.contains(id) else { break }
            for trade in trades {
                processDue(before: trade.tradeTime, out: &out)
                let (reports, fired) = symbols[venue: id].apply(print: trade, ids: &ids)
                append(reports, to: &out)
                place(fired, symbol: id, at: trade.tradeTime, out: &out)
            }
        case let .ticker(update):
            clock = max(clock, update.exchangeTime)
            guard symbols.contains(id) else { break }
            processDue(before: update.exchangeTime, out: &out)
            // The ticker's funding fields take effect after the settlement due before it (if any).
            if let settlement = symbols[venue: id].funding.observe(update) { settle(settlement, symbol: id, out: &out) }
            pendingFunding[id] = symbols[venue: id].funding.pendingTime
            let fired = symbols[venue: id].engine.apply(ticker: update)
            place(fired, symbol: id, at: update.exchangeTime, out: &out)
        case let .liquidations(list):
            if let time = list.first?.exchangeTime { clock = max(clock, time) }
        case let .klines(list):
            if let time = list.first?.exchangeTime { clock = max(clock, time) }
        }
        liquidateIfNeeded(at: clock, out: &out)
        return finish(out, at: clock)
    }

    /// The feed's trust changed (a lost frame, a session boundary, a book resync, a recovery): matching on the
    /// symbols concerned is suspended or resumed.
    public mutating func feedChanged(_ change: FeedState.Change, at time: ExchangeTime) -> [ExecutionReport] {
        guard !change.isSteady else { return [] }
        clock = max(clock, time)
        var out: [ExecutionReport] = []
        processDue(before: time, out: &out)
        for (streams, interrupted) in [(change.interrupted, true), (change.recovered, false)] {
            for stream in streams where symbols.contains(stream.symbol) {
                append(symbols[venue: stream.symbol].feed(stream, interrupted: interrupted, reason: change.reason ?? "feed recovered",
                                                    at: time, ids: &ids), to: &out)
            }
        }
        return finish(out, at: time)
    }

    /// Processes every command that has arrived by `time` (end of data, a lockstep clock). `settlingFunding` false
    /// processes commands only: at the end of the data no funding time past the last event may be settled.
    public mutating func advance(to time: ExchangeTime, settlingFunding: Bool = true) -> [ExecutionReport] {
        clock = max(clock, time)
        var out: [ExecutionReport] = []
        processDue(before: ExchangeTime(milliseconds: time.milliseconds + 1), settlingFunding: settlingFunding, out: &out)
        liquidateIfNeeded(at: time, out: &out)
        return finish(out, at: time)
    }

    /// The venue cancels every active order of the account on its own (Bybit's disconnect-cancel fires): at once,
    /// with `reason`. Commands still in flight are not orders at the venue yet and arrive afterwards as usual.
    public mutating func cancelAllByVenue(_ reason: Cancellation, at time: ExchangeTime) -> [ExecutionReport] {
        clock = max(clock, time)
        var out: [ExecutionReport] = []
        for symbol in symbols.keys.sorted() {
            append(symbols[venue: symbol].engine.cancelAll(nil, reason: reason, at: time), to: &out)
        }
        return finish(out, at: time)
    }

    // MARK: - Internals

    /// Processes the commands that arrived before `time`, interleaved with the funding instants due by then:
    /// commands that arrived before an instant are processed first, so its settlement charges the position held then.
    mutating func processDue(before time: ExchangeTime, settlingFunding: Bool = true, out: inout [ExecutionReport]) {
        while true {
            let command = inFlightHead < inFlight.count && inFlight[inFlightHead].arrival < time ? inFlight[inFlightHead] : nil
            var funding: (SymbolID, ExchangeTime)?
            if settlingFunding {
                for (id, t) in pendingFunding where t < time || (t == time && command == nil) {
                    if funding == nil || (t, id) < (funding!.1, funding!.0) { funding = (id, t) }
                }
            }
            if let command, funding.map({ command.arrival < $0.1 }) ?? true {
                inFlightHead += 1
                if inFlightHead > 32 && inFlightHead * 2 > inFlight.count {
                    inFlight.removeFirst(inFlightHead)
                    inFlightHead = 0
                }
                arrive(command, out: &out)
            } else if let (id, t) = funding {
                if let settlement = symbols[venue: id].funding.due(at: t) { settle(settlement, symbol: id, out: &out) }
                pendingFunding[id] = symbols[venue: id].funding.pendingTime
            } else {
                return
            }
        }
    }

    mutating func arrive(_ entry: InFlight, out: inout [ExecutionReport]) {
        let id = entry.command.symbol
        guard symbols.contains(id) else { return }
        append(symbols[venue: id].process(entry.command.action, venueID: entry.venueID, at: entry.arrival, ids: &ids), to: &out)
    }

    /// Places conditional orders a price fired, in firing order: close-only ones always, others only if the account
    /// can afford them now (Bybit cancels a triggered order it cannot margin).
    mutating func place(_ fired: [ConditionalOrder], symbol: SymbolID, at time: ExchangeTime, out: inout [ExecutionReport]) {
        for c in fired {
            if !c.spec.onlyReduces && triggeredCost(c, symbol) > availableBalance {
                append(symbols[venue: symbol].engine.dropTriggered(c, at: time), to: &out)
            } else {
                append(symbols[venue: symbol].placeTriggered(c, at: time, ids: &ids), to: &out)
            }
        }
    }

    mutating func settle(_ settlement: FundingClock.Settlement, symbol: SymbolID, out: inout [ExecutionReport]) {
        switch settlement {
        case let .settle(at, rate, mark):
            let size = symbols[venue: symbol].ledger.size
            // Only a position open at that instant pays or receives.
            guard size != 0 else { return }
            let paid = symbols[venue: symbol].ledger.settleFunding(rate: rate, mark: mark)
            let payment = FundingPayment(executionID: ids.execution(), positionSize: Quantity(units: size), markPrice: mark, rate: rate,
                                         amount: paid)
            append([ExecutionReport(symbol: symbol, time: at, event: .funding(payment))], to: &out)
        case let .notSimulated(at, reason):
            out.append(ExecutionReport(symbol: symbol, time: at, event: .fundingNotSimulated(reason: reason)))
        }
    }

    /// Appends reports, numbering executions (`seq`) and noting what changed.
    mutating func append(_ reports: consuming [ExecutionReport], to out: inout [ExecutionReport]) {
        // Stamped in place and moved whole (no copy of each report on the way).
        for i in reports.indices {
            // Notices about the feed change nothing Bybit would report a position for.
            if let symbol = reports[i].symbol, !reports[i].event.isNotice { touch(symbol) }
            switch reports[i].event {
            case var .filled(f):
                seq += 1
                f.seq = seq
                reports[i].event = .filled(f)
                walletTouched = true
            case var .takeover(t):
                seq += 1
                t.seq = seq
                reports[i].event = .takeover(t)
                walletTouched = true
            case var .funding(p):
                seq += 1
                p.seq = seq
                reports[i].event = .funding(p)
                walletTouched = true
            default:
                break
            }
        }
        if out.isEmpty { out = reports } else { out.append(contentsOf: reports) }
    }

    /// Notes `id` as touched in this step, keeping ``touched`` sorted and without repeats.
    mutating func touch(_ id: SymbolID) {
        let i = touched.firstIndex { $0 >= id } ?? touched.endIndex
        if i == touched.endIndex || touched[i] != id { touched.insert(id, at: i) }
    }

    /// Closes a step: a position report per symbol touched, then the wallet when it changed.
    mutating func finish(_ reports: consuming [ExecutionReport], at time: ExchangeTime) -> [ExecutionReport] {
        guard !touched.isEmpty || walletTouched else { return reports }
        var out = reports
        let stamp = out.last?.time ?? time
        for id in touched where symbols.contains(id) {
            out.append(ExecutionReport(symbol: id, time: stamp, event: .position(positionReport(id))))
        }
        if walletTouched { out.append(ExecutionReport(symbol: nil, time: stamp, event: .wallet(walletReport))) }
        touched.removeAll(keepingCapacity: true)
        walletTouched = false
        return out
    }
}
