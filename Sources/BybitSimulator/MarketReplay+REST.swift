import BybitV5
import CascadeCore
import Foundation
import MarketData

extension MarketReplay {
    /// Answers a market REST endpoint from the replay state: `(HTTP status, JSON body)`.
    ///
    /// Supported: `/v5/market/time`, `/v5/market/instruments-info`, `/v5/market/orderbook`,
    /// `/v5/market/recent-trade`, `/v5/market/tickers`, `/v5/market/kline`.
    /// Server time is the venue's clock (``venueNow(_:)``: the wall clock passed in, plus the lead a
    /// faster-than-real-time replay has taken).
    /// Only USDT linear perpetuals are simulated: other categories answer with empty lists (ccxt asks for them all).
    func answer(path: String, query: [String: String], now wall: LocalTime) -> (Int, String) {
        let now = venueNow(wall)
        let time = now.nanoseconds / 1_000_000
        func ok(_ result: String) -> (Int, String) { (200, BybitFrameEncoder.restEnvelope(result: result, time: time)) }
        func fail(_ code: Int, _ message: String) -> (Int, String) {
            (200, BybitFrameEncoder.restEnvelope(result: "{}", retCode: code, retMsg: message, time: time))
        }
        switch path {
        case "/v5/market/time":
            return ok(#"{"timeSecond":"\#(now.nanoseconds / 1_000_000_000)","timeNano":"\#(now.nanoseconds)"}"#)
        case "/v5/market/instruments-info":
            guard let category = query["category"] else { return fail(10001, "params error: category is required") }
            guard ["linear", "inverse", "spot", "option"].contains(category) else { return fail(10001, "params error: category invalid") }
            if let limit = query["limit"], Int(limit).map({ (1...1000).contains($0) }) != true {
                return fail(10001, "params error: limit must be an integer in [1, 1000]")
            }
            guard category == "linear" else { return ok(#"{"category":"\#(category)","list":[],"nextPageCursor":""}"#) }
            guard let json = instrumentsJSON else { return fail(10016, Self.noInstrumentsMessage) }
            return ok(filteredInstruments(json, symbol: query["symbol"], status: query["status"]))
        case "/v5/market/orderbook":
            guard let symbol = query["symbol"] else { return fail(10001, "params error: symbol is required") }
            // Linear books answer 1…500 levels (default 25).
            guard let limit = Int(query["limit"] ?? "25"), (1...500).contains(limit) else {
                return fail(10001, "params error: limit must be an integer in [1, 500]")
            }
            // The deepest book in sync answers (as Bybit answers from its full book).
            guard let id = decoder.instruments.lookup(symbol), let book = driver.feed.deepestBook(id, syncedOnly: true) else {
                return fail(10001, "params error: no book for \(symbol)")
            }
            let instrument = decoder.instruments[book.symbol]
            let result = #"{"s":"\#(symbol)","b":[\#(BybitFrameEncoder.levels(book.topLevels(.bid, limit), instrument))],"a":[\#(BybitFrameEncoder.levels(book.topLevels(.ask, limit), instrument))],"ts":\#(book.lastExchangeTime.map { $0.milliseconds + timeOffset } ?? 0),"u":\#(book.lastUpdateID ?? 0),"seq":\#(book.lastSequence ?? 0),"cts":\#(book.lastMatchTime.map { $0.milliseconds + timeOffset } ?? 0)}"#
            return ok(result)
        case "/v5/market/recent-trade":
            guard let symbol = query["symbol"], let id = decoder.instruments.lookup(symbol) else {
                return fail(10001, "params error: unknown symbol")
            }
            guard let limit = Int(query["limit"] ?? "500"), (1...1000).contains(limit) else {
                return fail(10001, "params error: limit must be an integer in [1, 1000]")
            }
            let instrument = decoder.instruments[id]
            let trades = driver.recentTrades[id]?.newest(limit) ?? []
            let items = trades.map { t in
                #"{"execId":"\#(BybitStreamRequest.escape(t.id))","symbol":"\#(symbol)","price":"\#(instrument.format(t.price))","size":"\#(instrument.format(t.qty))","side":"\#(t.takerSide)","time":"\#(t.tradeTime.milliseconds + timeOffset)","isBlockTrade":\#(t.isBlockTrade),"isRPITrade":\#(t.isRPI)}"#
            }
            return ok(#"{"category":"linear","list":[\#(items.joined(separator: ","))]}"#)
        case "/v5/market/kline":
            if let category = query["category"], category != "linear" { return fail(10001, "params error: category must be linear") }
            guard let symbol = query["symbol"], let id = decoder.instruments.lookup(symbol) else {
                return fail(10001, "params error: symbol invalid")
            }
            let minutes: [String: Int64] = ["1": 1, "3": 3, "5": 5, "15": 15, "30": 30, "60": 60, "120": 120, "240": 240,
                                            "360": 360, "720": 720, "D": 1_440, "W": 10_080, "M": 0]
            guard let interval = query["interval"], let size = minutes[interval] else { return fail(10001, "params error: interval invalid") }
            guard let limit = Int(query["limit"] ?? "200"), (1...1000).contains(limit) else {
                return fail(10001, "params error: limit must be an integer in [1, 1000]")
            }
            let start = query["start"].flatMap { Int64($0) }, end = query["end"].flatMap { Int64($0) }
            let instrument = decoder.instruments[id]
            let bars = (minuteBars[id] ?? MinuteBars()).aggregated(minutes: size, months: interval == "M", start: start, end: end, limit: limit)
            return ok(BybitRESTEncoder.kline(symbol: symbol, bars: bars.map { b in
                [String(b.start), instrument.format(b.open), instrument.format(b.high), instrument.format(b.low),
                 instrument.format(b.close), instrument.format(b.volume), b.turnover.description]
            }))
        case "/v5/market/tickers":
            let wanted = query["symbol"]
            let items = driver.feed.tickers.values.filter { wanted == nil || decoder.instruments[$0.symbol].symbol == wanted }
                .sorted { decoder.instruments[$0.symbol].symbol < decoder.instruments[$1.symbol].symbol }
                .map { state in
                    var fields = state.fields
                    fields.nextFundingTime = fields.nextFundingTime.map(rebased)
                    return BybitFrameEncoder.tickerObject(instrument: decoder.instruments[state.symbol], fields: fields)
                }
            return ok(#"{"category":"linear","list":[\#(items.joined(separator: ","))]}"#)
        default:
            return (404, BybitFrameEncoder.restEnvelope(result: "{}", retCode: BybitRetCode.routeNotFound.rawValue, retMsg: "Route not found.", time: time))
        }
    }

    /// What to do when the data has no instrument rules (REST error and start-up banner).
    public static let noInstrumentsMessage = "instruments-info not available: the replayed data has no _cascade.instruments snapshot; "
        + "pass --instruments FILE (a saved answer of GET /v5/market/instruments-info?category=linear)"

    /// The recorded instruments-info `result` (or envelope or list), reduced to one symbol and one status when asked.
    private func filteredInstruments(_ json: [UInt8], symbol: String?, status: String?) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(json))
        var list: [Any] = []
        if let dict = object as? [String: Any] {
            if let result = dict["result"] as? [String: Any], let l = result["list"] as? [Any] { list = l }
            else if let l = dict["list"] as? [Any] { list = l }
        } else if let l = object as? [Any] {
            list = l
        }
        if let symbol { list = list.filter { ($0 as? [String: Any])?["symbol"] as? String == symbol } }
        // Bybit lists `Trading` instruments unless another status is asked for (ccxt asks for `PreLaunch` too).
        let wanted = status ?? "Trading"
        list = list.filter { (($0 as? [String: Any])?["status"] as? String ?? "Trading") == wanted }
        let result: [String: Any] = ["category": "linear", "list": list, "nextPageCursor": ""]
        let data = (try? JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
