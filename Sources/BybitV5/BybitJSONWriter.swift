/// Writes one compact JSON object with keys in call order, so a request body is byte-stable.
///
/// Bybit verifies the signature over the body bytes it receives; building the text by hand (instead of
/// `JSONEncoder`, whose key order is not part of its contract) makes the signed bytes and the sent bytes one value.
struct BybitJSONWriter {
    // Bytes, not a String: appending a byte is far cheaper than a String append (order bodies are on the decision path).
    private var bytes: [UInt8]
    private var empty = true

    init() {
        bytes = []
        bytes.reserveCapacity(320)     // one allocation for an order body (a literal first would be a second one)
        bytes.append(0x7b)
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

    /// Keys are literals of this module, plain ASCII by construction: copied as they are, without the escape scan.
    private mutating func key(_ name: StaticString) {
        if !empty { bytes.append(0x2c) }
        empty = false
        bytes.append(0x22)
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(0x22)
        bytes.append(0x3a)
    }

    /// A key made at run time (a fee coin, a permission group): escaped like a value.
    private mutating func key(dynamic name: String) {
        if !empty { bytes.append(0x2c) }
        empty = false
        bytes.append(0x22)
        appendEscaped(name)
        bytes.append(0x22)
        bytes.append(0x3a)
    }

    /// `"name":"value"` with a key made at run time.
    mutating func string(dynamicKey name: String, _ value: String) {
        key(dynamic: name)
        bytes.append(0x22)
        appendEscaped(value)
        bytes.append(0x22)
    }

    /// `"name":<json>` with a key made at run time.
    mutating func raw(dynamicKey name: String, _ json: String) {
        key(dynamic: name)
        bytes.append(contentsOf: json.utf8)
    }

    /// `"name":"value"`; skipped when `value` is `nil`.
    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        bytes.append(0x22)
        appendEscaped(value)
        bytes.append(0x22)
    }

    /// `"name":123`; skipped when `value` is `nil`.
    mutating func int(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `"name":true`; skipped when `value` is `nil`.
    mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// `"name":<json>` with `json` inserted verbatim (nested arrays/objects built by another writer).
    mutating func raw(_ name: StaticString, _ json: String) {
        key(name)
        bytes.append(contentsOf: json.utf8)
    }

    /// `"name":123` for a 64-bit integer; skipped when `value` is `nil`.
    mutating func int64(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    /// `"name":{…}` written by `body` into a writer of its own.
    mutating func object(_ name: StaticString, _ body: (inout BybitJSONWriter) -> Void) {
        var inner = BybitJSONWriter()
        body(&inner)
        raw(name, inner.finished())
    }

    /// `"name":[…]` of objects already written.
    mutating func array(_ name: StaticString, _ items: [String]) {
        raw(name, "[" + items.joined(separator: ",") + "]")
    }

    /// The finished object text: the bytes and the closing brace copied once into the string's own storage (an
    /// append first would copy the bytes when the optimiser keeps the caller's copy alive).
    func finished() -> String {
        String(unsafeUninitializedCapacity: bytes.count + 1) { text in
            let n = text.initialize(fromContentsOf: bytes)
            text[n] = 0x7d
            return n + 1
        }
    }

    /// A JSON string literal with `"`, `\` and control characters escaped.
    static func quoted(_ value: String) -> String {
        "\"" + BybitStreamRequest.escape(value) + "\""
    }
}
