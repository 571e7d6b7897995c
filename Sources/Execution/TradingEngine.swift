public import CascadeCore
public import Features
import MarketData
public import Strategy

/// What reaches the engine. The venue is read only through reports and call results.
public enum EngineInput: Sendable {
    /// The detector opened or closed an episode.
    case detector(DetectorChange)
    /// A liquidation as received (freshness, re-evaluation within an episode).
    case liquidation(Liquidation)
    /// Indirect, as the call below: an input is as large as its largest case, and a report would make every input
    /// (the cascade's detector change included) 360 bytes.
    indirect case report(ExecutionReport)
    /// The venue's answer on the call to a command the engine sent.
    indirect case call(VenueCommand, CallResult)
    /// The clock reached ``TradingEngine/nextWakeup``.
    case tick
    /// A periodic check (loss limits at the marks of the moment) when nothing else happens.
    case heartbeat
    case control(ControlCommand)
}

/// Commands from the operator.
public enum ControlCommand: Sendable, Hashable {
    /// Leave REDUCING or HALTED (the only way out).
    case resume
    case halt(reason: String)
    /// The private stream went down or came back (breaker).
    case privateStream(up: Bool)
    /// Exposure or data the journal cannot explain (a foreign symbol's row, a position that disagrees with the
    /// venue, an unreadable private row): REDUCING with an alarm until the operator resumes.
    case quarantine(reason: String)
    /// The dead-man switch: the private stream has been down too long to know what the resting entries are doing;
    /// they are cancelled by id (never a bare cancel-all: the stops stay).
    case cancelRestingEntries(reason: String)
    /// Shutdown: close positions by reduce-only IOC, every one or only those whose exchange-side stop the latest
    /// position report does not show (an unknown stop counts as missing).
    case flattenPositions(reason: String, onlyUnprotected: Bool)
}

/// What one input produced: journal entries to commit (one transaction), then the commands to send, in order.
public struct EngineStep: Sendable {
    public var entries: [JournalEntry] = []
    public var commands: [VenueCommand] = []
    public init() {}
    /// The decision log lines of this step.
    public var log: [DecisionLogEntry] {
        entries.flatMap { entry -> [DecisionLogEntry] in
            if case let .decision(d) = entry { return d.log }
            return []
        }
    }
}

/// A venue-made TP/SL order of a position (its fills are ours), remembered with its symbol.
public struct PositionLeg: Hashable, Sendable {
    public var venueID: VenueOrderID
    public var symbol: String
}

/// The sans-IO trading engine: inputs and the time in, journal entries and venue commands out. Backtest, paper and
/// live run this same value; only the driver's clock and gateway differ.
///
/// Every state change is a ``JournalEntry`` applied by ``apply(_:instruments:)``, when it is made and when a journal
/// is replayed after a restart, so the state rebuilt from the journal is the state that wrote it. A driver commits
/// a step's entries before it sends the step's commands.
///
/// Conservative choices, written down (each a configuration value where an alternative exists):
/// - one ladder per symbol at a time; no entry while a position is open (one-way mode);
/// - after the take-profit or the stop closes the position, the remaining entries are cancelled (the ladder is done);
/// - the time exit is an IOC limit `timeExitSlippageBps` through the touch (a market order with a slippage
///   tolerance), retried `timeExitMaxAttempts` times, then HALTED with an alarm;
/// - a take-profit that would cross when placed is sent IOC (a taker exit at the take-profit price or better).
///
/// A decision can be left pending (``handle(_:feed:instruments:now:applyingLater:)``): until ``completePending()`` runs
/// (every mutating entry point runs it first), every property reads the state before that decision, except
/// ``pendingDecision``, ``cancelDecided(_:)`` and ``amendsReduceOnlyOrder(_:)``.
public struct TradingEngine: Sendable {
    public let configuration: EngineConfiguration
    /// Chooses each ladder's offsets (the configured ones by default).
    public var scorer: any ArmScorer = RuleArmScorer()
    public private(set) var run: UInt64 = 0
    public private(set) var tracker = OrderTracker()
    public private(set) var portfolio = Portfolio(startingBalance: .zero)
    public private(set) var risk: RiskState
    public private(set) var ladders: [UInt64: Ladder] = [:]
    /// The open ladder of each symbol.
    public private(set) var activeLadder: [String: UInt64] = [:]
    public private(set) var ladderCount: UInt64 = 0
    /// Venue-made TP/SL orders (position legs), by venue id: their fills are ours but not our orders.
    public private(set) var legOrigins: [VenueOrderID: OrderOrigin] = [:]
    /// The newest position report per symbol, and its time: a report behind it (an earlier `seq`, or the same `seq`
    /// and an earlier time: a stop change moves no `seq`) is stale and changes nothing. The gateway's cross-check reads
    /// positions before it pages through executions, so its rows can come after newer stream messages.
    public private(set) var positions: [String: PositionReport] = [:]
    public private(set) var positionTimes: [String: ExchangeTime] = [:]
    /// Outcomes of the last entries (true: post-only reject), for the reject-rate breaker: one per entry, when it
    /// resolves (a post-only cancel, or a fill or other cancel).
    public private(set) var postOnlyOutcomes: [Bool] = []
    public private(set) var postOnlyResolved: Set<String> = []
    /// Exchange time of the latest report applied (where a backfill would resume).
    public private(set) var executionCursor: ExchangeTime?
    public private(set) var alarms: [String] = []
    /// Trading rules of every symbol traded, as journaled.
    public private(set) var knownRules: [String: InstrumentRules] = [:]
    /// Fills applied (each execution once).
    public private(set) var fillsApplied = 0
    /// Ladders in the order they ended, with the time of the decision that ended them (retired
    /// `retainEndedMilliseconds` later, with their orders); and venue TP/SL legs by the time they were accepted.
    public private(set) var endedLadders = AgedQueue<UInt64>()
    public private(set) var legLog = AgedQueue<PositionLeg>()
    /// Legs past the window whose symbol still had a position (forgotten once it is flat: a live leg stays known).
    public private(set) var lingeringLegs: [PositionLeg] = []
    /// Ended ladders past the window that still had an order not terminal (retired once it ends).
    public private(set) var lingeringLadders: [UInt64] = []
    /// Ladders retired so far (their records stay in the journal).
    public private(set) var laddersRetired = 0
    /// The oldest time still remembered: a fill reported before it can no longer be told from one already counted
    /// (its execution id may be forgotten), so it is refused with an alarm and a quarantine, never applied.
    public private(set) var forgottenBefore: ExchangeTime?
    /// Every order of each ladder, by ladder (retirement reads it instead of scanning every order).
    var ladderOrders: [UInt64: [String]] = [:]
    /// Alarms kept for display (the newest; every alarm is in the journal), and how many were raised in all.
    static let alarmMemory = 100
    public private(set) var alarmsRaised = 0

    // Transient market memory (not journaled: the market refills it after a restart).
    /// The exchange time (ms) of each symbol's latest liquidation, for the liquidation-lag breaker. By id, not by
    /// name: the liquidation step writes it on every liquidation, the cascade's first frame included (a table keyed by
    /// name hashed the name into a cold table there).
    var lastLiquidationMilliseconds = SymbolIndexed<Int64>()
    var privateStreamUp = true
    /// The latest step's decision, journaled and not applied yet (``handle(_:feed:instruments:now:applyingLater:)``):
    /// applied by ``completePending()``, which every mutating entry point runs first.
    public var pendingDecision: Decision? { pending?.decision }
    /// Boxed (an indirect journal entry, one pointer): inline, the decision would add 184 bytes to the engine's record,
    /// read cold on every input.
    var pending: PendingDecision?

    public init(configuration: EngineConfiguration) {
        self.configuration = configuration
        var risk = RiskState()
        risk.memory = RiskEngine.Memory()
        self.risk = risk
    }

    /// An empty order list with room for a ladder's orders (entries, take-profits, exits), grown past it as needed.
    static func orderList() -> [String] {
        var list: [String] = []
        list.reserveCapacity(8)
        return list
    }

    /// Rebuilds the engine from a journal's entries, with the instruments of the running process, or (nil) with the
    /// trading rules the journal itself holds.
    public static func restore(from entries: [JournalEntry], configuration: EngineConfiguration,
                               instruments: InstrumentTable? = nil) -> TradingEngine {
        let table = instruments ?? instrumentTable(from: entries)
        var engine = TradingEngine(configuration: configuration)
        for entry in entries { engine.apply(entry, instruments: table) }
        return engine
    }

    /// The instruments a journal traded, with their last journaled rules (symbols registered in name order).
    public static func instrumentTable(from entries: [JournalEntry]) -> InstrumentTable {
        var rules: [String: InstrumentRules] = [:]
        for case let .decision(d) in entries { rules.merge(d.instruments) { $1 } }
        var table = InstrumentTable()
        for symbol in rules.keys.sorted() { table.setRules(rules[symbol]!, for: symbol) }
        return table
    }

    /// The state a journal replay must reproduce (transient market memory excluded).
    public struct Snapshot: Hashable, Sendable {
        public var run: UInt64
        public var tracker: OrderTracker
        public var legOrigins: [VenueOrderID: OrderOrigin]
        public var postOnlyOutcomes: [Bool]
        public var postOnlyResolved: Set<String>
        public var ledgers: [SymbolID: PositionLedger]
        public var wallet: USDT
        public var risk: RiskState
        public var ladders: [UInt64: Ladder]
        public var activeLadder: [String: UInt64]
        public var positions: [String: PositionReport]
        public var positionTimes: [String: ExchangeTime]
        public var cursor: ExchangeTime?
        public var alarms: [String]
        public var fillsApplied: Int
        public var knownRules: [String: InstrumentRules]
        public var endedLadders: AgedQueue<UInt64>
        public var legLog: AgedQueue<PositionLeg>
        public var lingeringLegs: [PositionLeg]
        public var lingeringLadders: [UInt64]
        public var laddersRetired: Int
        public var forgottenBefore: ExchangeTime?
        public var alarmsRaised: Int
    }

    public var snapshot: Snapshot {
        assert(pending == nil, "snapshot read with a decision not applied: completePending() first")
        return Snapshot(run: run, tracker: tracker, legOrigins: legOrigins,
                 postOnlyOutcomes: postOnlyOutcomes, postOnlyResolved: postOnlyResolved, ledgers: portfolio.ledgers, wallet: portfolio.wallet, risk: risk, ladders: ladders,
                 activeLadder: activeLadder, positions: positions, positionTimes: positionTimes, cursor: executionCursor, alarms: alarms, fillsApplied: fillsApplied, knownRules: knownRules,
                 endedLadders: endedLadders, legLog: legLog, lingeringLegs: lingeringLegs, lingeringLadders: lingeringLadders, laddersRetired: laddersRetired,
                 forgottenBefore: forgottenBefore, alarmsRaised: alarmsRaised)
    }

    /// A start: takes the run number the journal gives (never one used before) and the starting balance.
    public mutating func start(run: UInt64, startingBalance: USDT, at time: ExchangeTime, instruments: InstrumentTable) -> EngineStep {
        completePending()
        var step = EngineStep()
        let entry = JournalEntry.started(run: run, node: configuration.node, startingBalance: startingBalance, at: time)
        apply(entry, instruments: instruments)
        step.entries.append(entry)
        return step
    }

    /// The next time the engine must be woken with ``EngineInput/tick`` (nil: none).
    public var nextWakeup: ExchangeTime? {
        assert(pending == nil, "nextWakeup read with a decision not applied: completePending() first")
        var best: ExchangeTime?
        func consider(_ t: ExchangeTime?) { if let t { best = min(best ?? t, t) } }
        for number in activeLadder.values {
            guard let ladder = ladders[number] else { continue }
            if !ladder.entriesClosed { consider(ladder.entryDeadline) }
            let open = positionSize(ladder.symbol) != 0
            // Only deadlines a tick acts on: the first time exit, a spaced retry, a protection check.
            if open, ladder.exitSends == 0, !hasLiveOrder(ladder.exits) { consider(ladder.exitDeadline) }
            if open { consider(ladder.exitRetryAt) }
            if open, ladder.unprotectedSince != nil { consider(ladder.protectCheckAt) }
            if ladder.fillWaitEnded == nil, let since = awaitedFillsSince(ladder) {
                consider(ExchangeTime(milliseconds: since.milliseconds + Self.awaitedFillMilliseconds))
            }
        }
        return best
    }

    // MARK: - Applying entries (the only place state changes)

    public mutating func apply(_ entry: JournalEntry, instruments: InstrumentTable) {
        completePending()
        switch entry {
        case let .started(run, _, balance, _):
            if self.run == 0 { portfolio = Portfolio(startingBalance: balance) }
            self.run = run
        case let .decision(decision):
            applyDecision(decision)
        case let .report(symbol, report):
            applyReport(report, symbol: symbol, instruments: instruments)
        case let .call(_, action, result, at):
            let clientID: ClientOrderID?
            switch action {
            case let .submit(id, _): clientID = id
            case let .cancel(.client(id)), let .amend(.client(id), _): clientID = id
            default: clientID = nil
            }
            guard let clientID else { return }
            switch result {
            case .sent:
                if case .submit = action { tracker.markSent(clientID) }
            case .transportError:
                if case .submit = action { tracker.markTransportError(clientID) }
                if case .cancel = action { tracker.clearCancelRequested(clientID) }
            case let .refused(rejection):
                let event: ExecutionReport.Event = if case .submit = action {
                    .rejected(OrderRejected(venueID: nil, clientID: clientID, rejection: rejection))
                } else {
                    .commandRejected(CommandRejected(action: action, clientID: clientID, rejection: rejection))
                }
                _ = tracker.apply(ExecutionReport(symbol: nil, time: at, event: event))
            }
        }
    }

    /// A decision's state changes; they read no instrument (the decision carries what it needs), so one left pending
    /// applies without the table of its step.
    private mutating func applyDecision(_ decision: Decision) {
        for intent in decision.intents {
            tracker.recordIntent(ManagedOrder(identity: intent.identity))
            ladderOrders[intent.ladder, default: Self.orderList()].append(intent.linkID)
        }
        for ladder in decision.ladders {
            if ladder.closed, ladders[ladder.number]?.closed != true { endedLadders.append(ladder.number, at: decision.time) }
            ladders[ladder.number] = ladder
            ladderCount = max(ladderCount, ladder.number)
            if ladder.closed {
                if activeLadder[ladder.symbol] == ladder.number { activeLadder[ladder.symbol] = nil }
            } else {
                activeLadder[ladder.symbol] = ladder.number
            }
        }
        for command in decision.commands {
            if case let .cancel(.client(id)) = command.action { tracker.markCancelRequested(id, at: decision.time) }
        }
        if let state = decision.risk { risk = state }
        alarms.append(contentsOf: decision.alarms)
        alarmsRaised += decision.alarms.count
        if alarms.count > Self.alarmMemory { alarms.removeFirst(alarms.count - Self.alarmMemory) }
        // Each set in place: a merge goes through a lazy sequence of pairs (a ladder's first decision journals its rules).
        for (symbol, rules) in decision.instruments { knownRules[symbol] = rules }
        retire(before: ExchangeTime(milliseconds: decision.time.milliseconds - configuration.retainEndedMilliseconds))
    }

    /// Applies the decision ``handle(_:feed:instruments:now:applyingLater:)`` left pending (nothing when none is).
    public mutating func completePending() {
        guard let decision = pending?.decision else { return }
        pending = nil
        applyDecision(decision)
    }

    /// Whether `command` creates an order of ours whose cancel is decided and not answered yet
    /// (``OrderTracker/cancelDecided(_:)``), the pending decision's cancels included: the sender asks it without
    /// applying that decision. The answer is the applied tracker's for every order a queued command can name; the one
    /// exception is an order the decision retires (ended, of a ladder ended `retainEndedMilliseconds` before), which
    /// this still answers for as the tracker did before the decision.
    public func cancelDecided(_ command: VenueCommand) -> Bool {
        if tracker.cancelDecided(command) { return true }
        guard case let .submit(id?, _) = command.action, let pending = pending?.decision,
              pending.commands.contains(where: { $0.action == .cancel(.client(id)) }) else { return false }
        // Applied, the cancel marks the order only if it is known and not ended (``OrderTracker/markCancelRequested``).
        if let order = tracker.orders[id] { return !order.phase.isTerminal }
        return pending.intents.contains { $0.clientID == id }
    }

    /// Whether `command` amends a reduce-only order of ours (``OrderTracker/amendsReduceOnlyOrder(_:)``), the pending
    /// decision's orders included (no decision amends an order it creates, so that branch is for completeness; the
    /// retirement exception of ``cancelDecided(_:)`` holds here too).
    public func amendsReduceOnlyOrder(_ command: VenueCommand) -> Bool {
        if tracker.amendsReduceOnlyOrder(command) { return true }
        guard case let .amend(.client(id), _) = command.action, tracker.orders[id] == nil,
              let intent = pending?.decision.intents.first(where: { $0.clientID == id }) else { return false }
        return intent.spec.reduceOnly
    }

    private mutating func applyReport(_ report: ExecutionReport, symbol: String?, instruments: InstrumentTable) {
        executionCursor = max(executionCursor ?? report.time, report.time)
        let instrument = symbol.flatMap { instruments.lookup($0) }.map { instruments[$0] }
        switch report.event {
        case let .accepted(a) where a.origin.isTakeProfitOrStopLoss:
            if legOrigins.updateValue(a.origin, forKey: a.venueID) == nil, let symbol {
                legLog.append(PositionLeg(venueID: a.venueID, symbol: symbol), at: report.time)
            }
        case .filled where isForgotten(report.time), .takeover where isForgotten(report.time), .funding where isForgotten(report.time):
            // Older than the memory window: maybe counted already; refused (the decision raised the alarm).
            return
        case let .filled(fill):
            let outcome = tracker.apply(report)
            if let id = fill.clientID, isEntry(id.rawValue) { recordPostOnly(false, id: id.rawValue) }
            switch outcome {
            case .newFill, .notOurs:
                // Every fill in the account moves its position, ours by orderLinkId or the venue's TP/SL legs.
                if let instrument { portfolio.apply(fill, instrument: instrument, at: report.time) }
                fillsApplied += 1
                if let origin = legOrigins[fill.venueID], origin == .stopLoss || origin == .partialStopLoss {
                    var memory = risk.memory
                    memory.lastStop = max(memory.lastStop ?? 0, report.time.milliseconds * 1_000_000)
                    risk.memory = memory
                }
            default:
                break
            }
            return
        case let .funding(payment):
            // Once per execution id, like a fill (a reconciliation after a restart reads recent funding again).
            guard tracker.countExecution(payment.executionID, at: report.time) else { return }
            if let instrument { portfolio.apply(payment, instrument: instrument) }
        case let .unclassified(u):
            _ = tracker.countExecution(u.executionID, at: report.time)
            return
        case let .takeover(t):
            // A position change the venue made (liquidation, ADL): booked like a fill, once by execution id.
            let fill = Fill(venueID: t.venueID, clientID: nil, executionID: t.executionID, side: t.side, price: t.price, qty: t.qty,
                            liquidity: .taker, fee: t.fee, feeRate: nil, leavesQty: nil)
            switch tracker.apply(ExecutionReport(symbol: report.symbol, time: report.time, event: .filled(fill))) {
            case .newFill, .notOurs:
                if let instrument { portfolio.apply(fill, instrument: instrument, at: report.time) }
                fillsApplied += 1
            default:
                break
            }
            return
        case let .position(p):
            if let symbol, !isStale(p, at: report.time, symbol: symbol) {
                positions[symbol] = p
                positionTimes[symbol] = report.time
            }
        case let .cancelled(c):
            if let id = c.clientID, isEntry(id.rawValue) {
                recordPostOnly(c.cancellation.reason == .postOnlyWouldTakeLiquidity, id: id.rawValue)
            }
        default:
            break
        }
        _ = tracker.apply(report)
    }

    /// Forgets what ended before `cutoff` (applied with every decision, live and on replay alike, so a restored
    /// engine forgets exactly what the running one did). A fill reported before the cutoff is refused from then on
    /// (``forgottenBefore``): its execution id may be forgotten, and a stuck execution cursor can bring any old fill
    /// back through a backfill. A later report of a forgotten order (not a fill) is not ours and changes nothing.
    private mutating func retire(before cutoff: ExchangeTime) {
        if cutoff > (forgottenBefore ?? ExchangeTime(milliseconds: .min)) { forgottenBefore = cutoff }
        let due = lingeringLadders + endedLadders.removeOlder(than: cutoff)
        lingeringLadders = []
        var orderIDs: [ClientOrderID] = []
        for number in due {
            guard let ladder = ladders[number], activeLadder[ladder.symbol] != number else { continue }
            // Every order the ladder ever had (a take-profit placed again is no longer in the ladder's own list).
            let ids = ladderOrders[number] ?? []
            let clientIDs = ids.compactMap { try? ClientOrderID($0) }
            guard clientIDs.allSatisfy({ tracker.orders[$0]?.phase.isTerminal ?? true }) else { lingeringLadders.append(number); continue }
            for id in ids { postOnlyResolved.remove(id) }
            orderIDs += clientIDs
            ladders[number] = nil
            ladderOrders[number] = nil
            laddersRetired += 1
        }
        tracker.retire(orders: orderIDs, executionsBefore: cutoff)
        let legs = lingeringLegs + legLog.removeOlder(than: cutoff)
        lingeringLegs = []
        for leg in legs {
            if positionSize(leg.symbol) != 0 { lingeringLegs.append(leg) } else { legOrigins[leg.venueID] = nil }
        }
    }

    /// Whether position report `p` of `time` is behind the newest one taken for `symbol` (see ``positions``).
    func isStale(_ p: PositionReport, at time: ExchangeTime, symbol: String) -> Bool {
        guard let newest = positions[symbol], let newestTime = positionTimes[symbol] else { return false }
        if let seq = p.seq, let newestSeq = newest.seq, seq != newestSeq { return seq < newestSeq }
        return time < newestTime
    }

    /// Whether `time` is older than what the engine still remembers.
    func isForgotten(_ time: ExchangeTime) -> Bool { forgottenBefore.map { time < $0 } ?? false }

    /// Outcomes kept, whatever the configured window (≤ this): replay does not depend on the configuration.
    static let postOnlyMemory = 1_000

    private mutating func recordPostOnly(_ rejected: Bool, id: String) {
        guard postOnlyResolved.insert(id).inserted else { return }
        postOnlyOutcomes.append(rejected)
        if postOnlyOutcomes.count > Self.postOnlyMemory { postOnlyOutcomes.removeFirst() }
    }

    func isEntry(_ linkID: String) -> Bool { (try? OrderLinkID(parsing: linkID))?.role == .entry }

    // MARK: - Reading state

    func positionSize(_ symbol: String) -> Int64 {
        portfolio.ledgers.first { $0.value.instrument.symbol == symbol }?.value.size ?? 0
    }

    func ledger(_ symbol: String) -> PositionLedger? {
        portfolio.ledgers.first { $0.value.instrument.symbol == symbol }?.value
    }

    func order(_ linkID: String) -> ManagedOrder? {
        guard let id = try? ClientOrderID(linkID) else { return nil }
        return tracker.orders[id]
    }

    func hasLiveOrder(_ ids: [String]) -> Bool { ids.contains { order($0).map { !$0.phase.isTerminal } ?? false } }

    func liveOrders(_ ids: [String]) -> [String] { ids.filter { order($0).map { !$0.phase.isTerminal } ?? false } }

    /// Marks from the feed's tickers (mark price; nothing else stands in for it).
    func marks(_ feed: FeedState) -> [SymbolID: Price] {
        var marks: [SymbolID: Price] = [:]
        for (id, ledger) in portfolio.ledgers where ledger.size != 0 {
            if let mark = feed.tickers[id]?.fields.markPrice { marks[id] = mark }
        }
        return marks
    }
}

/// A decision left pending by ``TradingEngine/handle(_:feed:instruments:now:applyingLater:)``, held as its journal
/// entry: the step journals this same entry, so both share one box (one retain, no copy of the decision's lists).
struct PendingDecision: Sendable {
    /// Always a `.decision` (the only initialiser makes one).
    let entry: JournalEntry
    init(_ decision: Decision) { entry = .decision(decision) }
    var decision: Decision {
        guard case let .decision(decision) = entry else { preconditionFailure("unreachable: built from a decision") }
        return decision
    }
}
