// The quoting workload of Benchmarks/Quoting (hftbacktest's, on the same capture), shared with QuotingProfile.
public import BybitV5
public import CascadeCore
import CascadeTesting
import Foundation
public import MarketData
import Recording
public import Simulation

public struct Capture {
    /// hftbacktest's tick for the symbol (../shared/bench/hftbacktest/common.py), in price units.
    public var tick: Int64 = 10_000_000
    public var frames: [(bytes: [UInt8], localTime: LocalTime)] = []
    public var events: [MarketEvent] = []
    /// Each event's exchange time (ms), read once when loading, as hftbacktest reads its rows' timestamp column
    /// (reading it from the event in the loop copied the ~400-byte event).
    public var eventTimes: [Int64] = []
    /// The same capture with the `orderbook.50` book (published every 20 ms instead of 100 ms) for the diagnosis.
    public var events50: [MarketEvent] = []
    public var levelChanges = 0
}

/// The capture's frames, and its decoded orderbook.200 and trade events (the venue's matching depth).
public func load(_ name: String) -> Capture {
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
            capture.eventTimes.append(u.exchangeTime.milliseconds)
            capture.levelChanges += u.bids.count + u.asks.count
        case let .book(u) where u.depth == 50:
            capture.events50.append(event)
        case let .trades(list):
            capture.events.append(event)
            capture.eventTimes.append(eventTime(event)!)
            capture.events50.append(event)
            capture.levelChanges += list.count
        default:
            break
        }
    }
    return capture
}

public struct Counts: CustomStringConvertible, Sendable {
    public var events = 0, quotes = 0, submitted = 0, cancelRequests = 0, filled = 0, cancelled = 0, postOnlyExpired = 0, other = 0
    public var description: String {
        "market events \(events), quote ticks \(quotes), orders submitted \(submitted), cancel requests \(cancelRequests), "
            + "filled \(filled), cancelled \(cancelled), post-only expired \(postOnlyExpired), other ends \(other)"
    }
}

/// A book message's or trade batch's exchange time (ms); nil for other events.
public func eventTime(_ event: borrowing MarketEvent) -> Int64? {
    switch event {
    case let .book(u): u.exchangeTime.milliseconds
    case let .trades(list): list.last?.tradeTime.milliseconds ?? 0
    default: nil
    }
}

/// The quoting loop on one venue; `events` hands each market event, in order, with its exchange time (ms) to the loop
/// (borrowed: a market event is ~400 bytes, and hftbacktest's loop reads its rows in place too).
@inline(never)
public func quote(tick: Int64, _ events: ((borrowing MarketEvent, Int64) -> Void) -> Void) -> Counts {
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
                case .postOnlyWouldTakeLiquidity: counts.postOnlyExpired += 1
                case .byClient: counts.cancelled += 1
                default: counts.other += 1
                }
            default:
                break
            }
        }
    }
    events { event, t in
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
            for side in [Side.buy, .sell] {
                let price = side == .buy ? bid.price.units - 5 * tick : ask.price.units + 5 * tick
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

public func fromEvents(_ capture: Capture) -> Counts {
    quote(tick: capture.tick) { visit in
        // In place (an array's subscript getter would copy each event out).
        capture.events.withUnsafeBufferPointer { events in
            for i in events.indices { visit(events[i], capture.eventTimes[i]) }
        }
    }
}

public func fromFrames(_ capture: Capture) -> Counts {
    var decoder = BybitPublicDecoder()
    return quote(tick: capture.tick) { visit in
        for frame in capture.frames {
            guard let message = try? decoder.decode(frame.bytes, localTime: frame.localTime), let event = message.marketEvent else { continue }
            switch event {
            case let .book(u) where u.depth == 200: visit(event, u.exchangeTime.milliseconds)
            case .trades: visit(event, eventTime(event)!)
            default: continue
            }
        }
    }
}

