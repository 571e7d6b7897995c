import CascadeCore

extension BybitPublicDecoder {
    /// Parses the `data` member of a topic frame, positioned at its first byte.
    mutating func parseData(_ s: inout JSONScanner, entry index: Int, localTime: LocalTime) throws(BybitFrameError) -> Payload {
        // The entry's fields read in place, not the entry copied: a copy retains its name's byte buffer, a cold line on
        // a cascade's first frame that nothing here reads.
        let symbol = topics[index].symbol
        switch topics[index].topic {
        case .orderBook:
            return .book(try parseBook(&s))
        case .publicTrade:
            return .trades(try parseTrades(&s, symbol: symbol, localTime: localTime))
        case .allLiquidation:
            try s.expect(UInt8(ascii: "["))
            var list: [Liquidation] = []
            if try !s.consume(UInt8(ascii: "]")) {
                repeat {
                    list.append(try parseLiquidation(&s, symbol: symbol, localTime: localTime, legacy: false))
                } while try s.nextElement(close: UInt8(ascii: "]"))
            }
            return .liquidations(list)
        case .legacyLiquidation:
            // The deprecated topic sends one object, not an array.
            return .liquidations([try parseLiquidation(&s, symbol: symbol, localTime: localTime, legacy: true)])
        case .tickers:
            return .ticker(symbol: symbol, fields: try parseTicker(&s))
        case let .kline(interval, _):
            return .klines(try parseKlines(&s, symbol: symbol, interval: interval, localTime: localTime))
        case .local:
            try s.skipValue()
            return .none
        }
    }

    private mutating func parseBook(_ s: inout JSONScanner) throws(BybitFrameError) -> BookPayload {
        bidBuffer.removeAll(keepingCapacity: true)
        askBuffer.removeAll(keepingCapacity: true)
        var payload = BookPayload()
        try s.expect(UInt8(ascii: "{"))
        if try s.consume(UInt8(ascii: "}")) { return payload }
        repeat {
            let key = try s.readKey()
            if key.count == 1 {
                let k = s.bytes[key.lowerBound]
                if k == UInt8(ascii: "b") {
                    try Self.parseLevels(&s, into: &bidBuffer)
                    continue
                } else if k == UInt8(ascii: "a") {
                    try Self.parseLevels(&s, into: &askBuffer)
                    continue
                } else if k == UInt8(ascii: "u") {
                    payload.updateID = try s.readUInt64(field: "u")
                    continue
                }
            } else if key.count == 3 && s.equals(key, "seq") {
                payload.sequence = try s.readUInt64(field: "seq")
                continue
            }
            try s.skipValue()
        } while try s.nextElement(close: UInt8(ascii: "}"))
        return payload
    }

    @inline(__always)
    private static func parseLevels(_ s: inout JSONScanner, into levels: inout [BookLevel]) throws(BybitFrameError) {
        try s.expect(UInt8(ascii: "["))
        if try s.consume(UInt8(ascii: "]")) { return }
        repeat {
            try s.expect(UInt8(ascii: "["))
            let price = try s.readQuotedDecimal(digits: Price.digits, field: "price")
            try s.expect(UInt8(ascii: ","))
            let size = try s.readQuotedDecimal(digits: Quantity.digits, field: "size")
            try s.expect(UInt8(ascii: "]"))
            guard price > 0, size >= 0 else { throw .invalidValue(field: price > 0 ? "size" : "price") }
            levels.append(BookLevel(price: Price(units: price), size: Quantity(units: size)))
        } while try s.nextElement(close: UInt8(ascii: "]"))
    }

    private func parseTrades(_ s: inout JSONScanner, symbol: SymbolID,
                             localTime: LocalTime) throws(BybitFrameError) -> [Trade] {
        try s.expect(UInt8(ascii: "["))
        var list: [Trade] = []
        if try s.consume(UInt8(ascii: "]")) { return list }
        repeat {
            var time: ExchangeTime?, side: Side?, qty: Int64?, price: Int64?, id: String?
            var tick: TickDirection?, block = false, rpi = false, seq: UInt64?
            try s.expect(UInt8(ascii: "{"))
            if try !s.consume(UInt8(ascii: "}")) {
                repeat {
                    let key = try s.readKey()
                    switch key.count {
                    case 1:
                        switch s.bytes[key.lowerBound] {
                        case UInt8(ascii: "T"): time = try s.readTime(field: "T")
                        case UInt8(ascii: "S"): side = try Self.readSide(&s, field: "S")
                        case UInt8(ascii: "v"): qty = try s.readQuotedDecimal(digits: Quantity.digits, field: "v")
                        case UInt8(ascii: "p"): price = try s.readQuotedDecimal(digits: Price.digits, field: "p")
                        case UInt8(ascii: "L"): tick = try Self.readTickDirection(&s)
                        case UInt8(ascii: "i"):
                            let b = try s.peek()
                            guard b == UInt8(ascii: "\"") else { throw .wrongType(field: "i") }
                            id = s.string(try s.readStringRange())
                        default: try s.skipValue()
                        }
                    case 2 where s.equals(key, "BT"): block = try s.readBool(field: "BT")
                    case 3 where s.equals(key, "RPI"): rpi = try s.readBool(field: "RPI")
                    case 3 where s.equals(key, "seq"): seq = try s.readUInt64(field: "seq")
                    default: try s.skipValue()
                    }
                } while try s.nextElement(close: UInt8(ascii: "}"))
            }
            guard let time else { throw .missingField("T") }
            guard let side else { throw .missingField("S") }
            guard let qty else { throw .missingField("v") }
            guard let price else { throw .missingField("p") }
            guard let id else { throw .missingField("i") }
            guard qty > 0, price > 0 else { throw .invalidValue(field: qty > 0 ? "p" : "v") }
            list.append(Trade(symbol: symbol, price: Price(units: price), qty: Quantity(units: qty), takerSide: side,
                              tickDirection: tick, id: id, tradeTime: time, exchangeTime: time, localTime: localTime,
                              isBlockTrade: block, isRPI: rpi, sequence: seq))
        } while try s.nextElement(close: UInt8(ascii: "]"))
        return list
    }

    private func parseLiquidation(_ s: inout JSONScanner, symbol: SymbolID, localTime: LocalTime,
                                  legacy: Bool) throws(BybitFrameError) -> Liquidation {
        var time: ExchangeTime?, side: Side?, qty: Int64?, price: Int64?
        try s.expect(UInt8(ascii: "{"))
        if try !s.consume(UInt8(ascii: "}")) {
            repeat {
                let key = try s.readKey()
                if legacy {
                    if s.equals(key, "updatedTime") || s.equals(key, "updateTime") { time = try s.readTime(field: "updatedTime") }
                    else if s.equals(key, "side") { side = try Self.readSide(&s, field: "side") }
                    else if s.equals(key, "size") { qty = try s.readQuotedDecimal(digits: Quantity.digits, field: "size") }
                    else if s.equals(key, "price") { price = try s.readQuotedDecimal(digits: Price.digits, field: "price") }
                    else { try s.skipValue() }
                    continue
                }
                guard key.count == 1 else {
                    try s.skipValue()
                    continue
                }
                switch s.bytes[key.lowerBound] {
                case UInt8(ascii: "T"): time = try s.readTime(field: "T")
                case UInt8(ascii: "S"): side = try Self.readSide(&s, field: "S")
                case UInt8(ascii: "v"): qty = try s.readQuotedDecimal(digits: Quantity.digits, field: "v")
                case UInt8(ascii: "p"): price = try s.readQuotedDecimal(digits: Price.digits, field: "p")
                default: try s.skipValue()
                }
            } while try s.nextElement(close: UInt8(ascii: "}"))
        }
        guard let time else { throw .missingField("T") }
        guard let side else { throw .missingField("S") }
        guard let qty else { throw .missingField("v") }
        guard let price else { throw .missingField("p") }
        guard qty > 0, price > 0 else { throw .invalidValue(field: qty > 0 ? "p" : "v") }
        // Reads no field of the instrument: no copy of one from the table.
        guard let notional = Instrument.notional(price: Price(units: price), qty: Quantity(units: qty)) else {
            throw .numberOverflow(field: "notional")
        }
        // Bybit: `S` is the side of the liquidated *position*; Buy means a long was liquidated.
        return Liquidation(symbol: symbol, liquidatedSide: side == .buy ? .long : .short,
                           qty: Quantity(units: qty), bankruptcyPrice: Price(units: price), notional: notional,
                           updatedTime: time, exchangeTime: time, localTime: localTime,
                           source: legacy ? .throttled : .all)
    }

    private func parseTicker(_ s: inout JSONScanner) throws(BybitFrameError) -> TickerFields {
        var f = TickerFields()
        let p = Price.digits, q = Quantity.digits
        try s.expect(UInt8(ascii: "{"))
        if try s.consume(UInt8(ascii: "}")) { return f }
        repeat {
            let key = try s.readKey()
            // Keys are matched by name; all values are strings on Bybit (empty string = no value).
            if s.equals(key, "lastPrice") { f.lastPrice = try s.readDecimal(digits: p, field: "lastPrice").map(Price.init) }
            else if s.equals(key, "markPrice") { f.markPrice = try s.readDecimal(digits: p, field: "markPrice").map(Price.init) }
            else if s.equals(key, "indexPrice") { f.indexPrice = try s.readDecimal(digits: p, field: "indexPrice").map(Price.init) }
            else if s.equals(key, "bid1Price") { f.bid1Price = try s.readDecimal(digits: p, field: "bid1Price").map(Price.init) }
            else if s.equals(key, "bid1Size") { f.bid1Size = try s.readDecimal(digits: q, field: "bid1Size").map(Quantity.init) }
            else if s.equals(key, "ask1Price") { f.ask1Price = try s.readDecimal(digits: p, field: "ask1Price").map(Price.init) }
            else if s.equals(key, "ask1Size") { f.ask1Size = try s.readDecimal(digits: q, field: "ask1Size").map(Quantity.init) }
            else if s.equals(key, "fundingRate") { f.fundingRate = try s.readDecimal(digits: Rate.digits, field: "fundingRate").map(Rate.init) }
            else if s.equals(key, "nextFundingTime") {
                f.nextFundingTime = try s.readDecimal(digits: 0, field: "nextFundingTime").map(ExchangeTime.init(milliseconds:))
            }
            else if s.equals(key, "openInterest") { f.openInterest = try s.readDecimal(digits: q, field: "openInterest").map(Quantity.init) }
            else if s.equals(key, "openInterestValue") {
                f.openInterestValue = try s.readWideDecimal(digits: USDT.digits, field: "openInterestValue").map(USDT.init(units:))
            }
            else if s.equals(key, "volume24h") { f.volume24h = try s.readDecimal(digits: q, field: "volume24h").map(Quantity.init) }
            else if s.equals(key, "turnover24h") { f.turnover24h = try s.readWideDecimal(digits: USDT.digits, field: "turnover24h").map(USDT.init(units:)) }
            else if s.equals(key, "highPrice24h") { f.highPrice24h = try s.readDecimal(digits: p, field: "highPrice24h").map(Price.init) }
            else if s.equals(key, "lowPrice24h") { f.lowPrice24h = try s.readDecimal(digits: p, field: "lowPrice24h").map(Price.init) }
            else if s.equals(key, "prevPrice24h") { f.prevPrice24h = try s.readDecimal(digits: p, field: "prevPrice24h").map(Price.init) }
            else if s.equals(key, "prevPrice1h") { f.prevPrice1h = try s.readDecimal(digits: p, field: "prevPrice1h").map(Price.init) }
            else if s.equals(key, "price24hPcnt") { f.price24hPcnt = try s.readDecimal(digits: Rate.digits, field: "price24hPcnt").map(Rate.init) }
            else if s.equals(key, "fundingCap") { f.fundingCap = try s.readDecimal(digits: Rate.digits, field: "fundingCap").map(Rate.init) }
            else if s.equals(key, "fundingIntervalHour") {
                f.fundingIntervalHours = try s.readDecimal(digits: 0, field: "fundingIntervalHour").map { Int($0) }
            }
            else if s.equals(key, "tickDirection") { f.tickDirection = try Self.readTickDirection(&s) }
            else { try s.skipValue() }
        } while try s.nextElement(close: UInt8(ascii: "}"))
        return f
    }

    private func parseKlines(_ s: inout JSONScanner, symbol: SymbolID, interval: String,
                             localTime: LocalTime) throws(BybitFrameError) -> [Kline] {
        try s.expect(UInt8(ascii: "["))
        var list: [Kline] = []
        if try s.consume(UInt8(ascii: "]")) { return list }
        let p = Price.digits
        repeat {
            var start: ExchangeTime?, end: ExchangeTime?, last: ExchangeTime?, confirm: Bool?
            var open: Int64?, high: Int64?, low: Int64?, close: Int64?, volume: Int64?, turnover: Int128?
            try s.expect(UInt8(ascii: "{"))
            if try !s.consume(UInt8(ascii: "}")) {
                repeat {
                    let key = try s.readKey()
                    if s.equals(key, "start") { start = try s.readTime(field: "start") }
                    else if s.equals(key, "end") { end = try s.readTime(field: "end") }
                    else if s.equals(key, "timestamp") { last = try s.readTime(field: "timestamp") }
                    else if s.equals(key, "confirm") { confirm = try s.readBool(field: "confirm") }
                    else if s.equals(key, "open") { open = try s.readQuotedDecimal(digits: p, field: "open") }
                    else if s.equals(key, "high") { high = try s.readQuotedDecimal(digits: p, field: "high") }
                    else if s.equals(key, "low") { low = try s.readQuotedDecimal(digits: p, field: "low") }
                    else if s.equals(key, "close") { close = try s.readQuotedDecimal(digits: p, field: "close") }
                    else if s.equals(key, "volume") { volume = try s.readQuotedDecimal(digits: Quantity.digits, field: "volume") }
                    else if s.equals(key, "turnover") { turnover = try s.readWideDecimal(digits: USDT.digits, field: "turnover") }
                    else { try s.skipValue() }
                } while try s.nextElement(close: UInt8(ascii: "}"))
            }
            guard let start else { throw .missingField("start") }
            guard let end else { throw .missingField("end") }
            guard let open, let high, let low, let close else { throw .missingField("open/high/low/close") }
            guard let volume else { throw .missingField("volume") }
            guard let turnover else { throw .missingField("turnover") }
            guard let confirm else { throw .missingField("confirm") }
            list.append(Kline(symbol: symbol, interval: interval, start: start, end: end, open: Price(units: open),
                              high: Price(units: high), low: Price(units: low), close: Price(units: close),
                              volume: Quantity(units: volume), turnover: USDT(units: turnover), confirmed: confirm,
                              lastMatchTime: last ?? end, exchangeTime: last ?? end, localTime: localTime))
        } while try s.nextElement(close: UInt8(ascii: "]"))
        return list
    }

    private static func readSide(_ s: inout JSONScanner, field: StaticString) throws(BybitFrameError) -> Side {
        guard try s.peek() == UInt8(ascii: "\"") else { throw .wrongType(field: field) }
        let r = try s.readStringRange()
        if s.equals(r, "Buy") { return .buy }
        if s.equals(r, "Sell") { return .sell }
        throw .invalidValue(field: field)
    }

    private static func readTickDirection(_ s: inout JSONScanner) throws(BybitFrameError) -> TickDirection? {
        guard try s.peek() == UInt8(ascii: "\"") else { throw .wrongType(field: "L") }
        let r = try s.readStringRange()
        if s.equals(r, "PlusTick") { return .plusTick }
        if s.equals(r, "ZeroPlusTick") { return .zeroPlusTick }
        if s.equals(r, "MinusTick") { return .minusTick }
        if s.equals(r, "ZeroMinusTick") { return .zeroMinusTick }
        if r.isEmpty { return nil }
        throw .invalidValue(field: "L")
    }
}
