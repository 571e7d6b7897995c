// The decision path of Benchmarks/DecisionPath as a plain executable, for perf (not a benchmark: no statistics).
// Samples only the decisions when run under `perf record --control=fifo:FIFO -D -1` with PERF_CTL=FIFO:
//   CASCADE_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product DecisionProfile
//   mkfifo /tmp/ctl; PERF_CTL=/tmp/ctl perf record -D -1 --control=fifo:/tmp/ctl --call-graph dwarf -o /tmp/p.data \
//     taskset -c 0 .build-bench/release/DecisionProfile
import BybitV5
import CascadeCore
import CascadeTesting
import Execution
import FeatureReplay
import Features
import Foundation
import MarketData
import Storage

nonisolated(unsafe) let frames: [(Int64, [UInt8])] = SyntheticCascade(seed: 7).frames().map { ($0.0, Array($0.1.utf8)) }
nonisolated(unsafe) let cascadeIndex: Int = frames.firstIndex {
    String(decoding: $0.1, as: UTF8.self).hasPrefix(#"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(SyntheticCascade.cascadeAt)"#)
}!
nonisolated(unsafe) let signer = BybitSigner(credentials: BybitCredentials(apiKey: "cascade-bench-key", secret: "cascade-bench-secret"))

nonisolated var featureConfiguration: FeatureConfiguration {
    var c = FeatureConfiguration()
    c.detector.baselineMinutes = 10
    c.detector.minimumHistoryMinutes = 3
    return c
}

nonisolated var engineConfiguration: EngineConfiguration {
    var c = EngineConfiguration()
    c.offsetsBps = [20, 50]
    c.layerNotional = USDT(units: Int64(100_000_000_000))
    return c
}

struct Prepared {
    var replay: FeatureReplay
    var engine: TradingEngine
}

nonisolated func prepare(_ journal: any OrderJournal) -> Prepared {
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
nonisolated func decide(_ p: inout Prepared, _ journal: any OrderJournal) -> Int {
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


let journal = InMemoryJournal()
var total = 0
var samples: [Int] = []
let prepStart = ContinuousClock.now
var states = (0..<3_000).map { _ in prepare(journal) }
print("prepared in", ContinuousClock.now - prepStart)
func perfControl(_ command: String) {
    guard let path = ProcessInfo.processInfo.environment["PERF_CTL"], let fd = Optional(open(path, O_WRONLY)), fd >= 0 else { return }
    _ = command.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
for _ in 0..<3 {
    perfControl("enable\n")
    defer { perfControl("disable\n") }
    for i in 0..<states.count {
        let start = ContinuousClock.now
        total &+= decide(&states[i], journal)
        let e = ContinuousClock.now - start
        samples.append(Int(e.components.attoseconds / 1_000_000_000))
    }
    break
}
states = []
samples.sort()
print("p50", samples[samples.count / 2], "p99", samples[samples.count * 99 / 100], total)
