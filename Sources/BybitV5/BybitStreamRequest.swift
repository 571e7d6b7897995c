/// Requests a client sends on a Bybit V5 WebSocket (subscribe, unsubscribe, application-level ping).
///
/// Bybit's linear public streams limit one connection's subscribe `args` to 21,000 characters in total and
/// set no per-request count limit; ``batches(of:maxArgsCharacters:)`` keeps each request well under that.
public enum BybitStreamRequest {
    /// `{"req_id":"…","op":"subscribe","args":[…]}`.
    public static func subscribe(_ topics: [String], requestID: String) -> String {
        frame(op: "subscribe", topics: topics, requestID: requestID)
    }

    /// `{"req_id":"…","op":"unsubscribe","args":[…]}` (pybit echoes the subscribe's id; so do we).
    public static func unsubscribe(_ topics: [String], requestID: String) -> String {
        frame(op: "unsubscribe", topics: topics, requestID: requestID)
    }

    /// `{"req_id":"…","op":"ping"}`: the application ping Bybit asks for every 20 s (protocol pings are not enough).
    public static func ping(requestID: String) -> String {
        #"{"req_id":"\#(escape(requestID))","op":"ping"}"#
    }

    /// Splits topics into subscribe requests whose `args` stay under `maxArgsCharacters` characters each.
    public static func batches(of topics: [String], maxArgsCharacters: Int = 20_000) -> [[String]] {
        batches(ofGroups: topics.map { [$0] }, maxArgsCharacters: maxArgsCharacters)
    }

    /// As ``batches(of:maxArgsCharacters:)``, keeping each group's topics in one batch (e.g. a symbol's book and
    /// liquidations on one connection).
    public static func batches(ofGroups groups: [[String]], maxArgsCharacters: Int = 20_000) -> [[String]] {
        var result: [[String]] = []
        var current: [String] = []
        var size = 2
        for group in groups {
            let cost = group.reduce(0) { $0 + $1.utf8.count + 3 }   // quotes and comma
            if !current.isEmpty && size + cost > maxArgsCharacters {
                result.append(current)
                current = []
                size = 2
            }
            current += group
            size += cost
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    static func frame(op: String, topics: [String], requestID: String) -> String {
        let args = topics.map { "\"\(escape($0))\"" }.joined(separator: ",")
        return #"{"req_id":"\#(escape(requestID))","op":"\#(op)","args":[\#(args)]}"#
    }

    /// A byte JSON escapes inside a string: a control character, `"` or `\`.
    static func needsEscape(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x22 || byte == 0x5c }

    /// Minimal JSON string escaping (topics and ids are ASCII, but never trust that blindly).
    public static func escape(_ s: String) -> String {
        // Almost every text is plain (symbols, ids, decimals): returned as it is, without a copy.
        if !s.utf8.contains(where: needsEscape) { return s }
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
