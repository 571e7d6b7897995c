import CascadeCore
import CascadeTesting
import MarketData
import Simulation
import Testing

/// Seeded random markets and orders: every fill must be backed by a print or by displayed liquidity that no
/// earlier fill used, and nothing may fill before it arrived.
@Suite struct MatchingInvariantTests {
    @Test(arguments: [1 as UInt64, 2, 3, 42, 2024])
    func everyFillIsBackedByUnusedPrintsOrLiquidity(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        var m = Market()
        var c = SimConfiguration(instrument: m.instrument)
        c.entryLatency = .sampled(millisecondsSamples: [1, 5, 20, 60], seed: seed)
        var e = MatchingEngine(configuration: c, depth: 50)
        // The test's own view: the replayed book and what has been taken from each level since its update.
        var book = OrderBook(symbol: m.instrument.id, depth: 50)
        var taken: [String: Int64] = [:]   // "side:price" → taken since that level's last update
        var printQty: [Int64: Int64] = [:] // trade time → print qty
        var arrivals: [String: ExchangeTime] = [:]
        var reports: [SimReport] = []
        func price(_ cents: Int64) -> String { FixedDecimal.format(cents, digits: 1, minimumFractionDigits: 1) }
        var t: Int64 = 1_000
        let snapshot = m.book(.snapshot, ts: t, bids: (0..<10).map { (price(1_000 - Int64($0)), "\(1 + rng.next() % 5)") },
                              asks: (0..<10).map { (price(1_001 + Int64($0)), "\(1 + rng.next() % 5)") })
        book.apply(snapshot)
        reports += e.onBook(snapshot)

        func checkTakerFills(_ new: [SimReport]) throws {
            for f in new.fills where !f.isMaker {
                let side: BookSide = f.side == .buy ? .ask : .bid
                let key = "\(side):\(f.price.units)"
                let displayed = book.displayedSize(at: f.price, side: side).units
                taken[key, default: 0] += f.qty.units
                #expect(taken[key]! <= displayed, "taker fill beyond displayed liquidity at \(f.price)")
            }
            for f in new.fills {
                let arrival = try #require(arrivals[f.clientID])
                #expect(f.exchangeTime >= arrival, "a fill before its order arrived")
            }
        }

        for step in 0..<3_000 {
            t += Int64(1 + rng.next() % 20)
            switch rng.next() % 10 {
            case 0...3:
                // Book change near the top: a size update or a deletion, never crossing.
                let bid = rng.next() % 2 == 0
                let level = Int64(rng.next() % 10)
                let p = bid ? price(1_000 - level) : price(1_001 + level)
                let size = rng.next() % 4 == 0 ? "0" : "\(1 + rng.next() % 6)"
                let update = m.book(.delta, ts: t, bids: bid ? [(p, size)] : [], asks: bid ? [] : [(p, size)])
                let new = e.onBook(update)
                try checkTakerFills(new)
                reports += new
                book.apply(update)
                taken["\(bid ? BookSide.bid : .ask):\(m.p(p).units)"] = nil
            case 4...6:
                let sell = rng.next() % 2 == 0
                let level = Int64(rng.next() % 3)
                let p = sell ? price(1_000 - level) : price(1_001 + level)
                let q = "\(1 + rng.next() % 4)"
                let trade = m.trade(sell ? .sell : .buy, p, q, at: t)
                printQty[t, default: 0] += m.q(q).units
                let new = e.onTrades([trade])
                try checkTakerFills(new)
                reports += new
            default:
                let buy = rng.next() % 2 == 0
                let offset = Int64(rng.next() % 6) - 2     // some cross, most rest
                let p = buy ? price(1_000 + offset) : price(1_001 - offset)
                let tifs: [SimTimeInForce] = [.postOnly, .goodTillCancel, .immediateOrCancel, .fillOrKill]
                let id = "o\(step)"
                let arrival = e.submit(.place(clientID: id, side: buy ? .buy : .sell, price: m.p(p), qty: m.q("\(1 + rng.next() % 3)"),
                                              timeInForce: tifs[Int(rng.next() % 4)]), lastSeen: ExchangeTime(milliseconds: t))
                arrivals[id] = arrival
            }
        }
        let tail = e.advance(to: ExchangeTime(milliseconds: t + 1_000))
        try checkTakerFills(tail)
        reports += tail

        // Maker fills: each print's quantity is used at most once across all orders.
        var makerPerPrint: [Int64: Int64] = [:]
        for f in reports.fills where f.isMaker { makerPerPrint[f.exchangeTime.milliseconds, default: 0] += f.qty.units }
        for (time, qty) in makerPerPrint {
            #expect(qty <= (printQty[time] ?? 0), "maker fills at \(time) exceed the print")
        }
        #expect(reports.fills.contains { $0.isMaker } && reports.fills.contains { !$0.isMaker })
    }
}
