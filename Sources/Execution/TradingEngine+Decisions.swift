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
            lastLiquidationMilliseconds[liquidation.symbol] = liquidation.exchangeTime.milliseconds
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
            // Moved out of the builder, not copied (a copy retains each of the decision's lists, and the builder's
            // end releases them again); the entry's box is then shared by the step and the pending decision.
            var decision = Decision(time: now)
            swap(&decision, &b.decision)
            swap(&step.commands, &b.commands)
            if applyingLater {
                let held = PendingDecision(decision)
                pending = held
                step.entries.append(held.entry)
            } else {
                let entry = JournalEntry.decision(decision)
                apply(entry, instruments: instruments)
                step.entries.append(entry)
            }
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
        if let last = lastLiquidationMilliseconds[id], now.milliseconds - last > settings.maxLiquidationLagMilliseconds {
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
