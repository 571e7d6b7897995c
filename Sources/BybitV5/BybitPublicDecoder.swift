public import CascadeCore

/// One decoded frame of Bybit's public linear WebSocket (or of a recording of it).
public enum BybitPublicMessage: Sendable {
    case book(BookUpdate)
    case trades([Trade])
    case liquidations([Liquidation])
    case ticker(TickerUpdate)
    case klines([Kline])
    case control(BybitControlFrame)
    /// A reserved local pseudo-topic frame of the recorder (`_cascade.<name>`) with its raw `data` JSON bytes.
    case local(name: String, data: [UInt8])
}

extension BybitPublicMessage {
    /// The venue-neutral event, or `nil` for control and local frames.
    public var marketEvent: MarketEvent? {
        switch self {
        case let .book(u): .book(u)
        case let .trades(t): .trades(t)
        case let .liquidations(l): .liquidations(l)
        case let .ticker(t): .ticker(t)
        case let .klines(k): .klines(k)
        case .control, .local: nil
        }
    }
}

/// Decodes Bybit V5 public frames straight from bytes into domain events: no `JSONDecoder`, no `Double`,
/// no per-level allocation.
///
/// ```swift
/// var decoder = BybitPublicDecoder()
/// let message = try decoder.decode(frameBytes, localTime: receivedAt)   // throws(BybitFrameError)
/// ```
/// Keys are matched by name in any order (Bybit's key order varies by topic). Unknown keys are skipped;
/// unknown topics, wrong types, out-of-scale decimals and truncation are typed errors, and a failed frame
/// leaves the decoder unchanged apart from symbols it registered.
public struct BybitPublicDecoder: Sendable {
    /// Symbols and their scales; symbols met for the first time are registered with the default scale.
    public var instruments: InstrumentTable

    @usableFromInline struct TopicEntry: Sendable {
        @usableFromInline var bytes: [UInt8]
        @usableFromInline var topic: BybitTopic
        @usableFromInline var symbol: SymbolID
        /// The name's length and its first, second and last eight bytes, inline: the scan rejects another topic
        /// without reading its bytes' buffer (a cold line each on a cascade's first frame); a name of at most 24 bytes
        /// (`allLiquidation.BTCUSDT` is 22) is then matched whole by its key, a longer one compared whole on a match.
        @usableFromInline var key: TopicKey
    }

    @usableFromInline struct TopicKey: Sendable, Equatable {
        @usableFromInline var count: Int
        @usableFromInline var head: UInt64
        /// Bytes 8..<16 (zero for a name shorter than 16: head and tail cover it).
        @usableFromInline var middle: UInt64
        @usableFromInline var tail: UInt64

        /// Whether the key holds every byte of the name (equal keys are then equal names).
        @inlinable var isWholeName: Bool { count <= 24 }

        @inlinable init(_ name: UnsafeBufferPointer<UInt8>) {
            count = name.count
            guard let base = name.baseAddress, name.count >= 8 else {
                // Short names (none is a Bybit topic): the bytes themselves, zero-padded.
                var packed: UInt64 = 0
                for (i, byte) in name.enumerated() { packed |= UInt64(byte) << (8 * UInt64(i)) }
                head = packed
                middle = 0
                tail = packed
                return
            }
            head = UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)
            middle = name.count >= 16 ? UnsafeRawPointer(base + 8).loadUnaligned(as: UInt64.self) : 0
            tail = UnsafeRawPointer(base + (name.count - 8)).loadUnaligned(as: UInt64.self)
        }
    }

    @usableFromInline var topics: [TopicEntry] = []
    @usableFromInline var lastTopic: Int = -1
    // Reused level buffers: a consumer that drops each message before the next decode keeps them unique.
    @usableFromInline var bidBuffer: [BookLevel] = []
    @usableFromInline var askBuffer: [BookLevel] = []

    public init(instruments: InstrumentTable = InstrumentTable()) {
        self.instruments = instruments
        bidBuffer.reserveCapacity(1024)
        askBuffer.reserveCapacity(1024)
    }

    /// Index of the topic of the last successfully read `topic` key (stable for the decoder's lifetime).
    public var lastTopicIndex: Int { lastTopic }

    /// The index of a topic given by name, registering it (and its symbol) if it is valid; `nil` otherwise.
    /// Lets callers key per-topic state by the same index for good and damaged frames.
    public mutating func topicIndex(named name: String) -> Int? {
        var bytes = Array(name.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer in
            try? topicEntry(UnsafeBufferPointer(buffer))
        }
    }

    /// The topic with a given index (see ``lastTopicIndex``).
    public func topic(at index: Int) -> BybitTopic { topics[index].topic }

    /// Decodes one frame given as raw bytes.
    public mutating func decode(_ frame: UnsafeRawBufferPointer, localTime: LocalTime) throws(BybitFrameError) -> BybitPublicMessage {
        try decode(frame.assumingMemoryBound(to: UInt8.self), localTime: localTime)
    }

    /// Decodes one frame given as an array of bytes.
    public mutating func decode(_ frame: [UInt8], localTime: LocalTime) throws(BybitFrameError) -> BybitPublicMessage {
        let result: Result<BybitPublicMessage, BybitFrameError> = frame.withUnsafeBufferPointer { buffer in
            do throws(BybitFrameError) { return .success(try decode(buffer, localTime: localTime)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Decodes one frame given as a `String` (tests, tools).
    public mutating func decode(_ frame: String, localTime: LocalTime) throws(BybitFrameError) -> BybitPublicMessage {
        try decode(Array(frame.utf8), localTime: localTime)
    }

    /// What the data member of a topic frame decoded into, before the envelope is complete.
    enum Payload {
        case none
        case book(BookPayload)
        case trades([Trade])
        case liquidations([Liquidation])
        case ticker(symbol: SymbolID, fields: TickerFields)
        case klines([Kline])
    }

    struct BookPayload {
        var updateID: UInt64?
        var sequence: UInt64?
    }

    /// Decodes one frame given as a byte buffer (the hot path).
    public mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, localTime: LocalTime) throws(BybitFrameError) -> BybitPublicMessage {
        var s = JSONScanner(bytes)
        s.skipWhitespace()
        if s.atEnd { throw .empty }
        try s.expect(UInt8(ascii: "{"))

        var topicIndex = -1
        var isSnapshot: Bool?
        var ts: ExchangeTime?
        var cts: ExchangeTime?
        var cs: UInt64?
        var deferredData: Range<Int>?
        var dataRange: Range<Int>?
        var payload = Payload.none
        // Control-frame fields.
        var op: Range<Int>?
        var success: Bool?
        var retMsg: Range<Int>?
        var reqID: Range<Int>?
        var connID: Range<Int>?
        var args: [Range<Int>] = []

        if try !s.consume(UInt8(ascii: "}")) {
            repeat {
                let key = try s.readKey()
                switch key.count {
                case 5 where s.equals(key, "topic"):
                    let r = try s.readStringRange()
                    topicIndex = try topicEntry(s.slice(r))
                case 4 where s.equals(key, "type"):
                    let r = try s.readStringRange()
                    if s.equals(r, "snapshot") { isSnapshot = true } else if s.equals(r, "delta") { isSnapshot = false } else {
                        // Option/spread command responses use `type` too; they are not topic data.
                        isSnapshot = nil
                    }
                case 2 where s.equals(key, "ts"):
                    ts = try s.readTime(field: "ts")
                case 4 where s.equals(key, "data"):
                    let start = s.index
                    if topicIndex >= 0 {
                        payload = try parseData(&s, entry: topicIndex, localTime: localTime)
                        dataRange = start..<s.index
                    } else {
                        try s.skipValue()
                        deferredData = start..<s.index
                        dataRange = deferredData
                    }
                case 3 where s.equals(key, "cts"):
                    cts = try s.readTime(field: "cts")
                case 2 where s.equals(key, "cs"):
                    cs = try s.readUInt64(field: "cs")
                case 2 where s.equals(key, "op"):
                    op = try s.readStringRange()
                case 7 where s.equals(key, "success"):
                    success = try s.readBool(field: "success")
                case 7 where s.equals(key, "ret_msg"):
                    retMsg = try s.peek() == UInt8(ascii: "\"") ? try s.readStringRange() : nil
                    if retMsg == nil { try s.skipValue() }
                case 6 where s.equals(key, "req_id"):
                    reqID = try s.peek() == UInt8(ascii: "\"") ? try s.readStringRange() : nil
                    if reqID == nil { try s.skipValue() }
                case 7 where s.equals(key, "conn_id"):
                    connID = try s.readStringRange()
                case 4 where s.equals(key, "args"):
                    if try s.peek() == UInt8(ascii: "[") {
                        try s.expect(UInt8(ascii: "["))
                        if try !s.consume(UInt8(ascii: "]")) {
                            repeat {
                                if try s.peek() == UInt8(ascii: "\"") { args.append(try s.readStringRange()) } else { try s.skipValue() }
                            } while try s.nextElement(close: UInt8(ascii: "]"))
                        }
                    } else {
                        try s.skipValue()
                    }
                default:
                    try s.skipValue()
                }
            } while try s.nextElement(close: UInt8(ascii: "}"))
        }
        s.skipWhitespace()
        if !s.atEnd { throw .unexpectedByte(offset: s.index, byte: bytes[s.index]) }

        guard topicIndex >= 0 else {
            guard let op else { throw .unrecognisedFrame }
            let kind: BybitControlFrame.Kind
            if s.equals(op, "pong") || (s.equals(op, "ping") && retMsg.map { s.equals($0, "pong") } == true) {
                kind = .pong
            } else if s.equals(op, "subscribe") {
                kind = .subscribe
            } else if s.equals(op, "unsubscribe") {
                kind = .unsubscribe
            } else if s.equals(op, "auth") {
                kind = .auth
            } else {
                kind = .other(s.string(op))
            }
            return .control(BybitControlFrame(
                kind: kind, success: success, retMessage: retMsg.map(s.string) ?? "",
                requestID: reqID.map(s.string) ?? "", connectionID: connID.map(s.string) ?? "",
                args: args.map(s.string)))
        }

        // Matched in place, not copied out of the entry (see `parseData`).
        if case let .local(name) = topics[topicIndex].topic {
            return .local(name: name, data: dataRange.map { Array(s.slice($0)) } ?? [])
        }
        if let deferredData {
            var inner = s
            inner.index = deferredData.lowerBound
            payload = try parseData(&inner, entry: topicIndex, localTime: localTime)
        }
        guard let ts else { throw .missingField("ts") }

        switch payload {
        case .none:
            throw .missingField("data")
        case let .book(book):
            guard case let .orderBook(depth, _) = topics[topicIndex].topic else { throw .unrecognisedFrame }
            guard let isSnapshot else { throw .missingField("type") }
            guard let u = book.updateID else { throw .missingField("u") }
            // Depth 1 is snapshot-only on Bybit; every message replaces the book.
            let kind: BookUpdate.Kind = (isSnapshot || depth == 1) ? .snapshot : .delta
            return .book(BookUpdate(
                symbol: topics[topicIndex].symbol, depth: depth, kind: kind, updateID: u, sequence: book.sequence ?? 0,
                exchangeTime: ts, matchTime: cts, localTime: localTime, bids: bidBuffer, asks: askBuffer))
        case var .trades(list):
            for i in list.indices { list[i].exchangeTime = ts }
            return .trades(list)
        case var .liquidations(list):
            for i in list.indices { list[i].exchangeTime = ts }
            return .liquidations(list)
        case let .ticker(symbol, fields):
            guard let isSnapshot else { throw .missingField("type") }
            return .ticker(TickerUpdate(symbol: symbol, kind: isSnapshot ? .snapshot : .delta, fields: fields,
                                        crossSequence: cs, exchangeTime: ts, localTime: localTime))
        case var .klines(list):
            for i in list.indices { list[i].exchangeTime = ts }
            return .klines(list)
        }
    }

    /// Finds or creates the cache entry of a topic name.
    @usableFromInline
    mutating func topicEntry(_ name: UnsafeBufferPointer<UInt8>) throws(BybitFrameError) -> Int {
        let key = TopicKey(name)
        if lastTopic >= 0, topics[lastTopic].key == key, key.isWholeName || Self.same(topics[lastTopic].bytes, name) { return lastTopic }
        for i in topics.indices where topics[i].key == key && (key.isWholeName || Self.same(topics[i].bytes, name)) {
            lastTopic = i
            return i
        }
        let text = String(decoding: name, as: UTF8.self)
        guard let topic = BybitTopic(text) else { throw .unknownTopic(text) }
        let id: SymbolID
        if let symbol = topic.symbol {
            id = instruments.id(for: symbol)
        } else {
            id = SymbolID(index: UInt32.max)
        }
        topics.append(TopicEntry(bytes: Array(name), topic: topic, symbol: id, key: key))
        lastTopic = topics.count - 1
        return lastTopic
    }

    @inline(__always) @usableFromInline
    static func same(_ a: [UInt8], _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { pa in
            memcmpBytes(pa.baseAddress!, b.baseAddress!, a.count)
        }
    }

    @inline(__always) @usableFromInline
    static func memcmpBytes(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var i = n - 1
        // Compare from the end: topics of one stream differ in their symbol suffix.
        while i >= 0 {
            if a[i] != b[i] { return false }
            i -= 1
        }
        return true
    }
}
