@testable import BybitSimulator
import BybitV5
import BybitV5Client
import CascadeCore
import Foundation
import Logging
import MarketData
import Simulation
import Synchronization
import CascadeTesting
import Testing

/// Our own REST and private-stream clients trading against `cascade sim` in lockstep: every step of the replay
/// is taken by the test, so what the exchange saw when each order arrived is known exactly.
@Suite(.serialized) struct SimTradingTests {
    static let key = "cascade-test-key"
    static let secret = "cascade-test-secret"
    static let btc = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")

    struct Session {
        let sim: SimulatorHarness
        let client: PrivateClientSession
        var rest: BybitRESTClient { client.rest }
        var log: PrivateEventLog { client.log }
        func stop() {
            client.stop()
            sim.stop()
        }
    }

    /// A lockstep sim with 20 frames replayed and our private client running.
    static func session(secret: String = SimTradingTests.secret, settings: VenueSettings = VenueSettings()) async throws -> Session {
        let sim = try await SimulatorHarness.start(frames: 300, speed: .lockstep, settings: settings)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        return session(on: sim, secret: secret)
    }

    /// Our REST and private-stream clients on `sim` (default test key); the private client's events are logged.
    static func session(on sim: SimulatorHarness, secret: String = SimTradingTests.secret) -> Session {
        Session(sim: sim, client: PrivateClientSession(port: sim.port, apiKey: key, secret: secret))
    }

    /// Best ask of the sim's matching book (the book an order arriving now meets).
    static func bestAsk(_ sim: SimulatorHarness) async -> Price? {
        await sim.replay.account("default")?.exchange.symbols[btc.id]?.engine.book.bestAsk?.price
    }

    @Test func aMarketBuyPlacedOverRESTComesBackAsOrderExecutionPositionAndWalletMessages() async throws {
        let s = try await Self.session()
        defer { s.stop() }
        #expect(await s.log.wait { _ in s.log.isTrusted })
        let ask = try #require(await Self.bestAsk(s.sim))
        let qty = try Self.btc.quantity("0.001")
        let order = BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .market, qty: qty, orderLinkId: "mkt-1")
        let created = try await s.rest.send(.createOrder(order), as: BybitOrderIDResult.self)
        #expect(created.retCode.rawValue == 0)
        // Nothing happens until the exchange clock passes the order's arrival (last event seen + 10 ms).
        #expect(s.log.executions.isEmpty)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await s.log.wait { _ in !s.log.executions.isEmpty && s.log.orders.contains { $0.orderStatus == .filled } })
        let fill = try #require(s.log.executions.first)
        #expect(fill.orderLinkId == "mkt-1" && fill.execType == .trade && !fill.isMaker)
        #expect(fill.execPrice == ask && fill.execQty == qty)
        // Value = ask × 0.001 exactly; taker fee 0.055% of it, rounded half to even at 1e-8 USDT.
        let value = Int128(ask.units) * Int128(qty.units) / 100_000_000 * 100_000_000 / 1_000_000   // 1e-8 USDT
        #expect(fill.execValue?.units == value)
        let feeTimes = value * 55
        var fee = feeTimes / 100_000
        let rest = feeTimes % 100_000
        if rest > 50_000 || (rest == 50_000 && fee % 2 == 1) { fee += 1 }
        #expect(fill.execFee?.units == fee)
        #expect(s.log.positions.last?.size == qty && s.log.positions.last?.side == .long)
        let wallet = try #require(s.log.wallets.last?.totalWalletBalance)
        #expect(wallet.units == Int128(100_000) * 100_000_000 - fee)
        // The REST execution list agrees with the stream.
        let listed = try await s.rest.send(.executionList(symbol: "BTCUSDT"), as: BybitExecutionListResult.self)
        var table = InstrumentTable()
        #expect(try listed.result?.executions(instruments: &table).map(\.execId) == [fill.execId])
    }

    @Test func theConfiguredEntryLatencyDecidesWhichEventAnOrderMeets() async throws {
        // Book at ts …020, then a ticker every 20 ms from …040. The client has seen the ticker at …040 when it sends,
        // so with 50 ms entry latency the order arrives at …090: not processed by the events at …060 and …080,
        // processed (and filled) by the one at …100.
        var settings = VenueSettings()
        settings.entryLatency = .constant(milliseconds: 50)
        let sim = try await SimulatorHarness.start(lines: SimLiquidationTests.frames(), speed: .lockstep, settings: settings)
        defer { sim.stop() }
        _ = try await sim.replay.advance(frames: 2, milliseconds: nil)   // book …020, ticker …040
        var logger = Logger(label: "sim-latency-test")
        logger.logLevel = .critical
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(sim.port)",
                                   credentials: BybitCredentials(apiKey: Self.key, secret: Self.secret),
                                   recvWindow: LoopbackTest.recvWindow, logger: logger)
        let order = BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .market, qty: try Self.btc.quantity("0.001"), orderLinkId: "late")
        #expect(try await rest.send(.createOrder(order), as: BybitOrderIDResult.self).retCode.rawValue == 0)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)   // …060
        #expect(await sim.replay.account("default")?.executions.isEmpty == true)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)   // …080
        #expect(await sim.replay.account("default")?.executions.isEmpty == true)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)   // …100
        let account = try #require(await sim.replay.account("default"))
        let offset = await sim.replay.timeOffset
        #expect(account.executions.count == 1 && account.executions.first?.execTime.milliseconds == 1_721_347_021_090 + offset)
    }

    @Test func aLockstepStepInMillisecondsMovesTheExchangeClockWhereNoFrameFalls() async throws {
        // Frames are 20 ms apart. Sent after the ticker at …040 with 5 ms latency, the order arrives at …045; a
        // {"ms":10} step holds no frame, yet the exchange clock reaches …050 and the order is processed then.
        var settings = VenueSettings()
        settings.entryLatency = .constant(milliseconds: 5)
        let sim = try await SimulatorHarness.start(lines: SimLiquidationTests.frames(), speed: .lockstep, settings: settings)
        defer { sim.stop() }
        _ = try await sim.replay.advance(frames: 2, milliseconds: nil)   // book …020, ticker …040
        var logger = Logger(label: "sim-ms-test")
        logger.logLevel = .critical
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(sim.port)",
                                   credentials: BybitCredentials(apiKey: Self.key, secret: Self.secret),
                                   recvWindow: LoopbackTest.recvWindow, logger: logger)
        let order = BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .market, qty: try Self.btc.quantity("0.001"), orderLinkId: "ms")
        #expect(try await rest.send(.createOrder(order), as: BybitOrderIDResult.self).retCode.rawValue == 0)
        let step = try await sim.replay.advance(frames: nil, milliseconds: 4)
        let before = await sim.replay.account("default")?.executions.isEmpty
        #expect(step.frames == 0 && before == true)
        let next = try await sim.replay.advance(frames: nil, milliseconds: 6)
        #expect(next.frames == 0)
        let account = try #require(await sim.replay.account("default"))
        let offset = await sim.replay.timeOffset
        #expect(account.executions.count == 1 && account.executions.first?.execTime.milliseconds == 1_721_347_021_045 + offset)
        #expect(next.exchangeTime == 1_721_347_021_050 + offset)
        // The frame at …060 still comes with the step that reaches its receive time.
        #expect(try await sim.replay.advance(frames: nil, milliseconds: 10).frames == 1)
    }

    @Test func closingAPositionReportsBybitsPnLFieldsAndNoPlaceholders() async throws {
        let s = try await Self.session()
        defer { s.stop() }
        #expect(await s.log.wait { _ in s.log.isTrusted })
        let q = try Self.btc.quantity("0.002")
        _ = try await s.rest.send(.createOrder(BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .market, qty: q,
                                                                    orderLinkId: "pnl-open")), as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await s.log.wait { _ in s.log.positions.contains { $0.size == q } })
        let open = try #require(s.log.positions.last { $0.size == q })
        _ = try await s.rest.send(.createOrder(BybitOrderParameters(instrument: Self.btc, side: .sell, orderType: .market, qty: q,
                                                                    orderLinkId: "pnl-close", reduceOnly: true)), as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await s.log.wait { _ in s.log.executions.contains { $0.orderLinkId == "pnl-close" } })
        #expect(await s.log.wait { _ in s.log.orders.contains { $0.orderLinkId == "pnl-close" && $0.orderStatus == .filled } })
        let entry = try #require(s.log.executions.first { $0.orderLinkId == "pnl-open" })
        let exit = try #require(s.log.executions.first { $0.orderLinkId == "pnl-close" })
        let closeOrder = try #require(s.log.orders.last { $0.orderLinkId == "pnl-close" })
        // Bybit's meanings: execPnl is the closing trade's cash flow (no fees, no funding); the order's closedPnl and the
        // position's realised PnL include the fees to open and to close.
        let pricePnL = try #require(Self.btc.notional(price: exit.execPrice, qty: q)) - (try #require(Self.btc.notional(price: entry.execPrice, qty: q)))
        let fees = try #require(entry.execFee) + (try #require(exit.execFee))
        // No placeholders: the position says when it opened; a bankruptcy price exists only where a positive price
        // would bankrupt the account (not for 0.002 BTC in 100,000 USDT: "", as Bybit writes an absent price).
        #expect(open.createdTime != nil && open.createdTime != ExchangeTime(milliseconds: 0))
        #expect(open.bustPrice == nil && open.liqPrice == nil)
        #expect(exit.execPnl == pricePnL && exit.closedSize == q)
        #expect(closeOrder.closedPnl == pricePnL - fees)
        #expect(await s.log.wait { _ in s.log.positions.last?.cumRealisedPnl == pricePnL - fees })
        #expect(s.log.positions.last?.curRealisedPnl == pricePnL - fees && s.log.positions.last?.bustPrice == nil)
        #expect(await s.log.wait { _ in s.log.wallets.last?.usdt?.cumRealisedPnl?.usdt == pricePnL - fees })
    }

    /// A cancel sent while the order rests, a fill before the cancel arrives: Bybit sends the order `Filled` twice,
    /// the second time with `cancelType` `CancelByUser` and `rejectReason` `EC_OrigClOrdIDDoesNotExist` (§3.3).
    @Test func aCancelThatLosesTheRaceToAFillShowsTwoFilledMessages() async throws {
        let lines = [
            #"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1721347021020,"data":{"s":"BTCUSDT","b":[["63999.9","5"]],"a":[["64000.0","5"],["64000.5","0.5"]],"u":1,"seq":1},"cts":1721347021019}"#,
            #"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"64000.0","markPrice":"64000.0","indexPrice":"64000.0"},"cs":1,"ts":1721347021040}"#,
            #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1721347021052,"data":{"s":"BTCUSDT","b":[["63999.9","4"]],"a":[],"u":2,"seq":2},"cts":1721347021051}"#,
            #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1721347021056,"data":[{"T":1721347021055,"s":"BTCUSDT","S":"Buy","v":"1","p":"64000.5","L":"PlusTick","i":"race-1","BT":false}]}"#,
            #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","lastPrice":"64000.5"},"cs":2,"ts":1721347021070}"#,
            #"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","lastPrice":"64000.5"},"cs":3,"ts":1721347021090}"#,
        ]
        let sim = try await SimulatorHarness.start(lines: lines, speed: .lockstep)
        let s = Self.session(on: sim)
        defer { s.stop() }
        _ = try await sim.replay.advance(frames: 2, milliseconds: nil)   // book, ticker …040
        #expect(await s.log.wait { _ in s.log.isTrusted })
        let sell = BybitOrderParameters(instrument: Self.btc, side: .sell, orderType: .limit, qty: try Self.btc.quantity("0.001"),
                                        price: try Self.btc.price("64000.5"), timeInForce: .postOnly, orderLinkId: "race")
        _ = try await s.rest.send(.createOrder(sell), as: BybitOrderIDResult.self)   // arrives …050
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)   // …052: resting
        let cancel = try await s.rest.send(.cancelOrder(symbol: "BTCUSDT", order: .orderLinkId("race")), as: BybitOrderIDResult.self)
        #expect(cancel.retCode.rawValue == 0)                          // accepted: the order was open; arrives …062
        _ = try await sim.replay.advance(frames: 3, milliseconds: nil)   // print …055: 0.5 ahead, then ours; the cancel finds nothing
        #expect(await s.log.wait { _ in s.log.orders.contains { $0.orderLinkId == "race" && $0.orderStatus == .filled } })
        let filled = await s.log.wait(.seconds(2)) { _ in s.log.orders.filter { $0.orderLinkId == "race" && $0.orderStatus == .filled }.count == 2 }
        #expect(filled)
        let second = s.log.orders.last { $0.orderLinkId == "race" }
        #expect(second?.cancelType == "CancelByUser" && second?.rejectReason == "EC_OrigClOrdIDDoesNotExist")
        // Our mapper reads it as the refused cancel it is, not as a second fill.
        var mapper = BybitReportMapper()
        let reports = s.log.orders.filter { $0.orderLinkId == "race" }.flatMap { mapper.reports(order: $0) }
        let refused: [RejectReason] = reports.compactMap { if case let .commandRejected(c) = $0.event { c.rejection.reason } else { nil } }
        #expect(refused == [.orderClosed])
    }

    @Test func aCrossingPostOnlyIsAcceptedThenCancelledOnTheStream() async throws {
        let s = try await Self.session()
        defer { s.stop() }
        #expect(await s.log.wait { _ in s.log.isTrusted })
        let ask = try #require(await Self.bestAsk(s.sim))
        let order = BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .limit, qty: try Self.btc.quantity("0.001"),
                                         price: ask, timeInForce: .postOnly, orderLinkId: "po-1")
        let created = try await s.rest.send(.createOrder(order), as: BybitOrderIDResult.self)
        #expect(created.retCode.rawValue == 0)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await s.log.wait { _ in s.log.orders.contains { $0.orderLinkId == "po-1" && $0.orderStatus == .cancelled } })
        let last = try #require(s.log.orders.last { $0.orderLinkId == "po-1" })
        #expect(last.rejectReason == "EC_PostOnlyWillTakeLiquidity")
        #expect(s.log.executions.isEmpty)
    }

    @Test func aWrongSecretIsRefusedByThePrivateStream() async throws {
        let s = try await Self.session(secret: "not-the-secret")
        defer { s.stop() }
        #expect(await s.log.wait { events in
            events.contains { if case let .failed(.authenticationFailed(m), _, _) = $0 { m == "Params Error" } else { false } }
        })
        #expect(!s.log.isTrusted)
    }

    @Test func resetGivesFreshAccountsThatTradeAtOnce() async throws {
        let s = try await Self.session()
        defer { s.stop() }
        let qty = try Self.btc.quantity("0.002")
        let buy = BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .market, qty: qty, orderLinkId: "before-reset")
        _ = try await s.rest.send(.createOrder(buy), as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await s.sim.replay.account("default")?.executions.count == 1)
        await s.sim.replay.resetAccounts()
        let fresh = try #require(await s.sim.replay.account("default"))
        #expect(fresh.executions.isEmpty && fresh.orders.isEmpty && fresh.exchange.walletBalance.units == Int128(100_000) * 100_000_000)
        // The same orderLinkId is free again, and the reset exchange has the current book.
        let again = BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .market, qty: qty, orderLinkId: "before-reset")
        let created = try await s.rest.send(.createOrder(again), as: BybitOrderIDResult.self)
        #expect(created.retCode.rawValue == 0)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await s.sim.replay.account("default")?.executions.count == 1)
    }

    @Test func aBatchCreateAnswersEachItem() async throws {
        let s = try await Self.session()
        defer { s.stop() }
        let q = try Self.btc.quantity("0.001")
        let bid = try Self.btc.price("60000")
        let items = [
            BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .limit, qty: q, price: bid, timeInForce: .postOnly, orderLinkId: "b-1"),
            BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .limit, qty: q, price: bid, timeInForce: .postOnly, orderLinkId: "b-1"),
            BybitOrderParameters(instrument: Self.btc, side: .buy, orderType: .limit, qty: q, price: bid, timeInForce: .postOnly, orderLinkId: "b-2"),
        ]
        let response = try await s.rest.send(.createBatch(items), as: BybitBatchOrderResult.self)
        let outcomes = try response.outcomes()
        #expect(outcomes.map(\.retCode.rawValue) == [0, 110072, 0])
        #expect(outcomes[0].item.orderId.isEmpty == false && outcomes[1].item.orderId.isEmpty)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let open = try await s.rest.send(.realtimeOrders(scope: .symbol("BTCUSDT")), as: BybitOrderListResult.self)
        var table = InstrumentTable()
        #expect(Set(try open.result?.orders(instruments: &table).map(\.orderLinkId) ?? []) == ["b-1", "b-2"])
    }

    @Test func marketTimestampsAreRebasedToTheReplayStart() async throws {
        let sim = try await SimulatorHarness.start(frames: 50, speed: .lockstep)
        defer { sim.stop() }
        let before = Int64(Date().timeIntervalSince1970 * 1000)
        let step = try await sim.replay.advance(frames: 1, milliseconds: nil)
        let after = Int64(Date().timeIntervalSince1970 * 1000)
        // The first event is stamped with the wall time the replay reached it.
        #expect(step.exchangeTime >= before && step.exchangeTime <= after)
        #expect(await sim.replay.timeOffset == step.exchangeTime - 1_721_347_021_020)
    }
}

/// A long at 100x through a falling mark, worked by hand: the sim liquidates it at its bankruptcy price and the
/// private stream says so (cancel before liquidation, `BustTrade`, flat position, empty wallet).
@Suite(.serialized) struct SimLiquidationTests {
    static func frames() -> [String] {
        var lines = [#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1721347021020,"data":{"s":"BTCUSDT","b":[["63999.9","200"],["63999.8","200"]],"a":[["64000.0","200"],["64000.1","200"]],"u":1,"seq":1},"cts":1721347021019}"#,
                     #"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"64000.0","markPrice":"64000.0","indexPrice":"64000.0"},"cs":1,"ts":1721347021040}"#]
        // The mark falls 100 per frame from 63900 (frame 2) to 62000.
        for (i, mark) in stride(from: 63_900, through: 62_000, by: -100).enumerated() {
            lines.append(#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"\#(mark).0"},"cs":\#(i + 2),"ts":\#(1_721_347_021_060 + Int64(i) * 20)}"#)
        }
        return lines
    }

    @Test func aLongIsLiquidatedAtItsBankruptcyPriceAndTheStreamSaysSo() async throws {
        let sim = try await SimulatorHarness.start(lines: Self.frames(), speed: .lockstep)
        let session = SimTradingTests.session(on: sim)
        defer { session.stop() }
        let (rest, log) = (session.rest, session.log)
        _ = try await sim.replay.advance(frames: 2, milliseconds: nil)
        #expect(await log.wait { _ in log.isTrusted })
        let btc = SimTradingTests.btc
        let leverage = try await rest.send(.setLeverage(symbol: "BTCUSDT", buyLeverage: Rate("100"), sellLeverage: Rate("100")),
                                           as: BybitEmptyResult.self)
        #expect(leverage.retCode.rawValue == 0)
        let far = BybitOrderParameters(instrument: btc, side: .buy, orderType: .limit, qty: try btc.quantity("0.001"),
                                       price: try btc.price("50000"), timeInForce: .goodTillCancel, orderLinkId: "far")
        #expect(try await rest.send(.createOrder(far), as: BybitOrderIDResult.self).retCode.rawValue == 0)
        // 100 BTC at 64000: value 6,400,000; cost 64,000 IM + 3,520 open fee + 3,484.8 close fee fits 100,000.
        let big = BybitOrderParameters(instrument: btc, side: .buy, orderType: .market, qty: try btc.quantity("100"), orderLinkId: "big")
        #expect(try await rest.send(.createOrder(big), as: BybitOrderIDResult.self).retCode.rawValue == 0)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)   // mark 63900: filled, equity 86,480
        let hundredBTC = try btc.quantity("100")
        #expect(await log.wait { _ in log.positions.contains { $0.size == hundredBTC } })
        // Liquidation when 96,480 + 100 (mark − 64,000) = 0.5% × 100 × mark: mark 63,351.959798…
        let liq = try #require(log.positions.last { $0.size.units > 0 }?.liqPrice)
        // At 100× the bankruptcy price is where the account's equity is gone: just below the liquidation price.
        let bankruptcy = try #require(log.positions.last { $0.size.units > 0 }?.bustPrice)
        let floor = try btc.price("63000")
        #expect(bankruptcy < liq && bankruptcy > floor)
        let (low, high) = (try btc.price("63351.95"), try btc.price("63351.96"))
        #expect(liq > low && liq < high)
        _ = try await sim.replay.advance(frames: 5, milliseconds: nil)   // marks 63800…63400: equity still above MM
        #expect(log.executions.allSatisfy { $0.execType == .trade })
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)   // mark 63300: equity 26,480 ≤ MM 31,650
        let p = try #require(await sim.replay.account("default")?.exchange)
        #expect(p.walletBalance == .zero && p.symbols[btc.id]?.ledger.size == 0)
        // The stream hears of it one acknowledgement latency later, when the replay clock gets there.
        #expect(log.executions.allSatisfy { $0.execType == .trade })
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await log.wait { _ in log.executions.contains { $0.execType == .bustTrade } })
        let bust = try #require(log.executions.first { $0.execType == .bustTrade })
        // Bankruptcy: 100 × p = 6,330,000 − 26,480 → p = 63,035.2; no fee.
        let (bustPrice, hundred) = (try btc.price("63035.2"), try btc.quantity("100"))
        #expect(bust.execPrice == bustPrice && bust.execQty == hundred && bust.execFee == .zero)
        #expect(await log.wait { _ in log.orders.contains { $0.orderLinkId == "far" && $0.orderStatus == .cancelled && $0.cancelType == "CancelAllBeforeLiq" } })
        #expect(await log.wait { _ in log.positions.last?.size == .zero })
        #expect(await log.wait { _ in log.wallets.last?.totalWalletBalance == .zero })
    }
}

/// Order records follow the exchange: what it capped, applied or cleared, the REST lists and the stream show.
@Suite(.serialized) struct SimOrderLifecycleTests {
    typealias T = SimTradingTests
    /// The retCode of a call our client refuses to turn into a result (0 when it succeeds).
    static func code<R: Decodable & Sendable>(_ rest: BybitRESTClient, _ request: BybitRequest, as: R.Type) async -> Int {
        do {
            return try await rest.send(request, as: R.self).retCode.rawValue
        } catch let .rest(.api(error)) {
            return error.retCode.rawValue
        } catch {
            return -1
        }
    }
    static func record(_ sim: SimulatorHarness, link: String) async -> BybitOrder? {
        await sim.replay.account("default")?.orders.values.first { $0.orderLinkId == link }
    }

    @Test func aReduceOnlyCloseLargerThanThePositionFillsThePositionAndEnds() async throws {
        let s = try await T.session()
        defer { s.stop() }
        let q = try T.btc.quantity("0.002")
        let open = BybitOrderParameters(instrument: T.btc, side: .buy, orderType: .market, qty: q, orderLinkId: "open")
        _ = try await s.rest.send(.createOrder(open), as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let close = BybitOrderParameters(instrument: T.btc, side: .sell, orderType: .market, qty: try T.btc.quantity("1"),
                                         orderLinkId: "close", reduceOnly: true)
        #expect(try await s.rest.send(.createOrder(close), as: BybitOrderIDResult.self).retCode.rawValue == 0)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let r = try #require(await Self.record(s.sim, link: "close"))
        #expect(r.orderStatus == .filled && r.qty == q && r.cumExecQty == q)
        #expect(await s.sim.replay.account("default")?.exchange.symbols[T.btc.id]?.ledger.size == 0)
        let listed = try await s.rest.send(.realtimeOrders(scope: .symbol("BTCUSDT")), as: BybitOrderListResult.self)
        #expect(listed.result?.count == 0)
        // With no position left, another reduce-only order is refused on the call (110017), not later.
        let again = BybitOrderParameters(instrument: T.btc, side: .sell, orderType: .market, qty: try T.btc.quantity("1"),
                                         orderLinkId: "close-again", reduceOnly: true)
        #expect(await Self.code(s.rest, try .createOrder(again), as: BybitOrderIDResult.self) == 110017)
    }

    @Test func anAmendChangesTheRecordOnlyOnceTheExchangeAppliedIt() async throws {
        let s = try await T.session()
        defer { s.stop() }
        #expect(await s.log.wait { _ in s.log.isTrusted })
        let bid = BybitOrderParameters(instrument: T.btc, side: .buy, orderType: .limit, qty: try T.btc.quantity("0.010"),
                                       price: try T.btc.price("60000"), timeInForce: .postOnly, orderLinkId: "rest")
        _ = try await s.rest.send(.createOrder(bid), as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let amended = try await s.rest.send(.amendOrder(instrument: T.btc, order: .orderLinkId("rest"), qty: try T.btc.quantity("0.004")),
                                            as: BybitOrderIDResult.self)
        #expect(amended.retCode.rawValue == 0)
        let (ten, four) = (try T.btc.quantity("0.010"), try T.btc.quantity("0.004"))
        #expect(await Self.record(s.sim, link: "rest")?.qty == ten)   // not at the exchange yet
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        #expect(await Self.record(s.sim, link: "rest")?.qty == four)
        #expect(await s.log.wait { _ in s.log.orders.contains { $0.orderLinkId == "rest" && $0.qty == four } })
        // Refused on the call: an unknown order, and a quantity that is not positive.
        #expect(await Self.code(s.rest, try .amendOrder(instrument: T.btc, order: .orderLinkId("nope"), qty: try T.btc.quantity("0.001")),
                                 as: BybitOrderIDResult.self) == 110001)
    }

    @Test func positionStopLossLegsGoWhenThePositionCloses() async throws {
        let s = try await T.session()
        defer { s.stop() }
        let q = try T.btc.quantity("0.002")
        _ = try await s.rest.send(.createOrder(BybitOrderParameters(instrument: T.btc, side: .buy, orderType: .market, qty: q, orderLinkId: "o")),
                                  as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let stop = try await s.rest.send(.tradingStop(instrument: T.btc, tpslMode: .full, positionIndex: .oneWay,
                                                      stopLoss: try T.btc.price("50000")), as: BybitEmptyResult.self)
        #expect(stop.retCode.rawValue == 0)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let leg = try #require(await s.sim.replay.account("default")?.orders.values.first { $0.stopOrderType == "StopLoss" })
        let fifty = try T.btc.price("50000")
        #expect(leg.orderStatus == .untriggered && leg.triggerPrice == fifty && leg.triggerDirection == .fall)
        // A stop above the price for a long is refused on the call (it must fall to trigger: 110093).
        #expect(await Self.code(s.rest, .tradingStop(instrument: T.btc, tpslMode: .full, positionIndex: .oneWay,
                                                     stopLoss: try T.btc.price("70000")), as: BybitEmptyResult.self) == 110093)
        _ = try await s.rest.send(.createOrder(BybitOrderParameters(instrument: T.btc, side: .sell, orderType: .market, qty: q,
                                                                    orderLinkId: "c", reduceOnly: true)), as: BybitOrderIDResult.self)
        _ = try await s.sim.replay.advance(frames: 1, milliseconds: nil)
        let gone = try #require(await s.sim.replay.account("default")?.orders[leg.orderId])
        #expect(gone.orderStatus == .deactivated && gone.cancelType == "CancelByTpSlTsClear")
        #expect(await s.sim.replay.account("default")?.exchange.symbols[T.btc.id]?.engine.openOrderCount == 0)
    }

    @Test func aStepThatEndsOnTheLastFrameFinishesTheData() async throws {
        let sim = try await SimulatorHarness.start(frames: 10, speed: .lockstep)
        defer { sim.stop() }
        #expect(try await sim.replay.advance(frames: 9, milliseconds: nil).finished == false)
        #expect(try await sim.replay.advance(frames: 1, milliseconds: nil).finished == true)
        #expect(try await sim.replay.advance(frames: nil, milliseconds: Int64.max / 2).frames == 0)
    }
}
