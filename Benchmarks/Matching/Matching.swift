// Matching throughput with resting orders: replayed book and trade events per second through
// `MatchingEngine` (and `SimulatedExchange`) while our orders rest in the queue (release build, one core: run under `taskset -c 0`).
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

/// Replays the events through the engine alone, keeping `ladder` post-only orders per side resting near the touch
/// (each order processed at the event that placed it: no latency queue, no account).
@inline(never)
func replay(_ events: [MarketEvent], ladder: Int) -> (events: Int, fills: Int) {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    // The models' configuration enums, as SimulatedExchange runs them (the engine's specialised entry points).
    var engine = MatchingEngine(instrument: instrument, depth: 200, queue: QueueModelChoice.tradesOnly, fill: FillModelChoice.strictCross)
    var ledger = PositionLedger(instrument: instrument)
    var ids = IDMint()
    var fills = 0
    var processed = 0
    var now = ExchangeTime(milliseconds: 0)
    for (i, event) in events.enumerated() {
        switch event {
        case let .book(u):
            fills += engine.apply(book: u, ledger: &ledger, ids: &ids).count
            now = u.exchangeTime
        case let .trades(list):
            for t in list {
                let (reports, fired) = engine.apply(print: t, ledger: &ledger, ids: &ids)
                fills += reports.count + fired.count
                now = t.tradeTime
            }
        default:
            break
        }
        processed += 1
        // Every 50 events, top the ladder up: post-only orders 1…ladder ticks behind the touch.
        if i % 50 == 0, engine.openOrderCount < 2 * ladder,
           let bid = engine.book.bestBid, let ask = engine.book.bestAsk {
            for k in 1...ladder {
                let tick = Int64(k) * 10_000_000   // 0.1 USDT at 8 price digits
                for (side, price) in [(Side.buy, bid.price.units - tick), (.sell, ask.price.units + tick)] {
                    let spec = OrderSpec.limit(side, price: Price(units: price), qty: Quantity(units: 1_000), timeInForce: .postOnly)
                    fills += engine.process(.submit(nil, spec), venueID: ids.order(), at: now, ledger: &ledger, ids: &ids).count
                }
            }
        }
    }
    return (processed, fills)
}

/// The same ladder through `SimulatedExchange` (what `cascade sim` runs per account): entry latency, a margin check
/// on every placement, a liquidation check and position/wallet reports after every event.
@inline(never)
func replayExchange(_ events: [MarketEvent], ladder: Int) -> (events: Int, fills: Int) {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var settings = VenueSettings()
    settings.matchingDepths = [instrument.id: 200]
    var exchange = SimulatedExchange(deposit: USDT(units: Int64(1_000_000) * 100_000_000), settings: settings)
    var fills = 0
    var processed = 0
    for (i, event) in events.enumerated() {
        fills += exchange.on(event, instrument: instrument).count
        processed += 1
        if i % 50 == 0, let engine = exchange.symbols[instrument.id]?.engine, engine.openOrderCount < 2 * ladder,
           let bid = engine.book.bestBid, let ask = engine.book.bestAsk {
            for k in 1...ladder {
                let tick = Int64(k) * 10_000_000
                for (side, price) in [(Side.buy, bid.price.units - tick), (.sell, ask.price.units + tick)] {
                    let spec = OrderSpec.limit(side, price: Price(units: price), qty: Quantity(units: 1_000), timeInForce: .postOnly)
                    _ = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: exchange.clock, action: .submit(nil, spec)))
                }
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
        ("exchange (latency, margin, liquidation, reports), BTCUSDT 2024-07-18", replayExchange),
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
