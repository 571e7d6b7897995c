// The decision path shared by the DecisionPath benchmark and the DecisionProfile perf harness: the named synthetic
// cascade's frames, a state rebuilt from the frames before the cascade, and one decision from the cascade frame's
// bytes to signed create-order requests.
public import BybitV5
public import CascadeCore
import CascadeTesting
public import Execution
public import FeatureReplay
public import Features
import Foundation
import MarketData

public let frames: [(Int64, [UInt8])] = SyntheticCascade(seed: 7).frames().map { ($0.0, Array($0.1.utf8)) }
public let cascadeIndex: Int = frames.firstIndex {
    String(decoding: $0.1, as: UTF8.self).hasPrefix(#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(SyntheticCascade.cascadeAt)"#)
}!
public let signer = BybitSigner(credentials: BybitCredentials(apiKey: "cascade-bench-key", secret: "cascade-bench-secret"))

public var featureConfiguration: FeatureConfiguration {
    var c = FeatureConfiguration()
    c.detector.baselineMinutes = 10
    c.detector.minimumHistoryMinutes = 3
    return c
}

public var engineConfiguration: EngineConfiguration {
    var c = EngineConfiguration()
    c.offsetsBps = [20, 50]
    c.layerNotional = USDT(units: Int64(100_000_000_000))
    return c
}

/// The feature engine as a node runs it by default: the detector's baselines span 10,080 minutes and arm after 1,440,
/// the feature baselines span 1,440. ``featureConfiguration`` shortens them to fit the cascade's 6 minutes of data.
public var productionFeatureConfiguration: FeatureConfiguration { FeatureConfiguration() }

/// The feature state, with ``productionFeatureConfiguration``, after a week of quiet market (``SyntheticCascade/history(days:)``)
/// and the cascade's frames before the cascade frame: every baseline full (the detector's but its last two minutes), as a
/// node's after a week. Built once, saved.
public let weekOfHistory: [UInt8] = {
    var replay = FeatureReplay(configuration: productionFeatureConfiguration)
    replay.keepsEpisodes = false
    for (ns, json) in SyntheticCascade(seed: 7).history() { replay.ingest(Array(json.utf8), at: LocalTime(nanoseconds: ns)) }
    for frame in frames[..<cascadeIndex] { replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0)) }
    precondition(replay.engine.allDetectors.contains { $0.isArmed }, "a week of history did not arm the detector")
    return try! replay.engine.savedState()
}()

public struct Prepared {
    public var replay: FeatureReplay
    public var engine: TradingEngine
}

/// `week`: the feature engine is the one of ``weekOfHistory`` (production baselines, full), restored from its saved
/// state into buffers of this state's own; the decoder and the feed are rebuilt from the cascade's frames as always.
public func prepare(_ journal: any OrderJournal, framesBefore end: Int = cascadeIndex, week: Bool = false) -> Prepared {
    precondition(!week || end == cascadeIndex, "the week of history is saved as of the frame before the cascade frame")
    var replay = FeatureReplay(configuration: week ? productionFeatureConfiguration : featureConfiguration)
    replay.keepsEpisodes = false   // as the trading lanes run it (backtest, paper, live): no episode log
    for frame in frames[..<end] { replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0)) }
    // With the decoder's table, as a running engine holds its symbols: the slots resolved (the lanes never restore).
    if week {
        replay.engine = try! FeatureEngine(restoring: weekOfHistory, configuration: productionFeatureConfiguration,
                                           instruments: replay.decoder.instruments)
    }
    var engine = TradingEngine(configuration: engineConfiguration)
    let start = engine.start(run: try! journal.nextRun(), startingBalance: USDT(units: Int64(10_000_000_000_000)),
                             at: ExchangeTime(milliseconds: SyntheticCascade.cascadeAt - 1), instruments: replay.decoder.instruments)
    try! journal.commit(start.entries)
    return Prepared(replay: replay, engine: engine)
}

/// Ingests the frame just before the cascade frame (a state prepared with `framesBefore: cascadeIndex - 1`), as a
/// running node has just done when the cascade frame arrives: the state is then in cache as it would be live.
public func ingestFrameBefore(_ p: inout Prepared) {
    let frame = frames[cascadeIndex - 1]
    _ = p.replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0))
}

/// The signed `POST /v5/order/create` of a submit command (nil for any other command): the body, and its signature
/// at `time` as the REST client signs it.
public func createOrderRequest(_ command: VenueCommand, instruments: InstrumentTable) -> BybitRequest? {
    guard case let .submit(id, spec) = command.action else { return nil }
    return try! BybitRequest.createOrder(BybitOrderParameters(spec, clientID: id, instrument: instruments[command.symbol]))
}

public func sign(_ request: BybitRequest, at time: ExchangeTime) -> String {
    signer.signature(timestamp: time.milliseconds, recvWindow: 5_000, payload: request.signaturePayload)
}

/// Grows the heap by `megabytes`, touched, and keeps it (glibc's trimming raised), so the allocations that follow take
/// pages already faulted in. Without it every sample's first writes fault in fresh pages: the benchmark holds its
/// prepared states, so its heap only grows (each decision's orders, ladder and journal entries are kept), while a
/// node that has run for a while allocates mostly from memory it has freed before. Process-wide: call it after the
/// states are prepared, for the rows that ask for it.
public func preGrowHeap(megabytes: Int = 512) {
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { preconditionFailure("no mallopt: the heap cannot be pre-grown") }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    // M_TRIM_THRESHOLD (-1): keep freed memory at the top; M_MMAP_THRESHOLD (-3, at its 32 MiB ceiling): the chunks
    // below come from the heap, not from mmap (which would unmap them on free).
    precondition(mallopt(-1, 1 << 30) == 1 && mallopt(-3, 32 << 20) == 1, "mallopt refused")
    let chunk = 16 << 20
    let chunks = (0..<max(1, megabytes * (1 << 20) / chunk)).map { _ in
        let p = malloc(chunk)!
        memset(p, 1, chunk)
        return p
    }
    for p in chunks { free(p) }
}

/// What one decision produced: the signed bytes, and the create commands left for the sender.
public struct Decision {
    /// Body and signature bytes of the requests signed inside the decision.
    public var bytes = 0
    /// Creates signed inside the decision.
    public var signed = 0
    /// The creates after the first, unsigned: the live sender (`LiveTrader.sendLoop`) sends one call at a time and
    /// builds each request when its turn comes, after the previous call's answer, so they are not on the path from
    /// the frame to the first request. Empty when the decision signed the whole ladder.
    public var queued: [VenueCommand] = []
    public var time = ExchangeTime(milliseconds: 0)
}

/// Frame bytes in → decoder → feed → features and detector → engine → journal commit → the first signed create-order
/// request out, the one the live sender sends first. `wholeLadder`: every create of the decision is signed inside it
/// (the path as measured before the sender was sequential; the comparison row). `batch`: the decision's creates in one
/// signed `create-batch` request, as the live sender sends them with `live.batchEntries` (the whole ladder out).
/// `detectorsFirst: false`: the whole feature update inside the timing, as before the lanes deferred its symbol half
/// (comparison only).
@inline(never)
public func decide(_ p: inout Prepared, _ journal: any OrderJournal, wholeLadder: Bool = false, batch: Bool = false,
                   detectorsFirst: Bool = true) -> Decision {
    let frame = frames[cascadeIndex]
    var decision = Decision()
    // As the trading lanes ingest: the detector now, the rest of the feature state after the step (`afterSend`).
    let ingested = p.replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0), detectorsFirst: detectorsFirst)
    guard case let .event(event)? = ingested.input, let time = event.exchangeTime else { return decision }
    decision.time = time
    let steps = engineSteps(&p, event: event, changes: ingested.detector, at: time)
    // Every step is committed before any request is built (conservative: live, the sender takes a step's commands as
    // soon as that step is committed, while the trader handles the next).
    for step in steps where !step.entries.isEmpty { try! journal.commit(step.entries) }
    if batch {
        let creates = steps.flatMap(\.commands).filter { if case .submit = $0.action { true } else { false } }
        let request = try! BybitRequest.createBatch(creates.map { command in
            guard case let .submit(id, spec) = command.action else { preconditionFailure("not a create") }
            return BybitOrderParameters(spec, clientID: id, instrument: p.replay.decoder.instruments[command.symbol])
        })
        decision.bytes = request.bodyBytes.count + sign(request, at: time).utf8.count
        decision.signed = creates.count
        return decision
    }
    for step in steps {
        for command in step.commands {
            guard case .submit = command.action else { continue }
            if decision.signed > 0 && !wholeLadder { decision.queued.append(command); continue }
            decision.bytes += signedBytes(command, p.replay.decoder.instruments, at: time)
            decision.signed += 1
        }
    }
    return decision
}

/// The engine's steps for an ingested frame, as the trading lanes run them: each liquidation of the frame, then each
/// detector change, the last step's decision left for after the send (``afterSend(_:_:)``), as the live trader leaves it.
public func engineSteps(_ p: inout Prepared, event: MarketEvent, changes: [DetectorChange], at time: ExchangeTime) -> [EngineStep] {
    var steps: [EngineStep] = []
    if case let .liquidations(list) = event {
        for l in list {
            steps.append(p.engine.handle(.liquidation(l), feed: p.replay.feed, instruments: p.replay.decoder.instruments, now: time,
                                         applyingLater: true))
        }
    }
    for change in changes {
        steps.append(p.engine.handle(.detector(change), feed: p.replay.feed, instruments: p.replay.decoder.instruments, now: time,
                                     applyingLater: true))
    }
    return steps
}

/// The create request of `command` built and signed at `time`: its body bytes (copied out, as the REST client copies
/// them into its buffer: conservative, the array allocates as the buffer does) plus its signature's.
func signedBytes(_ command: VenueCommand, _ instruments: InstrumentTable, at time: ExchangeTime) -> Int {
    let request = createOrderRequest(command, instruments: instruments)!
    return request.bodyBytes.count + sign(request, at: time).utf8.count
}

/// Signs the creates a decision left queued (as the sender does later, one round trip apart); returns their bytes.
public func signQueued(_ decision: Decision, _ p: Prepared) -> Int {
    decision.queued.reduce(0) { $0 + signedBytes($1, p.replay.decoder.instruments, at: decision.time) }
}

/// What the node does once the decision's first order has left, untimed like ``signQueued(_:_:)``: the creates the
/// decision queued signed, the feature work the cascade frame's `detectorsFirst` ingest left (the symbol's windows,
/// minute baselines and size rank) and the decision's application to the engine's state (its orders' and ladder's
/// records); the live trader does both in a second section of its lock. Returns the signed bytes.
public func afterSend(_ decision: Decision, _ p: inout Prepared) -> Int {
    p.engine.completePending()   // in the live trader's order: its second section applies the decision first
    p.replay.completeDeferred()
    return signQueued(decision, p)
}

/// Checks that a sample was a real decision: a two-layer ladder, the first create signed inside it (both when
/// `wholeLadder`), the rest queued.
public func checkTwoCreates(_ decision: Decision, wholeLadder: Bool) {
    precondition(decision.signed == (wholeLadder ? 2 : 1) && decision.signed + decision.queued.count == 2 && decision.bytes > 200,
                 "the cascade frame did not open a two-layer ladder (\(decision.signed) signed, \(decision.queued.count) queued)")
}

/// A state whose engine has already traded `ladders` ladders to their end, so its tables, journaled rules and risk
/// memory are a running node's and not a fresh engine's (whose first ladder creates and grows every table).
///
/// The synthetic market has one cascade, so each earlier ladder is this same decision made on a copy of the market
/// state (the measured state's market stays just before the cascade frame), at the same exchange time. The venue's
/// answers are the ones an order that never fills gets: sent, accepted, and, when the episode ends and the engine
/// cancels its entries by id, cancelled. At most 5: the risk engine allows 6 episodes an hour, and the measured
/// decision is one.
public func prepare(_ journal: any OrderJournal, history ladders: Int) -> Prepared {
    precondition(ladders <= 5, "the measured decision would exceed the episodes-per-hour limit")
    var p = prepare(journal)
    let frame = frames[cascadeIndex]
    func run(_ input: EngineInput, _ market: FeatureReplay, at time: ExchangeTime) -> EngineStep {
        let step = p.engine.handle(input, feed: market.feed, instruments: market.decoder.instruments, now: time)
        try! journal.commit(step.entries)
        return step
    }
    for n in 0..<ladders {
        var market = p.replay
        let ingested = market.ingest(frame.1, at: LocalTime(nanoseconds: frame.0))
        guard case let .event(event)? = ingested.input, let time = event.exchangeTime,
              let started = ingested.detector.first, case let .started(episode) = started else {
            preconditionFailure("the cascade frame did not start an episode")
        }
        let opened = run(.detector(started), market, at: time)
        var venueIDs: [ClientOrderID: VenueOrderID] = [:]
        for (k, command) in opened.commands.enumerated() {
            guard case let .submit(id?, spec) = command.action else { continue }
            let venueID = VenueOrderID("history-\(n)-\(k)")
            venueIDs[id] = venueID
            _ = run(.call(command, .sent(venueID)), market, at: time)
            _ = run(.report(ExecutionReport(symbol: command.symbol, time: time,
                                            event: .accepted(OrderAccepted(venueID: venueID, clientID: id, spec: spec)))), market, at: time)
        }
        precondition(venueIDs.count == 2, "the earlier ladder did not place two entries")
        let ended = run(.detector(.ended(episode)), market, at: time)
        for command in ended.commands {
            guard case let .cancel(.client(id)) = command.action, let venueID = venueIDs[id] else { continue }
            _ = run(.call(command, .sent(venueID)), market, at: time)
            let cancelled = OrderCancelled(venueID: venueID, clientID: id, cancellation: Cancellation(.byClient), filledQty: .zero)
            _ = run(.report(ExecutionReport(symbol: command.symbol, time: time, event: .cancelled(cancelled))), market, at: time)
        }
        precondition(p.engine.activeLadder.isEmpty, "the earlier ladder did not close")
    }
    return p
}
