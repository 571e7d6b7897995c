/// Writes one compact JSON object with keys in call order, so a request body is byte-stable.
///
/// Bybit verifies the signature over the body bytes it receives; building the text by hand (instead of
/// `JSONEncoder`, whose key order is not part of its contract) makes the signed bytes and the sent bytes one value.
struct BybitJSONWriter {
    private var text: String
    private var empty = true

    init() {
        text = "{"
        text.reserveCapacity(320)     // one growth at most for an order body
    }

    private mutating func key(_ name: String) {
        text += empty ? "\"" : ",\""
        empty = false
        text += BybitStreamRequest.escape(name)
        text += "\":"
    }

    /// `"name":"value"`; skipped when `value` is `nil`.
    mutating func string(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        text += "\""
        text += BybitStreamRequest.escape(value)
        text += "\""
    }

    /// `"name":123`; skipped when `value` is `nil`.
    mutating func int(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        text += String(value)
    }

    /// `"name":true`; skipped when `value` is `nil`.
    mutating func bool(_ name: String, _ value: Bool?) {
        guard let value else { return }
        key(name)
        text += value ? "true" : "false"
    }

    /// `"name":<json>` with `json` inserted verbatim (nested arrays/objects built by another writer).
    mutating func raw(_ name: String, _ json: String) {
        key(name)
        text += json
    }

    /// `"name":123` for a 64-bit integer; skipped when `value` is `nil`.
    mutating func int64(_ name: String, _ value: Int64?) {
        guard let value else { return }
        key(name)
        text += String(value)
    }

    /// `"name":{…}` written by `body` into a writer of its own.
    mutating func object(_ name: String, _ body: (inout BybitJSONWriter) -> Void) {
        var inner = BybitJSONWriter()
        body(&inner)
        raw(name, inner.finished())
    }

    /// `"name":[…]` of objects already written.
    mutating func array(_ name: String, _ items: [String]) {
        raw(name, "[" + items.joined(separator: ",") + "]")
    }

    /// The finished object text.
    func finished() -> String { text + "}" }

    /// A JSON string literal with `"`, `\` and control characters escaped.
    static func quoted(_ value: String) -> String {
        "\"" + BybitStreamRequest.escape(value) + "\""
    }
}
