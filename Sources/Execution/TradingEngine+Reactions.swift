import CascadeCore
import Features
import MarketData
import Strategy

// Reactions to the venue: reports, refusals and what they change about a ladder's orders and protection.
extension TradingEngine {
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
}
