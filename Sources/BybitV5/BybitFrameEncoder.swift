public import CascadeCore

/// Writes Bybit V5 public frames from domain state: the snapshot a late subscriber receives from a server
/// that replays a recording (our simulator), and envelopes for REST answers.
public enum BybitFrameEncoder {
    /// `orderbook.{depth}.{symbol}` snapshot of `bids`/`asks` given best first.
    public static func bookSnapshot(instrument: Instrument, depth: Int, bids: [BookLevel], asks: [BookLevel],
                                    updateID: UInt64, sequence: UInt64, exchangeTime: ExchangeTime,
                                    matchTime: ExchangeTime?) -> String {
        let s = instrument.symbol
        var out = #"{"topic":"orderbook.\#(depth).\#(s)","type":"snapshot","ts":\#(exchangeTime.milliseconds),"data":{"s":"\#(s)","b":["#
        out += levels(bids, instrument)
        out += #"],"a":["#
        out += levels(asks, instrument)
        out += #"],"u":\#(updateID),"seq":\#(sequence)}"#
        if let matchTime { out += #","cts":\#(matchTime.milliseconds)"# }
        out += "}"
        return out
    }

    /// The `[[price, size], …]` body of a book side.
    public static func levels(_ levels: [BookLevel], _ instrument: Instrument) -> String {
        levels.map { #"["\#(instrument.format($0.price))","\#(instrument.format($0.size))"]"# }.joined(separator: ",")
    }

    /// A `tickers.{symbol}` snapshot of every known field (values as strings, like Bybit).
    public static func tickerSnapshot(instrument: Instrument, fields f: TickerFields, crossSequence: UInt64?,
                                      exchangeTime: ExchangeTime) -> String {
        "{\"topic\":\"tickers.\(instrument.symbol)\",\"type\":\"snapshot\",\"data\":\(tickerObject(instrument: instrument, fields: f))"
            + (crossSequence.map { ",\"cs\":\($0)" } ?? "") + ",\"ts\":\(exchangeTime.milliseconds)}"
    }

    /// The ticker fields as a JSON object (also the item shape of `/v5/market/tickers`).
    public static func tickerObject(instrument: Instrument, fields f: TickerFields) -> String {
        var pairs: [(String, String)] = [("symbol", instrument.symbol)]
        func price(_ key: String, _ v: Price?) { if let v { pairs.append((key, instrument.format(v))) } }
        func qty(_ key: String, _ v: Quantity?) { if let v { pairs.append((key, instrument.format(v))) } }
        price("lastPrice", f.lastPrice)
        price("markPrice", f.markPrice)
        price("indexPrice", f.indexPrice)
        price("prevPrice24h", f.prevPrice24h)
        price("highPrice24h", f.highPrice24h)
        price("lowPrice24h", f.lowPrice24h)
        price("prevPrice1h", f.prevPrice1h)
        if let v = f.price24hPcnt { pairs.append(("price24hPcnt", v.description)) }
        qty("openInterest", f.openInterest)
        if let v = f.openInterestValue { pairs.append(("openInterestValue", v.description)) }
        if let v = f.turnover24h { pairs.append(("turnover24h", v.description)) }
        qty("volume24h", f.volume24h)
        if let v = f.fundingRate { pairs.append(("fundingRate", v.description)) }
        if let v = f.nextFundingTime { pairs.append(("nextFundingTime", String(v.milliseconds))) }
        if let v = f.fundingIntervalHours { pairs.append(("fundingIntervalHour", String(v))) }
        if let v = f.fundingCap { pairs.append(("fundingCap", v.description)) }
        price("bid1Price", f.bid1Price)
        qty("bid1Size", f.bid1Size)
        price("ask1Price", f.ask1Price)
        qty("ask1Size", f.ask1Size)
        if let v = f.tickDirection { pairs.append(("tickDirection", tickDirectionName(v))) }
        return "{" + pairs.map { "\"\($0.0)\":\"\(BybitStreamRequest.escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// Bybit's name of a tick direction.
    public static func tickDirectionName(_ d: TickDirection) -> String {
        switch d {
        case .plusTick: "PlusTick"
        case .zeroPlusTick: "ZeroPlusTick"
        case .minusTick: "MinusTick"
        case .zeroMinusTick: "ZeroMinusTick"
        }
    }

    /// The V5 REST envelope around a `result` JSON object.
    public static func restEnvelope(result: String, retCode: Int = 0, retMsg: String = "OK", time: Int64) -> String {
        #"{"retCode":\#(retCode),"retMsg":"\#(BybitStreamRequest.escape(retMsg))","result":\#(result),"retExtInfo":{},"time":\#(time)}"#
    }

    /// Public-connection acknowledgement of subscribe/unsubscribe (linear shape; `req_id` echoed).
    public static func ack(op: String, success: Bool, message: String, connectionID: String, requestID: String) -> String {
        #"{"success":\#(success),"ret_msg":"\#(BybitStreamRequest.escape(message))","conn_id":"\#(connectionID)","req_id":"\#(BybitStreamRequest.escape(requestID))","op":"\#(op)"}"#
    }

    /// Public-connection pong (`op` is `ping`, `ret_msg` is `pong`, as Bybit's linear streams answer).
    public static func pong(connectionID: String, requestID: String) -> String {
        #"{"success":true,"ret_msg":"pong","conn_id":"\#(connectionID)","req_id":"\#(BybitStreamRequest.escape(requestID))","op":"ping"}"#
    }
}
