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
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import QuotingSupport
import Simulation

/// Why the fill counts differ from hftbacktest's (printed once, untimed; BENCHMARKS.md has the order-by-order
/// comparison). Three differences are measured on this loop instead of argued:
/// - the view: hftbacktest's strategy decides on the book as *received* (its converter shifts receive times so the
///   smallest feed delay is 0), on ticks of that clock; the timed loop decides on the exchange-time book. The
///   `received` run quotes on a second book fed each event at its shifted receive time (ns), the venue still
///   matching on exchange time (commands decided at tick q arrive at q + 10 ms);
/// - the book's granularity: hftbacktest applies every Binance depth diff at its own time; the Bybit-shaped frames
///   publish the book every 100 ms (`orderbook.200`) or 20 ms (`orderbook.50`), as Bybit does. `depth: 50` runs
///   the received view on the 20 ms book;
/// - the touch: hftbacktest's no-partial-fill exchange fills an order whose price the opposite best merely reaches;
///   Cascade's default (`strictCross`) does not. Counted as orders that ended unfilled although the venue's opposite
///   best equalled their price while they rested.
/// CASCADE_QUOTING_ORDER_LOG=dir writes every order's outcome; CASCADE_QUOTING_GRID_SHIFT_NS_{BTC,ETH} moves the
/// received run's grid onto hftbacktest's.
func diagnoseFills(_ capture: Capture, received: Bool, depth: Int = 200) -> String {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var settings = VenueSettings()
    settings.matchingDepths = [instrument.id: depth]
    settings.entryLatency = .constant(milliseconds: 10)
    var exchange = SimulatedExchange(deposit: USDT(units: Int64(1_000_000) * 100_000_000), settings: settings)
    let events = depth == 50 ? capture.events50 : capture.events
    var view = SimulatedExchange(deposit: .zero, settings: settings)          // the strategy's book (no orders)
    func times(_ e: MarketEvent) -> (exchange: Int64, local: Int64)? {
        switch e {
        case let .book(u): (u.exchangeTime.milliseconds, u.localTime.nanoseconds)
        case let .trades(l): l.last.map { ($0.tradeTime.milliseconds, $0.localTime.nanoseconds) }
        default: nil
        }
    }
    // Receive times in ns, as hftbacktest keeps them (a tick on a 100 ms boundary sees a diff stamped there or not by
    // a fraction of a millisecond).
    let gridShift = received ? Int64(ProcessInfo.processInfo.environment["CASCADE_QUOTING_GRID_SHIFT_NS_\(capture.tick == 1_000_000 ? "ETH" : "BTC")"] ?? "") ?? 0 : 0
    let offset = events.compactMap { times($0).map { $0.local - $0.exchange * 1_000_000 } }.min() ?? 0
    var orders: [VenueOrderID: (side: Side, price: Int64, start: Int64, end: Int64?, filled: Bool, expired: Bool, decidedNs: Int64)] = [:]
    var touches: [(t: Int64, bid: Int64, ask: Int64)] = []
    var working: [VenueOrderID] = [], cancelRequested: Set<VenueOrderID> = [], nextQuote: Int64?, cancels = 0
    func handle(_ reports: [ExecutionReport]) {
        for r in reports {
            switch r.event {
            case let .accepted(a): orders[a.venueID]?.start = r.time.milliseconds
            case let .filled(f) where f.leavesQty?.units == 0:
                orders[f.venueID]?.end = r.time.milliseconds
                orders[f.venueID]?.filled = true
                working.removeAll { $0 == f.venueID }
            case let .cancelled(c):
                orders[c.venueID]?.end = r.time.milliseconds
                orders[c.venueID]?.expired = c.cancellation.reason == .postOnlyWouldTakeLiquidity
                working.removeAll { $0 == c.venueID }
            default: break
            }
        }
    }
    for event in events {
        guard let (t, local) = times(event) else { continue }
        // The strategy's clock, in ns: the receive time less the smallest feed delay, or the exchange time.
        let seen = received ? local - offset : t * 1_000_000
        if nextQuote == nil { nextQuote = seen + 100_000_000 + gridShift }
        while let qNs = nextQuote, qNs < seen {
            let q = qNs / 1_000_000    // the decision's time in ms (the venue's clock)
            if !received { handle(exchange.advance(to: ExchangeTime(milliseconds: q), settlingFunding: false)) }
            nextQuote = qNs + 100_000_000
            let book = received ? view : exchange
            guard book.symbols.contains(instrument.id), let bid = book.symbols[venue: instrument.id].engine.book.bestBid,
                  let ask = book.symbols[venue: instrument.id].engine.book.bestAsk else { continue }
            // As hftbacktest's `cancellable`: an order whose cancel is already on its way is not cancelled again.
            for id in working where cancelRequested.insert(id).inserted {
                _ = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: ExchangeTime(milliseconds: q), action: .cancel(.venue(id))))
                cancels += 1
            }
            for side in [Side.buy, .sell] {
                let price = side == .buy ? bid.price.units - 5 * capture.tick : ask.price.units + 5 * capture.tick
                let spec = OrderSpec.limit(side, price: Price(units: price), qty: Quantity(units: 1_000), timeInForce: .postOnly)
                if case let .success(receipt) = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: ExchangeTime(milliseconds: q),
                                                                           action: .submit(nil, spec))), let id = receipt.venueID {
                    working.append(id)
                    orders[id] = (side, price, q + 10, nil, false, false, qNs)
                }
            }
        }
        handle(exchange.on(event, instrument: instrument))
        _ = view.on(event, instrument: instrument)
        if exchange.symbols.contains(instrument.id), let bid = exchange.symbols[venue: instrument.id].engine.book.bestBid,
           let ask = exchange.symbols[venue: instrument.id].engine.book.bestAsk {
            touches.append((t, bid.price.units, ask.price.units))
        }
    }
    // Orders that rested, ended unfilled, and saw the opposite best at exactly their price (the book as of each
    // event; touches are in event order, close to exchange-time order).
    var touchedUnfilled = 0
    for o in orders.values where !o.filled && !o.expired {
        let end = o.end ?? Int64.max
        if touches.contains(where: { $0.t >= o.start && $0.t < end && (o.side == .buy ? $0.ask == o.price : $0.bid == o.price) }) {
            touchedUnfilled += 1
        }
    }
    // For an order-by-order comparison with hftbacktest's own order log: CASCADE_QUOTING_ORDER_LOG=dir writes
    // "decided(ns) side ticks status(1 filled, 2 cancelled, 3 post-only expired, 0 open)" per order.
    if let dir = ProcessInfo.processInfo.environment["CASCADE_QUOTING_ORDER_LOG"] {
        let lines = orders.values.sorted { ($0.start, $0.side.rawValue) < ($1.start, $1.side.rawValue) }.map { o in
            "\(o.decidedNs) \(o.side == .buy ? 1 : -1) \(o.price / capture.tick) \(o.filled ? 1 : o.expired ? 3 : o.end == nil ? 0 : 2)"
        }
        let name = "\(dir)/cascade_\(capture.tick == 1_000_000 ? "ethusdt" : "btcusdt")_\(received ? "received" : "exchange")\(depth).txt"
        try? (lines.joined(separator: "\n") + "\n").write(toFile: name, atomically: true, encoding: .utf8)
    }
    let filled = orders.values.count(where: \.filled), expired = orders.values.count(where: \.expired)
    return "\(received ? "received-view" : "exchange-view") run, orderbook.\(depth): orders \(orders.count), cancel requests \(cancels), fills \(filled), "
        + "post-only expired \(expired), unfilled orders the opposite best touched \(touchedUnfilled)"
        + (received ? " (feed delay removed from receive times: \(offset / 1_000) µs)" : "")
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
        let runs: [(String, @Sendable (Capture) -> Counts)] = [("from decoded events", { fromEvents($0) }),
                                                               ("from frame bytes (decode + book + venue)", fromFrames)]
        for (title, run) in runs {
            Benchmark("quoting, \(symbol) 2024-07-18, \(title)") { benchmark in
                if cached == nil {
                    cached = load("\(symbol)_2024-07-18T2357.frames.gz")
                    print("\(symbol): \(cached!.frames.count) frames, \(cached!.events.count) market events, \(cached!.levelChanges) level changes; \(fromEvents(cached!))")
                    print("\(symbol): \(diagnoseFills(cached!, received: false))")
                    print("\(symbol): \(diagnoseFills(cached!, received: true))")
                    print("\(symbol): \(diagnoseFills(cached!, received: true, depth: 50))")
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
