public import CascadeCore
import Features
public import MarketData
import Strategy

/// A decision being made: ladders changed so far (read back before the committed state), orders and commands.
struct DecisionBuilder {
    var decision: Decision
    var changed = ChangedLadders()
    var commands: [VenueCommand] = []
    /// Equity at the marks of now, once read (``TradingEngine/stepEquity(_:feed:)``): the loss limits and the entry read it
    /// in the same step, and nothing in a step changes the portfolio once its report is applied.
    var equity: USDT??

    init(time: ExchangeTime) { decision = Decision(time: time) }

    mutating func log(_ symbol: String, _ episode: String?, _ action: String, _ reason: String, _ detail: String = "") {
        decision.log.append(DecisionLogEntry(time: decision.time, symbol: symbol, episode: episode, action: action, reason: reason,
                                             detail: detail))
    }

    /// Room for `orders` more intents and commands: one allocation per list for a whole ladder, not one per growth.
    mutating func reserve(orders: Int) {
        decision.intents.reserveCapacity(decision.intents.count + orders)
        decision.commands.reserveCapacity(decision.commands.count + orders)
        commands.reserveCapacity(commands.count + orders)
    }

    mutating func send(_ action: VenueCommand.Action, symbol: String, id: SymbolID) {
        // One cancel per order per decision, whichever path asked for it.
        if case .cancel = action, decision.commands.contains(where: { $0.action == action }) { return }
        decision.commands.append(JournaledCommand(symbol: symbol, decidedAt: decision.time, action: action))
        commands.append(VenueCommand(symbol: id, decidedAt: decision.time, action: action))
    }
}

/// The ladders a decision changed, by number. Nearly always one: a short list scanned, not a table built and hashed
/// on every decision.
struct ChangedLadders {
    private var list: [Ladder] = []

    subscript(number: UInt64) -> Ladder? {
        get { list.first { $0.number == number } }
        set {
            assert(newValue.map { $0.number == number } ?? true, "ladder \(number) stored under another number")
            if let i = list.firstIndex(where: { $0.number == number }) {
                if let newValue { list[i] = newValue } else { list.remove(at: i) }
            } else if let newValue {
                list.append(newValue)
            }
        }
    }

    var numbers: [UInt64] { list.map(\.number) }
    /// In ladder number order (the journal's).
    var inOrder: [Ladder] { list.count < 2 ? list : list.sorted { $0.number < $1.number } }
}

/// Text written part by part into a buffer on the stack, then made a string of its exact size (one allocation; an
/// interpolation grows its buffer twice, and each append to a reserved string is a call). The parts are a method of
/// a local value, so none pays a dynamic exclusivity check (a nested function capturing the count did). The text is
/// journaled: a part that does not fit stops the process rather than cut it (callers size the buffer with room).
struct TextWriter {
    private let buffer: UnsafeMutableBufferPointer<UInt8>
    private var count = 0

    /// The text of `write`, written into `capacity` bytes.
    static func text(capacity: Int, _ write: (inout TextWriter) -> Void) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var writer = TextWriter(buffer: buffer)
            write(&writer)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<writer.count]), as: UTF8.self)
        }
    }

    private init(buffer: UnsafeMutableBufferPointer<UInt8>) { self.buffer = buffer }

    mutating func put(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            precondition(bytes.count <= buffer.count - count, "text longer than its buffer of \(buffer.count) bytes")
            _ = UnsafeMutableBufferPointer(rebasing: buffer[count..<(count + bytes.count)]).initialize(from: bytes)
            count += bytes.count
        }
    }
}

extension TradingEngine {
    /// One input at `now` (the exchange time of the latest market event the caller has seen; for a timer, the
    /// later of that and the deadline). `feed` and `instruments` are the market as of now.
    ///
    /// `applyingLater`: the step's decision is returned (journal it, send its commands) but applied to the engine's
    /// state only by ``completePending()``, which the next input (or `apply`, `start`) runs first. Applying a decision
    /// builds its orders' and ladder's records, work no command of the step reads: the live trader does it after it
    /// has handed the commands to the sender. Until then the engine's state is the state before the decision
    /// (``snapshot`` and ``nextWakeup`` stop on it in debug builds); ``cancelDecided(_:)`` and
    /// ``amendsReduceOnlyOrder(_:)`` already count it.
    public mutating func handle(_ input: EngineInput, feed: FeedState, instruments: InstrumentTable, now: ExchangeTime,
                                applyingLater: Bool = false) -> EngineStep {
        completePending()
        var step = EngineStep()
        var b = DecisionBuilder(time: now)
        // What the venue said is applied first, then the loss limits at the marks of now, then the decisions: an entry
        // decided in the same step as a loss limit sees the new mode.
        var reportSymbol: String?
        /// An order taken as never placed that this report shows at Bybit after all (read before the report applies).
        var reappeared: (ClientOrderID, Rejection)?
        switch input {
        case let .report(report):
            // An execution already counted (redelivered by a backfill or a reconciliation) changes nothing and is not
            // journaled again: the journal records every execution once.
            if let execution = report.event.executionID, tracker.hasExecution(execution) { return step }
            reportSymbol = report.symbol.map { instruments[$0].symbol }
            switch report.event {
            case let .accepted(a): reappeared = a.clientID.flatMap(presumedAbsent)
            case let .filled(f): reappeared = f.clientID.flatMap(presumedAbsent)
            default: break
            }
            let entry = JournalEntry.report(symbol: reportSymbol, report)
            apply(entry, instruments: instruments)
            step.entries.append(entry)
        case let .call(command, result):
            let entry = JournalEntry.call(symbol: instruments[command.symbol].symbol, action: command.action, result: result, at: now)
            apply(entry, instruments: instruments)
            step.entries.append(entry)
        default:
            break
        }
        if !input.isMarket { lossLimits(&b, feed: feed, instruments: instruments) }
        switch input {
        case let .detector(.started(episode)):
            decideEntry(episode, &b, feed: feed, instruments: instruments)
        case let .detector(.ended(episode)):
            if configuration.cancelEntriesAtEpisodeEnd, let n = activeLadder[episode.symbol], var ladder = b.changed[n] ?? ladders[n],
               ladder.episodeID == episode.id, !ladder.entriesClosed {
                closeEntries(&ladder, reason: "episodeEnded", &b, instruments: instruments)
                put(ladder, &b, instruments: instruments)
            }
        case let .liquidation(liquidation):
            let symbol = instruments[liquidation.symbol].symbol
            let index = Int(liquidation.symbol.index)
            if index >= lastLiquidationMilliseconds.count {
                lastLiquidationMilliseconds.append(contentsOf: repeatElement(.min, count: index + 1 - lastLiquidationMilliseconds.count))
            }
            lastLiquidationMilliseconds[index] = liquidation.exchangeTime.milliseconds
            reevaluate(symbol, liquidation, &b, feed: feed, instruments: instruments)
        case let .report(report):
            if let (link, rejection) = reappeared, let symbol = reportSymbol, let id = instruments.lookup(symbol),
               !managedByActiveLadder(link, symbol: symbol), let order = tracker.orders[link] {
                // Its create's outcome was unknown and Bybit did not know it for a minute (`notFoundAfterQueries`), but
                // a create is processed asynchronously. The tracker follows the venue from here. No ladder keeps it
                // (``ManagedOrder/reappeared``): an entry, even while its ladder's entries are open, because every risk
                // check since it was taken as absent counted it as not resting; any order its ladder replaced or whose
                // ladder ended. Only its ladder's current take-profit is kept (it only reduces). One that can still rest
                // is cancelled by id at once (a cancel that fails is sent again by the stray sweep), and said; a fill
                // that beats the cancel is handled like any fill of its ladder, or exited like any fill after its
                // ladder closed.
                let cancels = !order.phase.isTerminal && order.spec.canRest
                b.decision.alarms.append("\(symbol): order \(link.rawValue), taken as never placed (\(rejection)), is reported by Bybit after all"
                                         + (cancels ? ": cancelled by id" : "; it cannot rest (ended or immediate): nothing to cancel"))
                if cancels { b.send(.cancel(.client(link)), symbol: symbol, id: id) }
            }
            react(to: report, symbol: reportSymbol, &b, feed: feed, instruments: instruments)
        case let .call(command, result):
            if case let .refused(rejection) = result {
                reactToRefusal(command, rejection, symbol: instruments[command.symbol].symbol, &b, feed: feed, instruments: instruments)
            }
        case .tick:
            timers(&b, feed: feed, instruments: instruments)
            cancelStrayOrders(&b, instruments: instruments)
        case .heartbeat:
            cancelStrayOrders(&b, instruments: instruments)
        case let .control(command):
            control(command, &b, feed: feed, instruments: instruments)
        }
        // In ladder order (the journal's).
        b.decision.ladders = b.changed.inOrder
        if !b.decision.isEmpty {
            let entry = JournalEntry.decision(b.decision)
            if applyingLater { pending = PendingDecision(b.decision) } else { apply(entry, instruments: instruments) }
            step.entries.append(entry)
            step.commands = b.commands
        }
        return step
    }

    /// Whether the active ladder of `symbol` still manages order `link`: its current take-profit, or an entry while its
    /// entries are open (cancelled with them at their deadline) that never reappeared (``wants(_:_:)``).
    func managedByActiveLadder(_ link: ClientOrderID, symbol: String) -> Bool {
        guard let n = activeLadder[symbol], let order = tracker.orders[link], order.ladder == n,
              [.entry, .takeProfit].contains(order.id.role) else { return false }
        return wants(ladders[n], order)
    }

    /// The rejection of order `id` when it is only presumed absent (``OrderPhase/isPresumedAbsent``).
    func presumedAbsent(_ id: ClientOrderID) -> (ClientOrderID, Rejection)? {
        guard let phase = tracker.orders[id]?.phase, phase.isPresumedAbsent, case let .rejected(r) = phase else { return nil }
        return (id, r)
    }

    // MARK: - Entries

    mutating func decideEntry(_ episode: CascadeEpisode, _ b: inout DecisionBuilder, feed: FeedState, instruments: InstrumentTable) {
        let symbol = episode.symbol
        let now = b.decision.time
        func skip(_ reason: String, _ detail: String = "") { b.log(symbol, episode.id, "skip", reason, detail) }
        guard episode.source == configuration.liquidationSource else {
            return skip("source.\(episode.source.rawValue)", "trading \(configuration.liquidationSource.rawValue) episodes")
        }
        if let symbols = configuration.symbols, !symbols.contains(symbol) { return skip("symbolNotTraded") }
        guard let id = instruments.lookup(symbol) else { return skip("noInstrumentRules") }
        let instrument = instruments[id]     // once: each subscript copies the instrument
        guard let rules = instrument.rules else { return skip("noInstrumentRules") }
        let mode = (b.decision.risk ?? risk).memory.mode
        if mode != .normal { return skip("mode.\(mode.rawValue)", (b.decision.risk ?? risk).reason ?? "") }
        if !privateStreamUp { return skip("breaker.privateStreamDown") }
        if activeLadder[symbol] != nil { return skip("ladderActive") }
        if positionSize(symbol) != 0 { return skip("positionOpen") }
        guard let book = feed.deepestBookIndex(id, syncedOnly: true) else { return skip("breaker.noBook") }
        if let denial = breaker(symbol, id, book: book, feed: feed, now: now) { return skip(denial.code, denial.detail) }
        guard let bid = feed.books[book].bestBid, let ask = feed.books[book].bestAsk else { return skip("breaker.noBook") }
        guard let equity = stepEquity(&b, feed: feed) else { return skip("risk.noEquity") }
        let arms = scorer.arms(ArmContext(symbol: symbol, liquidated: episode.side, doubledMid: bid.price.units + ask.price.units,
                                          time: now, configuredOffsets: configuration.offsetsBps))
        let plan = LadderPlanner.plan(liquidated: episode.side, bestBid: bid.price, bestAsk: ask.price, offsets: arms,
                                      notional: configuration.layerNotional, rules: rules)
        for skipped in plan.skipped {
            b.log(symbol, episode.id, "skipLayer", "layer.\(skipped.reason)", "δ=\(arms[skipped.index])bps")
        }
        guard let side = plan.layers.first?.side else { return skip("noLayer") }
        // The stop is set from the layers the risk limits admit, not from the plan: a denied deep layer would leave
        // it further away than `stopBps` allows for what actually rests.
        let admitted = admittedLayers(plan.layers, symbol: symbol, episodeID: episode.id, placedNotional: .zero, id: id,
                                      instrument: instrument, equity: equity, newEpisode: true, &b, feed: feed, instruments: instruments)
        guard !admitted.isEmpty else { return skip("noLayerWithinRisk") }
        let stop: Price
        do { stop = try ProtectionPlanner.stopLoss(side: side, layerPrices: admitted.map(\.layer.price), stopBps: configuration.stopBps, rules: rules) }
        catch { return skip("stopOutOfRange", "\(error)") }
        var ladder = Ladder(number: ladderCount + 1, episodeID: episode.id, symbol: symbol, side: side, stopPrice: stop, opened: now,
                            lastDecisionMid2: bid.price.units + ask.price.units,
                            entryDeadline: ExchangeTime(milliseconds: now.milliseconds + configuration.entryTTLMilliseconds))
        let placed = placeLayers(admitted, in: &ladder, id: id, &b)
        guard placed > 0 else { return skip("noLayerWithinRisk") }
        var state = b.decision.risk ?? risk
        var engine = RiskEngine(limits: configuration.limits)
        engine.memory = state.memory
        engine.recordEpisodeStart(at: now.milliseconds * 1_000_000)
        state.memory = engine.memory
        b.decision.risk = state
        if knownRules[symbol] != rules { b.decision.instruments[symbol] = rules }
        // "ladder \(n) \(side) \(placed) layers, stop \(stop), liquidated \(side)": at most 7 + 20 + 1 + 4 + 1 + 20 + 14 +
        // 21 + 13 + 5 = 106 bytes (two 64-bit counts, a price of at most 19 digits and its point).
        let detail = TextWriter.text(capacity: 128) { w in
            w.put("ladder "); w.put(String(ladder.number)); w.put(" "); w.put(side.description); w.put(" "); w.put(String(placed))
            w.put(" layers, stop "); w.put(instrument.format(stop)); w.put(", liquidated "); w.put(episode.side.description)
        }
        b.log(symbol, episode.id, "enter", "episodeStarted", detail)
        b.changed[ladder.number] = ladder
    }

    /// The layers of `layers` the risk limits admit, in order, each admitted one counted as filled for the next, with
    /// the notional checked (placing them reads it, not computes it again); the denials are logged.
    mutating func admittedLayers(_ layers: [LadderLayer], symbol: String, episodeID: String, placedNotional: USDT, id: SymbolID,
                                 instrument: Instrument, equity: USDT, newEpisode: Bool, _ b: inout DecisionBuilder, feed: FeedState,
                                 instruments: InstrumentTable) -> [(layer: LadderLayer, notional: USDT)] {
        var exposure = exposure(feed: feed, instruments: instruments)
        exposure.episodeNotional = placedNotional
        var engine = RiskEngine(limits: configuration.limits)
        engine.memory = (b.decision.risk ?? risk).memory
        var admitted: [(layer: LadderLayer, notional: USDT)] = []
        admitted.reserveCapacity(layers.count)
        for layer in layers {
            let notional = instrument.notional(price: layer.price, qty: layer.qty) ?? .zero
            if let denial = engine.check(symbol: id, side: layer.side, notional: notional, isNewEpisode: newEpisode && admitted.isEmpty,
                                         exposure: exposure, equity: equity, now: b.decision.time.milliseconds * 1_000_000) {
                b.log(symbol, episodeID, "skipLayer", denial.code, "δ=\(layer.offsetBps)bps \(denial)")
                continue
            }
            exposure.episodeNotional = exposure.episodeNotional + notional
            exposure.restingLayers += 1
            if layer.side == .buy { exposure.restingBuys[id, default: .zero] = exposure.restingBuys[id, default: .zero] + notional }
            else { exposure.restingSells[id, default: .zero] = exposure.restingSells[id, default: .zero] + notional }
            admitted.append((layer, notional))
        }
        return admitted
    }

    /// Places `layers` (admitted by ``admittedLayers``) with the ladder's stop, returning how many.
    mutating func placeLayers(_ layers: [(layer: LadderLayer, notional: USDT)], in ladder: inout Ladder, id: SymbolID,
                              _ b: inout DecisionBuilder) -> Int {
        var placed = 0
        // Room for the whole ladder at its first layers (a later reserve of an exact size would reallocate each time).
        if b.decision.intents.isEmpty { b.reserve(orders: layers.count) }
        if ladder.entries.isEmpty { ladder.entries.reserveCapacity(layers.count) }
        for (layer, notional) in layers {
            guard let linkID = try? OrderLinkID(node: configuration.node, run: run, episode: ladder.number, role: .entry,
                                                layer: ladder.nextLayer, attempt: 0) else {
                b.log(ladder.symbol, ladder.episodeID, "skipLayer", "orderLinkIdOutOfRange")
                continue
            }
            ladder.nextLayer += 1
            let protection = Protection(stopLoss: ProtectionLeg(trigger: ladder.stopPrice, source: configuration.stopTrigger), mode: .full)
            let spec = OrderSpec(side: layer.side, type: .limit, timeInForce: .postOnly, price: layer.price, qty: layer.qty,
                                 protection: protection)
            let text = submit(linkID, spec, ladder: ladder, id: id, &b)
            ladder.entries.append(text)
            ladder.placedNotional = ladder.placedNotional + notional
            placed += 1
        }
        return placed
    }

    /// Later liquidations of an episode being entered: re-plan when the mid moved further, under the episode cap.
    mutating func reevaluate(_ symbol: String, _ liquidation: Liquidation, _ b: inout DecisionBuilder, feed: FeedState,
                             instruments: InstrumentTable) {
        guard configuration.maxDecisionsPerEpisode > 1, let n = activeLadder[symbol], var ladder = ladders[n], !ladder.entriesClosed,
              ladder.decisions < configuration.maxDecisionsPerEpisode, (b.decision.risk ?? risk).memory.mode == .normal,
              positionSize(symbol) == 0 || ladder.filled,
              let id = instruments.lookup(symbol), let rules = instruments[id].rules,
              let book = feed.deepestBookIndex(id, syncedOnly: true), let bid = feed.books[book].bestBid, let ask = feed.books[book].bestAsk
        else { return }
        let mid2 = bid.price.units + ask.price.units
        // The cascade must have pushed the mid further in its direction by the configured move.
        let moved = ladder.side == .buy ? ladder.lastDecisionMid2 - mid2 : mid2 - ladder.lastDecisionMid2
        guard Int128(moved) * 10_000 >= Int128(configuration.reevaluateMoveBps) * Int128(ladder.lastDecisionMid2) else { return }
        // The loss limits are not checked on every liquidation (the decision path's hot input), so here, before any
        // exposure is added: a limit crossed since the last heartbeat stops the re-plan (and closes the entries).
        lossLimits(&b, feed: feed, instruments: instruments)
        guard (b.decision.risk ?? risk).memory.mode == .normal else { return }
        if let denial = breaker(symbol, id, book: book, feed: feed, now: b.decision.time) {
            return b.log(symbol, ladder.episodeID, "skip", denial.code, denial.detail)
        }
        guard let equity = stepEquity(&b, feed: feed) else { return b.log(symbol, ladder.episodeID, "skip", "risk.noEquity") }
        let liquidated: PositionSide = ladder.side == .buy ? .long : .short
        let arms = scorer.arms(ArmContext(symbol: symbol, liquidated: liquidated, doubledMid: mid2, time: b.decision.time,
                                          configuredOffsets: configuration.offsetsBps))
        let plan = LadderPlanner.plan(liquidated: liquidated, bestBid: bid.price, bestAsk: ask.price, offsets: arms,
                                      notional: configuration.layerNotional, rules: rules)
        // Only prices the ladder does not rest at already, and never beyond its stop.
        let resting = Set(liveOrders(ladder.entries).compactMap { order($0)?.spec.price })
        let layers = plan.layers.filter { !resting.contains($0.price) && (ladder.side == .buy ? $0.price > ladder.stopPrice : $0.price < ladder.stopPrice) }
        ladder.decisions += 1
        ladder.lastDecisionMid2 = mid2
        let admitted = admittedLayers(layers, symbol: symbol, episodeID: ladder.episodeID, placedNotional: ladder.placedNotional, id: id,
                                      instrument: instruments[id], equity: equity, newEpisode: false, &b, feed: feed, instruments: instruments)
        let placed = placeLayers(admitted, in: &ladder, id: id, &b)
        b.log(symbol, ladder.episodeID, placed > 0 ? "enter" : "skip", placed > 0 ? "reevaluated" : "reevaluatedNoLayer",
              "decision \(ladder.decisions), \(placed) more layers")
        b.changed[ladder.number] = ladder
        _ = liquidation
    }

    // MARK: - Reactions to the venue

    mutating func react(to report: ExecutionReport, symbol: String?, _ b: inout DecisionBuilder, feed: FeedState,
                        instruments: InstrumentTable) {
        guard let symbol, let id = instruments.lookup(symbol) else { return }
        switch report.event {
        case let .unclassified(u):
            // A type this build does not know (Bybit adds them): never applied, but it may move the position, so the
            // operator hears of it; a position that then differs from Bybit's is quarantined by the reconciliation.
            b.decision.alarms.append("\(symbol): execution \(u.executionID) of unknown type \(u.rawType) (\(u.side) \(instruments[id].format(u.qty)) at \(instruments[id].format(u.price))): not applied; check the position")
        case .filled, .takeover:
            guard isForgotten(report.time) else { break }
            // Older than the memory window: it may have been counted before its id was forgotten. Never applied
            // (a position counted twice is worse than one the reconciliation flags), said, and quarantined.
            b.decision.alarms.append("\(symbol): a fill of \(report.time) is older than the engine's memory (\(forgottenBefore!)): not applied; check the position against Bybit")
            if (b.decision.risk ?? risk).memory.mode == .normal {
                setMode(.reducing, reason: "quarantine: \(symbol) fill older than the engine's memory", &b, instruments: instruments)
            }
            return
        case .funding:
            guard isForgotten(report.time) else { break }
            // The same for a funding payment (charged twice, the wallet and the loss limits would be off); it moves no
            // position, so no quarantine.
            b.decision.alarms.append("\(symbol): a funding payment of \(report.time) is older than the engine's memory (\(forgottenBefore!)): not applied; check the wallet against Bybit")
            return
        default:
            break
        }
        if case let .filled(fill) = report.event, !tracker.knows(fill.clientID, fill.venueID), legOrigins[fill.venueID] == nil {
            // Exposure the journal cannot explain (a manual order, another program on the account): never adopted;
            // the engine only reduces from here until the operator resumes, and says so.
            if (b.decision.risk ?? risk).memory.mode == .normal {
                b.decision.alarms.append("\(symbol): fill \(fill.executionID) of an order that is not ours (\(fill.clientID?.rawValue ?? "no orderLinkId")): quarantined")
                setMode(.reducing, reason: "quarantine: \(symbol) traded by an order that is not ours", &b, instruments: instruments)
            }
        }
        let size = positionSize(symbol)
        var number = activeLadder[symbol]
        if number == nil, size != 0, case let .filled(fill) = report.event, let link = fill.clientID,
           let owner = tracker.orders[link]?.ladder {
            // A fill of a ladder already closed (an entry whose cancel lost the race): the position it left is
            // exited at once, protected and timed like any other.
            number = owner
        }
        guard let n = number, var ladder = b.changed[n] ?? ladders[n] else { return }
        if ladder.closed, size != 0 {
            ladder.closed = false
            ladder.entriesClosed = true
            ladder.filled = true
            b.decision.alarms.append("\(symbol): fill after ladder \(n) closed; exiting")
            if ladder.unprotectedSince == nil { ladder.unprotectedSince = report.time }
            ladder.protectCheckAt = ExchangeTime(milliseconds: b.decision.time.milliseconds + configuration.protectionConfirmMilliseconds)
            if !hasLiveOrder(ladder.exits) { exitAgain(&ladder, id: id, feed: feed, instruments: instruments, &b) }
        }
        switch report.event {
        case let .filled(fill):
            let role = fill.clientID.flatMap { try? OrderLinkID(parsing: $0.rawValue) }?.role
            // An entry of an ended ladder that filled while this one holds the symbol (a create Bybit processed late,
            // a cancel that failed): one position per symbol, so this ladder manages all of it (take-profit sized to
            // it, time exit), said. Before, nothing did: the position had only its exchange stop.
            let owner = fill.clientID.flatMap { tracker.orders[$0]?.ladder }
            var foreign = role == .entry && owner != nil && owner != ladder.number
            if foreign, let link = fill.clientID {
                let first = tracker.orders[link]?.fills == 1
                if size == 0 {
                    // It closed the position: nothing to manage (a filled ladder ends below).
                    foreign = false
                    if first { b.decision.alarms.append("\(symbol): entry \(link.rawValue) of ended ladder \(owner!) filled; the position is flat") }
                } else if (size > 0) == (ladder.side == .buy) {
                    // The position is on this ladder's side: it manages all of it (take-profit sized to it, time exit).
                    if fill.side == ladder.side {
                        ladder.placedNotional = ladder.placedNotional + (instruments[id].notional(price: fill.price, qty: fill.qty) ?? .zero)
                    }
                    if first {
                        b.decision.alarms.append("\(symbol): entry \(link.rawValue) of ended ladder \(owner!) filled; ladder \(n) manages the position")
                        if fill.side == ladder.side {
                            // The entry carried the ended ladder's stop, which Bybit puts on the position as it fills
                            // (Full mode): this ladder's is set again, and confirmed like a re-protection (a position
                            // report showing either stop confirms it: both protect).
                            if ladder.unprotectedSince == nil { ladder.unprotectedSince = report.time }
                            reprotect(&ladder, id: id, instruments: instruments, &b, reason: "strayEntryFilled")
                        }
                    }
                } else {
                    // The position is against this ladder's side: nothing of its plan fits. Closed.
                    foreign = false
                    if first { b.decision.alarms.append("\(symbol): entry \(link.rawValue) of ended ladder \(owner!) filled against ladder \(n)'s side; closing the position") }
                    if !ladder.entriesClosed { closeEntries(&ladder, reason: "strayFillAgainstSide", &b, instruments: instruments) }
                    if !hasLiveOrder(ladder.exits) { flatten(&ladder, reason: "strayFillAgainstSide", id: id, feed: feed, instruments: instruments, &b) }
                }
                // What is left of it rests no longer.
                cancelLive([link.rawValue], symbol: symbol, id: id, &b)
            }
            if role == .entry, ladder.entries.contains(fill.clientID!.rawValue) || foreign {
                ladder.filled = true
                if ladder.exitDeadline == nil {
                    ladder.exitDeadline = ExchangeTime(milliseconds: report.time.milliseconds + configuration.maxHoldMilliseconds)
                }
                if size != 0 {
                    if let p = positions[symbol], p.size.units == size, p.stopLoss != nil, let positionSeq = p.seq, let fillSeq = fill.seq,
                       positionSeq >= fillSeq {
                        // The position message that includes this fill came first (Bybit's position and execution
                        // topics are separate; `seq` orders them) and shows the stop: confirmed.
                        ladder.confirmProtection()
                    } else {
                        if ladder.unprotectedSince == nil { ladder.unprotectedSince = report.time }
                        if ladder.protectCheckAt == nil {
                            ladder.protectCheckAt = ExchangeTime(milliseconds: b.decision.time.milliseconds + configuration.protectionConfirmMilliseconds)
                        }
                    }
                    if ladder.exitSends > 0 {
                        // A late entry fill (the cancel/fill race) after the time exit began: the exit goes on.
                        let pending = Set(b.decision.intents.map(\.linkID))
                        if !hasLiveOrder(ladder.exits), !ladder.exits.contains(where: pending.contains) {
                            exitAgain(&ladder, id: id, feed: feed, instruments: instruments, &b)
                        }
                    } else {
                        placeTakeProfit(&ladder, id: id, feed: feed, instruments: instruments, &b)
                    }
                }
            }
            if size == 0, ladder.filled {
                let why = role == .takeProfit ? "takeProfit" : role == .timeExit ? "timeExit" : role == .protect ? "flattened"
                    : legOrigins[fill.venueID].map { "\($0)" } ?? "positionClosed"
                b.log(symbol, ladder.episodeID, "closed", why, "at \(instruments[id].format(fill.price))")
                if !ladder.entriesClosed { closeEntries(&ladder, reason: "positionClosed", &b, instruments: instruments) }
                cancelLive([ladder.takeProfit].compactMap { $0 }, symbol: symbol, id: id, &b)
            }
        case let .position(p):
            // Only a report of the position the engine holds says anything about its protection: position messages
            // travel apart from executions, so one produced before a fill can arrive after it. A stale one (behind the
            // newest taken, see `positions`) was not taken and says nothing either.
            guard p.size.units == size, positions[symbol] == p else { break }
            if size == 0 || p.stopLoss != nil {
                ladder.confirmProtection()
            } else if ladder.filled, !ladder.reprotectSent {
                // The position has no stop on the exchange: put it back, loudly (the timer flattens if it stays away).
                // A stop confirmed before and gone now (removed at Bybit) starts the unprotected clock here, or the
                // timer would never look.
                if ladder.unprotectedSince == nil { ladder.unprotectedSince = report.time }
                reprotect(&ladder, id: id, instruments: instruments, &b)
            }
        case let .commandRejected(r):
            // Refused when it reached the venue (after the call was accepted).
            refusedAtVenue(r, &ladder, id: id, size: size, feed: feed, instruments: instruments, &b)
        case let .rejected(r):
            // An order of ours the venue rejected, or presumed absent after the gateway's queries (its create's answer
            // was lost): handled as a refusal on the call, or nothing would send the exit or the take-profit again.
            guard let linkID = r.clientID?.rawValue, case let .rejected(rejection)? = order(linkID)?.phase, rejection == r.rejection else { break }
            b.log(symbol, ladder.episodeID, "rejected", "venue.\(r.rejection.reason)", linkID)
            notTaken(linkID, r.rejection, &ladder, id: id, size: size, feed: feed, instruments: instruments, &b)
        case let .cancelled(c):
            guard let linkID = c.clientID?.rawValue else { break }
            if linkID == ladder.takeProfit, c.cancellation.reason == .postOnlyWouldTakeLiquidity, size != 0 {
                // The take-profit would have crossed when it arrived: send it again IOC (it takes at its price or better).
                placeTakeProfit(&ladder, id: id, feed: feed, instruments: instruments, &b, forceIOC: true)
            } else if linkID == ladder.takeProfit, size != 0, [.disconnected, .byVenue].contains(c.cancellation.reason),
                      order(linkID)?.cancelRequested != true, ladder.exitSends == 0,
                      !hasLiveOrder(ladder.exits), !hasLiveOrder(ladder.protects) {
                // Bybit took it (disconnect-cancel, an admin cancel) while the position is open and no close of ours
                // is under way: put it back.
                b.log(symbol, ladder.episodeID, "takeProfit", "cancelledByVenue", "\(c.cancellation.reason)")
                placeTakeProfit(&ladder, id: id, feed: feed, instruments: instruments, &b)
            } else if ladder.exits.contains(linkID) || ladder.protects.contains(linkID), size != 0 {
                exitAgain(&ladder, id: id, feed: feed, instruments: instruments, &b)
            } else if ladder.entries.contains(linkID), ladder.exitSends > 0, size != 0, !hasLiveOrder(ladder.exits) {
                exitAgain(&ladder, id: id, feed: feed, instruments: instruments, &b)
            }
        default:
            break
        }
        closeIfDone(&ladder, size: positionSize(symbol), &b)
        put(ladder, &b, instruments: instruments)
    }

    mutating func reactToRefusal(_ command: VenueCommand, _ rejection: Rejection, symbol: String, _ b: inout DecisionBuilder,
                                 feed: FeedState, instruments: InstrumentTable) {
        guard let n = activeLadder[symbol], var ladder = b.changed[n] ?? ladders[n] else { return }
        let size = positionSize(symbol)
        switch command.action {
        case let .submit(id?, _):
            // A create the sender withdrew never reached the venue: its own code, not the venue's.
            b.log(symbol, ladder.episodeID, "refused", rejection.reason == .withdrawnUnsent ? "sender.withdrawnUnsent" : "venue.\(rejection.reason)",
                  id.rawValue)
            notTaken(id.rawValue, rejection, &ladder, id: command.symbol, size: size, feed: feed, instruments: instruments, &b)
        case let .amend(.client(id), _) where id.rawValue == ladder.takeProfit:
            // The take-profit could not be resized (it filled or moved meanwhile): replace it with the position's size.
            if size != 0 { placeTakeProfit(&ladder, id: command.symbol, feed: feed, instruments: instruments, &b, replace: true) }
        case .setTradingStop:
            stopRefused(rejection, &ladder, id: command.symbol, size: size, feed: feed, instruments: instruments, &b)
        default:
            break
        }
        closeIfDone(&ladder, size: size, &b)
        put(ladder, &b, instruments: instruments)
    }

    /// An exit, a flatten or the take-profit that never reached the book (refused on the call, rejected by the venue,
    /// or presumed absent after the gateway's queries): it is no attempt. A reduce-only refusal means the venue is
    /// already flat (a report is on its way); anything else is retried after a pause, never at once, and a missing
    /// take-profit is put back.
    mutating func notTaken(_ linkID: String, _ rejection: Rejection, _ ladder: inout Ladder, id: SymbolID, size: Int64,
                           feed: FeedState, instruments: InstrumentTable, _ b: inout DecisionBuilder) {
        if ladder.exits.contains(linkID) || ladder.protects.contains(linkID) {
            if ladder.exits.contains(linkID), ladder.exitAttempts > 0 { ladder.exitAttempts -= 1 }
            if size != 0, rejection.reason != .reduceOnlyWouldIncrease, rejection.reason != .noPosition {
                ladder.exitRetryAt = ExchangeTime(milliseconds: b.decision.time.milliseconds + configuration.exitRetryMilliseconds)
            }
        } else if linkID == ladder.takeProfit, size != 0, rejection.reason != .reduceOnlyWouldIncrease {
            placeTakeProfit(&ladder, id: id, feed: feed, instruments: instruments, &b, replace: true)
        }
    }

    /// A command the venue refused on arrival: a trading stop, or an amend of the take-profit.
    mutating func refusedAtVenue(_ r: CommandRejected, _ ladder: inout Ladder, id: SymbolID, size: Int64, feed: FeedState,
                                 instruments: InstrumentTable, _ b: inout DecisionBuilder) {
        let clientID = r.clientID ?? r.venueID.flatMap { venue in tracker.orders.first { $0.value.venueID == venue }?.key }
        b.log(ladder.symbol, ladder.episodeID, "refused", "venue.\(r.rejection.reason)", clientID?.rawValue ?? "")
        switch r.action {
        case .setTradingStop:
            stopRefused(r.rejection, &ladder, id: id, size: size, feed: feed, instruments: instruments, &b)
        case .amend:
            if let clientID, clientID.rawValue == ladder.takeProfit, size != 0 {
                placeTakeProfit(&ladder, id: id, feed: feed, instruments: instruments, &b, replace: true)
            }
        default:
            break
        }
    }

    /// The stop could not be set. A trigger the price has already passed means the position is past its stop:
    /// closed now. Any other refusal is left to the protection timer (set again, then flatten), with an alarm.
    mutating func stopRefused(_ rejection: Rejection, _ ladder: inout Ladder, id: SymbolID, size: Int64, feed: FeedState,
                              instruments: InstrumentTable, _ b: inout DecisionBuilder) {
        guard size != 0 else { return }
        b.decision.alarms.append("\(ladder.symbol): trading stop refused (\(rejection))")
        if case .triggerAlreadyReached = rejection.reason {
            flatten(&ladder, reason: "stopAlreadyReached", id: id, feed: feed, instruments: instruments, &b)
        } else if ladder.protectCheckAt == nil {
            ladder.protectCheckAt = ExchangeTime(milliseconds: b.decision.time.milliseconds + configuration.protectionConfirmMilliseconds)
        }
    }

    // MARK: - Timers and control

    mutating func timers(_ b: inout DecisionBuilder, feed: FeedState, instruments: InstrumentTable) {
        let now = b.decision.time
        for n in activeLadder.values.sorted() {
            guard var ladder = b.changed[n] ?? ladders[n], let id = instruments.lookup(ladder.symbol) else { continue }
            if !ladder.entriesClosed, now >= ladder.entryDeadline {
                closeEntries(&ladder, reason: "entryTTL", &b, instruments: instruments)
            }
            let size = positionSize(ladder.symbol)
            if let exit = ladder.exitDeadline, now >= exit, size != 0, !hasLiveOrder(ladder.exits), ladder.exitSends == 0 {
                b.log(ladder.symbol, ladder.episodeID, "timeExit", "maxHold", "held since the first fill")
                if !ladder.entriesClosed { closeEntries(&ladder, reason: "timeExit", &b, instruments: instruments) }
                cancelLive([ladder.takeProfit].compactMap { $0 }, symbol: ladder.symbol, id: id, &b)
                exitAgain(&ladder, id: id, feed: feed, instruments: instruments, &b)
            }
            if let retry = ladder.exitRetryAt, now >= retry {
                ladder.exitRetryAt = nil
                if size != 0, !hasLiveOrder(ladder.exits) { exitAgain(&ladder, id: id, feed: feed, instruments: instruments, &b) }
            }
            if ladder.fillWaitEnded == nil, !ladder.closed, let since = awaitedFillsSince(ladder),
               now.milliseconds - since.milliseconds >= Self.awaitedFillMilliseconds {
                // Announced and never delivered, nor found by the cross-check: the ladder no longer waits (it would hold
                // the symbol forever); the operator checks the position.
                ladder.fillWaitEnded = now
                b.decision.alarms.append("\(ladder.symbol): fills Bybit announced for ladder \(ladder.number)'s entries have not arrived in \(Self.awaitedFillMilliseconds / 60_000) minutes: the ladder no longer waits for them; check the position at Bybit")
                b.log(ladder.symbol, ladder.episodeID, "fillWaitEnded", "announcedFillsMissing")
            }
            if let check = ladder.protectCheckAt, now >= check, ladder.unprotectedSince != nil {
                ladder.protectCheckAt = nil
                if size == 0 {
                    ladder.unprotectedSince = nil
                } else if !ladder.reprotectSent {
                    reprotect(&ladder, id: id, instruments: instruments, &b)
                } else {
                    flatten(&ladder, reason: "stopNotConfirmed", id: id, feed: feed, instruments: instruments, &b)
                }
            }
            closeIfDone(&ladder, size: size, &b)
            put(ladder, &b, instruments: instruments)
        }
    }

    /// A stray order's failed cancel is sent again this long after the last (a heartbeat, once a second, looks).
    public static let strayCancelRetryMilliseconds: Int64 = 5_000
    /// A cancel decided this long ago and never answered (the process stopped before its call returned) no longer
    /// counts as under way.
    public static let cancelInFlightMilliseconds: Int64 = 30_000
    /// Cancels of one stray order before the sweep gives it up to the operator (and the reconciliation).
    public static let strayCancelLimit = 6
    /// Stray cancels one step sends at most (well within Bybit's 10 cancels/s per UID on linear).
    public static let strayCancelsPerStep = 5

    /// Orders resting at Bybit that no ladder wants any more, whose cancel is not under way, are cancelled by id: an
    /// entry of a ladder whose entries are closed (or that has ended), a take-profit replaced or of an ended ladder.
    /// Their cancel was sent when they became stray; this sends it again after a transport error or a refusal, which
    /// nothing else did: the order went on resting (an entry could fill long after its ladder, a take-profit could
    /// close part of a later ladder's position). At most once per ``strayCancelRetryMilliseconds`` per order, or
    /// ``cancelInFlightMilliseconds`` after a cancel still under way or answered "no such order, or too late" (the
    /// order has most likely ended and its report is coming); at most ``strayCancelLimit`` cancels in all, with an
    /// alarm from the third cancel on and before the last.
    mutating func cancelStrayOrders(_ b: inout DecisionBuilder, instruments: InstrumentTable) {
        guard !tracker.open.isEmpty else { return }
        let now = b.decision.time.milliseconds
        var due: [ManagedOrder] = []
        for clientID in tracker.open {
            guard let order = tracker.orders[clientID], order.phase == .working,
                  order.cancelsDecided < Self.strayCancelLimit, let n = order.ladder, !wants(b.changed[n] ?? ladders[n], order) else { continue }
            let last = order.cancelDecidedAt?.milliseconds
            // Under way, or answered "no such order" (most likely ended, its report coming): given longer.
            if order.cancelRequested || order.cancelAnsweredGone, let last, now - last < Self.cancelInFlightMilliseconds { continue }
            if let last, now - last < Self.strayCancelRetryMilliseconds { continue }
            // Already cancelled in this decision (entries closed by the timers or a loss limit just now).
            if b.decision.commands.contains(where: { $0.action == .cancel(.client(clientID)) }) { continue }
            due.append(order)
        }
        // In id order, not the open list's (opening) order: the order of these cancels has always been the ids'.
        // At most `strayCancelsPerStep` per step (after a restart with many, the rest go on the next heartbeats).
        for order in due.sorted(by: { $0.clientID.rawValue < $1.clientID.rawValue }).prefix(Self.strayCancelsPerStep) {
            guard let symbol = order.symbol, let id = instruments.lookup(symbol) else { continue }
            let text = order.clientID.rawValue
            if order.cancelsDecided + 1 == Self.strayCancelLimit {
                b.decision.alarms.append("\(symbol): order \(text) is still open after \(order.cancelsDecided) cancels: a last one; then it is left to the operator and the reconciliation")
            } else if order.cancelsDecided >= 2 {
                b.decision.alarms.append("\(symbol): order \(text) is still open after \(order.cancelsDecided) cancels: cancelling it again; check it at Bybit")
            }
            b.log(symbol, order.ladder.flatMap { (b.changed[$0] ?? ladders[$0])?.episodeID }, "cancelStray",
                  order.cancelsDecided == 0 ? "notWanted" : "cancelFailed", text)
            b.send(.cancel(.client(order.clientID)), symbol: symbol, id: id)
        }
    }

    /// Whether `ladder` still wants `order` resting: an entry while its entries are open (never one that reappeared
    /// after it was taken as never placed), its current take-profit (any other order does not rest). A ladder no
    /// longer remembered wants nothing.
    func wants(_ ladder: Ladder?, _ order: ManagedOrder) -> Bool {
        switch order.id.role {
        case .entry: return !order.reappeared && (ladder.map { !$0.closed && !$0.entriesClosed } ?? false)
        case .takeProfit: return ladder.map { !$0.closed && $0.takeProfit == order.clientID.rawValue } ?? false
        default: return true   // exits and protects do not rest (IOC)
        }
    }

    mutating func control(_ command: ControlCommand, _ b: inout DecisionBuilder, feed: FeedState, instruments: InstrumentTable) {
        switch command {
        case .resume:
            var state = b.decision.risk ?? risk
            guard state.memory.mode != .normal else { return }
            state.memory.mode = .normal
            state.reason = nil
            // The loss is counted afresh from here.
            state.dayStartEquity = nil
            state.day = nil
            state.peakEquity = nil
            b.decision.risk = state
            b.log("*", nil, "resume", "operator")
        case let .halt(reason):
            setMode(.halted, reason: "operator: \(reason)", &b, instruments: instruments)
        case let .privateStream(up):
            privateStreamUp = up
        case let .quarantine(reason):
            if (b.decision.risk ?? risk).memory.mode == .normal {
                b.decision.alarms.append("quarantine: \(reason)")
                setMode(.reducing, reason: "quarantine: \(reason)", &b, instruments: instruments)
            }
        case let .cancelRestingEntries(reason):
            for n in activeLadder.values.sorted() {
                guard var ladder = b.changed[n] ?? ladders[n], !ladder.entriesClosed else { continue }
                b.decision.alarms.append("\(ladder.symbol): resting entries cancelled: \(reason)")
                closeEntries(&ladder, reason: reason, &b, instruments: instruments)
                put(ladder, &b, instruments: instruments)
            }
        case let .flattenPositions(reason, onlyUnprotected):
            for n in activeLadder.values.sorted() {
                guard var ladder = b.changed[n] ?? ladders[n], let id = instruments.lookup(ladder.symbol) else { continue }
                let size = positionSize(ladder.symbol)
                guard size != 0 else { continue }
                // The stop counts as there only on a report the private stream could still correct: with the stream
                // down (a disconnect-cancel may have taken the stop meanwhile), it is unknown, and unknown is missing.
                if onlyUnprotected, privateStreamUp, let report = positions[ladder.symbol], report.size.units == size,
                   report.stopLoss != nil, ladder.unprotectedSince == nil { continue }
                flatten(&ladder, reason: reason, id: id, feed: feed, instruments: instruments, &b)
                put(ladder, &b, instruments: instruments)
            }
        }
    }

    /// Daily loss (UTC day, at mark, fees and funding included) → REDUCING; drawdown from peak → HALTED.
    mutating func lossLimits(_ b: inout DecisionBuilder, feed: FeedState, instruments: InstrumentTable) {
        guard let equity = stepEquity(&b, feed: feed) else { return }
        var state = b.decision.risk ?? risk
        let before = state
        let day = b.decision.time.milliseconds - ((b.decision.time.milliseconds % 86_400_000) + 86_400_000) % 86_400_000
        if state.day != day || state.dayStartEquity == nil {
            state.day = day
            state.dayStartEquity = equity
        }
        if state.peakEquity.map({ equity > $0 }) ?? true { state.peakEquity = equity }
        if state != before { b.decision.risk = state }
        if state.memory.mode != .halted, let peak = state.peakEquity, let limit = configuration.maxDrawdown.value(equity: peak),
           (peak - equity).units >= limit {
            setMode(.halted, reason: "maxDrawdown: \(peak - equity) from peak \(peak)", &b, instruments: instruments)
        } else if state.memory.mode == .normal, let start = state.dayStartEquity, let limit = configuration.dailyLoss.value(equity: start),
                  (start - equity).units >= limit {
            setMode(.reducing, reason: "dailyLoss: \(start - equity) since the UTC day began", &b, instruments: instruments)
        }
    }

    /// Wallet plus unrealised PnL at the feed's marks (nil: an open position without a mark), read once per step.
    func stepEquity(_ b: inout DecisionBuilder, feed: FeedState) -> USDT? {
        if let equity = b.equity { return equity }
        let equity = portfolio.equity(marks: marks(feed))
        b.equity = .some(equity)
        return equity
    }

    mutating func setMode(_ mode: RiskEngine.Mode, reason: String, _ b: inout DecisionBuilder, instruments: InstrumentTable) {
        var state = b.decision.risk ?? risk
        guard state.memory.mode != mode else { return }
        state.memory.mode = mode
        state.reason = reason
        b.decision.risk = state
        b.decision.alarms.append("\(mode.rawValue): \(reason)")
        b.log("*", nil, mode == .halted ? "halt" : "reduce", reason)
        // No new exposure: every resting entry goes; positions keep their exchange-side stops and exits.
        for n in Set(activeLadder.values).union(b.changed.numbers).sorted() {
            guard var ladder = b.changed[n] ?? ladders[n], !ladder.entriesClosed, !ladder.closed else { continue }
            closeEntries(&ladder, reason: "mode.\(mode.rawValue)", &b, instruments: instruments)
            put(ladder, &b, instruments: instruments)
        }
    }

    // MARK: - Orders

    func submitID(_ ladder: Ladder, _ role: OrderRole, attempt: UInt64) -> OrderLinkID? {
        try? OrderLinkID(node: configuration.node, run: run, episode: ladder.number, role: role, layer: 0, attempt: attempt)
    }

    /// Commits the order and sends it; returns its orderLinkId text.
    @discardableResult
    mutating func submit(_ linkID: OrderLinkID, _ spec: OrderSpec, ladder: Ladder, id: SymbolID, _ b: inout DecisionBuilder) -> String {
        let clientID = linkID.clientOrderID
        b.decision.intents.append(OrderIntent(id: linkID, clientID: clientID, symbol: ladder.symbol, spec: spec, ladder: ladder.number))
        b.send(.submit(clientID, spec), symbol: ladder.symbol, id: id)
        return clientID.rawValue
    }

    /// Cancels the ladder's entries still open, by id (never a cancel-all: it would take the stop with them).
    mutating func closeEntries(_ ladder: inout Ladder, reason: String, _ b: inout DecisionBuilder, instruments: InstrumentTable) {
        ladder.entriesClosed = true
        guard let id = instruments.lookup(ladder.symbol) else { return }
        let live = liveOrders(ladder.entries)
        cancelLive(live, symbol: ladder.symbol, id: id, &b)
        b.log(ladder.symbol, ladder.episodeID, "cancelEntries", reason, "\(live.count) open")
    }

    mutating func cancelLive(_ ids: [String], symbol: String, id: SymbolID, _ b: inout DecisionBuilder) {
        for linkID in liveOrders(ids) {
            guard let order = order(linkID), !order.cancelRequested, let clientID = try? ClientOrderID(linkID) else { continue }
            b.send(.cancel(.client(clientID)), symbol: symbol, id: id)
        }
    }

    /// The take-profit for the position now: a reduce-only PostOnly limit (IOC if it would cross), amended as layers
    /// fill. `replace` cancels a live one and sends a new one (after a refused amend or a refused send).
    mutating func placeTakeProfit(_ ladder: inout Ladder, id: SymbolID, feed: FeedState, instruments: InstrumentTable,
                                  _ b: inout DecisionBuilder, forceIOC: Bool = false, replace: Bool = false) {
        guard let rules = instruments[id].rules, let ledger = ledger(ladder.symbol), let average = ledger.averageEntryPrice else {
            return b.log(ladder.symbol, ladder.episodeID, "takeProfit", "notPlaced", "no trading rules or no average entry")
        }
        let qty = Quantity(units: abs(ledger.size))
        guard let price = try? ProtectionPlanner.takeProfit(side: ladder.side, averageEntry: average, takeProfitBps: configuration.takeProfitBps,
                                                            rules: rules) else {
            b.decision.alarms.append("\(ladder.symbol): take-profit price out of range")
            return b.log(ladder.symbol, ladder.episodeID, "takeProfit", "priceOutOfRange")
        }
        let exitSide = ladder.side.opposite
        let book = feed.deepestBook(id, syncedOnly: true)
        let crosses = exitSide == .sell ? book?.bestBid.map { price <= $0.price } ?? false : book?.bestAsk.map { price >= $0.price } ?? false
        if let current = ladder.takeProfit, let order = order(current) {
            if order.phase == .unknown {
                // Its fate is not known: a second take-profit could close twice. Wait for the venue.
                return b.log(ladder.symbol, ladder.episodeID, "takeProfit", "previousUnknown", current)
            }
            if !order.phase.isTerminal, let clientID = try? ClientOrderID(current) {
                if replace || forceIOC {
                    cancelLive([current], symbol: ladder.symbol, id: id, &b)
                } else {
                    let total = order.filledQty + qty
                    guard total != order.qty || order.price != price else { return }
                    b.send(.amend(.client(clientID), OrderAmendment(qty: total == order.qty ? nil : total, price: order.price == price ? nil : price)),
                           symbol: ladder.symbol, id: id)
                    b.log(ladder.symbol, ladder.episodeID, "takeProfit", "amended", "\(instruments[id].format(qty)) at \(instruments[id].format(price))")
                    return
                }
            }
        }
        guard ladder.takeProfitAttempts < 8, let linkID = submitID(ladder, .takeProfit, attempt: ladder.takeProfitAttempts) else {
            return b.log(ladder.symbol, ladder.episodeID, "takeProfit", "attemptsExhausted", "the time exit closes the position")
        }
        ladder.takeProfitAttempts += 1
        let tif: TimeInForce = crosses || forceIOC ? .immediateOrCancel : .postOnly
        let text = submit(linkID, .limit(exitSide, price: price, qty: qty, timeInForce: tif, reduceOnly: true), ladder: ladder, id: id, &b)
        ladder.takeProfit = text
        b.log(ladder.symbol, ladder.episodeID, "takeProfit", tif == .postOnly ? "placed" : "placedIOC",
              "\(instruments[id].format(qty)) at \(instruments[id].format(price))")
    }

    /// A time exit (or its next attempt): reduce-only IOC through the touch. After `timeExitMaxAttempts` that reached
    /// the book (or three times as many sends), HALTED with an alarm.
    mutating func exitAgain(_ ladder: inout Ladder, id: SymbolID, feed: FeedState, instruments: InstrumentTable, _ b: inout DecisionBuilder) {
        let size = positionSize(ladder.symbol)
        guard size != 0 else { return }
        let limit = UInt64(configuration.timeExitMaxAttempts)
        guard ladder.exitAttempts < limit, ladder.exitSends < 3 * limit,
              let linkID = submitID(ladder, .timeExit, attempt: ladder.exitSends) else {
            b.decision.alarms.append("\(ladder.symbol): time exit failed after \(ladder.exitAttempts) attempts; position open")
            return setMode(.halted, reason: "\(ladder.symbol): time exit failed \(ladder.exitAttempts) times", &b, instruments: instruments)
        }
        ladder.exitSends += 1
        ladder.exitAttempts += 1
        let spec = exitOrder(size: size, id: id, feed: feed, instruments: instruments)
        let text = submit(linkID, spec, ladder: ladder, id: id, &b)
        ladder.exits.append(text)
        b.log(ladder.symbol, ladder.episodeID, "timeExit", "attempt\(ladder.exitSends)",
              spec.price.map { "IOC at \(instruments[id].format($0))" } ?? "market")
    }

    /// Sets the ladder's stop on the position again by trading-stop (Full mode); the protection timer flattens if a
    /// position report still lacks it when the time is up. `stopMissing` (the position showed none) raises an alarm;
    /// any other reason is said by its caller.
    mutating func reprotect(_ ladder: inout Ladder, id: SymbolID, instruments: InstrumentTable, _ b: inout DecisionBuilder,
                            reason: String = "stopMissing") {
        ladder.reprotectSent = true
        ladder.protectCheckAt = ExchangeTime(milliseconds: b.decision.time.milliseconds + configuration.protectionConfirmMilliseconds)
        let stop = TradingStop(stopLoss: .set(ProtectionLeg(trigger: ladder.stopPrice, source: configuration.stopTrigger)), mode: .full)
        b.send(.setTradingStop(stop), symbol: ladder.symbol, id: id)
        if reason == "stopMissing" { b.decision.alarms.append("\(ladder.symbol): position without a stop; re-protecting") }
        b.log(ladder.symbol, ladder.episodeID, "reprotect", reason, "stop \(instruments[id].format(ladder.stopPrice))")
    }

    /// Closes a position whose stop cannot be confirmed.
    mutating func flatten(_ ladder: inout Ladder, reason: String, id: SymbolID, feed: FeedState, instruments: InstrumentTable,
                          _ b: inout DecisionBuilder) {
        let size = positionSize(ladder.symbol)
        guard size != 0, !hasLiveOrder(ladder.protects), let linkID = submitID(ladder, .protect, attempt: UInt64(ladder.protects.count)) else { return }
        if !ladder.entriesClosed { closeEntries(&ladder, reason: reason, &b, instruments: instruments) }
        let spec = exitOrder(size: size, id: id, feed: feed, instruments: instruments)
        let text = submit(linkID, spec, ladder: ladder, id: id, &b)
        ladder.protects.append(text)
        b.decision.alarms.append("\(ladder.symbol): flattening, \(reason)")
        b.log(ladder.symbol, ladder.episodeID, "flatten", reason)
    }

    /// Reduce-only IOC limit `timeExitSlippageBps` through the touch; a market order when no book prices it.
    func exitOrder(size: Int64, id: SymbolID, feed: FeedState, instruments: InstrumentTable) -> OrderSpec {
        let side: Side = size > 0 ? .sell : .buy
        let qty = Quantity(units: abs(size))
        guard let rules = instruments[id].rules, let book = feed.deepestBook(id, syncedOnly: true),
              let touch = side == .sell ? book.bestBid?.price : book.bestAsk?.price else {
            return .market(side, qty: qty, reduceOnly: true)
        }
        let bps = Int128(configuration.timeExitSlippageBps)
        let scaled = Int128(touch.units) * (side == .sell ? 10_000 - bps : 10_000 + bps)
        let tick = Int128(rules.tickSize.units)
        // Rounded towards the touch: never more slippage than allowed.
        let ticks = side == .sell ? -floorDivide(-scaled, 10_000 * tick) : floorDivide(scaled, 10_000 * tick)
        return .limit(side, price: Price(units: Int64(ticks * tick)), qty: qty, timeInForce: .immediateOrCancel, reduceOnly: true)
    }

    mutating func closeIfDone(_ ladder: inout Ladder, size: Int64, _ b: inout DecisionBuilder) {
        guard !ladder.closed, size == 0, ladder.entriesClosed || ladder.filled else { return }
        let pendingIntents = Set(b.decision.intents.map(\.linkID))
        guard !hasLiveOrder(ladder.orderIDs), ladder.orderIDs.allSatisfy({ !pendingIntents.contains($0) }) else { return }
        // An entry whose cancel said it filled, and whose fill has not arrived (the order and execution topics are
        // separate): the ladder waits for it, so no other opens on the symbol and the fill is managed when it lands;
        // for at most `awaitedFillMilliseconds` (`timers`).
        guard ladder.fillWaitEnded != nil || awaitedFillsSince(ladder) == nil else { return }
        if !ladder.entriesClosed { ladder.entriesClosed = true }
        ladder.closed = true
        b.log(ladder.symbol, ladder.episodeID, "ladderClosed", ladder.filled ? "flat" : "unfilled")
    }

    /// A ladder waits this long for fills an entry's cancel announced: longer than the gateway's execution cross-check
    /// reaches back (10 minutes, every 45 s), which finds a fill the stream never delivered.
    public static let awaitedFillMilliseconds: Int64 = 15 * 60_000

    /// When the oldest announced fill of the ladder's entries that has not arrived was announced (nil: none awaited).
    func awaitedFillsSince(_ ladder: Ladder) -> ExchangeTime? {
        ladder.entries.compactMap { id in order(id).flatMap { $0.awaitsFills ? $0.venueFilledAt : nil } }.min()
    }

    func put(_ ladder: Ladder, _ b: inout DecisionBuilder, instruments: InstrumentTable) {
        if ladders[ladder.number] != ladder || b.changed[ladder.number] != nil { b.changed[ladder.number] = ladder }
    }

    // MARK: - Breakers and exposure

    struct BreakerDenial {
        var code: String
        var detail: String
    }

    /// The breakers of `symbol`, whose deepest synced book is `feed.books[book]` (the caller found it; without one, an
    /// entry decision skips with `breaker.noBook` and a re-plan does nothing).
    func breaker(_ symbol: String, _ id: SymbolID, book: Int, feed: FeedState, now: ExchangeTime) -> BreakerDenial? {
        let settings = configuration.breakers
        if !feed.isTrusted(bookAt: book) { return BreakerDenial(code: "breaker.bookGapped", detail: "") }
        if let t = feed.books[book].lastExchangeTime, now.milliseconds - t.milliseconds > settings.maxBookAgeMilliseconds {
            return BreakerDenial(code: "breaker.bookStale", detail: "\(now.milliseconds - t.milliseconds) ms old")
        }
        // The three fields read in place: the code read them from a copy of the fields (a 338-byte memmove in this
        // function, seen in perf and in the disassembly; up to seven cache lines of a cold ticker).
        let ticker = feed.tickers[id].map { (markPrice: $0.fields.markPrice, lastPrice: $0.fields.lastPrice,
                                             nextFundingTime: $0.fields.nextFundingTime) }
        if let limit = settings.maxMarkLastDivergenceBps, let mark = ticker?.markPrice, let last = ticker?.lastPrice, last.units > 0,
           Int128(abs(mark.units - last.units)) * 10_000 > Int128(limit) * Int128(last.units) {
            return BreakerDenial(code: "breaker.markLastDivergence", detail: "mark \(mark.units) last \(last.units)")
        }
        if let next = ticker?.nextFundingTime, abs(next.milliseconds - now.milliseconds) < settings.fundingNoTradeMilliseconds {
            return BreakerDenial(code: "breaker.fundingWindow", detail: "funding at \(next)")
        }
        if let rank = positions[symbol]?.adlRankIndicator, rank >= settings.maxAdlRank {
            return BreakerDenial(code: "breaker.adlRank", detail: "adlRankIndicator \(rank)")
        }
        let window = postOnlyOutcomes.suffix(settings.postOnlyWindow)
        if window.count >= settings.postOnlyWindow, window.count(where: { $0 }) * 10_000 >= settings.maxPostOnlyRejectBps * window.count {
            return BreakerDenial(code: "breaker.postOnlyRejects", detail: "\(window.count(where: { $0 })) of \(window.count)")
        }
        if Int(id.index) < lastLiquidationMilliseconds.count, case let last = lastLiquidationMilliseconds[Int(id.index)], last != .min,
           now.milliseconds - last > settings.maxLiquidationLagMilliseconds {
            return BreakerDenial(code: "breaker.liquidationLag", detail: "\(now.milliseconds - last) ms")
        }
        return nil
    }

    /// Positions at mark (entry value without one) and resting entries, each counted as if filled.
    func exposure(feed: FeedState, instruments: InstrumentTable) -> Exposure {
        var exposure = Exposure()
        for (id, ledger) in portfolio.ledgers where ledger.size != 0 {
            let value = feed.tickers[id]?.fields.markPrice.flatMap { ledger.instrument.notional(price: $0, qty: Quantity(units: abs(ledger.size))) }
                ?? USDT(units: abs(ledger.entryValue.units))
            exposure.positions[id] = ledger.size > 0 ? value : -value
        }
        // The open orders only (a sum: their order does not matter), not every order of the retention window.
        for clientID in tracker.open {
            guard let order = tracker.orders[clientID], order.id.role == .entry, let symbol = order.symbol,
                  let id = instruments.lookup(symbol), let price = order.spec.price else { continue }
            let open = Quantity(units: max(0, order.qty.units - order.filledQty.units))
            let notional = Instrument.notional(price: price, qty: open) ?? .zero     // no copy of the instrument
            if order.spec.side == .buy { exposure.restingBuys[id, default: .zero] = exposure.restingBuys[id, default: .zero] + notional }
            else { exposure.restingSells[id, default: .zero] = exposure.restingSells[id, default: .zero] + notional }
            exposure.restingLayers += 1
        }
        return exposure
    }
}

extension EngineInput {
    /// Market inputs are frequent: loss limits are checked on the others.
    var isMarket: Bool {
        switch self {
        case .liquidation: true
        default: false
        }
    }
}
