import CascadeCore
import CascadeTesting
import Simulation
import Testing

/// The ledger's arithmetic worked by hand (Bybit's execution example: 0.5 × 95900.1 = 47950.05, fee 26.3725275).
@Suite struct PositionLedgerTests {
    let m = MarketBuilder()
    func u(_ s: String) -> USDT { try! USDT(s) }
    func fee(_ price: String, _ qty: String, maker: Bool = false) -> USDT {
        m.instrument.notional(price: m.p(price), qty: m.q(qty))!.multiplied(by: maker ? FeeSchedule.bybitDefault.maker : FeeSchedule.bybitDefault.taker)!
    }
    func apply(_ l: inout PositionLedger, _ side: Side, _ price: String, _ qty: String, fee: USDT, at ms: Int64 = 1) -> PositionLedger.Outcome {
        l.apply(side: side, price: m.p(price), qty: m.q(qty), fee: fee, at: ExchangeTime(milliseconds: ms))
    }

    @Test func feesRealiseAtOnceAndAClosePaysItsShareOfTheOpeningFee() {
        var l = PositionLedger(instrument: m.instrument)
        let openFee = fee("95900.1", "0.5")
        #expect(openFee == u("26.3725275"))
        _ = apply(&l, .buy, "95900.1", "0.5", fee: openFee)
        #expect(l.entryValue == u("47950.05") && l.averageEntryPrice == m.p("95900.1"))
        #expect(l.cumulativeRealisedPnl == u("-26.3725275") && l.currentRealisedPnl == u("-26.3725275"))
        let closeFee = fee("96000.0", "0.2", maker: true)                 // 19200 × 0.0002 = 3.84
        let outcome = apply(&l, .sell, "96000.0", "0.2", fee: closeFee)
        // Price PnL 19200 − 47950.05 × 0.2 / 0.5 = 19.98; closed after costs: − 26.3725275 × 0.4 − 3.84.
        #expect(outcome.closedQty == m.q("0.2") && outcome.closedPnl == u("19.98"))
        #expect(outcome.closedPnlAfterCosts == u("5.590989"))
        #expect(l.entryValue == u("28770.03") && l.size == m.q("0.3").units && l.openCosts == u("15.8235165"))
        // Realised: −26.3725275 − 3.84 + 19.98 (the wallet moves by exactly this).
        #expect(l.cumulativeRealisedPnl == u("-10.2325275") && l.walletContribution == u("-10.2325275"))
    }

    @Test func aFillThatFlipsThePositionOpensTheRestAtTheFillPrice() {
        var l = PositionLedger(instrument: m.instrument)
        _ = apply(&l, .buy, "95900.1", "0.3", fee: .zero)                    // E = 28770.03
        let outcome = apply(&l, .sell, "96100.0", "0.5", fee: u("0.5"))
        #expect(outcome.closedQty == m.q("0.3") && outcome.closedPnl == u("59.97"))   // 28830 − 28770.03
        // 0.5 × 0.3 / 0.5 = 0.3 of the fee closed; the other 0.2 opened the short (its only realised PnL yet).
        #expect(outcome.closedPnlAfterCosts == u("59.67") && l.openCosts == u("0.2") && l.currentRealisedPnl == u("-0.2"))
        #expect(l.size == -m.q("0.2").units && l.entryValue == u("-19220"))
        #expect(l.unrealisedPnL(mark: m.p("96000.0")) == u("20"))               // short 0.2 from 96100 at 96000
    }

    @Test(arguments: [
        // (side, rate, mark, paid by the account)
        (Side.buy, "0.0001", "96000", "4.8"), (.sell, "0.0001", "96000", "-4.8"),
        (.buy, "-0.0002", "95000", "-9.5"), (.sell, "-0.0002", "95000", "9.5"),
    ])
    func fundingOfBothSignsOnBothSides(side: Side, rate: String, mark: String, paid: String) throws {
        var l = PositionLedger(instrument: m.instrument)
        _ = apply(&l, side, "95900.1", "0.5", fee: .zero)
        #expect(l.settleFunding(rate: try Rate(rate), mark: m.p(mark)) == u(paid))
        #expect(l.walletContribution == -u(paid) && l.fundingPaid == u(paid))
        // The funding the position carried is part of what closing it earned.
        let outcome = apply(&l, side.opposite, "95900.1", "0.5", fee: .zero)
        #expect(outcome.closedPnl == .zero && outcome.closedPnlAfterCosts == -u(paid))
    }

    @Test func flatPositionsPayNoFundingRebatesRealiseAndCurrentRestartsFromFlat() throws {
        var l = PositionLedger(instrument: m.instrument)
        #expect(l.settleFunding(rate: try Rate("0.01"), mark: m.p("100")) == .zero)
        _ = apply(&l, .buy, "100", "1", fee: u("-0.01"))
        #expect(l.walletContribution == u("0.01"))
        _ = apply(&l, .sell, "101", "1", fee: u("0.05"))
        #expect(l.currentRealisedPnl == u("0.96") && l.size == 0)           // 0.01 + 1 − 0.05, kept while flat
        _ = apply(&l, .sell, "101", "1", fee: u("0.05"), at: 9)
        #expect(l.currentRealisedPnl == u("-0.05") && l.cumulativeRealisedPnl == u("0.91") && l.openedAt == ExchangeTime(milliseconds: 9))
    }

    @Test(arguments: [5 as UInt64, 6, 7])
    func wholeLedgerEqualsAnIndependentCashCount(seed: UInt64) throws {
        var rng = SeededRandom(seed: seed)
        var l = PositionLedger(instrument: m.instrument)
        var signedQty: Int64 = 0
        var cash = USDT.zero           // Σ over fills of −signedValue − fee, plus −funding
        for _ in 0..<2_000 {
            let mark = m.p(FixedDecimal.format(Int64(90_000 + rng.next() % 2_000), digits: 0) + "." + String(rng.next() % 10))
            if rng.next() % 10 == 0 {
                let rate = Rate(units: Int64(rng.next() % 2_000_001) - 1_000_000)   // ±0.0001
                cash = cash - l.settleFunding(rate: rate, mark: mark)
            } else {
                let side: Side = rng.next() % 2 == 0 ? .buy : .sell
                let price = FixedDecimal.format(Int64(90_000 + rng.next() % 2_000), digits: 0) + ".5"
                let qty = FixedDecimal.format(Int64(1 + rng.next() % 900), digits: 3)
                let f = fee(price, qty, maker: rng.next() % 2 == 0)
                _ = apply(&l, side, price, qty, fee: f)
                let value = try #require(m.instrument.notional(price: m.p(price), qty: m.q(qty)))
                signedQty += side == .buy ? m.q(qty).units : -m.q(qty).units
                cash = cash - (side == .buy ? value : -value) - f
            }
            let markValue = try #require(m.instrument.notional(price: mark, qty: Quantity(units: abs(signedQty))))
            #expect(l.walletContribution + l.unrealisedPnL(mark: mark) == cash + (signedQty >= 0 ? markValue : -markValue))
            #expect(l.size == signedQty)
        }
    }
}
