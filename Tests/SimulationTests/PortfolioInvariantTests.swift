import CascadeCore
import CascadeTesting
import MarketData
import Simulation
import Testing

/// Seeded falling markets and a long-biased random trader at high leverage: margin and liquidation rules must
/// hold after every event, whatever the order of fills, cancels and marks.
@Suite struct PortfolioInvariantTests {
    @Test(arguments: [1 as UInt64, 7, 42, 2024])
    func marginAndLiquidationHoldAfterEveryEvent(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var m = MarketBuilder()
        let instrument = m.instrument
        let deposit = try USDT("1000")
        var p = SimulatedExchange(deposit: deposit)
        var mid: Int64 = 10_000   // price in units of 0.1
        var t: Int64 = 1_000
        func price(_ tenths: Int64) -> String { FixedDecimal.format(tenths, digits: 1, minimumFractionDigits: 1) }
        func snapshot() -> MarketEvent {
            .book(m.book(.snapshot, ts: t, bids: (1...10).map { (price(mid - $0), "\(1 + rng.next() % 5)") },
                         asks: (0..<10).map { (price(mid + $0), "\(1 + rng.next() % 5)") }))
        }
        func mark() -> MarketEvent {
            var fields = TickerFields()
            fields.markPrice = m.p(price(mid))
            return .ticker(TickerUpdate(symbol: instrument.id, kind: .delta, fields: fields, crossSequence: nil,
                                        exchangeTime: ExchangeTime(milliseconds: t), localTime: LocalTime(nanoseconds: t * 1_000_000)))
        }
        _ = p.on(snapshot(), instrument: instrument)
        guard case .success = p.send(VenueCommand(symbol: instrument.id, decidedAt: p.clock, action: .setLeverage(try Rate("50")))) else {
            Issue.record("leverage 50 refused")
            return
        }
        let crumb = try USDT("0.0001")
        var liquidations = 0
        var placed = 0
        var refused = 0
        for _ in 0..<3_000 {
            t += Int64(1 + rng.next() % 15)
            var event: MarketEvent
            switch rng.next() % 6 {
            case 0, 1:
                // The market falls on average, one tick per move.
                mid += Int64(rng.next() % 5) - 3
                event = snapshot()
            case 2:
                event = mark()
            case 3:
                let sellerTakes = rng.next() % 2 == 0
                event = .trades([m.trade(sellerTakes ? .sell : .buy, price(sellerTakes ? mid - 1 : mid), "\(1 + rng.next() % 4)", at: t)])
            default:
                // Our trader: mostly buys (market or a bid near the top), sometimes sells to reduce.
                let buy = rng.next() % 4 != 0
                let qty = m.q("0.\(1 + rng.next() % 9)")
                let limit: Price? = rng.next() % 2 == 0 ? nil : m.p(price(buy ? mid - Int64(rng.next() % 3) : mid + Int64(rng.next() % 3)))
                let before = p.availableBalance
                let spec = limit.map { OrderSpec.limit(buy ? .buy : .sell, price: $0, qty: qty) } ?? .market(buy ? .buy : .sell, qty: qty)
                let result = p.send(VenueCommand(symbol: instrument.id, decidedAt: p.clock, action: .submit(m.id("o\(t)"), spec)))
                switch result {
                case .success:
                    placed += 1
                    // A placement may only use balance that was available: it never pushes available below zero.
                    #expect(p.availableBalance >= .zero || p.availableBalance >= before)
                case .failure(Rejection(.insufficientBalance)):
                    refused += 1
                case let .failure(other):
                    Issue.record("unexpected refusal \(other)")
                }
                continue
            }
            let reports = p.on(event, instrument: instrument)
            let bust = reports.takeovers
            let venue = try #require(p.symbols[instrument.id])
            #expect(p.equity == p.walletBalance + p.unrealisedPnL)
            if !bust.isEmpty {
                liquidations += 1
                // Everything closed and cancelled; the wallet ends at zero or a rounding crumb above it.
                #expect(venue.ledger.size == 0 && venue.engine.openOrderCount == 0 && venue.engine.store.conditionals.isEmpty)
                #expect(p.walletBalance >= .zero && p.walletBalance < crumb)
                #expect(bust.allSatisfy { $0.fee == .zero && $0.kind == .bustTrade })
            }
            // Whenever a position survives an event, its equity is above maintenance margin.
            if venue.ledger.size != 0 { #expect(p.equity > p.totalMaintenanceMargin) }
            // The wallet report says what the account says.
            if let wallet = reports.wallets.last { #expect(wallet.walletBalance == p.walletBalance && wallet.equity == p.equity) }
        }
        // The run exercised what it checks: trading, refusals and at least one liquidation.
        #expect(placed > 100 && refused > 0 && liquidations > 0, "placed \(placed), refused \(refused), liquidations \(liquidations)")
    }
}
