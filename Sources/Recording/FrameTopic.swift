/// Finds a frame's `topic` by scanning bytes, without decoding the JSON.
///
/// The recorder counts frames per topic and the replayer filters by symbol for every frame, so
/// this must not allocate or parse numbers. It walks the top-level object's keys with a tiny
/// state machine (strings, escapes, nesting), so a `"topic"` key nested in `data` is never
/// mistaken for the envelope's, and the key may be anywhere in the envelope. Bybit puts it first,
/// so the walk usually stops after ten bytes.
public enum FrameTopic {
    /// Byte range of the top-level `"topic"` string value (without quotes, escapes left as sent),
    /// or nil when the frame is not an object or has no string `topic` (e.g. pong, subscribe ack).
    public static func topicRange(in json: UnsafeRawBufferPointer) -> Range<Int>? {
        let n = json.count
        var i = 0
        var depth = 0
        var expectKey = false
        while i < n {
            let c = json[i]
            switch c {
            case UInt8(ascii: "\""):
                let start = i + 1
                guard let close = stringEnd(json, from: start) else { return nil }
                if depth == 1 && expectKey && isTopicKey(json, start, close) {
                    return stringValue(json, afterKeyAt: close + 1)
                }
                expectKey = false
                i = close + 1
                continue
            case UInt8(ascii: "{"):
                depth += 1
                expectKey = depth == 1
            case UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 { return nil }  // the top-level object ended without a topic
            case UInt8(ascii: ","):
                if depth == 1 { expectKey = true }
            default:
                break
            }
            i += 1
        }
        return nil
    }

    /// The top-level `topic` as a String (allocates; use ``topicRange(in:)`` on hot paths).
    public static func topic(of json: UnsafeRawBufferPointer) -> String? {
        guard let r = topicRange(in: json) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: json[r]), as: UTF8.self)
    }

    /// The top-level `topic` of an array of JSON bytes.
    public static func topic(of json: [UInt8]) -> String? {
        json.withUnsafeBytes { topic(of: $0) }
    }

    /// The symbol a topic is about: the part after the last `.` (`orderbook.50.BTCUSDT` gives
    /// `BTCUSDT`). Nil for reserved `_cascade.*` topics, which belong to no symbol, and for
    /// topics without a dot.
    public static func symbol(ofTopic topic: some StringProtocol) -> Substring? {
        if isCascadeTopic(topic) { return nil }
        guard let dot = topic.lastIndex(of: ".") else { return nil }
        let s = Substring(topic)
        let after = s.index(after: dot)
        return after < s.endIndex ? s[after...] : nil
    }

    /// True for the reserved local pseudo-topics (`_cascade.instruments` and friends).
    public static func isCascadeTopic(_ topic: some StringProtocol) -> Bool {
        topic.utf8.starts(with: CascadePseudoTopic.prefix.utf8)
    }

    /// Byte-level variant of ``isCascadeTopic(_:)`` for a topic range from ``topicRange(in:)``.
    public static func isCascadeTopic(_ topicBytes: UnsafeRawBufferPointer) -> Bool {
        topicBytes.starts(with: CascadePseudoTopic.prefix.utf8)
    }

    /// Byte range of the symbol inside `topicBytes` (after the last `.`), nil for `_cascade.*`.
    public static func symbolRange(inTopic topicBytes: UnsafeRawBufferPointer) -> Range<Int>? {
        if isCascadeTopic(topicBytes) { return nil }
        guard let dot = topicBytes.lastIndex(of: UInt8(ascii: ".")), dot + 1 < topicBytes.count else { return nil }
        return (dot + 1)..<topicBytes.count
    }

    // MARK: - Private

    /// Index of the closing quote of a string starting at `from`, honouring backslash escapes.
    private static func stringEnd(_ json: UnsafeRawBufferPointer, from: Int) -> Int? {
        var j = from
        while j < json.count {
            let c = json[j]
            if c == UInt8(ascii: "\\") {
                j += 2
                continue
            }
            if c == UInt8(ascii: "\"") { return j }
            j += 1
        }
        return nil
    }

    private static func isTopicKey(_ json: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Bool {
        end - start == 5 && json[start] == UInt8(ascii: "t") && json[start + 1] == UInt8(ascii: "o")
            && json[start + 2] == UInt8(ascii: "p") && json[start + 3] == UInt8(ascii: "i")
            && json[start + 4] == UInt8(ascii: "c")
    }

    /// After a key's closing quote: optional whitespace, `:`, optional whitespace, a string value.
    private static func stringValue(_ json: UnsafeRawBufferPointer, afterKeyAt from: Int) -> Range<Int>? {
        var j = skipSpace(json, from)
        guard j < json.count, json[j] == UInt8(ascii: ":") else { return nil }
        j = skipSpace(json, j + 1)
        guard j < json.count, json[j] == UInt8(ascii: "\"") else { return nil }  // topic not a string
        guard let close = stringEnd(json, from: j + 1) else { return nil }
        return (j + 1)..<close
    }

    private static func skipSpace(_ json: UnsafeRawBufferPointer, _ from: Int) -> Int {
        var j = from
        while j < json.count {
            switch json[j] {
            case 0x20, 0x09, 0x0A, 0x0D: j += 1
            default: return j
            }
        }
        return j
    }
}
