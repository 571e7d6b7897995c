@testable import BybitSimulator
import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Simulation
import Synchronization
import Testing

/// The endpoints and validations a stock client (ccxt) and the live node's start-up checks need, each against the
/// answer Bybit documents (`bybit_v5.md` and Bybit's pages for query-api, account/info, order/history, closed-pnl,
/// switch-mode, set-margin-mode and DCP): the simulator's bytes, parsed, not our own decoder's reading of them.
@Suite(.serialized) struct SimEndpointTests {
    /// One BTCUSDT instrument with Bybit's filters (prices 100.00…1999999.80, leverage 1…100 by 0.01).
    static let instruments = Array(#"{"retCode":0,"retMsg":"OK","result":{"category":"linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT","priceScale":"2","leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},"priceFilter":{"minPrice":"100.00","maxPrice":"1999999.80","tickSize":"0.10"},"lotSizeFilter":{"maxOrderQty":"1190.000","minOrderQty":"0.001","qtyStep":"0.001","maxMktOrderQty":"500.000","minNotionalValue":"5"},"fundingInterval":480,"settleCoin":"USDT"}],"nextPageCursor":""},"retExtInfo":{},"time":0}"#.utf8)

    static let withdrawer = SimAccountSpec(name: "w", apiKey: "w-key", apiSecret: "w-secret", deposit: USDT(units: 100_000_000_000),
                                           permissions: ["ContractTrade": ["Order", "Position"], "Wallet": ["AccountTransfer", "Withdraw"]],
                                           ips: ["*"], expiredAt: "2027-01-01T00:00:00Z")

    /// A lockstep simulator with a book (20 frames replayed) and instrument rules.
    static func sim(accounts: [SimAccountSpec] = [.defaultTestAccount, withdrawer], timer: any TaskClock = ContinuousTaskClock(),
                    instruments: [UInt8]? = instruments) async throws -> SimulatorHarness {
        var book = SyntheticBookFrames(symbol: "BTCUSDT", depth: 50, seed: 7)
        var lines: [String] = []
        for i in 0..<300 {
            let ms = 1_721_347_021_000 + Int64(i + 1) * 20
            lines.append(i % 10 == 5 && i > 0
                ? #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ms),"data":[{"T":\#(ms),"s":"BTCUSDT","S":"Buy","v":"0.010","p":"64000.00","L":"PlusTick","i":"t-\#(i)","BT":false}]}"#
                : (i == 0 ? book.snapshot(ts: ms) : book.delta(ts: ms)))
        }
        let sim = try await SimulatorHarness.start(lines: lines, speed: .lockstep, accounts: accounts, instrumentsJSON: instruments,
                                                   timer: timer)
        _ = try await sim.replay.advance(frames: 20, milliseconds: nil)
        return sim
    }

    static func keys(_ object: [String: Any]?) -> Set<String> { Set(object?.keys.map { $0 } ?? []) }

    // MARK: - Key, account, fees, coins

    @Test func queryAPIDescribesEachKeyFromTheAccountsFile() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let bound = try await RawBybitClient(port: sim.port).get("/v5/user/query-api")
        #expect(bound.retCode == 0, "\(bound.text)")
        // Every field of Bybit's documented example, no other.
        #expect(Self.keys(bound.result) == ["id", "note", "apiKey", "readOnly", "secret", "permissions", "ips", "type", "deadlineDay",
                                            "expiredAt", "createdAt", "unified", "uta", "userID", "inviterID", "vipLevel", "mktMakerLevel",
                                            "affiliateID", "rsaPublicKey", "isMaster", "parentUid", "kycLevel", "kycRegion"])
        let r = try #require(bound.result)
        #expect(bound.retCode == 0 && r["apiKey"] as? String == "cascade-test-key" && r["secret"] as? String == "")
        #expect(r["readOnly"] as? Int == 0 && r["uta"] as? Int == 1 && r["ips"] as? [String] == ["127.0.0.1"])
        let permissions = try #require(r["permissions"] as? [String: [String]])
        #expect(permissions["ContractTrade"] == ["Order", "Position"] && permissions["Wallet"] == [])
        // A withdraw-capable, unbound key is shown as such (the live node's start-up check refuses it).
        let risky = try await RawBybitClient(port: sim.port, apiKey: "w-key", secret: "w-secret").get("/v5/user/query-api")
        let w = try #require(risky.result)
        #expect((w["permissions"] as? [String: [String]])?["Wallet"] == ["AccountTransfer", "Withdraw"])
        #expect(w["ips"] as? [String] == ["*"] && w["expiredAt"] as? String == "2027-01-01T00:00:00Z")
    }

    @Test func accountInfoIsAUnifiedAccountInRegularMarginWithoutExtraEnvelopeFields() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let answer = try await RawBybitClient(port: sim.port).get("/v5/account/info")
        // Bybit's documented (and observed) envelope for this endpoint has no retExtInfo and no time.
        #expect(Self.keys(answer.json) == ["retCode", "retMsg", "result"])
        #expect(Self.keys(answer.result) == ["marginMode", "updatedTime", "unifiedMarginStatus", "dcpStatus", "timeWindow", "smpGroup",
                                             "isMasterTrader", "spotHedgingStatus"])
        let r = try #require(answer.result)
        #expect(r["marginMode"] as? String == "REGULAR_MARGIN" && r["unifiedMarginStatus"] as? Int == 5)
        #expect(r["dcpStatus"] as? String == "OFF" && r["updatedTime"] is String)
    }

    @Test func feeRateAndCoinInfo() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let client = RawBybitClient(port: sim.port)
        let fees = try await client.get("/v5/account/fee-rate", "category=linear&symbol=BTCUSDT")
        #expect(fees.result?["list"] as? [[String: String]] == [["symbol": "BTCUSDT", "takerFeeRate": "0.00055", "makerFeeRate": "0.0002"]])
        #expect(Self.keys(fees.result) == ["list"])   // derivatives: no `category` field (Bybit's note)
        let coins = try await client.get("/v5/asset/coin/query-info")
        #expect(coins.retCode == 0 && coins.retMsg == "success")
        let rows = try #require(coins.result?["rows"] as? [[String: Any]])
        #expect(rows.map { $0["coin"] as? String } == ["USDT"] && (rows.first?["chains"] as? [Any])?.isEmpty == true)
    }

    @Test func positionModeAndMarginModeAnswerAsBybitDoesForTheOneModeSimulated() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let client = RawBybitClient(port: sim.port)
        let same = try await client.post("/v5/position/switch-mode", #"{"category":"linear","symbol":"BTCUSDT","mode":0}"#)
        #expect(same.retCode == 110025 && same.retMsg == "Position mode is not modified")
        let hedge = try await client.post("/v5/position/switch-mode", #"{"category":"linear","symbol":"BTCUSDT","mode":3}"#)
        #expect(hedge.retCode == 110029)
        let text = try await client.post("/v5/position/switch-mode", #"{"category":"linear","symbol":"BTCUSDT","mode":"0"}"#)
        #expect(text.retCode == 10001 && text.retMsg == "params error: position_mode invalid")
        let regular = try await client.post("/v5/account/set-margin-mode", #"{"setMarginMode":"REGULAR_MARGIN"}"#)
        #expect(regular.text == #"{"retCode":0,"retMsg":"Request accepted","result":{"reasons":[]}}"#)
        let isolated = try await client.post("/v5/account/set-margin-mode", #"{"setMarginMode":"ISOLATED_MARGIN"}"#)
        #expect(isolated.retCode == 110073 && isolated.retMsg == "Set margin mode failed")
        #expect((isolated.result?["reasons"] as? [[String: String]])?.count == 1)
    }

    // MARK: - Validation

    @Test func validationAsBybitAnswersIt() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let client = RawBybitClient(port: sim.port)
        let above = try await client.post("/v5/order/create",
            #"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Limit","qty":"0.001","price":"2000000.00","orderLinkId":"too-high"}"#)
        #expect(above.retCode == 110003 && above.retMsg == "Order price is out of permissible range")
        let below = try await client.post("/v5/order/create",
            #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.100","price":"50.00","orderLinkId":"too-low"}"#)
        #expect(below.retCode == 110003 && below.retMsg == "Order price is out of permissible range")
        let offStep = try await client.post("/v5/position/set-leverage",
            #"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"10.005","sellLeverage":"10.005"}"#)
        #expect(offStep.retCode == 10001 && offStep.retMsg == "params error: leverage is not a multiple of leverageStep")
        let onStep = try await client.post("/v5/position/set-leverage",
            #"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"10.01","sellLeverage":"10.01"}"#)
        #expect(onStep.retCode == 0)
        let noID = try await client.post("/v5/order/cancel", #"{"category":"linear","symbol":"BTCUSDT"}"#)
        #expect(noID.retCode == 10001 && noID.retMsg == "params error: OrderId or orderLinkId is required")
        let malformed = try await client.post("/v5/order/create", #"{"category":"linear","symbol":"#)
        #expect(malformed.status == 200 && malformed.retCode == 10001 && malformed.retMsg == "Request parameter error.")
        for (method, path) in [("GET", "/v5/order/nonexistent"), ("POST", "/v5/order/realtime"), ("GET", "/v5/market/nonexistent")] {
            let answer = method == "GET" ? try await client.get(path, signed: !path.hasPrefix("/v5/market")) : try await client.post(path, "{}")
            #expect(answer.status == 404 && answer.retCode == 10017 && answer.retMsg == "Route not found.", "\(method) \(path)")
        }
        let unscoped = try await client.get("/v5/position/list", "category=linear")
        #expect(unscoped.retCode == 10001 && unscoped.retMsg == "Missing some parameters that must be filled in, symbol or settleCoin")
        // Each list's limit bounds: the maximum is accepted, one more is refused.
        let bounds: [(String, String, Int, Bool)] = [
            ("/v5/order/realtime", "category=linear&settleCoin=USDT", 50, true), ("/v5/order/history", "category=linear", 50, true),
            ("/v5/execution/list", "category=linear", 100, true), ("/v5/position/list", "category=linear&settleCoin=USDT", 200, true),
            ("/v5/position/closed-pnl", "category=linear", 100, true), ("/v5/market/kline", "category=linear&symbol=BTCUSDT&interval=1", 1000, false),
            ("/v5/market/orderbook", "category=linear&symbol=BTCUSDT", 500, false), ("/v5/market/recent-trade", "category=linear&symbol=BTCUSDT", 1000, false),
        ]
        for (path, query, maximum, signed) in bounds {
            let ok = try await client.get(path, query + "&limit=\(maximum)", signed: signed)
            let over = try await client.get(path, query + "&limit=\(maximum + 1)", signed: signed)
            let zero = try await client.get(path, query + "&limit=0", signed: signed)
            #expect(ok.retCode == 0 && over.retCode == 10001 && zero.retCode == 10001, "\(path): \(ok.text) / \(over.text)")
        }
    }

    @Test func withoutInstrumentRulesTheAnswerSaysWhichFileToPass() async throws {
        let sim = try await Self.sim(instruments: nil)
        defer { sim.stop() }
        #expect(sim.replay.hasInstruments == false)
        let answer = try await RawBybitClient(port: sim.port).get("/v5/market/instruments-info", "category=linear", signed: false)
        #expect(answer.retCode == 10016 && answer.retMsg?.contains("pass --instruments FILE") == true)
    }

    // MARK: - Orders over time

    @Test func orderHistoryKeepsUnfilledOrders24HoursAndRealtimeFindsRecentClosedOnesByID() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let client = RawBybitClient(port: sim.port)
        let rest = try await client.post("/v5/order/create",
            #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":"60000.00","timeInForce":"PostOnly","orderLinkId":"resting"}"#)
        let restingID = try #require(rest.result?["orderId"] as? String)
        _ = try await client.post("/v5/order/create", #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.010","orderLinkId":"filled"}"#)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
        // Open orders are not in history on a unified account.
        #expect((try await client.get("/v5/order/history", "category=linear").result?["list"] as? [[String: Any]])?.map { $0["orderLinkId"] as? String } == ["filled"])
        _ = try await client.post("/v5/order/cancel", #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"resting"}"#)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
        let both = try await client.get("/v5/order/history", "category=linear&symbol=BTCUSDT")
        #expect((both.result?["list"] as? [[String: Any]])?.compactMap { $0["orderLinkId"] as? String }.sorted() == ["filled", "resting"])
        // realtime: openOnly 0 lists open orders only; by id it finds a closed one; openOnly 1 lists closed ones.
        #expect((try await client.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT").result?["list"] as? [Any])?.isEmpty == true)
        let byID = try await client.get("/v5/order/realtime", "category=linear&orderId=\(restingID)")
        #expect((byID.result?["list"] as? [[String: Any]])?.first?["orderStatus"] as? String == "Cancelled")
        #expect((try await client.get("/v5/order/realtime", "category=linear&symbol=BTCUSDT&openOnly=1").result?["list"] as? [Any])?.count == 2)
        // A day and a millisecond later the cancelled order without fills is gone from history; the filled one stays.
        _ = try await sim.replay.advance(frames: nil, milliseconds: 86_400_001)
        let later = try await client.get("/v5/order/history", "category=linear&symbol=BTCUSDT")
        #expect((later.result?["list"] as? [[String: Any]])?.compactMap { $0["orderLinkId"] as? String } == ["filled"])
        // The query window is at most 7 days.
        let wide = try await client.get("/v5/order/history", "category=linear&startTime=0&endTime=\(8 * 86_400_000)")
        #expect(wide.retCode == 10001)
    }

    @Test func closedPnLRecordsTheClosingOrder() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let client = RawBybitClient(port: sim.port)
        _ = try await client.post("/v5/order/create", #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.002","orderLinkId":"open"}"#)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
        _ = try await client.post("/v5/order/create", #"{"category":"linear","symbol":"BTCUSDT","side":"Sell","orderType":"Market","qty":"0.002","orderLinkId":"close"}"#)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
        let account = try #require(await sim.replay.account("default"))
        let open = try #require(account.executions.first { $0.orderLinkId == "open" })
        let close = try #require(account.executions.first { $0.orderLinkId == "close" })
        let closeOrder = try #require(account.orders.values.first { $0.orderLinkId == "close" })
        let answer = try await client.get("/v5/position/closed-pnl", "category=linear&symbol=BTCUSDT")
        let list = try #require(answer.result?["list"] as? [[String: String]])
        #expect(list.count == 1)
        let r = try #require(list.first)
        #expect(Set(r.keys) == ["symbol", "orderType", "leverage", "updatedTime", "side", "orderId", "closedPnl", "avgEntryPrice", "qty",
                                "cumEntryValue", "createdTime", "orderPrice", "closedSize", "avgExitPrice", "execType", "fillCount", "cumExitValue"])
        #expect(r["side"] == "Sell" && r["closedSize"] == "0.002" && r["execType"] == "Trade" && r["fillCount"] == "1")
        #expect(r["orderId"] == closeOrder.orderId && r["closedPnl"] == (closeOrder.closedPnl ?? .zero).description)
        let btc = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
        #expect(r["avgEntryPrice"] == btc.format(open.execPrice) && r["avgExitPrice"] == btc.format(close.execPrice))
        // Bybit's closedPnl: price PnL net of the fees to open and to close.
        let gross = (btc.notional(price: close.execPrice, qty: close.execQty) ?? .zero) - (btc.notional(price: open.execPrice, qty: open.execQty) ?? .zero)
        #expect(r["closedPnl"] == (gross - (open.execFee ?? .zero) - (close.execFee ?? .zero)).description)
    }

    @Test func klineBarsAreBuiltFromTheReplayedTrades() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        _ = try await sim.replay.advance(frames: 200, milliseconds: nil)
        let answer = try await RawBybitClient(port: sim.port).get("/v5/market/kline", "category=linear&symbol=BTCUSDT&interval=1", signed: false)
        let result = try #require(answer.result)
        #expect(result["symbol"] as? String == "BTCUSDT" && result["category"] as? String == "linear")
        let bars = try #require(result["list"] as? [[String]])
        // 220 frames replayed, a trade (0.010 at 64000.00) every 10th from the 6th: 22 trades, all inside one or two minutes.
        let volume = bars.reduce(0.0) { $0 + (Double($1[5]) ?? 0) }
        #expect(abs(volume - 0.22) < 1e-9)
        #expect(bars.allSatisfy { $0[1] == "64000.00" && $0[2] == "64000.00" && $0[3] == "64000.00" && $0[4] == "64000.00" })
        let starts = bars.compactMap { Int64($0[0]) }
        #expect(starts == starts.sorted(by: >) && starts.allSatisfy { $0 % 60_000 == 0 })   // newest first, on the minute
    }

    // MARK: - WebSocket ids and DCP

    /// Sends each text frame on the endpoint and returns every text answer received within the reply window.
    static func exchange(_ url: String, _ frames: [String], expecting count: Int) async throws -> [String] {
        let answers = Mutex<[String]>([])
        var logger = Logger(label: "ws-ids")
        logger.logLevel = .critical
        let client = WebSocketClient(url: url, logger: logger) { inbound, outbound, _ in
            for frame in frames { try await outbound.write(.text(frame)) }
            for try await message in inbound.messages(maxSize: 1 << 20) {
                guard case let .text(text) = message, !text.contains(#""topic""#) else { continue }
                if answers.withLock({ $0.append(text); return $0.count }) >= count { return }
            }
        }
        try await client.run()
        return answers.withLock { $0 }
    }

    @Test func numericRequestIDsAreEchoedAsStringsOnPublicAndPrivateStreams() async throws {
        let sim = try await Self.sim()
        defer { sim.stop() }
        let publicAnswers = try await Self.exchange("ws://127.0.0.1:\(sim.port)/v5/public/linear", [
            #"{"op":"ping","req_id":42}"#, #"{"op":"subscribe","req_id":7,"args":["tickers.BTCUSDT"]}"#,
            #"{"op":"unsubscribe","req_id":8,"args":["tickers.BTCUSDT"]}"#,
        ], expecting: 3)
        #expect(publicAnswers.contains { $0.contains(#""req_id":"42""#) && $0.contains("pong") })
        #expect(publicAnswers.contains { $0.contains(#""req_id":"7""#) && $0.contains(#""op":"subscribe""#) && $0.contains(#""success":true"#) })
        #expect(publicAnswers.contains { $0.contains(#""req_id":"8""#) && $0.contains(#""op":"unsubscribe""#) })
        let expires = Int64(Date().timeIntervalSince1970 * 1000) + 10_000
        let signer = BybitSigner(credentials: BybitCredentials(apiKey: "cascade-test-key", secret: "cascade-test-secret"))
        let privateAnswers = try await Self.exchange("ws://127.0.0.1:\(sim.port)/v5/private", [
            signer.webSocketAuthFrame(expires: expires, requestID: "auth"), #"{"op":"subscribe","req_id":9,"args":["order"]}"#,
            #"{"op":"ping","req_id":10}"#,
        ], expecting: 3)
        #expect(privateAnswers.contains { $0.contains(#""req_id":"9""#) && $0.contains(#""success":true"#) })
        #expect(privateAnswers.contains { $0.contains(#""req_id":"10""#) && $0.contains("pong") })
    }

    @Test func disconnectCancelFiresWhenEveryWatchingConnectionStayedDownForTheWindow() async throws {
        var granted = SimAccountSpec.defaultTestAccount
        granted.dcpGranted = true
        let timer = ManualClock()
        let sim = try await Self.sim(accounts: [granted, Self.withdrawer], timer: timer)
        defer { sim.stop() }
        let client = RawBybitClient(port: sim.port)
        let refused = try await RawBybitClient(port: sim.port, apiKey: "w-key", secret: "w-secret")
            .post("/v5/order/disconnected-cancel-all", #"{"product":"DERIVATIVES","timeWindow":10}"#)
        #expect(refused.retCode == 10005)
        // Granted DCP has Bybit's default window (10 s for derivatives) before anything is set.
        let defaults = try await client.get("/v5/account/query-dcp-info")
        #expect(defaults.result?["dcpInfos"] as? [[String: String]] == [["product": "DERIVATIVES", "dcpStatus": "ON", "timeWindow": "10"]])
        let set = try await client.post("/v5/order/disconnected-cancel-all", #"{"product":"DERIVATIVES","timeWindow":10}"#)
        #expect(set.text == #"{"retCode":0,"retMsg":"success"}"#)
        let info = try await client.get("/v5/account/query-dcp-info")
        #expect(info.result?["dcpInfos"] as? [[String: String]] == [["product": "DERIVATIVES", "dcpStatus": "ON", "timeWindow": "10"]])
        _ = try await client.post("/v5/order/create",
            #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":"60000.00","timeInForce":"PostOnly","orderLinkId":"resting"}"#)
        _ = try await sim.replay.advance(frames: 1, milliseconds: nil)
        let signer = BybitSigner(credentials: BybitCredentials(apiKey: "cascade-test-key", secret: "cascade-test-secret"))
        func watch() async throws {
            let expires = Int64(Date().timeIntervalSince1970 * 1000) + 10_000
            _ = try await Self.exchange("ws://127.0.0.1:\(sim.port)/v5/private", [
                signer.webSocketAuthFrame(expires: expires, requestID: "auth"), #"{"op":"subscribe","req_id":"dcp","args":["dcp.future"]}"#,
            ], expecting: 2)
        }
        func status() async -> String? { await sim.replay.account("default")?.orders.values.first { $0.orderLinkId == "resting" }?.orderStatus.rawValue }
        // A watching connection comes and goes; a reconnect inside the window resets it.
        try await watch()
        #expect(await eventually { timer.nextDeadline != nil })
        timer.advance(by: .seconds(9))
        try await watch()
        #expect(await eventually { await sim.replay.dcpFired["default"] == nil && timer.nextDeadline == timer.instant() + .seconds(10) })
        #expect(await status() == "New")
        timer.advance(by: .seconds(10))
        #expect(await eventually { await sim.replay.dcpFired["default"] == 1 })
        let order = try #require(await sim.replay.account("default")?.orders.values.first { $0.orderLinkId == "resting" })
        #expect(order.orderStatus == .cancelled && order.cancelType == "CancelByDCP")
        // A reset forgets DCP state with the accounts.
        await sim.replay.resetAccounts()
        let fired = await sim.replay.dcpFired, timers = await sim.replay.dcpTimers
        #expect(fired.isEmpty && timers.isEmpty)
    }

    @Test func aReadOnlyKeyOrOneWithoutTradingPermissionIsRefused() async throws {
        let readOnly = SimAccountSpec(name: "ro", apiKey: "ro-key", apiSecret: "ro-secret", deposit: USDT(units: 100_000_000_000), readOnly: 1)
        let noOrders = SimAccountSpec(name: "np", apiKey: "np-key", apiSecret: "np-secret", deposit: USDT(units: 100_000_000_000),
                                      permissions: ["ContractTrade": ["Position"]])
        let sim = try await Self.sim(accounts: [.defaultTestAccount, readOnly, noOrders])
        defer { sim.stop() }
        let order = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.010","orderLinkId":"x"}"#
        for (key, secret) in [("ro-key", "ro-secret"), ("np-key", "np-secret")] {
            let client = RawBybitClient(port: sim.port, apiKey: key, secret: secret)
            let refused = try await client.post("/v5/order/create", order)
            #expect(refused.retCode == 10005 && refused.retMsg == "Permission denied, please check your API key permissions.")
            #expect(try await client.get("/v5/order/realtime", "category=linear&settleCoin=USDT").retCode == 0)   // reading is allowed
        }
        #expect(try await RawBybitClient(port: sim.port, apiKey: "np-key", secret: "np-secret")
            .post("/v5/position/set-leverage", #"{"category":"linear","symbol":"BTCUSDT","buyLeverage":"5","sellLeverage":"5"}"#).retCode == 0)
    }
}
