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

public struct Prepared {
    public var replay: FeatureReplay
    public var engine: TradingEngine
}

public func prepare(_ journal: any OrderJournal, framesBefore end: Int = cascadeIndex) -> Prepared {
    var replay = FeatureReplay(configuration: featureConfiguration)
    replay.keepsEpisodes = false   // as the trading lanes run it (backtest, paper, live): no episode log
    for frame in frames[..<end] { replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0)) }
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

/// Frame bytes in, request bytes out; returns the bytes produced.
@inline(never)
public func decide(_ p: inout Prepared, _ journal: any OrderJournal) -> Int {
    let frame = frames[cascadeIndex]
    let ingested = p.replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0))
    guard case let .event(event)? = ingested.input, let time = event.exchangeTime else { return 0 }
    var steps: [EngineStep] = []
    if case let .liquidations(list) = event {
        for l in list { steps.append(p.engine.handle(.liquidation(l), feed: p.replay.feed, instruments: p.replay.decoder.instruments, now: time)) }
    }
    for change in ingested.detector {
        steps.append(p.engine.handle(.detector(change), feed: p.replay.feed, instruments: p.replay.decoder.instruments, now: time))
    }
    var bytes = 0
    for step in steps where !step.entries.isEmpty {
        try! journal.commit(step.entries)
        for command in step.commands {
            guard let request = createOrderRequest(command, instruments: p.replay.decoder.instruments) else { continue }
            let signature = sign(request, at: time)
            // The body copied out, as the REST client copies it into its buffer (conservative: the array allocates as
            // the buffer does).
            bytes += request.bodyBytes.count + signature.utf8.count
        }
    }
    return bytes
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
