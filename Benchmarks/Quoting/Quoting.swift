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
    /// hftbacktest's tick for the symbol (../shared/bench/hftbacktest/common.py), in price units.
    var tick: Int64 = 10_000_000
    var frames: [(bytes: [UInt8], localTime: LocalTime)] = []
    var events: [MarketEvent] = []
    var levelChanges = 0
}

/// The capture's frames, and its decoded orderbook.200 and trade events (the venue's matching depth).
func load(_ name: String) -> Capture {
    var capture = Capture()
    capture.tick = name.hasPrefix("ethusdt") ? 1_000_000 : 10_000_000      // 0.01 and 0.1
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

/// A book message's or trade batch's exchange time (ms); nil for other events.
func eventTime(_ event: borrowing MarketEvent) -> Int64? {
    switch event {
    case let .book(u): u.exchangeTime.milliseconds
    case let .trades(list): list.last?.tradeTime.milliseconds ?? 0
    default: nil
    }
}

/// What the diagnosis watches of the loop (nil in the timed runs).
final class QuoteObserver {
    var touches: [(t: Int64, bid: Int64, ask: Int64)] = []
    var orders: [VenueOrderID: (side: Side, price: Int64, decided: Int64, seen: String)] = [:]
    var expired: [(side: Side, price: Int64, decided: Int64, seen: String)] = []
}

/// The quoting loop on one venue; `events` hands each market event, in order, to the loop (borrowed: a market event
/// is ~400 bytes, and hftbacktest's loop reads its rows in place too).
@inline(never)
func quote(tick: Int64, observer: QuoteObserver? = nil, _ events: ((borrowing MarketEvent) -> Void) -> Void) -> Counts {
    let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var settings = VenueSettings()
    settings.matchingDepths = [instrument.id: 200]
    settings.entryLatency = .constant(milliseconds: 10)
    var exchange = SimulatedExchange(deposit: USDT(units: Int64(1_000_000) * 100_000_000), settings: settings)
    var counts = Counts()
    var working: [VenueOrderID] = []
    var nextQuote: Int64?
    func handle(_ reports: [ExecutionReport]) {
        for report in reports {
            switch report.event {
            case let .filled(fill) where fill.leavesQty?.units == 0:
                counts.filled += 1
                working.removeAll { $0 == fill.venueID }
            case let .cancelled(c):
                working.removeAll { $0 == c.venueID }
                switch c.cancellation.reason {
                case .postOnlyWouldTakeLiquidity:
                    counts.postOnlyExpired += 1
                    if let observer, let o = observer.orders[c.venueID] { observer.expired.append(o) }
                case .byClient: counts.cancelled += 1
                default: counts.other += 1
                }
            default:
                break
            }
        }
    }
    events { event in
        guard let t = eventTime(event) else { return }
        // As hftbacktest's elapse(100 ms): ticks from the first event's time, and events stamped at a tick are
        // seen before it (Binance's depth diffs come on 100 ms boundaries: a grid on them would quote on a book
        // one update old).
        if nextQuote == nil { nextQuote = t + 100 }
        while let q = nextQuote, q < t {
            handle(exchange.advance(to: ExchangeTime(milliseconds: q), settlingFunding: false))
            counts.quotes += 1
            nextQuote = q + 100
            // Borrowed in place (`symbols[id]` would copy the whole venue each tick).
            guard exchange.symbols.contains(instrument.id), let bid = exchange.symbols[venue: instrument.id].engine.book.bestBid,
                  let ask = exchange.symbols[venue: instrument.id].engine.book.bestAsk else { continue }
            for id in working {
                _ = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: ExchangeTime(milliseconds: q), action: .cancel(.venue(id))))
                counts.cancelRequests += 1
            }
            for (side, price) in [(Side.buy, bid.price.units - 5 * tick), (.sell, ask.price.units + 5 * tick)] {
                let spec = OrderSpec.limit(side, price: Price(units: price), qty: Quantity(units: 1_000), timeInForce: .postOnly)
                if case let .success(receipt) = exchange.send(VenueCommand(symbol: instrument.id, decidedAt: ExchangeTime(milliseconds: q),
                                                                           action: .submit(nil, spec))), let id = receipt.venueID {
                    working.append(id)
                    observer?.orders[id] = (side, price, q, "\(bid.price.units / tick)/\(ask.price.units / tick) after \(observer!.touches.count) events")
                }
                counts.submitted += 1
            }
        }
        handle(exchange.on(event, instrument: instrument))
        counts.events += 1
        if let observer, let engine = exchange.symbols[instrument.id]?.engine, let bid = engine.book.bestBid, let ask = engine.book.bestAsk {
            observer.touches.append((t, bid.price.units, ask.price.units))
        }
    }
    return counts
}

func fromEvents(_ capture: Capture, observer: QuoteObserver? = nil) -> Counts {
    quote(tick: capture.tick, observer: observer) { visit in
        // In place (an array's subscript getter would copy each event out).
        capture.events.withUnsafeBufferPointer { events in
            for i in events.indices { visit(events[i]) }
        }
    }
}

func fromFrames(_ capture: Capture) -> Counts {
    var decoder = BybitPublicDecoder()
    return quote(tick: capture.tick) { visit in
        for frame in capture.frames {
            guard let message = try? decoder.decode(frame.bytes, localTime: frame.localTime), let event = message.marketEvent else { continue }
            switch event {
            case let .book(u) where u.depth == 200: visit(event)
            case .trades: visit(event)
            default: continue
            }
        }
    }
}

/// Why post-only orders expire: for each one, the touch when it was decided and the touch it met on arrival (the
/// book after the last event at or before decision + 10 ms). Printed once, beside the counts.
func diagnosePostOnly(_ capture: Capture) -> String {
    let observer = QuoteObserver()
    _ = fromEvents(capture, observer: observer)
    let (touches, expired, tick) = (observer.touches, observer.expired, capture.tick)
    var maxSeen: Int64 = .min, inversions = 0, bookInversions = 0, worstLagMs: Int64 = 0
    for event in capture.events {
        guard let t = eventTime(event) else { continue }
        if t < maxSeen {
            inversions += 1
            if case .book = event { bookInversions += 1 }
            worstLagMs = max(worstLagMs, maxSeen - t)
        }
        maxSeen = max(maxSeen, t)
    }
    func touch(at t: Int64) -> (bid: Int64, ask: Int64)? { touches.last { $0.t <= t }.map { ($0.bid, $0.ask) } }
    var crossedAtArrival = 0, notCrossed = 0, examples: [String] = []
    for o in expired {
        guard let arrival = touch(at: o.decided + 10), let decided = touch(at: o.decided) else { continue }
        let crosses = o.side == .buy ? o.price >= arrival.ask : o.price <= arrival.bid
        if crosses { crossedAtArrival += 1 } else { notCrossed += 1 }
        if examples.count < 5 {
            examples.append("\(o.side) \(o.price / tick) at \(o.decided) (venue book then \(o.seen)): touch at \(decided.bid / tick)/\(decided.ask / tick), arrival touch \(arrival.bid / tick)/\(arrival.ask / tick)")
        }
    }
    return "events stamped before one already seen: \(inversions) (books \(bookInversions)), up to \(worstLagMs) ms; post-only expired \(expired.count): crossing the touch at arrival \(crossedAtArrival), not crossing it \(notCrossed); e.g. \(examples.joined(separator: "; "))"
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
                    print("\(symbol): \(diagnosePostOnly(cached!))")
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
