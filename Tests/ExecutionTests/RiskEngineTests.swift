import CascadeCore
import Execution
import Testing

@Suite struct RiskEngineTests {
    let btc = SymbolID(index: 0), eth = SymbolID(index: 1)
    func usdt(_ n: Int64) -> USDT { USDT(units: Int128(n) * 100_000_000) }

    /// Equity 10,000: order ≤ min(1,000, 5 % = 500) = 500; symbol ≤ min(5,000, 20 % = 2,000) = 2,000;
    /// portfolio ≤ min(10,000, 50 % = 5,000) = 5,000; episode ≤ min(3,000, 15 % = 1,500) = 1,500.
    var engine: RiskEngine { RiskEngine() }

    @Test func eachLimitIsTheSmallerOfItsCapAndItsShareOfEquity() {
        let e = engine
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(500), isNewEpisode: true, exposure: Exposure(), equity: usdt(10_000), now: 0) == nil)
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(501), isNewEpisode: true, exposure: Exposure(), equity: usdt(10_000), now: 0)
            == .orderNotional(limit: usdt(500), wanted: usdt(501)))
        // With equity 100,000 the absolute cap of 1,000 binds instead.
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1_001), isNewEpisode: true, exposure: Exposure(), equity: usdt(100_000), now: 0)
            == .orderNotional(limit: usdt(1_000), wanted: usdt(1_001)))
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1), isNewEpisode: true, exposure: Exposure(), equity: nil, now: 0) == .noEquity)
    }

    @Test func restingEntriesCountAsIfFilled() {
        var x = Exposure()
        x.positions[btc] = usdt(1_200)            // long 1,200
        x.restingBuys[btc] = usdt(400)            // and 400 more resting: worst case 1,600
        x.restingLayers = 1
        x.episodeNotional = usdt(400)
        // +400 → 2,000: at the symbol limit, allowed; +401 would exceed it.
        #expect(engine.check(symbol: btc, side: .buy, notional: usdt(400), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0) == nil)
        #expect(engine.check(symbol: btc, side: .buy, notional: usdt(401), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == .positionPerSymbol(limit: usdt(2_000), worstCase: usdt(2_001)))
        // Portfolio: ETH long 3,001 plus BTC's worst case 1,600 + the order: 399 makes 5,000 (allowed), 400 makes
        // 5,001 (the symbol limit still holds at 2,000; the portfolio's 5,000 does not).
        x.positions[eth] = usdt(3_001)
        #expect(engine.check(symbol: btc, side: .buy, notional: usdt(399), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == nil)
        #expect(engine.check(symbol: btc, side: .buy, notional: usdt(400), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == .portfolioExposure(limit: usdt(5_000), worstCase: usdt(5_001)))
    }

    /// Each symbol counts once in the portfolio, whichever tables hold it: resting on both sides (ETH: worst 2,000),
    /// resting sells only (SOL: 1,201), a position with resting sells (XRP: 1,300), and the order's own symbol in no
    /// table (BTC: the order). 4,501 + 499 = 5,000 is allowed; 4,501 + 500 exceeds the portfolio's 5,000.
    @Test func thePortfolioCountsEverySymbolOnce() {
        let sol = SymbolID(index: 2), xrp = SymbolID(index: 3)
        var x = Exposure()
        x.restingBuys[eth] = usdt(1_000)
        x.restingSells[eth] = usdt(2_000)
        x.restingSells[sol] = usdt(1_201)
        x.positions[xrp] = usdt(1_300)
        x.restingSells[xrp] = usdt(300)
        #expect(engine.check(symbol: btc, side: .buy, notional: usdt(499), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == nil)
        #expect(engine.check(symbol: btc, side: .sell, notional: usdt(500), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == .portfolioExposure(limit: usdt(5_000), worstCase: usdt(5_001)))
    }

    @Test func layersEpisodesCooldownAndModes() {
        var e = engine
        var x = Exposure()
        x.restingLayers = 5
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == .concurrentLayers(limit: 5))
        x.restingLayers = 0
        x.episodeNotional = usdt(1_400)
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(101), isNewEpisode: false, exposure: x, equity: usdt(10_000), now: 0)
            == .episodeNotional(limit: usdt(1_500), worstCase: usdt(1_501)))
        for k in 0..<6 { e.recordEpisodeStart(at: Int64(k) * 60_000_000_000) }
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1), isNewEpisode: true, exposure: Exposure(), equity: usdt(10_000),
                        now: 400_000_000_000) == .episodesPerHour(limit: 6))
        // An hour after the first start, one of the six has left the window.
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1), isNewEpisode: true, exposure: Exposure(), equity: usdt(10_000),
                        now: 3_600_000_000_001) == nil)
        e.recordStop(at: 4_000_000_000_000)
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1), isNewEpisode: false, exposure: Exposure(), equity: usdt(10_000),
                        now: 4_100_000_000_000) == .cooldownAfterStop(until: 4_300_000_000_000))
        e.setMode(.halted)
        #expect(e.check(symbol: btc, side: .buy, notional: usdt(1), isNewEpisode: false, exposure: Exposure(), equity: usdt(10_000),
                        now: 9_000_000_000_000) == .halted)
    }

    @Test func symbolAmountsSetReadRemoveAndCompareInAnyOrder() {
        let sol = SymbolID(index: 2)
        var a = SymbolAmounts()
        a[btc] = usdt(1)
        a[eth, default: .zero] = a[eth, default: .zero] + usdt(2)
        a[eth, default: .zero] = a[eth, default: .zero] + usdt(3)
        #expect(a[btc] == usdt(1) && a[eth] == usdt(5) && a[sol] == nil && a.count == 2)
        #expect(Array(a.symbols) == [btc, eth])
        a[btc] = nil
        #expect(a[btc] == nil && Array(a.symbols) == [eth])
        a[sol] = nil     // removing what is absent changes nothing
        #expect(a.count == 1)
        // Equal (and hashed alike) whatever order the symbols were set in, unequal when one amount differs.
        let x: SymbolAmounts = [btc: usdt(1), eth: usdt(2)], y: SymbolAmounts = [eth: usdt(2), btc: usdt(1)]
        #expect(x == y && x.hashValue == y.hashValue)
        #expect(x != [btc: usdt(1), eth: usdt(3)] && x != [btc: usdt(1), sol: usdt(2)] && x != [btc: usdt(1), eth: usdt(2), sol: usdt(0)])
        // Removed from the middle: the others keep their order; set again, it goes last.
        var z: SymbolAmounts = [btc: usdt(1), eth: usdt(2), sol: usdt(3)]
        z[eth] = nil
        #expect(Array(z.symbols) == [btc, sol] && z[sol] == usdt(3))
        z[eth] = usdt(4)
        #expect(Array(z.symbols) == [btc, sol, eth] && z == [eth: usdt(4), sol: usdt(3), btc: usdt(1)])
    }
}
