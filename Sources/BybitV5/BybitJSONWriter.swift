/// Writes one compact JSON object with keys in call order, so a request body is byte-stable.
///
/// Bybit verifies the signature over the body bytes it receives; building the text by hand (instead of
/// `JSONEncoder`, whose key order is not part of its contract) makes the signed bytes and the sent bytes one value.
///
/// The bytes go to a buffer the writer owns (order bodies are on the decision path: an array append checks
/// uniqueness and capacity for every byte). Noncopyable, so no two writers ever share the buffer; it is freed when the
/// writer ends.
struct BybitJSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count: Int
    private var empty = true

    init() {
        capacity = 320                 // an order body fits: one allocation
        base = .allocate(capacity: capacity)
        base[0] = 0x7b
        count = 1
    }

    deinit { base.deallocate() }

    @inline(__always) private mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(to: count + n) }
    }

    private mutating func grow(to needed: Int) {
        let larger = max(capacity * 2, needed)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.initialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    @inline(__always) private mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always) private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).initialize(from: source, count: bytes.count)
        count += bytes.count
    }

    private mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    /// `s` as the inside of a JSON string literal: `"`, `\` and control characters escaped, the rest as is.
    private mutating func appendEscaped(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            // Keys and order fields almost never need escaping: one block copy instead of a byte-by-byte append.
            guard utf8.contains(where: BybitStreamRequest.needsEscape) else { return append(utf8) }
            for byte in utf8 {
                if BybitStreamRequest.needsEscape(byte) {
                    append(BybitStreamRequest.escape(String(decoding: [byte], as: UTF8.self)))
                } else {
                    append(byte)
                }
            }
        }
    }

    /// `,"` before every member but the first, then the key's opening quote.
    @inline(__always) private mutating func beginKey() {
        if !empty { append(0x2c) }
        empty = false
        append(0x22)
    }

    /// Keys are literals of this module, plain ASCII by construction: copied as they are, without the escape scan.
    private mutating func key(_ name: StaticString) {
        let bytes = UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        assert(!bytes.contains(where: BybitStreamRequest.needsEscape), "JSON key literal \(name) needs escaping")
        beginKey()
        append(bytes)
        append(0x22)
        append(0x3a)
    }

    /// A key made at run time (a fee coin, a permission group): escaped like a value.
    private mutating func key(dynamic name: String) {
        beginKey()
        appendEscaped(name)
        append(0x22)
        append(0x3a)
    }

    /// `"name":"value"` with a key made at run time.
    mutating func string(dynamicKey name: String, _ value: String) {
        key(dynamic: name)
        append(0x22)
        appendEscaped(value)
        append(0x22)
    }

    /// `"name":<json>` with a key made at run time.
    mutating func raw(dynamicKey name: String, _ json: String) {
        key(dynamic: name)
        append(json)
    }

    /// `"name":"value"`; skipped when `value` is `nil`.
    mutating func string(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        append(0x22)
        appendEscaped(value)
        append(0x22)
    }

    /// `"name":123`; skipped when `value` is `nil`.
    mutating func int(_ name: StaticString, _ value: Int?) {
        guard let value else { return }
        key(name)
        append(String(value))
    }

    /// `"name":true`; skipped when `value` is `nil`.
    mutating func bool(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        append(value ? "true" : "false")
    }

    /// `"name":<json>` with `json` inserted verbatim (nested arrays/objects built by another writer).
    mutating func raw(_ name: StaticString, _ json: String) {
        key(name)
        append(json)
    }

    /// `"name":123` for a 64-bit integer; skipped when `value` is `nil`.
    mutating func int64(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        append(String(value))
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

    /// The finished object text: the bytes and the closing brace copied once into the string's own storage. The
    /// writer ends here (its buffer is freed).
    consuming func finished() -> String {
        let n = count
        let source = base
        return String(unsafeUninitializedCapacity: n + 1) { text in
            text.baseAddress!.initialize(from: source, count: n)
            text[n] = 0x7d
            return n + 1
        }
    }

    /// A JSON string literal with `"`, `\` and control characters escaped.
    static func quoted(_ value: String) -> String {
        "\"" + BybitStreamRequest.escape(value) + "\""
    }
}
