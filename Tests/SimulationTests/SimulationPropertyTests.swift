import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import Recording
import Simulation
import Testing

/// Watches a ``SimulatedExchange`` run from outside, with its own copy of the market, and checks after every step
/// what no fill rule may ever break:
/// - nothing fills before its order arrived;
/// - a taker fill never uses more than the displayed size at its level that no earlier fill used since the level's
///   last update, nor liquidity a print consumed before a book message stamped after it showed the level again;
/// - maker fills of one batch of prints never exceed those prints, each reaching the order's price; a print only at
///   (not through) the order's price fills it only while its level is inside the span the book covers (beyond it
///   the queue is unknown);
/// - fills on a book cross never exceed the displayed liquidity strictly through the order's price;
/// - a reduce-only (or close-on-trigger, or TP/SL) fill never grows |position| nor flips it;
/// - the account's position is the sum of its fills and takeovers.
struct InvariantWatch {
    var book: OrderBook
    var used: [String: Int64] = [:]
    var arrivals: [VenueOrderID: ExchangeTime] = [:]
    var onlyReduces: Set<VenueOrderID> = []
    /// Prints not yet reflected by a book message stamped after them: (taker side, price, qty, match time).
    var marks: [(taker: Side, price: Int64, qty: Int64, time: ExchangeTime)] = []
    var position: Int64 = 0
    var counts = (taker: 0, print: 0, cross: 0, reduceOnly: 0)
    var violations: [String] = []

    init(symbol: SymbolID, depth: Int) { book = OrderBook(symbol: symbol, depth: depth) }

    mutating func sent(_ receipt: SimulatedExchange.Receipt, _ spec: OrderSpec) {
        guard let id = receipt.venueID else { return }
        arrivals[id] = receipt.arrival
        if spec.onlyReduces { onlyReduces.insert(id) }
    }

    mutating func fail(_ text: String) { violations.append(text) }

    /// The book message the exchange is about to see (applied to our copy first, as the exchange applies it).
    mutating func book(_ update: BookUpdate) {
        guard update.depth == book.depth else { return }
        book.apply(update)
        let stamp = update.matchTime ?? update.exchangeTime
        marks.removeAll { $0.time < stamp }
        if update.replacesBook { used = [:] } else {
            for l in update.bids { used["bid:\(l.price.units)"] = nil }
            for l in update.asks { used["ask:\(l.price.units)"] = nil }
        }
    }

    /// Prints of a step, after its reports were checked (the step's own arrivals were processed before them).
    mutating func printed(_ prints: [Trade]) {
        for t in prints where !t.isRPI { marks.append((t.takerSide, t.price.units, t.qty.units, t.tradeTime)) }
    }

    /// What prints not yet reflected took from a level of `side` at `price`: all of it when a print went through it.
    func consumedByPrints(_ side: BookSide, _ price: Int64, displayed: Int64) -> Int64 {
        var taken: Int64 = 0
        for m in marks where (m.taker == .sell) == (side == .bid) {
            let through = side == .bid ? m.price < price : m.price > price
            if through { return displayed }
            if m.price == price { taken += m.qty }
        }
        return min(taken, displayed)
    }

    /// True when `price` on `side` is inside the span the book covers.
    func covered(_ side: BookSide, _ price: Int64) -> Bool {
        guard let worst = book.worstLevel(side) else { return false }
        return side == .bid ? price >= worst.price.units : price <= worst.price.units
    }

    /// Reports of one step: `prints` are the prints of the event (empty for anything else), `bookEvent` whether the
    /// event was a book message (maker fills then come from a cross).
    mutating func check(_ reports: [ExecutionReport], prints: [Trade], bookEvent: Bool) {
        var printLeft = prints.filter { !$0.isRPI }.reduce(Int64(0)) { $0 + $1.qty.units }
        for r in reports {
            if case let .accepted(a) = r.event, a.spec.onlyReduces { onlyReduces.insert(a.venueID) }
            if case let .takeover(t) = r.event { position += t.side == .buy ? t.qty.units : -t.qty.units }
            guard case let .filled(f) = r.event else { continue }
            if let arrival = arrivals[f.venueID], r.time < arrival { fail("\(f.venueID) filled at \(r.time) before arriving at \(arrival)") }
            let signed = f.side == .buy ? f.qty.units : -f.qty.units
            if onlyReduces.contains(f.venueID) {
                counts.reduceOnly += 1
                let after = position + signed
                if abs(after) > abs(position) || (after != 0 && (after > 0) != (position > 0)) {
                    fail("reduce-only \(f.venueID) moved the position \(position) → \(after)")
                }
            }
            position += signed
            let opposite = f.side == .buy ? "ask" : "bid"
            if f.liquidity == .taker {
                counts.taker += 1
                let key = "\(opposite):\(f.price.units)"
                used[key, default: 0] += f.qty.units
                let bookSide: BookSide = f.side == .buy ? .ask : .bid
                let displayed = book.displayedSize(at: f.price, side: bookSide).units
                let net = displayed - consumedByPrints(bookSide, f.price.units, displayed: displayed)
                if used[key]! > net { fail("taker \(f.venueID) used \(used[key]!) at \(f.price.units), \(net) net of prints displayed") }
            } else if !prints.isEmpty {
                counts.print += 1
                printLeft -= f.qty.units
                if printLeft < 0 { fail("maker fills of one print batch exceed its prints") }
                let reached = prints.contains { !$0.isRPI && (f.side == .buy ? $0.price <= f.price : $0.price >= f.price) }
                if !reached { fail("maker \(f.venueID) at \(f.price.units) reached by no print") }
                let through = prints.contains { !$0.isRPI && (f.side == .buy ? $0.price < f.price : $0.price > f.price) }
                if !through && !covered(f.side == .buy ? .bid : .ask, f.price.units) {
                    fail("maker \(f.venueID) at \(f.price.units) filled by a print at its price beyond the book (queue unknown)")
                }
            } else if bookEvent {
                counts.cross += 1
                // The liquidity strictly through our price, net of what fills used.
                let side: BookSide = f.side == .buy ? .ask : .bid
                var need = f.qty.units
                for k in 0..<book.levelCount(side) where need > 0 {
                    let level = book.level(side, fromBest: k)
                    guard f.side == .buy ? level.price < f.price : level.price > f.price else { break }
                    let key = "\(opposite):\(level.price.units)"
                    let take = min(need, max(0, level.size.units - used[key, default: 0]))
                    used[key, default: 0] += take
                    need -= take
                }
                if need > 0 { fail("cross fill \(f.venueID) of \(f.qty.units) beyond the liquidity through \(f.price.units)") }
            } else {
                fail("maker fill \(f.venueID) with neither print nor book message")
            }
        }
    }
}

/// Random command streams against a market, checked by ``InvariantWatch``.
struct RandomTrader {
    var rng: SeededRandom
    var sent: [VenueOrderID] = []
    var step = 0

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    /// One random command around the touch (or nothing), sent with the exchange's clock as `decidedAt`.
    mutating func act(_ x: inout SimulatedExchange, _ watch: inout InvariantWatch, instrument: Instrument, tick: Int64) {
        step += 1
        guard let venue = x.symbols[instrument.id], let bid = venue.engine.book.bestBid, let ask = venue.engine.book.bestAsk else { return }
        let buy = rng.next() % 2 == 0
        let qty = Quantity(units: Int64(1 + rng.next() % 5) * 1_000)          // 0.001 … 0.005
        // Most around the touch (some cross); one in eight beyond a 10-level book, where its queue is unknown.
        let offset = rng.next() % 8 == 0 ? -Int64(10 + rng.next() % 5) * tick : (Int64(rng.next() % 7) - 2) * tick
        let price = Price(units: buy ? bid.price.units + offset : ask.price.units - offset)
        let position = venue.ledger.size
        let spec: OrderSpec
        switch rng.next() % 20 {
        case 0..<8:
            let tifs: [TimeInForce] = [.postOnly, .goodTillCancel, .immediateOrCancel, .fillOrKill]
            spec = .limit(buy ? .buy : .sell, price: price, qty: qty, timeInForce: tifs[Int(rng.next() % 4)])
        case 8, 9:
            spec = .market(buy ? .buy : .sell, qty: qty)
        case 10..<13 where position != 0:
            // Reduce-only ladders: several at once, often more than the position.
            spec = .limit(position > 0 ? .sell : .buy, price: Price(units: position > 0 ? ask.price.units + offset : bid.price.units - offset),
                          qty: Quantity(units: abs(position) / 2 + qty.units), reduceOnly: true)
        case 13 where !sent.isEmpty:
            let id = sent[Int(rng.next() % UInt64(sent.count))]
            let amendment = rng.next() % 2 == 0 ? OrderAmendment(qty: qty) : OrderAmendment(price: price)
            _ = x.send(VenueCommand(symbol: instrument.id, decidedAt: x.clock, action: .amend(.venue(id), amendment)))
            return
        case 14 where !sent.isEmpty:
            _ = x.send(VenueCommand(symbol: instrument.id, decidedAt: x.clock, action: .cancel(.venue(sent[Int(rng.next() % UInt64(sent.count))]))))
            return
        case 15:
            _ = x.send(VenueCommand(symbol: instrument.id, decidedAt: x.clock, action: .cancelAll(rng.next() % 2 == 0 ? nil : .order)))
            return
        case 16 where position != 0:
            let up = Price(units: ask.price.units + 20 * tick), down = Price(units: bid.price.units - 20 * tick)
            let stop = TradingStop(takeProfit: .set(ProtectionLeg(trigger: position > 0 ? up : down)),
                                   stopLoss: .set(ProtectionLeg(trigger: position > 0 ? down : up)))
            _ = x.send(VenueCommand(symbol: instrument.id, decidedAt: x.clock, action: .setTradingStop(stop)))
            return
        case 17:
            let trigger = Price(units: buy ? ask.price.units + 5 * tick : bid.price.units - 5 * tick)
            spec = OrderSpec(side: buy ? .buy : .sell, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: qty,
                             trigger: Trigger(price: trigger, direction: buy ? .rise : .fall), closeOnTrigger: rng.next() % 2 == 0)
        default:
            return
        }
        let id = try? ClientOrderID("o\(step)")
        guard case let .success(receipt) = x.send(VenueCommand(symbol: instrument.id, decidedAt: x.clock, action: .submit(id, spec))) else {
            return
        }
        watch.sent(receipt, spec)
        if let id = receipt.venueID { sent.append(id) }
        if sent.count > 40 { sent.removeFirst(sent.count - 40) }
    }
}

@Suite struct SimulationPropertyTests {
    /// Runs `events` through an exchange with random commands; returns every report and the watch.
    static func run(_ events: [MarketEvent], instrument: Instrument, depth: Int, seed: UInt64, tick: Int64,
                    configure: (inout VenueSettings) -> Void = { _ in }) -> ([ExecutionReport], InvariantWatch) {
        var settings = VenueSettings()
        settings.entryLatency = .sampled(millisecondsSamples: [1, 3, 8, 20, 60], seed: seed)
        settings.matchingDepths = [instrument.id: depth]
        configure(&settings)
        var x = SimulatedExchange(deposit: try! USDT("1000000"), settings: settings)
        var watch = InvariantWatch(symbol: instrument.id, depth: depth)
        var trader = RandomTrader(seed: seed)
        // The feed's trust as the replay judges it (gaps, resyncs, invalid books suspend matching).
        var feed = FeedState()
        var all: [ExecutionReport] = []
        for event in events {
            // Commands due before the event first (the book as it stood), then the event itself.
            if let time = event.exchangeTime, let first = Self.firstTime(event) {
                let before = x.advance(to: ExchangeTime(milliseconds: min(time, first).milliseconds - 1), settlingFunding: false)
                watch.check(before, prints: [], bookEvent: false)
                all += before
            }
            var prints: [Trade] = []
            var isBook = false
            switch event {
            case let .book(update):
                watch.book(update)
                isBook = true
            case let .trades(list):
                prints = list
            default:
                break
            }
            let change = feed.apply(event)
            let reports = x.on(event, instrument: instrument)
            watch.check(reports, prints: prints, bookEvent: isBook)
            watch.printed(prints)
            all += reports
            if !change.isSteady, let time = event.exchangeTime {
                let resumed = x.feedChanged(change, at: time)
                watch.check(resumed, prints: [], bookEvent: true)
                all += resumed
            }
            if trader.rng.next() % 3 == 0 { trader.act(&x, &watch, instrument: instrument, tick: tick) }
        }
        let tail = x.advance(to: ExchangeTime(milliseconds: x.clock.milliseconds + 10_000), settlingFunding: false)
        watch.check(tail, prints: [], bookEvent: false)
        all += tail
        if let ledger = x.symbols[instrument.id]?.ledger, ledger.size != watch.position {
            watch.fail("ledger \(ledger.size) ≠ fills \(watch.position)")
        }
        return (all, watch)
    }

    static func firstTime(_ event: MarketEvent) -> ExchangeTime? {
        if case let .trades(list) = event { return list.first?.tradeTime }
        return event.exchangeTime
    }

    /// A seeded synthetic market around 100.0 (0.1 ticks): book changes near the top, prints on both sides.
    static func syntheticMarket(seed: UInt64, steps: Int) -> [MarketEvent] {
        var rng = SeededRandom(seed: seed &+ 99)
        var m = MarketBuilder()
        func price(_ tenths: Int64) -> String { FixedDecimal.format(tenths, digits: 1, minimumFractionDigits: 1) }
        var events: [MarketEvent] = []
        var t: Int64 = 1_000
        events.append(.book(m.book(.snapshot, ts: t, bids: (0..<10).map { (price(1_000 - Int64($0)), "\(1 + rng.next() % 5)") },
                                   asks: (0..<10).map { (price(1_001 + Int64($0)), "\(1 + rng.next() % 5)") })))
        for _ in 0..<steps {
            t += Int64(1 + rng.next() % 20)
            if rng.next() % 2 == 0 {
                let bid = rng.next() % 2 == 0
                let level = Int64(rng.next() % 10)
                let p = bid ? price(1_000 - level) : price(1_001 + level)
                let size = rng.next() % 4 == 0 ? "0" : "\(1 + rng.next() % 6)"
                events.append(.book(m.book(.delta, ts: t, bids: bid ? [(p, size)] : [], asks: bid ? [] : [(p, size)])))
            } else {
                let sell = rng.next() % 2 == 0
                // Mostly near the touch; sometimes a sweep deep past the 10 levels the book shows.
                let level = rng.next() % 10 == 0 ? Int64(10 + rng.next() % 5) : Int64(rng.next() % 3)
                events.append(.trades([m.trade(sell ? .sell : .buy, sell ? price(1_000 - level) : price(1_001 + level),
                                               "0.\(1 + rng.next() % 9)", at: t)]))
            }
        }
        return events
    }

    @Test(arguments: [1 as UInt64, 2, 3, 42, 2024])
    func syntheticMarketsKeepEveryInvariant(seed: UInt64) {
        let m = MarketBuilder()
        let events = Self.syntheticMarket(seed: seed, steps: 3_000)
        let (reports, watch) = Self.run(events, instrument: m.instrument, depth: 50, seed: seed, tick: 10_000_000)
        #expect(watch.violations.isEmpty, "\(watch.violations.prefix(5))")
        #expect(watch.counts.taker > 0 && watch.counts.print > 0 && watch.counts.cross > 0 && watch.counts.reduceOnly > 0,
                "exercised \(watch.counts)")
        #expect(reports == Self.run(events, instrument: m.instrument, depth: 50, seed: seed, tick: 10_000_000).0)
    }

    /// The real captures (Binance microstructure in Bybit frames; see the data README), books at 200 levels.
    static let captures = ["btcusdt_2024-07-18T2357", "ethusdt_2024-07-18T2357", "btcusdt_2023-04-04T2358"]

    static func events(_ name: String) throws -> (Instrument, [MarketEvent], tick: Int64) {
        let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/\(name).frames.gz").path
        var reader = try FrameFileReader(path: path)
        var decoder = BybitPublicDecoder()
        var events: [MarketEvent] = []
        while let line = try reader.next() {
            guard let event = (try? decoder.decode(line.json, localTime: line.localTime))?.marketEvent else { continue }
            events.append(event)
        }
        let symbol = try #require(events.first?.symbol)
        return (decoder.instruments[symbol], events, name.hasPrefix("eth") ? 1_000_000 : 10_000_000)
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"), arguments: captures)
    func realCapturesKeepEveryInvariantAndTheSameSeedGivesTheSameReports(capture: String) throws {
        let (instrument, events, tick) = try Self.events(capture)
        for seed in [11 as UInt64, 12] {
            let (reports, watch) = Self.run(events, instrument: instrument, depth: 200, seed: seed, tick: tick)
            #expect(watch.violations.isEmpty, "\(capture) seed \(seed): \(watch.violations.prefix(5))")
            #expect(watch.counts.taker > 0 && watch.counts.print > 0 && watch.counts.reduceOnly > 0, "exercised \(watch.counts)")
            if seed == 11 {
                #expect(reports == Self.run(events, instrument: instrument, depth: 200, seed: seed, tick: tick).0)
            }
        }
    }
}
