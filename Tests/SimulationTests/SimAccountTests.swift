import CascadeCore
import CascadeTesting
import Simulation
import Testing

@Suite struct SimAccountTests {
    let m = Market()

    func fill(_ side: Side, _ price: String, _ qty: String, maker: Bool = false, fee: String? = nil) throws -> SimFill {
        let p = m.p(price), q = m.q(qty)
        let value = try #require(m.instrument.notional(price: p, qty: q))
        let rate = maker ? SimFees.bybitDefault.maker : SimFees.bybitDefault.taker
        let f = try fee.map { try USDT($0) } ?? #require(value.multiplied(by: rate))
        return SimFill(orderID: SimOrderID(1), clientID: "c", side: side, price: p, qty: q, isMaker: maker, value: value,
                       fee: f, exchangeTime: ExchangeTime(milliseconds: 1))
    }

    @Test func takerFeeAndRealisedPnLToTheDigit() throws {
        var a = SimAccount(instrument: m.instrument, wallet: try USDT("10000"))
        a.apply(try fill(.buy, "95900.1", "0.5"))
        let fee = try USDT("26.3725275"), wallet = try USDT("9973.6274725"), entry = try USDT("47950.05")
        #expect(a.feesPaid == fee && a.wallet == wallet)
        #expect(a.entryValue == entry && a.averageEntryPrice == m.p("95900.1"))
        a.apply(try fill(.sell, "96000.0", "0.2", maker: true))      // maker fee 19200 × 0.0002 = 3.84
        #expect(a.realisedPnL == (try USDT("19.98")))                 // 19200 − 47950.05 × 0.2 / 0.5
        let remaining = try USDT("28770.03")
        #expect(a.entryValue == remaining && a.size == m.q("0.3").units)
        #expect(a.wallet == (try USDT("9989.7674725")))               // 9973.6274725 − 3.84 + 19.98
    }

    @Test func aFillThatFlipsThePositionOpensTheRestAtTheFillPrice() throws {
        var a = SimAccount(instrument: m.instrument, wallet: try USDT("10000"))
        a.apply(try fill(.buy, "95900.1", "0.3", fee: "0"))           // E = 28770.03
        a.apply(try fill(.sell, "96100.0", "0.5", fee: "0"))
        #expect(a.realisedPnL == (try USDT("59.97")))                 // 28830 − 28770.03
        let shortEntry = try USDT("-19220")
        #expect(a.size == -m.q("0.2").units && a.entryValue == shortEntry)
        #expect(a.unrealisedPnL(mark: m.p("96000.0")) == (try USDT("20")))   // short 0.2 from 96100 at 96000
    }

    @Test(arguments: [
        // (side, rate, mark, paid by the account)
        (Side.buy, "0.0001", "96000", "4.8"), (.sell, "0.0001", "96000", "-4.8"),
        (.buy, "-0.0002", "95000", "-9.5"), (.sell, "-0.0002", "95000", "9.5"),
    ])
    func fundingOfBothSignsOnBothSides(side: Side, rate: String, mark: String, paid: String) throws {
        var a = SimAccount(instrument: m.instrument, wallet: try USDT("1000"))
        a.apply(try fill(side, "95900.1", "0.5", fee: "0"))
        let amount = a.settleFunding(rate: try Rate(rate), mark: m.p(mark))
        #expect(amount == (try USDT(paid)))
        let expectedPaid = try USDT(paid)
        let expectedWallet = try USDT("1000") - expectedPaid
        #expect(a.wallet == expectedWallet && a.fundingPaid == expectedPaid)
    }

    @Test func flatAccountsPayNoFundingAndRebatesAddToTheWallet() throws {
        var a = SimAccount(instrument: m.instrument, wallet: try USDT("100"))
        #expect(a.settleFunding(rate: try Rate("0.01"), mark: m.p("100")) == .zero)
        a.apply(try fill(.buy, "100", "1", maker: true, fee: "-0.01"))
        #expect(a.wallet == (try USDT("100.01")))
    }

    @Test(arguments: [5 as UInt64, 6, 7])
    func walletPlusUnrealisedIsAlwaysTheLedgerEquity(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let initial = try USDT("5000")
        var a = SimAccount(instrument: m.instrument, wallet: initial)
        var signedQty: Int64 = 0
        var cash = USDT.zero           // Σ over fills of −signedValue − fee, plus −funding
        for _ in 0..<2_000 {
            let mark = m.p(FixedDecimal.format(Int64(90_000 + rng.next() % 2_000), digits: 0) + "." + String(rng.next() % 10))
            if rng.next() % 10 == 0 {
                let rate = Rate(units: Int64(rng.next() % 2_000_001) - 1_000_000)   // ±0.0001
                cash = cash - a.settleFunding(rate: rate, mark: mark)
            } else {
                let side: Side = rng.next() % 2 == 0 ? .buy : .sell
                let f = try fill(side, FixedDecimal.format(Int64(90_000 + rng.next() % 2_000), digits: 0) + ".5",
                                 FixedDecimal.format(Int64(1 + rng.next() % 900), digits: 3), maker: rng.next() % 2 == 0)
                a.apply(f)
                signedQty += side == .buy ? f.qty.units : -f.qty.units
                cash = cash - (side == .buy ? f.value : -f.value) - f.fee
            }
            let markValue = try #require(m.instrument.notional(price: mark, qty: Quantity(units: abs(signedQty))))
            let ledger = initial + cash + (signedQty >= 0 ? markValue : -markValue)
            #expect(a.equity(mark: mark) == ledger)
            #expect(a.size == signedQty)
        }
    }
}
