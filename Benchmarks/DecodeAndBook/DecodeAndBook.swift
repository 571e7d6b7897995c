// Decode + book apply throughput, in level updates per second (release build, one core: run under `taskset -c 0`).
//
//   CASCADE_BENCHMARKS=1 taskset -c 0 swift package --scratch-path .build-bench benchmark --target DecodeAndBook
//
// Frames are decompressed into memory before timing: the figure is JSON bytes → typed events → books.
import Benchmark
import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import Recording

/// Frames held in one contiguous buffer (no per-frame allocation in the timed loop).
struct FrameBlob {
    var bytes: [UInt8] = []
    var offsets: [Int] = [0]
    var times: [LocalTime] = []
    var levelEntries = 0

    mutating func append(_ frame: UnsafeRawBufferPointer, _ time: LocalTime) {
        bytes.append(contentsOf: frame)
        offsets.append(bytes.count)
        times.append(time)
    }
    var count: Int { times.count }
}

func loadShared(_ name: String, booksOnly: Bool) -> FrameBlob? {
    guard SharedData.isAvailable else { return nil }
    let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/\(name)").path
    guard var reader = try? FrameFileReader(path: path) else { return nil }
    var blob = FrameBlob()
    var decoder = BybitPublicDecoder()
    while let line = try? reader.next() {
        let message = try? decoder.decode(line.json, localTime: line.localTime)
        if case let .book(update)? = message { blob.levelEntries += update.bids.count + update.asks.count } else if booksOnly { continue }
        blob.append(line.json, line.localTime)
    }
    return blob
}

func synthetic(seed: UInt64, frames: Int) -> FrameBlob {
    var gen = SyntheticBookFrames(depth: 200, seed: seed)
    var blob = FrameBlob()
    var decoder = BybitPublicDecoder()
    for i in 0..<frames {
        let text = i == 0 ? gen.snapshot() : gen.delta(changes: 10)
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in
            if case let .book(u)? = try? decoder.decode(raw, localTime: LocalTime(nanoseconds: Int64(i))) {
                blob.levelEntries += u.bids.count + u.asks.count
            }
            blob.append(raw, LocalTime(nanoseconds: Int64(i)))
        }
    }
    return blob
}

/// The production path: decode each frame, apply book messages to their topic's book.
@inline(never)
func run(_ blob: FrameBlob) -> (levels: Int, checksum: Int64) {
    var decoder = BybitPublicDecoder()
    var books: [OrderBook] = []
    var bookOfTopic: [Int] = []
    var levels = 0
    var checksum: Int64 = 0
    blob.bytes.withUnsafeBufferPointer { all in
        for i in 0..<blob.count {
            let frame = UnsafeBufferPointer(rebasing: all[blob.offsets[i]..<blob.offsets[i + 1]])
            guard let message = try? decoder.decode(frame, localTime: blob.times[i]) else { continue }
            switch message {
            case let .book(update):
                let t = decoder.lastTopicIndex
                while bookOfTopic.count <= t { bookOfTopic.append(-1) }
                if bookOfTopic[t] < 0 {
                    bookOfTopic[t] = books.count
                    books.append(OrderBook(symbol: update.symbol, depth: update.depth))
                }
                let b = bookOfTopic[t]
                books[b].apply(update)
                levels += update.bids.count + update.asks.count
                checksum &+= books[b].bestBid?.price.units ?? 0
            case let .trades(trades):
                checksum &+= Int64(trades.count)
            default:
                break
            }
        }
    }
    return (levels, checksum)
}

let levelRate = BenchmarkMetric.custom("level updates/s", polarity: .prefersLarger, useScalingFactor: false)

func register(_ name: String, needsSharedData: Bool = true, _ load: @escaping @Sendable () -> FrameBlob?) {
    if needsSharedData && !SharedData.isAvailable {
        print("skipped \(name): ../shared/data is absent")
        return
    }
    // Loaded on first run, so `--filter` only pays for what it measures.
    nonisolated(unsafe) var cached: FrameBlob?
    Benchmark(name) { benchmark in
        if cached == nil { cached = load() }
        guard let blob = cached else { return }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let start = ContinuousClock.now
            let result = run(blob)
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            benchmark.measurement(levelRate, Int(Double(result.levels) / seconds))
            blackHole(result)
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, levelRate],
        maxDuration: .seconds(5), maxIterations: 40)
    register("decode+book, all topics, BTCUSDT 2024-07-18 (real)") { loadShared("btcusdt_2024-07-18T2357.frames.gz", booksOnly: false) }
    register("decode+book, book topics, BTCUSDT 2024-07-18 (real)") { loadShared("btcusdt_2024-07-18T2357.frames.gz", booksOnly: true) }
    register("decode+book, book topics, ETHUSDT 2024-07-18 (real)") { loadShared("ethusdt_2024-07-18T2357.frames.gz", booksOnly: true) }
    register("decode+book, book topics, BTCUSDT 2023-04-04 (real)") { loadShared("btcusdt_2023-04-04T2358.frames.gz", booksOnly: true) }
    register("decode+book, orderbook.200 deltas of 10 levels (synthetic, seed 42)", needsSharedData: false) {
        synthetic(seed: 42, frames: 20_000)
    }
}
