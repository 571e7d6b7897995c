public import CascadeCore
import Execution
import FeatureReplay
import Features
import MarketData
import Recording
import Simulation
import BybitV5

// The runner's steps: market events, detector changes, venue reports and timers through the engine, and its commands to the venue.
extension BacktestRunner {
    // MARK: - Steps

    /// A market event reaches the lane's venue (at its exchange time) and, for liquidations, its engine.
    func market(_ ingested: FeatureReplay.Ingested, _ lane: inout Lane, _ market: Market) throws {
        var reports: [ExecutionReport] = []
        if case let .event(event)? = ingested.input {
            if let time = event.exchangeTime {
                lane.exchangeClock = max(lane.exchangeClock, time.milliseconds)
                lane.engineClock = max(lane.engineClock, lane.exchangeClock)
                lane.result.firstTime = lane.result.firstTime ?? time
                lane.result.lastTime = ExchangeTime(milliseconds: lane.exchangeClock)
            }
            if !ingested.change.isSteady {
                reports += lane.exchange.feedChanged(ingested.change, at: ExchangeTime(milliseconds: lane.exchangeClock))
            }
            if let symbol = event.symbol { reports += lane.exchange.on(event, instrument: market.instruments[symbol]) }
            enqueue(reports, &lane)
            if case let .liquidations(list) = event {
                for liquidation in list { try step(.liquidation(liquidation), &lane, market) }
            }
        } else if !ingested.change.isSteady {
            enqueue(lane.exchange.feedChanged(ingested.change, at: ExchangeTime(milliseconds: lane.exchangeClock)), &lane)
        }
    }

    func detector(_ change: DetectorChange, _ lane: inout Lane, _ market: Market) throws {
        if case .started = change { lane.result.episodesDetected += 1 }
        try step(.detector(change), &lane, market)
    }

    /// Reports reach the engine at their time plus the acknowledgement latency, call answers after the round trip,
    /// in that order; timers fire between. The venue first processes the commands that have arrived by then, but
    /// never beyond the latest market event seen: a later event may still be stamped before an arrival.
    func deliver(upTo t: Int64, _ lane: inout Lane, _ market: Market, timers: Bool = true) throws {
        while true {
            var nextDelivery = lane.pendingHead < lane.pending.count ? lane.pending[lane.pendingHead].deliverAt : nil
            let wake = timers ? lane.engine.nextWakeup?.milliseconds : nil
            if !lane.exchange.commandsInFlight.isEmpty {
                // Only a deadline that will be ticked bounds the venue (one already ticked never will be again).
                let liveWake = wake.flatMap { $0 == lane.lastTick ? nil : $0 }
                let horizon = min(lane.exchangeClock, nextDelivery ?? .max, liveWake ?? .max)
                enqueue(lane.exchange.advance(to: ExchangeTime(milliseconds: horizon), settlingFunding: false), &lane)
                nextDelivery = lane.pendingHead < lane.pending.count ? lane.pending[lane.pendingHead].deliverAt : nil
            }
            if let wake, wake <= t, wake != lane.lastTick, nextDelivery.map({ wake < $0 }) ?? true {
                // A deadline a tick did not clear is counted (stuckTicks) and not ticked again.
                lane.lastTick = wake
                try step(.tick, &lane, market, now: max(lane.engineClock, wake))
                if lane.engine.nextWakeup?.milliseconds == wake { lane.stuckTicks += 1 }
                continue
            }
            guard let due = nextDelivery, due <= t else {
                quiescentCheck(&lane)
                return
            }
            let pending = lane.pending[lane.pendingHead]
            lane.pendingHead += 1
            // Delivered items are dropped in batches of a few dozen (amortised O(1)); a larger batch only made the
            // queue of a long paper session hold thousands of delivered reports.
            if lane.pendingHead > 32, lane.pendingHead * 2 > lane.pending.count {
                lane.pending.removeFirst(lane.pendingHead)
                lane.pendingHead = 0
            }
            switch pending.item {
            case let .report(report):
                if report.event.isNotice {
                    lane.result.notices[noticeName(report.event), default: 0] += 1
                    continue
                }
                record(report, &lane, market)
                try step(.report(report), &lane, market, now: max(lane.engineClock, pending.deliverAt))
            case let .call(command, result, sender):
                lane.router.answered(command)
                try step(.call(command, result), &lane, market, now: max(lane.engineClock, pending.deliverAt))
                // The answer frees its sender lane: the next command leaves once the engine has taken it (at the
                // engine's clock, which may be past the delivery), after whatever this answer decided.
                if let sender {
                    lane.outboxes[sender.rawValue].callOut = false
                    dispatch(&lane, at: lane.engineClock)
                }
            case let .wake(sender):
                // The held call leaves at the end of its wait, as the live client sends it (withdrawn or stale checks
                // are not made again: the client does not look at the engine while it waits). Nothing leaves after
                // the data: it is then counted as queued.
                if let held = lane.outboxes[sender.rawValue].held, !lane.sendingStopped {
                    lane.outboxes[sender.rawValue].held = nil
                    transmit(held.commands, in: sender, &lane, leaving: held.departure)
                }
            }
        }
    }

    /// At a quiescent point the engine has heard everything the venue did: positions and wallet must be equal.
    func quiescentCheck(_ lane: inout Lane) {
        guard lane.pendingHead == lane.pending.count, lane.exchange.commandsInFlight.isEmpty else { return }
        lane.result.quiescentChecks += 1
        var venueWallet = lane.exchange.deposit
        var equal = true
        for id in lane.exchange.symbols.keys {
            let ledger = lane.exchange.symbols[venue: id].ledger
            venueWallet = venueWallet + ledger.walletContribution
            let mine = lane.engine.portfolio.ledgers[id]
            if (mine?.size ?? 0) != ledger.size || (mine?.entryValue ?? .zero) != ledger.entryValue { equal = false }
        }
        if venueWallet != lane.engine.portfolio.wallet { equal = false }
        if !equal { lane.result.quiescentMismatches += 1 }
    }

    func noticeName(_ event: ExecutionReport.Event) -> String {
        switch event {
        case let .matchingSuspended(reason): "matchingSuspended: \(reason)"
        case .matchingResumed: "matchingResumed"
        case let .fundingNotSimulated(reason): "fundingNotSimulated: \(reason)"
        default: "other"
        }
    }

    /// The private stream is one connection: its reports arrive in the order the venue sent them, one
    /// acknowledgement delay drawn per batch, never before an earlier report.
    func enqueue(_ reports: [ExecutionReport], _ lane: inout Lane) {
        guard !reports.isEmpty else { return }
        let ack = lane.exchange.acknowledgementDelay()
        for report in reports {
            let deliverAt = max(report.time.milliseconds + ack, lane.lastReportDelivery)
            lane.lastReportDelivery = deliverAt
            insert(Pending(deliverAt: deliverAt, order: 0, item: .report(report)), &lane)
        }
    }

    /// Queues a delivery, sorted by time, first in first out among equals (inserted from the back: times rarely go back).
    func insert(_ item: Pending, _ lane: inout Lane) {
        var item = item
        lane.ordinal += 1
        item.order = lane.ordinal
        var index = lane.pending.count
        while index > lane.pendingHead, lane.pending[index - 1].deliverAt > item.deliverAt { index -= 1 }
        lane.pending.insert(item, at: index)
    }

    /// One engine input: its entries committed, then its commands sent, each call's answer fed back the same way.
    func step(_ input: EngineInput, _ lane: inout Lane, _ market: Market, now: Int64? = nil) throws {
        lane.engineClock = max(lane.engineClock, now ?? lane.engineClock)
        let at = ExchangeTime(milliseconds: lane.engineClock)
        let step = lane.engine.handle(input, feed: market.feed, instruments: market.instruments, now: at)
        try execute(step, &lane)
    }

    func execute(_ step: EngineStep, _ lane: inout Lane) throws {
        guard !step.entries.isEmpty else { return }
        do { try lane.journal.commit(step.entries) } catch { throw BacktestError("journal: \(error)") }
        lane.result.journalEntries += step.entries.count
        lane.result.journalTransactions += 1
        if lane.hooked { afterCommit?(lane.result.journalTransactions, lane.engine) }
        lane.result.decisions.append(contentsOf: step.log)
        noteTrades(step, &lane)
        let tracker = lane.engine.tracker
        for item in lane.router.items(step.commands, amendsReduceOnly: tracker.amendsReduceOnlyOrder,
                                      batching: configuration.live.batchEntries && configuration.sender == .sequential) {
            lane.outboxes[item.lane.rawValue].items.append(item.commands)
        }
        dispatch(&lane, at: lane.engineClock)     // the step's commands were decided at the engine's clock
    }

    /// Sends what the sender may send at `t`: with the sequential sender (``BacktestConfiguration/CommandSender``),
    /// each ``CascadeCore/SenderLane``'s next queued item (a command, or a batch of entry creates) when no call of that
    /// lane is out (the entry lane's first, then the protective lane's); with the concurrent one, every queued item. The answer on a call reaches the
    /// engine after the round trip: at the venue's arrival (success) or after the longest entry latency (a refusal is
    /// decided at the gateway), plus the acknowledgement.
    func dispatch(_ lane: inout Lane, at t: Int64) {
        let sequential = configuration.sender == .sequential
        for sender in SenderLane.allCases {
            let i = sender.rawValue
            while lane.outboxes[i].queuedItems > 0, !(sequential && lane.outboxes[i].callOut), !lane.sendingStopped {
                let item = lane.outboxes[i].items[lane.outboxes[i].head]
                lane.outboxes[i].head += 1
                if lane.outboxes[i].queuedItems == 0 {
                    lane.outboxes[i].items.removeAll(keepingCapacity: true)
                    lane.outboxes[i].head = 0
                }
                lane.outboxes[i].callOut = true
                send(item, in: sender, &lane, at: t, sequential: sequential)
            }
        }
    }

    /// Sends one item of a lane (a command, or a batch of entry creates) at `t`. Commands withdrawn or stale are answered
    /// at once, unsent; the rest go in one call, whose answers come back together, the last freeing the lane. A call
    /// its endpoint's rate limit holds back waits in its lane until it may leave (``SenderQueue/held``), or is refused
    /// unsent at once when it would be past its send deadline by then, as the live REST client refuses it.
    func send(_ item: [VenueCommand], in sender: SenderLane, _ lane: inout Lane, at t: Int64, sequential: Bool) {
        // As the live node's sender: an entry whose cancel was decided while it waited, and that cancel, are answered at
        // once without reaching the venue; and as its REST client, a create or amend whose turn comes past its send
        // deadline is refused unsent, answered at once.
        let tracker = lane.engine.tracker
        let deadline = configuration.live.sendDeadlineMilliseconds
        var (unsent, outgoing) = lane.router.partition(item, cancelDecided: tracker.cancelDecided) { command in
            sequential && Self.isStale(command, leavingAt: max(t, command.decidedAt.milliseconds), deadline: deadline)
        }
        // When the call would leave: now, or (held) when its endpoint's rate limit lets it.
        var leaves = outgoing.first.map { max(t, $0.decidedAt.milliseconds) }
        if let earliest = leaves, case let departure = lane.rateBudget.departure(outgoing, at: earliest), departure > earliest {
            leaves = nil
            // The live client refuses the whole call at once when its wait would end past the deadline (the commands
            // of a call that can be stale share their decision; a wait that ends on the deadline exactly is sent);
            // a call that takes risk off is never stale.
            if outgoing.allSatisfy({ Self.isStale($0, leavingAt: departure - 1, deadline: deadline) }) {
                unsent += outgoing.map { ($0, Rejection.staleUnsent) }
                outgoing = []
            } else {
                lane.outboxes[sender.rawValue].held = (outgoing, departure)
                lane.result.rateLimitWaits += 1
                insert(Pending(deliverAt: departure, order: 0, item: .wake(sender)), &lane)
            }
        }
        for (n, (command, rejection)) in unsent.enumerated() {
            if rejection.reason == .withdrawnUnsent { lane.result.withdrawnUnsent += 1 } else { lane.result.refusedUnsent += 1 }
            let frees = outgoing.isEmpty && n == unsent.count - 1
            insert(Pending(deliverAt: max(t, command.decidedAt.milliseconds), order: 0,
                           item: .call(command, .refused(rejection), frees ? sender : nil)), &lane)
        }
        if let leaves { transmit(outgoing, in: sender, &lane, leaving: leaves) }
    }

    /// Puts one call of `outgoing` on the wire at `leaves`: its answers come back together, the last freeing the lane.
    func transmit(_ outgoing: [VenueCommand], in sender: SenderLane, _ lane: inout Lane, leaving leaves: Int64) {
        guard let first = outgoing.first else { return }
        if lane.hooked { for command in outgoing { beforeSend?(command) } }
        lane.result.commandsSent += outgoing.count
        let ack = lane.exchange.acknowledgementDelay()
        let results = outgoing.count == 1 ? [lane.exchange.send(first, leavingAt: ExchangeTime(milliseconds: leaves))]
            : lane.exchange.send(batch: outgoing, leavingAt: ExchangeTime(milliseconds: leaves))
        // One call, one answer: a batch's items are answered together, in one response once its accepted orders have
        // arrived (the refusal timing, the longest entry latency, only when none was accepted).
        let answers = results.map { result -> CallResult in
            switch result {
            case let .success(receipt): return .sent(receipt.venueID)
            case let .failure(rejection):
                lane.result.refusedOnCall += 1
                return .refused(rejection)
            }
        }
        let deliverAt = Self.answerTime(results, leaves: leaves, maxEntryLatency: maxEntryLatency, ack: ack)
        lane.rateBudget.spend(outgoing, at: leaves, answeredAt: deliverAt)
        for (n, (command, answer)) in zip(outgoing, answers).enumerated() {
            insert(Pending(deliverAt: deliverAt, order: 0, item: .call(command, answer, n == outgoing.count - 1 ? sender : nil)), &lane)
        }
    }

    /// When a call's answer reaches the engine: once its accepted orders have arrived at the venue, plus the
    /// acknowledgement; when none was accepted (refused on the call: decided at the gateway), after the longest entry
    /// latency from when it left. A batch's orders are answered together, in one response.
    static func answerTime(_ results: [Result<SimulatedExchange.Receipt, Rejection>], leaves: Int64, maxEntryLatency: Int64,
                           ack: Int64) -> Int64 {
        let arrivals = results.compactMap { try? $0.get().arrival.milliseconds }
        return (arrivals.max() ?? leaves + maxEntryLatency) + ack
    }

    /// A create (not reduce-only) or an amend whose turn comes at or after the send deadline: the live node's REST
    /// client refuses it unsent (`now >= decidedAt + sendDeadline`: a stale order must not reach the book at the
    /// decision's prices). Taking risk off (cancels, reduce-only orders, trading stops) and leverage are never stale.
    public static func isStale(_ command: VenueCommand, leavingAt t: Int64, deadline: Int64) -> Bool {
        guard t >= command.decidedAt.milliseconds + deadline else { return false }
        switch command.action {
        case .submit, .amend: return !command.action.reducesRisk
        case .cancel, .cancelAll, .setTradingStop, .setLeverage: return false
        }
    }

    /// The longest entry latency the venue can draw (ms).
    var maxEntryLatency: Int64 {
        switch configuration.venue.entryLatency {
        case let .constant(ms): max(ms, 1)
        case let .sampled(samples, _): max(samples.max() ?? 1, 1)
        }
    }
}
