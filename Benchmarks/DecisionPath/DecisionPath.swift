// The decision path: one allLiquidation frame's bytes in → decoder → FeedState → features and detector → trading
// engine → journal commit → signed Bybit create-order request bytes out (release build, one core: `taskset -c 0`).
//
//   CASCADE_BENCHMARKS=1 taskset -c 0 swift package --scratch-path .build-bench benchmark --target DecisionPath
//
// The market is the named synthetic cascade (CascadeTesting's SyntheticCascade, seed 7): the real data has no
// book during a cascade, so no real figure exists. Each sample is one decision that opens a two-layer ladder, timed
// alone on a state rebuilt from the frames before the cascade (never a copy-on-write copy of a shared one). Measured
// once with the in-memory journal and once with the SQLite journal (WAL, synchronous=FULL) in the working directory:
// the difference is the cost of durability on this disk.
import Benchmark
import BybitV5
import CascadeCore
import CascadeTesting
import Execution
import FeatureReplay
import Features
import Foundation
import MarketData
import Storage

let frames: [(Int64, [UInt8])] = SyntheticCascade(seed: 7).frames().map { ($0.0, Array($0.1.utf8)) }
let cascadeIndex: Int = frames.firstIndex {
    String(decoding: $0.1, as: UTF8.self).hasPrefix(#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(SyntheticCascade.cascadeAt)"#)
}!
let signer = BybitSigner(credentials: BybitCredentials(apiKey: "cascade-bench-key", secret: "cascade-bench-secret"))

var featureConfiguration: FeatureConfiguration {
    var c = FeatureConfiguration()
    c.detector.baselineMinutes = 10
    c.detector.minimumHistoryMinutes = 3
    return c
}

var engineConfiguration: EngineConfiguration {
    var c = EngineConfiguration()
    c.offsetsBps = [20, 50]
    c.layerNotional = USDT(units: Int64(100_000_000_000))
    return c
}

struct Prepared {
    var replay: FeatureReplay
    var engine: TradingEngine
}

func prepare(_ journal: any OrderJournal) -> Prepared {
    var replay = FeatureReplay(configuration: featureConfiguration)
    for frame in frames[..<cascadeIndex] { replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0)) }
    var engine = TradingEngine(configuration: engineConfiguration)
    let start = engine.start(run: try! journal.nextRun(), startingBalance: USDT(units: Int64(10_000_000_000_000)),
                             at: ExchangeTime(milliseconds: SyntheticCascade.cascadeAt - 1), instruments: replay.decoder.instruments)
    try! journal.commit(start.entries)
    return Prepared(replay: replay, engine: engine)
}

/// Frame bytes in, request bytes out; returns the bytes produced.
@inline(never)
func decide(_ p: inout Prepared, _ journal: any OrderJournal) -> Int {
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
            bytes += request.bodyBytes.count + signature.utf8.count
        }
    }
    return bytes
}

let decisionNanoseconds = BenchmarkMetric.custom("decision path (ns)", polarity: .prefersSmaller, useScalingFactor: false)

func register(_ name: String, journal makeJournal: @escaping @Sendable () -> any OrderJournal) {
    Benchmark(name) { benchmark in
        let journal = makeJournal()
        var states = (0..<100).map { _ in prepare(journal) }
        // Every sample must be a real decision: two create requests.
        precondition(decide(&states[0], journal) > 400, "the cascade frame did not open a ladder")
        benchmark.startMeasurement()
        for i in 1..<states.count {
            let start = ContinuousClock.now
            blackHole(decide(&states[i], journal))
            let elapsed = ContinuousClock.now - start
            benchmark.measurement(decisionNanoseconds, Int(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000))
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [decisionNanoseconds], maxDuration: .seconds(30), maxIterations: 20)
    register("decision path, in-memory journal (synthetic cascade)") { InMemoryJournal() }
    register("decision path, SQLite journal WAL synchronous=FULL on this disk (synthetic cascade)") {
        let path = FileManager.default.currentDirectoryPath + "/.build-bench/decision-path-journal-\(UUID().uuidString).sqlite"
        return try! SQLiteOrderJournal(path: path)
    }
}
