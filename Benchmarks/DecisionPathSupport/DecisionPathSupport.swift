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
            guard case let .submit(id, spec) = command.action else { continue }
            let request = try! BybitRequest.createOrder(BybitOrderParameters(spec, clientID: id, instrument: p.replay.decoder.instruments[command.symbol]))
            let signature = signer.signature(timestamp: time.milliseconds, recvWindow: 5_000, payload: request.signaturePayload)
            // The body copied out, as the REST client copies it into its buffer (conservative: the array allocates as
            // the buffer does).
            bytes += request.bodyBytes.count + signature.utf8.count
        }
    }
    return bytes
}

