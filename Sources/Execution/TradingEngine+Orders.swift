import CascadeCore
import Features
import MarketData
import Strategy

// Timers (deadlines, the stray-order sweep), control, the loss limits and risk mode, and the orders a ladder sends:
// entries closed, take-profit, exits, re-protection.
extension TradingEngine {
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
}
