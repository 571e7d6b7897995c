// Matching throughput with resting orders: replayed book and trade events per second through
// `MatchingEngine` while our orders rest in the queue (release build, one core: run under `taskset -c 0`).
//
//   CASCADE_BENCHMARKS=1 taskset -c 0 swift package --scratch-path .build-bench benchmark --target Matching
import Benchmark
import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import Recording
import Simulation

/// Decoded book and trade events of a real capture, in file order.
func loadEvents(_ name: String) -> [MarketEvent] {
    guard SharedData.isAvailable else { return [] }
    let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/\(name)").path
    guard var reader = try? FrameFileReader(path: path) else { return [] }
    var decoder = BybitPublicDecoder()
    var events: [MarketEvent] = []
    while let line = try? reader.next() {
        guard let message = try? decoder.decode(line.json, localTime: line.localTime), let event = message.marketEvent else { continue }
        // One book depth feeds the engine (the deepest recorded).
        if case let .book(u) = event, u.depth != 200 { continue }
        if case .trades = event { events.append(event) } else if case .book = event { events.append(event) }
    }
    return events
}

/// Replays the events through the engine, keeping `ladder` post-only orders per side resting near the touch.
@inline(never)
func replay(_ events: [MarketEvent], ladder: Int) -> (events: Int, fills: Int) {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var engine = MatchingEngine(configuration: SimConfiguration(instrument: instrument), depth: 200)
    var fills = 0
    var processed = 0
    var lastSeen = ExchangeTime(milliseconds: 0)
    for (i, event) in events.enumerated() {
        switch event {
        case let .book(u):
            fills += engine.onBook(u).count
            lastSeen = u.exchangeTime
        case let .trades(t):
            fills += engine.onTrades(t).count
        default:
            break
        }
        processed += 1
        // Every 50 events, top the ladder up: post-only orders 1…ladder ticks behind the touch.
        if i % 50 == 0, engine.openOrderCount < 2 * ladder,
           let bid = engine.book.bestBid, let ask = engine.book.bestAsk {
            for k in 1...ladder {
                let tick = Int64(k) * 10_000_000   // 0.1 USDT at 8 price digits
                engine.submit(.place(clientID: "b\(i)-\(k)", side: .buy, price: Price(units: bid.price.units - tick),
                                     qty: Quantity(units: 1_000), timeInForce: .postOnly), lastSeen: lastSeen)
                engine.submit(.place(clientID: "a\(i)-\(k)", side: .sell, price: Price(units: ask.price.units + tick),
                                     qty: Quantity(units: 1_000), timeInForce: .postOnly), lastSeen: lastSeen)
            }
        }
    }
    return (processed, fills)
}

/// The same ladder through `SimPortfolio`: a margin check on every placement and a liquidation check after
/// every event (what `cascade sim` runs per account).
@inline(never)
func replayPortfolio(_ events: [MarketEvent], ladder: Int) -> (events: Int, fills: Int) {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var portfolio = SimPortfolio(deposit: USDT(units: Int64(1_000_000) * 100_000_000))
    var fills = 0
    var processed = 0
    for (i, event) in events.enumerated() {
        fills += portfolio.on(event, instrument: instrument).count
        processed += 1
        if i % 50 == 0, let engine = portfolio.exchanges[instrument.id]?.engine, engine.openOrderCount < 2 * ladder,
           let bid = engine.book.bestBid, let ask = engine.book.bestAsk {
            for k in 1...ladder {
                let tick = Int64(k) * 10_000_000
                _ = portfolio.submit(.place(clientID: "b\(i)-\(k)", side: .buy, price: Price(units: bid.price.units - tick),
                                            qty: Quantity(units: 1_000), timeInForce: .postOnly), instrument: instrument)
                _ = portfolio.submit(.place(clientID: "a\(i)-\(k)", side: .sell, price: Price(units: ask.price.units + tick),
                                            qty: Quantity(units: 1_000), timeInForce: .postOnly), instrument: instrument)
            }
        }
    }
    return (processed, fills)
}

let eventRate = BenchmarkMetric.custom("market events/s", polarity: .prefersLarger, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, eventRate], maxDuration: .seconds(5), maxIterations: 30)
    guard SharedData.isAvailable else {
        print("skipped: ../shared/data is absent")
        return
    }
    let runs: [(String, @Sendable ([MarketEvent], Int) -> (events: Int, fills: Int))] = [
        ("matching, BTCUSDT 2024-07-18 orderbook.200 + trades", replay),
        ("portfolio (margin + liquidation checks), BTCUSDT 2024-07-18", replayPortfolio),
    ]
    for (title, run) in runs {
        for ladder in [5, 20] {
            nonisolated(unsafe) var cached: [MarketEvent]?
            Benchmark("\(title), \(ladder) resting orders per side") { benchmark in
                if cached == nil { cached = loadEvents("btcusdt_2024-07-18T2357.frames.gz") }
                let events = cached!
                benchmark.startMeasurement()
                for _ in benchmark.scaledIterations {
                    let start = ContinuousClock.now
                    let result = run(events, ladder)
                    let elapsed = ContinuousClock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    benchmark.measurement(eventRate, Int(Double(result.events) / seconds))
                    blackHole(result)
                }
            }
        }
    }
}
