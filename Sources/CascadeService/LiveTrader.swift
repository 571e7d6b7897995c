public import BybitGateway
import BybitV5
public import BybitV5Client
public import CascadeCore
public import Execution
import FeatureReplay
public import Features
import Foundation
public import Logging
import MarketData
import Synchronization

/// The live node's trader: the recorded public frames → FeedState → features and detector → ``Execution/TradingEngine``,
/// whose commands go to Bybit through ``BybitGateway/BybitGateway`` and whose reports come back from Bybit's private
/// stream. The same engine as the backtest and the paper node; only the venue and the clock differ.
///
/// - Every engine step is committed to the journal before its commands are queued; the sender sends them in order in
///   two lanes (``CascadeCore/SenderLane``) and feeds each call's answer back as a step. A journal that cannot be written stops the trader: nothing is
///   sent, and no execution moves the cursor, without a committed entry.
/// - The engine starts with the private stream untrusted: no entry until its first backfill is delivered, and
///   again from every gap until the next.
/// - Quarantine (REDUCING with an alarm, until the operator resumes): an unreadable private row; a venue position
///   that disagrees with the journal's on two reconciliations in a row (45 s apart: a position message can cross a
///   fill once, not twice).
/// - Dead-man switch: the private stream down for `deadManAfter` → resting entries cancelled by id.
///
/// Time: the engine's `now` is the local clock moved onto Bybit's by the REST client's measured offset
/// (`/v5/market/time`, half the round trip; re-read as the client re-measures), never a frame's own timestamp.
public final class LiveTrader: RecordedFrameConsumer {
    struct State: @unchecked Sendable {
        var engine: TradingEngine
        var replay: FeatureReplay
        /// Which sender lane each command goes in (the creates not yet answered).
        var router = SenderLaneRouter()
        var journal: any OrderJournal
        var lastSecond: Int64 = .min
        var lastTick: Int64 = .min
        var failure: (any Error)?
        var episodes = 0
        /// Set once shutdown begins: frames stop reaching the engine.
        var stopping = false
        /// Since when the private stream is untrusted (task clock), and whether the dead-man switch fired for it.
        var untrustedSince: ClockInstant?
        var deadManFired = false
        /// A frame's steps ran with their wakeup held back (``LiveTrader/step(_:_:shutdown:applyingLater:)``).
        var wakeHeld = false
        /// Symbols whose venue position disagreed with the journal's at the last reconciliation.
        var disagreeing: Set<SymbolID> = []
        /// Commands that take risk off queued without a journal entry by a shutdown after a journal failure.
        var unjournaled = 0
        /// Log lines and the status file, written once the lock is released (see ``LiveTrader/locked(_:)``).
        var output = Output()
        /// The logger's level (fixed at start): a line below it is not formatted.
        var logLevel: Logger.Level = .info

        mutating func log(_ level: Logger.Level, _ message: @autoclosure () -> Logger.Message,
                          file: String = #fileID, function: String = #function, line: UInt = #line) {
            guard level >= logLevel else { return }
            output.lines.append(Line(level: level, message: message(), file: file, function: function, line: line))
        }

        /// `body` with the router taken out of the state (moved, not copied: its tables are not duplicated), so it can
        /// change while `body` reads the engine (passed as an argument; the rest of the state is not passed).
        mutating func withRouter<R>(_ body: (inout SenderLaneRouter, TradingEngine) -> R) -> R {
            var taken = SenderLaneRouter()
            swap(&taken, &router)
            defer { swap(&taken, &router) }
            return body(&taken, engine)
        }
    }

    /// A line logged under the lock, with its call site (written from ``LiveTrader/locked(_:)``).
    struct Line {
        var level: Logger.Level
        var message: Logger.Message
        var file: String
        var function: String
        var line: UInt
    }

    /// What a locked section has to write: each line and the status file is a system call, and the sender and the
    /// gateway's events wait for the lock.
    struct Output {
        var lines: [Line] = []
        var status: NodeStatusFile.Snapshot?
        var isEmpty: Bool { lines.isEmpty && status == nil }
    }

    let state: Mutex<State>
    let gateway: BybitGateway
    let rest: BybitRESTClient
    /// Commands for the sender with their instrument, one stream per ``SenderLane`` (by its raw value): the sender takes
    /// the state lock only between calls (to partition one, ``SenderLaneRouter``, and to journal answers), never while
    /// it sends, and a frame's log lines, deferred feature work and once-a-second work run outside the section of its
    /// steps (see ``recorded(_:at:)``).
    let lanes: [(stream: AsyncStream<([VenueCommand], Instrument)>, continuation: AsyncStream<([VenueCommand], Instrument)>.Continuation)]
    /// Whether the journal has failed (`State.failure` set), readable without the state lock.
    let journalFailed = Atomic(false)
    /// Commands queued and not yet answered (shutdown waits for zero).
    let inFlight = Mutex(0)
    /// Locked sections whose output is not yet written (counted under the lock; the stop's last line waits for zero,
    /// so nothing a section logged before the shutdown ended is written after it).
    let outputPending = Atomic(0)
    /// Bybit time − local time (ms), as the REST client last measured it.
    let offset: Mutex<Int64>
    /// Signalled after every step (a frame's steps, whose decision is applied later, after the frame's second section):
    /// the engine's next deadline may have moved.
    let wakeup = WakeupSignal()
    /// Signalled when a command is answered or dropped and after every step: what a shutdown waits on (a signal has one
    /// waiter; the deadline loop has `wakeup`).
    let progress = WakeupSignal()
    let timer: any TaskClock
    let clock: any WallClock
    let logger: Logger
    /// How long after its decision a create or amend may still leave (a rate-limit wait past it refuses it unsent).
    public let sendDeadline: Duration
    /// A step's entry creates of one symbol go in one `create-batch` call (``CascadeCore/SenderBatch``).
    public let batchEntries: Bool
    /// The private stream down this long: resting entries are cancelled by id.
    public let deadManAfter: Duration
    /// Shutdown closes every position (true) or only those whose stop is not confirmed (false).
    public let flattenAllOnShutdown: Bool
    /// Where `status.json` is written once a second (nil: nowhere).
    public let statusDirectory: String?
    let startingBalance: USDT

    /// - Parameters:
    ///   - instruments: the table the gateway and its private stream use (``instrumentTable(symbols:)``).
    ///   - startingBalance: the wallet as Bybit reports it at start.
    public init(engineConfiguration: EngineConfiguration, features: FeatureConfiguration, instruments: InstrumentTable,
                journal: any OrderJournal, gateway: BybitGateway, rest: BybitRESTClient, startingBalance: USDT,
                serverOffsetMilliseconds: Int64, sendDeadline: Duration = .seconds(1), batchEntries: Bool = false,
                deadManAfter: Duration = .seconds(10),
                flattenAllOnShutdown: Bool = false,
                statusDirectory: String? = nil, clock: any WallClock = SystemWallClock(),
                timer: any TaskClock = ContinuousTaskClock(), logger: Logger) throws {
        self.gateway = gateway
        self.rest = rest
        self.statusDirectory = statusDirectory
        self.startingBalance = startingBalance
        self.timer = timer
        self.clock = clock
        self.logger = logger
        self.sendDeadline = sendDeadline
        self.batchEntries = batchEntries
        self.deadManAfter = deadManAfter
        self.flattenAllOnShutdown = flattenAllOnShutdown
        offset = Mutex(serverOffsetMilliseconds)
        // Unbounded by design: every queued command is journaled, and dropping one would leave it neither sent nor
        // refused. The engine's limits (layers, decisions per episode, exits) bound what a step queues, and what waits
        // is visible as `commandsInFlight`.
        lanes = SenderLane.allCases.map { _ in AsyncStream.makeStream(of: ([VenueCommand], Instrument).self, bufferingPolicy: .unbounded) }
        // A restart continues the journal: the engine is rebuilt from it, then a new run starts.
        let entries = try journal.entries()
        var engine = TradingEngine.restore(from: entries, configuration: engineConfiguration, instruments: instruments)
        let run = try journal.nextRun()
        let now = ExchangeTime(milliseconds: clock.now().nanoseconds / 1_000_000 + serverOffsetMilliseconds)
        var step = engine.start(run: run, startingBalance: startingBalance, at: now, instruments: instruments)
        // Nothing is trusted before the private stream's first backfill.
        let feed = FeedState()
        step.entries += engine.handle(.control(.privateStream(up: false)), feed: feed, instruments: instruments, now: now).entries
        try journal.commit(step.entries)
        var replay = FeatureReplay(configuration: features, instruments: instruments)
        replay.keepsEpisodes = false   // the trader reads the detector's changes, never the episode log
        state = Mutex(State(engine: engine, replay: replay, journal: journal,
                            untrustedSince: timer.instant(), logLevel: logger.logLevel))
    }

    /// The table every part of the live node numbers symbols with: the traded symbols in name order (as a backtest
    /// registers its books), so the engine, the decoder and the private stream agree on every id.
    public static func instrumentTable(symbols: [String]) -> InstrumentTable {
        var table = InstrumentTable()
        for symbol in symbols.sorted() { _ = table.id(for: symbol) }
        return table
    }

    /// The time before which no execution of the account is the node's: its journal's first run began then (now, on
    /// a first start). The private stream's backfill and the gateway's reconciliation read nothing older
    /// (``BybitV5Client/PrivateStreamConfiguration/historyFloor``).
    public static func historyFloor(journal entries: [JournalEntry], serverNow: ExchangeTime) -> ExchangeTime {
        for entry in entries { if case let .started(_, _, _, at) = entry { return at } }
        return serverNow
    }

    public var failure: (any Error)? { state.withLock { $0.failure } }

    /// The engine as it stands (status file, start-up comparison, tests).
    public var engine: TradingEngine { locked { $0.engine } }
    /// The instruments with the rules the recorded instruments frames gave.
    public var instruments: InstrumentTable { state.withLock { $0.replay.decoder.instruments } }
    /// Commands queued or being sent, not answered yet.
    public var commandsInFlight: Int { inFlight.withLock { $0 } }
    /// Gateway events handled so far.
    public var gatewayEventsHandled: Int { gatewayEvents.withLock { $0 } }
    let gatewayEvents = Mutex(0)
    /// Whether the private stream is trusted as far as the engine has been told.
    public var privateStreamTrusted: Bool { state.withLock { $0.untrustedSince == nil } }

    // MARK: - Inputs

    public func recorded(_ bytes: [UInt8], at: LocalTime) {
        // A liquidation frame updates its detector first, and the rest of the feature state (which no decision reads)
        // in a second section of the lock, after the steps have handed their commands to the sender, with the last
        // step's decision applied to the engine's state (``TradingEngine/completePending()``): the sender takes
        // the lock to partition a call before sending it, so the first order usually waits for the steps only (the
        // lock is not handed over: a sender that wakes after the second section began waits for it; the sender's
        // partition asks the engine without applying its decision). Anything else that runs between the two sections
        // and reads the features or the engine (a query, a gateway event, the next input) completes the rest first; the
        // deadline loop is woken only after the second section. How often the sender comes first is not measured.
        let ingested = locked { s -> Bool in
            guard s.failure == nil, !s.stopping else { return false }
            let ingested = s.replay.ingest(bytes, at: at, detectorsFirst: true)
            if case let .event(event)? = ingested.input, case let .liquidations(list) = event {
                for liquidation in list { step(.liquidation(liquidation), &s, applyingLater: true) }
            }
            for change in ingested.detector {
                if case .started = change { s.episodes += 1 }
                step(.detector(change), &s, applyingLater: true)
            }
            return true
        }
        guard ingested else { return }
        let held = locked { s -> Bool in
            s.replay.completeDeferred()
            // The wakeup the first section's steps held back (see ``step(_:_:shutdown:applyingLater:)``), if any ran.
            let held = s.wakeHeld
            s.wakeHeld = false
            guard s.failure == nil, !s.stopping else { return held }
            second(at, &s)
            return held
        }
        if held { wakeup.signal() }
    }

    public func idle(until: LocalTime) {
        locked { s in
            guard s.failure == nil, !s.stopping else { return }
            second(until, &s)
        }
    }

    public func finish() throws {
        for lane in lanes { lane.continuation.finish() }
        if let failure { throw failure }
    }

    /// Closes the journal once the node has stopped, after ``stop(within:)`` (its write-ahead log folded into the file).
    public func closeJournal() throws {
        try state.withLock { s throws(JournalError) in try s.journal.close() }
    }

    /// Once a second of receive time: the detector's deadlines, and loss limits at the marks of the moment.
    private func second(_ at: LocalTime, _ s: inout State) {
        let t = at.nanoseconds / 1_000_000
        guard t / 1_000 != s.lastSecond else { return }
        s.lastSecond = t / 1_000
        for change in s.replay.advance(to: at.nanoseconds) { step(.detector(change), &s) }
        step(.heartbeat, &s)
        wakeIfDue(&s)
        if statusDirectory != nil {
            s.output.status = NodeStatusFile.Snapshot(node: "live", engine: s.engine, balance: startingBalance, frames: s.replay.frames,
                                                      lastExchangeTime: s.replay.lastTime.map { ExchangeTime(milliseconds: $0 / 1_000_000) },
                                                      fills: s.engine.fillsApplied, episodes: s.episodes, at: at)
        }
    }

    /// Engine deadlines (time exits, entry expiries) and the dead-man switch.
    private func wakeIfDue(_ s: inout State) {
        if let wake = s.engine.nextWakeup?.milliseconds, wake <= exchangeNow().milliseconds, wake != s.lastTick {
            s.lastTick = wake
            step(.tick, &s)
        }
        if let since = s.untrustedSince, !s.deadManFired, timer.instant() - since >= deadManAfter {
            s.deadManFired = true
            s.log(.critical, "ALERT: private stream down for \(deadManAfter): resting entries cancelled by id")
            step(.control(.cancelRestingEntries(reason: "deadMan: private stream down \(deadManAfter)")), &s)
        }
    }

    /// The state under its lock, a decision the frame's first section left pending applied first (every section that
    /// reads the engine goes through here, but the sender's partition); the lines logged and the status file written in
    /// `body` are written once the lock is released, in order. (Another section's lines can come first when two finish
    /// at once: lines are not globally ordered, the journal is.)
    private func locked<R: Sendable>(_ body: (inout State) -> R) -> R {
        let (result, output) = state.withLock { s in
            s.engine.completePending()
            let result = body(&s)
            let output = s.output
            s.output = Output()
            if !output.isEmpty { outputPending.add(1, ordering: .relaxed) }
            return (result, output)
        }
        guard !output.isEmpty else { return result }
        for l in output.lines { logger.log(level: l.level, l.message, file: l.file, function: l.function, line: l.line) }
        if let status = output.status, let statusDirectory {
            do { try status.write(to: statusDirectory) } catch { logger.warning("status file not written: \(error)") }
        }
        outputPending.subtract(1, ordering: .releasing)
        progress.signal()
        return result
    }

    func exchangeNow() -> ExchangeTime {
        ExchangeTime(milliseconds: clock.now().nanoseconds / 1_000_000 + offset.withLock { $0 })
    }

    /// One engine input: its entries committed, then its commands queued for the sender, in order. False when the
    /// journal could not be written (the trader is stopped: nothing may be sent or acknowledged after that, except,
    /// with `shutdown`, the step's own commands that take risk off: see ``stop(within:)``). `applyingLater`: the step's
    /// decision is applied to the engine's state after the sender has its commands, by whatever reads or changes the
    /// engine next (the frame's second section, or any section or step that comes first: see ``recorded(_:at:)``).
    @discardableResult
    private func step(_ input: EngineInput, _ s: inout State, shutdown: Bool = false, applyingLater: Bool = false) -> Bool {
        guard s.failure == nil else { return false }
        let step = s.engine.handle(input, feed: s.replay.feed, instruments: s.replay.decoder.instruments, now: exchangeNow(),
                                   applyingLater: applyingLater)
        defer {
            // A decision left pending wakes the deadline loop only once it is applied (``recorded(_:at:)``): woken now,
            // the loop would take the lock to read the engine's deadlines and apply it ahead of the sender.
            if applyingLater { s.wakeHeld = true } else { wakeup.signal() }
            progress.signal()
        }
        guard !step.entries.isEmpty || !step.commands.isEmpty else { return true }
        do {
            try s.journal.commit(step.entries)
        } catch {
            s.failure = error
            journalFailed.store(true, ordering: .releasing)
            s.log(.critical, "ALERT: journal write failed; trading stopped: \(error)")
            if shutdown { queueUnjournaled(step.commands, &s) }
            return false
        }
        // The commands go to the sender before anything is formatted for the log, and the sender sends without this
        // lock (it takes it briefly to partition a call); the lines are written once the lock is released (``locked(_:)``).
        enqueue(step.commands, &s)
        for entry in step.log { s.log(.info, "decision: \(entry.action) \(entry.reason) \(entry.detail)") }
        for case let .decision(decision) in step.entries {
            for alarm in decision.alarms { s.log(.critical, "ALERT: \(alarm)") }
        }
        return true
    }

    // MARK: - Venue

    /// Sends queued commands (one by one in each ``SenderLane``), feeds venue events to the engine, and wakes the engine at
    /// its deadlines, until cancelled.
    public func run() async {
        // Orders the journal left in flight (a crash between journaling and an answer) are looked up, never resent.
        // Those it holds open at Bybit are checked against the first backfill: Bybit may have ended them meanwhile.
        let (inFlight, open) = locked { s -> ([(clientID: ClientOrderID, instrument: Instrument)], [(clientID: ClientOrderID, instrument: Instrument)]) in
            var inFlight: [(clientID: ClientOrderID, instrument: Instrument)] = [], open: [(clientID: ClientOrderID, instrument: Instrument)] = []
            for clientID in s.engine.tracker.open.sorted(by: { $0.rawValue < $1.rawValue }) {
                guard let order = s.engine.tracker.orders[clientID], let symbol = order.symbol,
                      let id = s.replay.decoder.instruments.lookup(symbol) else { continue }
                switch order.phase {
                case .intent, .sent, .unknown: inFlight.append((order.clientID, s.replay.decoder.instruments[id]))
                case .working, .untriggered: open.append((order.clientID, s.replay.decoder.instruments[id]))
                default: break
                }
            }
            return (inFlight, open)
        }
        await gateway.expectOpen(open)
        // The journal is the authority on which executions are already counted (a reconciliation after a restart
        // reads the previous run's too).
        await gateway.setPersistedCheck { [weak self] id in
            // Through `locked`: a pending decision's retirement forgets execution ids.
            self?.locked { $0.engine.tracker.hasExecution(ExecutionID(id)) } ?? false
        }
        if !inFlight.isEmpty {
            logger.warning("\(inFlight.count) order(s) the journal left in flight: looking them up at Bybit")
            await gateway.resolveInFlight(inFlight)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.gateway.run() }
            group.addTask {
                for await event in self.gateway.events {
                    await self.handle(event)
                    self.gatewayEvents.withLock { $0 += 1 }
                }
            }
            // One child for both lanes: the node's run ends when any child ends, and a lane that drains first must not
            // end the other's sends.
            group.addTask {
                await withTaskGroup(of: Void.self) { senders in
                    for lane in self.lanes { senders.addTask { await self.sendLoop(lane.stream) } }
                }
            }
            group.addTask { await self.deadlineLoop() }
            await group.next()
            group.cancelAll()
        }
    }

    /// Sends one lane's items one by one (see ``SenderLane``): a command, or a batch of entry creates (``SenderBatch``).
    func sendLoop(_ lane: AsyncStream<([VenueCommand], Instrument)>) async {
        for await (item, instrument) in lane {
            // An entry whose cancel was decided while it waited, and then that cancel, are answered unsent (see
            // ``SenderLaneRouter``): the engine hears it as it hears any refusal. (Staleness is the REST client's.)
            let kept = dropIfJournalFailed(item)
            // Without applying a decision the trader left pending (its work is not the order's): the engine counts it.
            let (unsent, sendable) = state.withLock { s in
                s.withRouter { router, engine in router.partition(kept, cancelDecided: { engine.cancelDecided($0) }) }
            }
            answer(unsent.map { ($0.0, .refused($0.1)) })
            // Again: journaling those answers may have failed the journal.
            let outgoing = dropIfJournalFailed(sendable)
            guard let first = outgoing.first else { continue }
            // The deadline runs from the decision, not from when the sender got to it: a command queued behind a slow
            // call is refused unsent rather than sent stale (a batch's creates share their decision).
            let decidedLocal = (first.decidedAt.milliseconds - offset.withLock { $0 }) * 1_000_000
            let deadline = LocalTime(nanoseconds: decidedLocal + sendDeadline.components.seconds * 1_000_000_000
                                     + sendDeadline.components.attoseconds / 1_000_000_000)
            let results = outgoing.count == 1 ? [await gateway.send(first, instrument: instrument, notAfter: deadline)]
                : await gateway.sendBatch(outgoing, instrument: instrument, notAfter: deadline)
            answer(Array(zip(outgoing, results)))
        }
    }

    /// Feeds the sender's answers to the engine, each settled. The call is over (answered, refused, or unknown until a
    /// query resolves it: then nothing is in flight to queue behind): what is decided about its orders from here goes
    /// by its own kind. Under the lock, with the answers' steps, as the backtest does.
    private func answer(_ answers: [(VenueCommand, CallResult)]) {
        guard !answers.isEmpty else { return }
        locked { s in
            for (command, result) in answers {
                s.router.answered(command)
                _ = step(.call(command, result), &s)
            }
        }
        for _ in answers { settled() }
    }

    /// `commands` less what may no longer leave, each of those answered to the router and settled unsent: once the
    /// journal has failed nothing that adds risk leaves, queued commands included (the node is stopping, and an order
    /// whose answer cannot be journaled is one the journal cannot account for). Commands that take risk off (cancels,
    /// reduce-only exits, trading stops that remove no leg) still go, journaled or queued unjournaled by a shutdown
    /// (``stop(within:)``): a restart reconciles their outcome with Bybit, as after a crash right after a send.
    private func dropIfJournalFailed(_ commands: [VenueCommand]) -> [VenueCommand] {
        guard journalFailed.load(ordering: .acquiring) else { return commands }
        for command in commands where !command.action.reducesRisk {
            state.withLock { $0.router.answered(command) }
            settled()
        }
        return commands.filter(\.action.reducesRisk)
    }

    /// Queues the commands of `commands` that take risk off without a journal entry (a shutdown after a journal failure).
    private func queueUnjournaled(_ commands: [VenueCommand], _ s: inout State) {
        let reducing = commands.filter(\.action.reducesRisk)
        s.unjournaled += reducing.count
        enqueue(reducing, &s)
    }

    /// Hands a step's commands to the sender, each lane's items in order with their instrument (so the sender reads no
    /// instrument under the state lock, which it takes only to partition an item), counted in flight.
    private func enqueue(_ commands: [VenueCommand], _ s: inout State) {
        guard !commands.isEmpty else { return }
        inFlight.withLock { $0 += commands.count }
        let routed = s.withRouter { router, engine in
            router.items(commands, amendsReduceOnly: { engine.amendsReduceOnlyOrder($0) }, batching: batchEntries)
        }
        for item in routed {
            lanes[item.lane.rawValue].continuation.yield((item.commands, s.replay.decoder.instruments[item.commands[0].symbol]))
        }
    }

    /// A queued command answered or dropped.
    private func settled() {
        inFlight.withLock { $0 -= 1 }
        wakeup.signal()
        progress.signal()
    }

    /// Sleeps until the engine's next deadline or the dead-man switch's, woken early by any step (see ``wakeup``; no
    /// polling).
    func deadlineLoop() async {
        while !Task.isCancelled {
            let measured = await rest.serverOffsetMilliseconds
            offset.withLock { $0 = measured }
            let (wake, deadMan) = locked { s -> (Int64?, ClockInstant?) in
                (s.engine.nextWakeup?.milliseconds, s.deadManFired ? nil : s.untrustedSince.map { $0 + deadManAfter })
            }
            var deadline = timer.instant() + .seconds(60)
            if let wake {
                let inMs = wake - exchangeNow().milliseconds
                deadline = min(deadline, timer.instant() + .milliseconds(max(0, inMs)))
            }
            if let deadMan { deadline = min(deadline, deadMan) }
            await wakeup.wait(until: deadline, timer: timer)
            locked { s in if s.failure == nil { wakeIfDue(&s) } }
        }
    }

    func handle(_ event: GatewayEvent) async {
        let persisted = locked { s -> [ExecutionID] in
            var persisted: [ExecutionID] = []
            guard s.failure == nil else { return persisted }
            switch event {
            case let .reports(reports):
                for report in reports {
                    // A report the journal did not take must not move the cursor: it comes again with the next backfill.
                    guard step(.report(report), &s) else { return persisted }
                    if let execution = report.event.executionID { persisted.append(execution) }
                    if case let .filled(fill) = report.event {
                        let symbol = report.symbol.map { s.replay.decoder.instruments[$0].symbol } ?? "?"
                        s.log(.info, "live fill: \(symbol) \(fill.clientID?.rawValue ?? fill.venueID.rawValue) \(fill.side) \(FixedDecimal.format(fill.qty.units, digits: Quantity.digits)) @ \(FixedDecimal.format(fill.price.units, digits: Price.digits)) (\(fill.liquidity)), fee \(fill.fee.map { "\($0)" } ?? "not said yet")")
                    }
                }
            case let .privateStream(trusted):
                s.log(.info, "private stream \(trusted ? "trusted" : "untrusted: entries wait")")
                if trusted {
                    s.untrustedSince = nil
                    s.deadManFired = false
                } else if s.untrustedSince == nil {
                    s.untrustedSince = timer.instant()
                }
                step(.control(.privateStream(up: trusted)), &s)
            case let .quarantined(symbol, detail):
                s.log(.critical, "ALERT: quarantined private row (\(symbol ?? "?")): \(detail)")
                step(.control(.quarantine(reason: "unreadable private row of \(symbol ?? "an unknown symbol")")), &s)
            case let .alert(message):
                s.log(.critical, "ALERT: \(message)")
            case let .positionsReconciled(venue):
                for (id, size) in venue.sorted(by: { $0.key < $1.key }) {
                    let mine = s.engine.portfolio.size(id)
                    guard mine != size.units else { s.disagreeing.remove(id); continue }
                    let symbol = s.replay.decoder.instruments[id].symbol
                    if s.disagreeing.insert(id).inserted {
                        s.log(.warning, "\(symbol): Bybit holds \(size), the journal \(mine) units: checking again at the next reconciliation")
                    } else {
                        s.log(.critical, "ALERT: \(symbol): Bybit holds \(size), the journal \(mine) units, twice in a row: quarantined")
                        step(.control(.quarantine(reason: "\(symbol) position differs from the venue's")), &s)
                    }
                }
            }
            return persisted
        }
        // Only once the journal holds them do they move the execution cursor.
        if !persisted.isEmpty { await gateway.persisted(persisted) }
    }

    // MARK: - Shutdown

    /// How long a shutdown waits for its commands and their reports: longer than a create holds its lane at most (the
    /// REST request timeout), or a cancel queued behind a create Bybit is slow to answer would be dropped and the entry
    /// left resting; shorter than the service group's own limit (``NodeServiceGroup/gracefulShutdownLimit``). A cancel
    /// that Bybit's rate limit holds longer can still be cut off; the restart reconciles it.
    public static let shutdownLimit: Duration = .seconds(15)

    /// Graceful shutdown: no new entry (REDUCING), resting entries cancelled by id through the engine (journaled;
    /// take-profits, exits and stops stay), positions without a confirmed exchange-side stop closed (every position
    /// with `flattenAllOnShutdown`), then both sender lanes drained and the reports awaited, at most `within` on the task
    /// clock. Frames stop reaching the engine. After a journal failure (before the shutdown or in its steps) the
    /// engine's shutdown commands that take risk off are sent without a journal entry, and only the queued commands
    /// that take risk off are awaited.
    public func stop(within: Duration = LiveTrader.shutdownLimit) async {
        let unjournaled = locked { s -> Int in
            defer { s.stopping = true }
            let controls: [ControlCommand] = [.quarantine(reason: "shutdown"), .cancelRestingEntries(reason: "shutdown"),
                                              .flattenPositions(reason: "shutdown", onlyUnprotected: !flattenAllOnShutdown)]
            for control in controls {
                if s.failure == nil {
                    step(.control(control), &s, shutdown: true)
                } else {
                    // The journal has failed (before the shutdown or in one of its steps): the engine still decides the
                    // shutdown, on its own view (which holds what the journal could not take), and what takes risk off
                    // (entry cancels by id, reduce-only closes) is sent without a journal entry, as the sender still
                    // sends what takes risk off after a failure. Entries left resting could fill with no node watching.
                    // The restart reconciles their outcome with Bybit, as after a crash right after a send.
                    let decided = s.engine.handle(.control(control), feed: s.replay.feed, instruments: s.replay.decoder.instruments,
                                                  now: exchangeNow())
                    queueUnjournaled(decided.commands, &s)
                }
            }
            return s.unjournaled
        }
        let deadline = timer.instant() + within
        while timer.instant() < deadline {
            let answered = inFlight.withLock { $0 == 0 }
            // After a journal failure no answer or report can be journaled, so the engine's orders stop moving: the wait
            // is only for the queued commands that take risk off, which the sender still sends (it drops the others).
            let done = journalFailed.load(ordering: .acquiring) ? answered : answered && locked { s in
                s.engine.tracker.orders.values.allSatisfy { $0.phase.isTerminal || ![.entry, .protect, .timeExit].contains($0.id.role) }
            }
            if done { break }
            await progress.wait(until: deadline, timer: timer)
        }
        // A section writes its lines after releasing the lock: those logged before the shutdown ended come first.
        while outputPending.load(ordering: .acquiring) > 0, timer.instant() < deadline {
            await progress.wait(until: deadline, timer: timer)
        }
        if journalFailed.load(ordering: .acquiring) {
            let unanswered = inFlight.withLock { $0 }
            logger.critical("ALERT: shutdown after a journal failure: \(unjournaled) command(s) that take risk off (entry cancels by id, reduce-only closes) queued without a journal entry, \(unanswered) command(s) unanswered when the stop ended. Orders and positions at Bybit may differ from the journal, and a position whose stop was not confirmed may be open: check them at Bybit; the restart reconciles with Bybit")
            return
        }
        logger.info("shutdown: resting entries cancelled by id; \(flattenAllOnShutdown ? "positions closed" : "positions with a confirmed stop kept, the others closed")")
    }
}
