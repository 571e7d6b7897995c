public import CascadeCore

/// A forward-only scanner over compact JSON bytes, for the known shapes of Bybit frames.
///
/// It never allocates: strings are returned as byte ranges into the frame, numbers are parsed in place.
/// Every read is bounds-checked, so any damaged frame ends in a ``BybitFrameError`` rather than a crash.
@usableFromInline
struct JSONScanner {
    @usableFromInline let bytes: UnsafeBufferPointer<UInt8>
    @usableFromInline var index: Int

    @inlinable init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        self.index = 0
    }

    @inlinable var atEnd: Bool { index >= bytes.count }

    @inlinable @inline(__always) mutating func skipWhitespace() {
        while index < bytes.count {
            let b = bytes[index]
            if b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 } else { return }
        }
    }

    /// The next non-space byte, without consuming it.
    @inlinable @inline(__always) mutating func peek() throws(BybitFrameError) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw .truncated }
        return bytes[index]
    }

    @inlinable @inline(__always) mutating func expect(_ byte: UInt8) throws(BybitFrameError) {
        skipWhitespace()
        guard index < bytes.count else { throw .truncated }
        guard bytes[index] == byte else { throw .unexpectedByte(offset: index, byte: bytes[index]) }
        index += 1
    }

    /// Consumes `byte` if it is next; returns whether it did.
    @inlinable @inline(__always) mutating func consume(_ byte: UInt8) throws(BybitFrameError) -> Bool {
        if try peek() == byte {
            index += 1
            return true
        }
        return false
    }

    /// Reads a string and returns the range of its raw bytes (escapes are kept as sent; Bybit's values have none).
    @inlinable @inline(__always) mutating func readStringRange() throws(BybitFrameError) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < bytes.count {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let range = start..<index
                index += 1
                return range
            }
            if b == UInt8(ascii: "\\") { index += 1 }
            index += 1
        }
        throw .truncated
    }

    /// Reads an object key and the colon after it.
    @inlinable @inline(__always) mutating func readKey() throws(BybitFrameError) -> Range<Int> {
        let range = try readStringRange()
        try expect(UInt8(ascii: ":"))
        return range
    }

    /// A view of a byte range of the frame.
    @inlinable func slice(_ range: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[range])
    }

    @inlinable func equals(_ range: Range<Int>, _ literal: StaticString) -> Bool {
        guard range.count == literal.utf8CodeUnitCount else { return false }
        let p = literal.utf8Start
        var i = 0
        while i < range.count {
            if bytes[range.lowerBound + i] != p[i] { return false }
            i += 1
        }
        return true
    }

    @inlinable func string(_ range: Range<Int>) -> String {
        String(decoding: slice(range), as: UTF8.self)
    }

    /// Reads an unsigned JSON integer (Bybit ids and times). A quoted integer is accepted too.
    @inlinable mutating func readUInt64(field: StaticString) throws(BybitFrameError) -> UInt64 {
        skipWhitespace()
        guard index < bytes.count else { throw .truncated }
        if bytes[index] == UInt8(ascii: "\"") {
            let r = try readStringRange()
            return try Self.parseUInt64(slice(r), field: field)
        }
        let start = index
        while index < bytes.count, bytes[index] &- UInt8(ascii: "0") <= 9 { index += 1 }
        if index == start {
            if index < bytes.count && (bytes[index] == UInt8(ascii: "n") || bytes[index] == UInt8(ascii: "t")
                || bytes[index] == UInt8(ascii: "f") || bytes[index] == UInt8(ascii: "[")
                || bytes[index] == UInt8(ascii: "{") || bytes[index] == UInt8(ascii: "-")) {
                throw .wrongType(field: field)
            }
            throw .unexpectedByte(offset: index, byte: bytes[index])
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] == UInt8(ascii: "e")
            || bytes[index] == UInt8(ascii: "E") {
            throw .wrongType(field: field)
        }
        return try Self.parseUInt64(slice(start..<index), field: field)
    }

    @inlinable static func parseUInt64(_ digits: UnsafeBufferPointer<UInt8>, field: StaticString) throws(BybitFrameError) -> UInt64 {
        guard !digits.isEmpty else { throw .wrongType(field: field) }
        var value: UInt64 = 0
        for b in digits {
            let d = b &- UInt8(ascii: "0")
            guard d <= 9 else { throw .wrongType(field: field) }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            if o1 || o2 { throw .numberOverflow(field: field) }
            value = a
        }
        return value
    }

    /// Reads a millisecond timestamp (number or numeric string).
    @inlinable mutating func readTime(field: StaticString) throws(BybitFrameError) -> ExchangeTime {
        let v = try readUInt64(field: field)
        guard v <= UInt64(Int64.max) else { throw .numberOverflow(field: field) }
        return ExchangeTime(milliseconds: Int64(v))
    }

    @inlinable mutating func readBool(field: StaticString) throws(BybitFrameError) -> Bool {
        skipWhitespace()
        guard index < bytes.count else { throw .truncated }
        if bytes[index] == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        if bytes[index] == UInt8(ascii: "f") {
            try literal("false")
            return false
        }
        throw .wrongType(field: field)
    }

    @inlinable mutating func literal(_ text: StaticString) throws(BybitFrameError) {
        let n = text.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw .truncated }
        let p = text.utf8Start
        for k in 0..<n where bytes[index + k] != p[k] {
            throw .unexpectedByte(offset: index + k, byte: bytes[index + k])
        }
        index += n
    }

    /// Reads a quoted decimal at `digits` fraction digits. `null` or `""` give `nil` ("not sent").
    @inlinable mutating func readDecimal(digits: Int, field: StaticString) throws(BybitFrameError) -> Int64? {
        guard let text = try readOptionalString(field: field) else { return nil }
        do {
            return try FixedDecimal.parse(text, digits: digits)
        } catch {
            throw .invalidDecimal(field: field, error)
        }
    }

    /// Reads a quoted decimal that must be present, parsing digits while scanning (one pass, no slice).
    ///
    /// The hot path of book levels: same rules as `FixedDecimal.parse` (exact, typed errors), but fused with
    /// the string scan so each byte is touched once.
    @inlinable @inline(__always)
    mutating func readQuotedDecimal(digits: Int, field: StaticString) throws(BybitFrameError) -> Int64 {
        skipWhitespace()
        let count = bytes.count
        guard index < count else { throw .truncated }
        guard bytes[index] == UInt8(ascii: "\"") else {
            if bytes[index] == UInt8(ascii: "n") { throw .missingField(field) }
            throw .wrongType(field: field)
        }
        index += 1
        let start = index
        var negative = false
        if index < count && bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        // Fast path: accumulate without overflow checks while at most 18 significant digits are seen
        // (10^18 < 2^63), then scale once. Anything unusual falls through to the exact checked path.
        var value: UInt64 = 0
        let integerStart = index
        while index < count {
            let d = bytes[index] &- UInt8(ascii: "0")
            if d > 9 { break }
            value = value &* 10 &+ UInt64(d)
            index += 1
        }
        var accepted = index - integerStart   // digits accumulated into value
        var fractionDigits = 0
        var dropped = false                   // a non-zero digit beyond the scale
        if index < count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            while index < count {
                let d = bytes[index] &- UInt8(ascii: "0")
                if d > 9 { break }
                if fractionDigits < digits {
                    value = value &* 10 &+ UInt64(d)
                    fractionDigits += 1
                } else if d != 0 {
                    dropped = true
                }
                index += 1
            }
            accepted += fractionDigits
        }
        let other: UInt8 = index < count ? bytes[index] : 0
        guard other == UInt8(ascii: "\""), accepted > 0, accepted + (digits - fractionDigits) <= 18, !dropped else {
            // Slow path for errors and very long numbers: rescan the whole string exactly.
            while index < count && bytes[index] != UInt8(ascii: "\"") { index += 1 }
            guard index < count else { throw .truncated }
            let text = slice(start..<index)
            index += 1
            if text.isEmpty { throw .missingField(field) }  // "" means "no value"
            do { return try FixedDecimal.parse(text, digits: digits) } catch { throw .invalidDecimal(field: field, error) }
        }
        index += 1
        let scaled = Int64(value) &* Self.powerOfTen(digits - fractionDigits)
        return negative ? -scaled : scaled
    }

    /// 10^n for 0 ≤ n ≤ 18, computed inline so the hot path reads no lazily initialised global table.
    @inlinable @inline(__always)
    static func powerOfTen(_ n: Int) -> Int64 {
        var r: Int64 = 1
        for _ in 0..<n { r &*= 10 }
        return r
    }

    /// Reads a quoted decimal into 128 bits (market-wide USDT aggregates). `null` or `""` give `nil`.
    @inlinable mutating func readWideDecimal(digits: Int, field: StaticString) throws(BybitFrameError) -> Int128? {
        guard let text = try readOptionalString(field: field) else { return nil }
        do {
            return try FixedDecimal.parseWide(text, digits: digits)
        } catch {
            throw .invalidDecimal(field: field, error)
        }
    }

    /// The bytes of a string value; `nil` for `null` or `""` ("not sent"). A non-string is a wrong type.
    @inlinable mutating func readOptionalString(field: StaticString) throws(BybitFrameError) -> UnsafeBufferPointer<UInt8>? {
        let b = try peek()
        if b == UInt8(ascii: "n") {
            try literal("null")
            return nil
        }
        guard b == UInt8(ascii: "\"") else { throw .wrongType(field: field) }
        let r = try readStringRange()
        return r.isEmpty ? nil : slice(r)
    }

    /// Like ``readDecimal(digits:field:)`` but the value is required.
    @inlinable mutating func readRequiredDecimal(digits: Int, field: StaticString) throws(BybitFrameError) -> Int64 {
        guard let v = try readDecimal(digits: digits, field: field) else { throw .missingField(field) }
        return v
    }

    /// Skips any JSON value (used for keys this decoder does not need).
    @inlinable mutating func skipValue() throws(BybitFrameError) {
        let b = try peek()
        switch b {
        case UInt8(ascii: "\""):
            _ = try readStringRange()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    _ = try readStringRange()
                    continue
                }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return
                    }
                }
                index += 1
            }
            throw .truncated
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            let start = index
            while index < bytes.count {
                let c = bytes[index]
                if (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "+")
                    || c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
                    index += 1
                } else {
                    break
                }
            }
            if index == start { throw .unexpectedByte(offset: index, byte: b) }
        }
    }

    /// After a value inside an object or array: consumes `,` and returns true, or consumes `close` and returns false.
    @inlinable @inline(__always) mutating func nextElement(close: UInt8) throws(BybitFrameError) -> Bool {
        let b = try peek()
        index += 1
        if b == UInt8(ascii: ",") { return true }
        if b == close { return false }
        throw .unexpectedByte(offset: index - 1, byte: b)
    }
}
