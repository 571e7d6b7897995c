import CascadeCore
import Execution
import Testing

@Suite struct PortfolioTests {
    let btc = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    func p(_ text: String) -> Price { Price(units: try! FixedDecimal.parse(text, digits: 8)) }
    func q(_ text: String) -> Quantity { Quantity(units: try! FixedDecimal.parse(text, digits: 6)) }
    func usdt(_ text: String) -> USDT { try! USDT(text) }

    func fill(_ side: Side, _ qty: String, at price: String, fee: String, _ id: String) -> Fill {
        Fill(venueID: VenueOrderID("v"), clientID: nil, executionID: ExecutionID(id), side: side, price: p(price), qty: q(qty),
             liquidity: .maker, fee: usdt(fee), feeRate: nil, leavesQty: nil)
    }

    @Test func twoLayersATakeProfitAndFundingByHand() throws {
        var book = Portfolio(startingBalance: usdt("10000"))
        let t = ExchangeTime(milliseconds: 0)
        // Two buy layers: 0.010 @ 60,000 and 0.010 @ 59,000, maker fee 0.02 % (0.12 and 0.118 USDT).
        book.apply(fill(.buy, "0.010", at: "60000", fee: "0.12", "e1"), instrument: btc, at: t)
        book.apply(fill(.buy, "0.010", at: "59000", fee: "0.118", "e2"), instrument: btc, at: t)
        #expect(book.size(btc.id) == 20_000)
        #expect(book.ledgers[btc.id]?.averageEntryPrice == p("59500"))
        // Unrealised at mark 59,800: 0.02 × 59,800 − 1,190 = 6 USDT; wallet 10,000 − 0.238 fees.
        #expect(book.wallet == usdt("9999.762"))
        #expect(book.equity(marks: [btc.id: p("59800")]) == usdt("10005.762"))
        #expect(book.equity(marks: [:]) == nil)                          // no mark, no guessed equity
        // Funding: the long pays 0.01 % of 0.02 × 59,900 = 0.1198 USDT (the venue's reported amount).
        book.apply(FundingPayment(executionID: ExecutionID("f1"), positionSize: q("0.02"), markPrice: p("59900"),
                                  rate: try Rate("0.0001"), amount: usdt("0.1198")), instrument: btc)
        #expect(book.size(btc.id) == 20_000)                              // funding is never a fill
        #expect(book.funding[btc.id] == usdt("0.1198"))
        // Take profit: sell 0.020 @ 59,800, maker fee 0.2392: price PnL 0.02 × 59,800 − 1,190 = 6.
        let out = book.apply(fill(.sell, "0.020", at: "59800", fee: "0.2392", "e3"), instrument: btc, at: t)
        #expect(out.closedPnl == usdt("6"))
        #expect(book.size(btc.id) == 0)
        // Wallet: 10,000 + 6 − 0.238 − 0.2392 − 0.1198 = 10,005.403.
        #expect(book.wallet == usdt("10005.403"))
        #expect(book.equity(marks: [:]) == usdt("10005.403"))
    }
}
