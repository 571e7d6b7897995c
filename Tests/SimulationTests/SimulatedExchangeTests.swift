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
    func aLadderOnRealDataKeepsTheLedgerAndSettlesFundingOnce() throws {
        let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/btcusdt_2023-04-04T2358.frames.gz").path
        var reader = try FrameFileReader(path: path)
        var decoder = BybitPublicDecoder()
        let instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
        var exchange = SimulatedExchange(configuration: SimConfiguration(instrument: instrument), depth: 200,
                                         wallet: try USDT("10000"))
        let initial = try USDT("10000")
        var signedQty: Int64 = 0
        var cash = USDT.zero
        var mark: Price?
        var fundings: [SimReport] = []
        var fills = 0
        var events = 0
        var lastSeen = ExchangeTime(milliseconds: 0)
        let fundingTime = ExchangeTime(milliseconds: 1_680_652_800_000)   // 2023-04-05 00:00 UTC (data README)
        var positionAtFunding: Int64?
        while let line = try reader.next() {
            guard let message = try? decoder.decode(line.json, localTime: line.localTime), let event = message.marketEvent else { continue }
            if case let .book(u) = event, u.depth != 200 { continue }
            if case let .ticker(t) = event, let m = t.fields.markPrice { mark = m }
            if positionAtFunding == nil, eventTime(event) >= fundingTime { positionAtFunding = signedQty }
            let reports = exchange.on(event)
            events += 1
            for report in reports {
                switch report {
                case let .filled(f):
                    fills += 1
                    signedQty += f.side == .buy ? f.qty.units : -f.qty.units
                    cash = cash - (f.side == .buy ? f.value : -f.value) - f.fee
                case let .funding(paid, rate, fundingMark, _):
                    // Only a position open at that instant pays: size × mark × rate, longs pay when positive.
                    let value = try #require(instrument.notional(price: fundingMark, qty: Quantity(units: abs(signedQty))))
                    let amount = try #require(value.multiplied(by: rate))
                    #expect(signedQty != 0 && paid == (signedQty > 0 ? amount : -amount))
                    cash = cash - paid
                    fundings.append(report)
                case .fundingNotSimulated:
                    fundings.append(report)
                default:
                    break
                }
            }
            // After every event: wallet + unrealised = the independent ledger at the current mark.
            if let mark {
                let markValue = try #require(instrument.notional(price: mark, qty: Quantity(units: abs(signedQty))))
                #expect(exchange.account.equity(mark: mark) == initial + cash + (signedQty >= 0 ? markValue : -markValue))
            }
            if case let .book(u) = event {
                // Open a long of 0.05 BTC at the first book, so a position is held through the funding time.
                if lastSeen.milliseconds == 0 {
                    exchange.submit(.place(clientID: "open", side: .buy, price: nil, qty: try instrument.quantity("0.05"),
                                           timeInForce: .immediateOrCancel), lastSeen: u.exchangeTime)
                }
                lastSeen = u.exchangeTime
            }
            // Every 400 events: a post-only bid and ask at the touch, 0.01 BTC each (at most 6 resting).
            if events % 400 == 0, exchange.engine.openOrderCount < 6, let bid = exchange.engine.book.bestBid,
               let ask = exchange.engine.book.bestAsk {
                exchange.submit(.place(clientID: "b\(events)", side: .buy, price: bid.price, qty: try instrument.quantity("0.01"),
                                       timeInForce: .postOnly), lastSeen: lastSeen)
                exchange.submit(.place(clientID: "a\(events)", side: .sell, price: ask.price, qty: try instrument.quantity("0.01"),
                                       timeInForce: .postOnly), lastSeen: lastSeen)
            }
        }
        #expect(fills > 0)
        #expect(exchange.account.size == signedQty)
        // The capture crosses 2023-04-05 00:00 UTC with the long still open: exactly one settlement.
        #expect(try #require(positionAtFunding) != 0)
        #expect(fundings.count == 1)
    }

    func eventTime(_ event: MarketEvent) -> ExchangeTime {
        switch event {
        case let .book(u): u.exchangeTime
        case let .trades(t): t.first?.tradeTime ?? ExchangeTime(milliseconds: 0)
        case let .ticker(t): t.exchangeTime
        case let .liquidations(l): l.first?.exchangeTime ?? ExchangeTime(milliseconds: 0)
        case let .klines(k): k.first?.exchangeTime ?? ExchangeTime(milliseconds: 0)
        }
    }
}
