// hftbacktest's quoting workload through Cascade's simulated venue, on the same capture (release, one core):
// every 100 ms of exchange time cancel the working orders and post one post-only bid and one ask 5 ticks from the
// touch, 0.001 BTC each; constant 10 ms entry latency; maker 0.0002, taker 0.00055 (../shared/bench/hftbacktest).
//
//   CASCADE_BENCHMARKS=1 taskset -c 0 swift package --scratch-path .build-bench benchmark --target Quoting
//
// Two figures: from decoded events (what hftbacktest's warm replay of its pre-converted file compares with) and
// from the frames' JSON bytes (decode + book + venue). Rates are per raw message (frame) and per level change
// (each price level in a book message, plus each trade print: hftbacktest's "event" rows).
import Benchmark
import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import Recording
import Simulation

struct Capture {
    var frames: [(bytes: [UInt8], localTime: LocalTime)] = []
    var events: [MarketEvent] = []
    var levelChanges = 0
}

/// The capture's frames, and its decoded orderbook.200 and trade events (the venue's matching depth).
func load(_ name: String) -> Capture {
    var capture = Capture()
    guard SharedData.isAvailable else { return capture }
    let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/\(name)").path
    guard var reader = try? FrameFileReader(path: path) else { return capture }
    var decoder = BybitPublicDecoder()
    while let line = try? reader.next() {
        capture.frames.append((Array(line.json), line.localTime))
        guard let message = try? decoder.decode(line.json, localTime: line.localTime), let event = message.marketEvent else { continue }
        switch event {
        case let .book(u) where u.depth == 200:
            capture.events.append(event)
            capture.levelChanges += u.bids.count + u.asks.count
        case let .trades(list):
            capture.events.append(event)
            capture.levelChanges += list.count
        default:
            break
        }
    }
    return capture
}

struct Counts: CustomStringConvertible {
    var events = 0, quotes = 0, submitted = 0, cancelRequests = 0, filled = 0, cancelled = 0, postOnlyExpired = 0, other = 0
    var description: String {
        "market events \(events), quote ticks \(quotes), orders submitted \(submitted), cancel requests \(cancelRequests), "
            + "filled \(filled), cancelled \(cancelled), post-only expired \(postOnlyExpired), other ends \(other)"
    }
}

/// The quoting loop on one venue; `next` yields the market events in order.
@inline(never)
func quote(_ next: () -> MarketEvent?) -> Counts {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var settings = VenueSettings()
    settings.matchingDepths = [instrument.id: 200]
    settings.entryLatency = .constant(milliseconds: 10)
    var exchange = SimulatedExchange(deposit: USDT(units: Int64(1_000_000) * 100_000_000), settings: settings)
    var counts = Counts()
    var working: [VenueOrderID] = []
    var nextQuote: Int64?
    let tick: Int64 = 10_000_000     // 0.1
    func handle(_ reports: [ExecutionReport]) {
        for report in reports {
            switch report.event {
            case let .filled(fill) where fill.leavesQty?.units == 0:
                counts.filled += 1
                working.removeAll { $0 == fill.venueID }
            case let .cancelled(c):
                working.removeAll { $0 == c.venueID }
                switch c.cancellation.reason {
                case .postOnlyWouldTakeLiquidity: counts.postOnlyExpired += 1
                case .byClient: counts.cancelled += 1
                default: counts.other += 1
                }
            default:
                break
            }
        }
    }
    while let event = next() {
        let t: Int64
        switch event {
        case let .book(u): t = u.exchangeTime.milliseconds
        case let .trades(list): t = list.last?.tradeTime.milliseconds ?? 0
        default: continue
        }
        if nextQuote == nil { nextQuote = (t / 100 + 1) * 100 }
        while let q = nextQuote, q <= t {
            handle(exchange.advance(to: ExchangeTime(milliseconds: q), settlingFunding: false))
            counts.quotes += 1
            nextQuote = q + 100
            guard let engine = exchange.symbols[instrument.id]?.engine, let bid = engine.book.bestBid, let ask = engine.book.bestAsk else { continue }
            for id in working {
                _ = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: ExchangeTime(milliseconds: q), action: .cancel(.venue(id))))
                counts.cancelRequests += 1
            }
            for (side, price) in [(Side.buy, bid.price.units - 5 * tick), (.sell, ask.price.units + 5 * tick)] {
                let spec = OrderSpec.limit(side, price: Price(units: price), qty: Quantity(units: 1_000), timeInForce: .postOnly)
                if case let .success(receipt) = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: ExchangeTime(milliseconds: q),
                                                                           action: .submit(nil, spec))), let id = receipt.venueID {
                    working.append(id)
                }
                counts.submitted += 1
            }
        }
        handle(exchange.on(event, instrument: instrument))
        counts.events += 1
    }
    return counts
}

func fromEvents(_ capture: Capture) -> Counts {
    var i = 0
    return quote {
        defer { i += 1 }
        return i < capture.events.count ? capture.events[i] : nil
    }
}

func fromFrames(_ capture: Capture) -> Counts {
    var decoder = BybitPublicDecoder()
    var i = 0
    return quote {
        while i < capture.frames.count {
            let frame = capture.frames[i]
            i += 1
            guard let message = try? decoder.decode(frame.bytes, localTime: frame.localTime), let event = message.marketEvent else { continue }
            switch event {
            case let .book(u) where u.depth == 200: return event
            case .trades: return event
            default: continue
            }
        }
        return nil
    }
}

let perLevel = BenchmarkMetric.custom("level changes/s", polarity: .prefersLarger, useScalingFactor: false)
let perMessage = BenchmarkMetric.custom("raw messages/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, perLevel, perMessage], maxDuration: .seconds(10), maxIterations: 15)
    guard SharedData.isAvailable else {
        print("skipped: ../shared/data is absent")
        return
    }
    for symbol in ["btcusdt", "ethusdt"] {
        nonisolated(unsafe) var cached: Capture?
        for (title, run) in [("from decoded events", fromEvents), ("from frame bytes (decode + book + venue)", fromFrames)] {
            Benchmark("quoting, \(symbol) 2024-07-18, \(title)") { benchmark in
                if cached == nil {
                    cached = load("\(symbol)_2024-07-18T2357.frames.gz")
                    print("\(symbol): \(cached!.frames.count) frames, \(cached!.events.count) market events, \(cached!.levelChanges) level changes; \(fromEvents(cached!))")
                }
                let capture = cached!
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    let start = ContinuousClock.now
                    let counts = run(capture)
                    let elapsed = ContinuousClock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    benchmark.measurement(perLevel, Int(Double(capture.levelChanges) / seconds))
                    benchmark.measurement(perMessage, Int(Double(capture.frames.count) / seconds))
                    blackHole(counts)
                }
            }
        }
    }
}
