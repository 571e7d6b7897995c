/// Writes one compact JSON object with keys in call order, so a request body is byte-stable.
///
/// Bybit verifies the signature over the body bytes it receives; building the text by hand (instead of
/// `JSONEncoder`, whose key order is not part of its contract) makes the signed bytes and the sent bytes one value.
struct BybitJSONWriter {
    // Bytes, not a String: appending a byte is far cheaper than a String append (order bodies are on the decision path).
    private var bytes: [UInt8]
    private var empty = true

    init() {
        bytes = [0x7b]
        bytes.reserveCapacity(320)     // one allocation for an order body
    }

    /// `s` as the inside of a JSON string literal: `"`, `\` and control characters escaped, the rest as is.
    private mutating func appendEscaped(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            // Keys and order fields almost never need escaping: one block copy instead of a byte-by-byte append.
            guard utf8.contains(where: BybitStreamRequest.needsEscape) else { return bytes.append(contentsOf: utf8) }
            for byte in utf8 {
                if BybitStreamRequest.needsEscape(byte) {
                    bytes.append(contentsOf: BybitStreamRequest.escape(String(decoding: [byte], as: UTF8.self)).utf8)
                } else {
                    bytes.append(byte)
                }
            }
        }
    }

    private mutating func key(_ name: String) {
        if !empty { bytes.append(0x2c) }
        empty = false
        bytes.append(0x22)
        appendEscaped(name)
        bytes.append(0x22)
        bytes.append(0x3a)
    }

    /// `"name":"value"`; skipped when `value` is `nil`.
    mutating func string(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        bytes.append(0x22)
        appendEscaped(value)
        bytes.append(0x22)
    }

    /// `"name":123`; skipped when `value` is `nil`.
    mutating func int(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `"name":true`; skipped when `value` is `nil`.
    mutating func bool(_ name: String, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// `"name":<json>` with `json` inserted verbatim (nested arrays/objects built by another writer).
    mutating func raw(_ name: String, _ json: String) {
        key(name)
        bytes.append(contentsOf: json.utf8)
    }

    /// `"name":123` for a 64-bit integer; skipped when `value` is `nil`.
    mutating func int64(_ name: String, _ value: Int64?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
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

    /// The finished object text (the writer is used up: its bytes are closed in place, not copied).
    consuming func finished() -> String {
        bytes.append(0x7d)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON string literal with `"`, `\` and control characters escaped.
    static func quoted(_ value: String) -> String {
        "\"" + BybitStreamRequest.escape(value) + "\""
    }
}
