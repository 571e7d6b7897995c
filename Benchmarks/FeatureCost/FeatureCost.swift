// Feature engine cost per event on real frames, every family on (release build, one core: run under `taskset -c 0`).
//
//   CASCADE_BENCHMARKS=1 taskset -c 0 swift package --scratch-path .build-bench benchmark --target FeatureCost
//
// Frames are decoded into feed inputs before timing. Each capture is measured twice in the same run: the feed alone
// (books, tickers, trust) and the feed plus the feature engine; the engine's cost per event is the difference of
// the two per-event times. The real data is in pieces (books and trades without liquidations; liquidations without a
// book), so each piece is measured on its own: never spliced.
import Benchmark
import BybitV5
import CascadeCore
import CascadeTesting
import Features
import Foundation
import MarketData
import Recording

/// Decoded inputs of one recording.
struct Inputs {
    var inputs: [FeedInput] = []
    var times: [Int64] = []
    var instruments = InstrumentTable()
}

func load(_ relative: String) -> Inputs? {
    guard SharedData.isAvailable else { return nil }
    guard var reader = try? FrameFileReader(path: SharedData.root.appendingPathComponent(relative).path) else { return nil }
    var decoder = BybitPublicDecoder()
    var out = Inputs()
    while let line = try? reader.next() {
        guard let input = decoder.feedInput(line.json.assumingMemoryBound(to: UInt8.self), localTime: line.localTime) else { continue }
        out.inputs.append(input)
        out.times.append(line.localTime.nanoseconds)
    }
    out.instruments = decoder.instruments
    return out
}

@inline(never)
func feedOnly(_ data: Inputs) -> Int {
    var feed = FeedState()
    var checksum = 0
    for input in data.inputs {
        feed.apply(input)
        checksum &+= feed.books.count
    }
    return checksum
}

@inline(never)
func feedAndFeatures(_ data: Inputs, vectorEvery: Int64?) -> Int {
    var feed = FeedState()
    var engine = FeatureEngine()
    var checksum = 0
    var next = data.times.first ?? 0
    for (i, input) in data.inputs.enumerated() {
        let t = data.times[i]
        if let step = vectorEvery, t >= next {
            for name in engine.symbolNames { checksum &+= engine.vector(for: name, at: t, feed: feed)?.values.count ?? 0 }
            next = t + step
        }
        feed.apply(input)
        engine.apply(input, at: t, feed: feed, instruments: data.instruments)
    }
    return checksum &+ engine.drainDetectorChanges().count
}

let eventRate = BenchmarkMetric.custom("events/s", polarity: .prefersLarger, useScalingFactor: false)

func register(_ name: String, _ relative: String, _ body: @escaping @Sendable (Inputs) -> Int) {
    guard SharedData.isAvailable else {
        print("skipped \(name): ../shared/data is absent")
        return
    }
    nonisolated(unsafe) var cached: Inputs?
    Benchmark(name) { benchmark in
        if cached == nil { cached = load(relative) }
        guard let data = cached else { return }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let start = ContinuousClock.now
            blackHole(body(data))
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(eventRate, Int(Double(data.inputs.count) / seconds))
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .mallocCountTotal, eventRate], maxDuration: .seconds(5),
                                           maxIterations: 40)
    let capture = "data/bybit-v5-frames/binance-derived/btcusdt_2023-04-04T2358.frames.gz"
    let eth = "data/bybit-v5-frames/binance-derived/ethusdt_2024-07-18T2357.frames.gz"
    let liquidations = "data/bybit-v5-frames/liquidations/btcusdt_2024-02-12_2024-05-13.frames.gz"
    register("feed only, BTCUSDT 2023-04-04 books+trades+tickers (real)", capture) { feedOnly($0) }
    register("feed + features, BTCUSDT 2023-04-04 books+trades+tickers (real)", capture) { feedAndFeatures($0, vectorEvery: nil) }
    register("feed + features + a vector every 100 ms, BTCUSDT 2023-04-04 (real)", capture) {
        feedAndFeatures($0, vectorEvery: 100_000_000)
    }
    register("feed only, ETHUSDT 2024-07-18 books+trades+tickers (real)", eth) { feedOnly($0) }
    register("feed + features, ETHUSDT 2024-07-18 books+trades+tickers (real)", eth) { feedAndFeatures($0, vectorEvery: nil) }
    register("feed only, BTCUSDT liquidations 2024-02..05 (real, throttled)", liquidations) { feedOnly($0) }
    register("feed + features + detector, BTCUSDT liquidations 2024-02..05 (real, throttled)", liquidations) {
        feedAndFeatures($0, vectorEvery: nil)
    }
}
