import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import Recording
import Simulation
import Testing

/// The engine, account and funding together on a real capture (the 2023 BTCUSDT file crosses a funding time
/// and carries mark prices).
@Suite struct SimulatedExchangeTests {
    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func aLadderOnRealDataKeepsTheLedgerAndChargesFundingOnThePositionHeldThen() throws {
        let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/btcusdt_2023-04-04T2358.frames.gz").path
        var reader = try FrameFileReader(path: path)
        var decoder = BybitPublicDecoder()
        var settings = VenueSettings()
        let initial = try USDT("10000")
        var exchange: SimulatedExchange?
        var signedQty: Int64 = 0
        var cash = USDT.zero
        var mark: Price?
        var fundings: [FundingPayment] = []
        var fills = 0
        var opened = false
        var events = 0
        while let line = try reader.next() {
            guard let message = try? decoder.decode(line.json, localTime: line.localTime), let event = message.marketEvent,
                  let symbol = event.symbol else { continue }
            let instrument = decoder.instruments[symbol]
            if exchange == nil {
                settings.matchingDepths = [symbol: 200]
                exchange = SimulatedExchange(deposit: initial, settings: settings)
            }
            if case let .ticker(t) = event, let m = t.fields.markPrice { mark = m }
            let reports = exchange!.on(event, instrument: instrument)
            events += 1
            for report in reports {
                switch report.event {
                case let .filled(f):
                    fills += 1
                    signedQty += f.side == .buy ? f.qty.units : -f.qty.units
                    let value = try #require(instrument.notional(price: f.price, qty: f.qty))
                    cash = cash - (f.side == .buy ? value : -value) - (f.fee ?? .zero)
                case let .funding(p):
                    // The position charged is the one held at that instant (every fill reported before it), paying
                    // size × mark × rate; longs pay when the rate is positive.
                    #expect(p.positionSize.units == signedQty && signedQty != 0)
                    let value = try #require(instrument.notional(price: p.markPrice, qty: Quantity(units: abs(signedQty))))
                    let amount = try #require(value.multiplied(by: p.rate))
                    #expect(p.amount == (signedQty > 0 ? amount : -amount))
                    cash = cash - p.amount
                    fundings.append(p)
                default:
                    break
                }
            }
            let x = exchange!
            // After every event: wallet + unrealised = the independent ledger at the current mark.
            if let mark, x.symbols[symbol] != nil, x.valuationPrice(symbol) == mark {
                let markValue = try #require(instrument.notional(price: mark, qty: Quantity(units: abs(signedQty))))
                #expect(x.equity == initial + cash + (signedQty >= 0 ? markValue : -markValue))
            }
            guard let venue = x.symbols[symbol] else { continue }
            // Open a long of 0.05 BTC at the first book, so a position is held through the funding time.
            if !opened {
                opened = true
                _ = exchange!.send(VenueCommand(symbol: symbol, decidedAt: x.clock,
                                                action: .submit(nil, .market(.buy, qty: try instrument.quantity("0.05")))))
            }
            // Every 400 events: a post-only bid and ask at the touch, 0.01 BTC each (at most 6 resting).
            if events % 400 == 0, venue.engine.openOrderCount < 6, let bid = venue.engine.book.bestBid, let ask = venue.engine.book.bestAsk {
                for (side, price) in [(Side.buy, bid.price), (.sell, ask.price)] {
                    _ = exchange!.send(VenueCommand(symbol: symbol, decidedAt: x.clock,
                                                    action: .submit(nil, .limit(side, price: price, qty: try instrument.quantity("0.01"),
                                                                                timeInForce: .postOnly))))
                }
            }
        }
        #expect(fills > 0)
        #expect(exchange?.symbols.values.first?.ledger.size == signedQty)
        // The capture crosses 2023-04-05 00:00 UTC with the long still open: exactly one settlement, at that instant.
        #expect(fundings.count == 1)
    }
}
