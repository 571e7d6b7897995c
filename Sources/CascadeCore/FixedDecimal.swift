/// Exact decimal text ⇄ integer conversion at a fixed number of fraction digits.
///
/// Every price, size and amount in Cascade is an `Int64` count of `10^-digits` units. Text is parsed
/// exactly: no `Double` is ever involved, digits beyond the scale are accepted only when they are zeros
/// (`"28140.10000000"` at 2 digits), and anything else is a typed error rather than a silent rounding.
public enum FixedDecimal {
    /// Largest supported number of fraction digits (10^18 still fits in `Int64`).
    public static let maxDigits = 18

    /// Parses ASCII decimal text (`-?digits(.digits)?`) into units of `10^-digits`.
    /// - Throws: ``DecimalParseError`` for empty text, stray characters, a value too large for `Int64`
    ///   or non-zero digits finer than the scale.
    @inlinable
    public static func parse(_ text: UnsafeBufferPointer<UInt8>, digits: Int) throws(DecimalParseError) -> Int64 {
        var index = 0
        let count = text.count
        var negative = false
        if count > 0 && text[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        if index == count { throw .empty }
        var value: Int64 = 0
        var sawDigit = false
        // Integer part.
        while index < count {
            let d = text[index] &- UInt8(ascii: "0")
            if d > 9 { break }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { throw .overflow }
            value = a
            sawDigit = true
            index += 1
        }
        var fraction = 0
        if index < count {
            guard text[index] == UInt8(ascii: ".") else { throw .invalidCharacter(text[index]) }
            index += 1
            while index < count {
                let d = text[index] &- UInt8(ascii: "0")
                if d > 9 { throw .invalidCharacter(text[index]) }
                sawDigit = true
                if fraction < digits {
                    let (m, o1) = value.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int64(d))
                    if o1 || o2 { throw .overflow }
                    value = a
                    fraction += 1
                } else if d != 0 {
                    throw .precisionExceeded(digits: digits)
                }
                index += 1
            }
        }
        if !sawDigit { throw .empty }
        // A short loop: at most `digits` (≤ 18) steps, once per parsed field; rescaling on the money path uses
        // ``powersOfTen`` instead.
        while fraction < digits {
            let (m, o) = value.multipliedReportingOverflow(by: 10)
            if o { throw .overflow }
            value = m
            fraction += 1
        }
        return negative ? -value : value
    }

    /// Parses a Swift string (convenience for configuration and tests; the hot path uses bytes).
    public static func parse(_ text: String, digits: Int) throws(DecimalParseError) -> Int64 {
        var copy = text
        do {
            return try copy.withUTF8 { buffer in try parse(buffer, digits: digits) }
        } catch let error as DecimalParseError {
            throw error
        } catch {
            throw .empty
        }
    }

    /// Parses decimal text into 128-bit units: for market-wide aggregates (24 h turnover, monthly kline
    /// turnover) that exceed `Int64` at 1e-8. Same rules and errors as the 64-bit parser.
    public static func parseWide(_ text: UnsafeBufferPointer<UInt8>, digits: Int) throws(DecimalParseError) -> Int128 {
        var index = 0
        var negative = false
        if text.count > 0 && text[0] == UInt8(ascii: "-") {
            negative = true
            index = 1
        }
        var value: Int128 = 0
        var sawDigit = false
        var fraction = -1
        while index < text.count {
            let b = text[index]
            let d = b &- UInt8(ascii: "0")
            if d <= 9 {
                sawDigit = true
                if fraction < 0 || fraction < digits {
                    let (m, o1) = value.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(Int128(d))
                    if o1 || o2 { throw .overflow }
                    value = a
                    if fraction >= 0 { fraction += 1 }
                } else if d != 0 {
                    throw .precisionExceeded(digits: digits)
                }
            } else if b == UInt8(ascii: ".") && fraction < 0 {
                fraction = 0
            } else {
                throw .invalidCharacter(b)
            }
            index += 1
        }
        if !sawDigit { throw .empty }
        var f = max(fraction, 0)
        while f < digits {
            let (m, o) = value.multipliedReportingOverflow(by: 10)
            if o { throw .overflow }
            value = m
            f += 1
        }
        return negative ? -value : value
    }

    /// Formats units as decimal text with exactly `minimumFractionDigits` or more digits: trailing zeros
    /// beyond the minimum are trimmed, so `format(2814010, digits: 2, minimumFractionDigits: 2)` is `"28140.10"`.
    public static func format(_ units: Int64, digits: Int, minimumFractionDigits: Int = 0) -> String {
        // 64-bit arithmetic when it suffices: prices and sizes are formatted on the order path.
        guard units != .min, (0...18).contains(digits) else {
            return format(wide: Int128(units), digits: digits, minimumFractionDigits: minimumFractionDigits)
        }
        return format(negative: units < 0, magnitude: units.magnitude, digits: digits, minimumFractionDigits: minimumFractionDigits)
    }

    /// ``format(_:digits:minimumFractionDigits:)`` for 128-bit units.
    public static func format(wide units: Int128, digits: Int, minimumFractionDigits: Int = 0) -> String {
        format(negative: units < 0, magnitude: units.magnitude, digits: digits, minimumFractionDigits: minimumFractionDigits)
    }

    /// The one formatter: integer part, then the fraction trimmed of trailing zeros down to `minimumFractionDigits`,
    /// written into one buffer.
    static func format<M: FixedWidthInteger & UnsignedInteger>(negative: Bool, magnitude: M, digits: Int,
                                                               minimumFractionDigits: Int) -> String {
        var scale: M = 1
        for _ in 0..<digits { scale *= 10 }
        let integer = magnitude / scale
        var fraction = magnitude % scale
        var fractionDigits = digits
        while fractionDigits > minimumFractionDigits && fraction % 10 == 0 && fractionDigits > 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        // Sign, at most 39 integer digits, the point and the fraction digits, written on the stack: the text of a
        // price or quantity is short enough to be a small string (no allocation; `unsafeUninitializedCapacity`
        // allocated its whole capacity whatever the length).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 41 + max(digits, 0)) { buffer in
            var i = 0
            if negative { buffer[0] = 0x2d; i = 1 }
            func write(_ value: M, width: Int) {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    buffer[i + k] = 0x30 + UInt8(truncatingIfNeeded: v % 10)
                    v /= 10
                }
                i += width
            }
            var count = 1
            var v = integer / 10
            while v > 0 { count += 1; v /= 10 }
            write(integer, width: count)
            if fractionDigits > 0 {
                buffer[i] = 0x2e
                i += 1
                write(fraction, width: fractionDigits)
            }
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[..<i]), as: UTF8.self)
        }
    }

    /// Rescales `units` from `from` to `to` fraction digits, rounding half to even when digits are dropped;
    /// `nil` on `Int128` overflow. Any digit counts are allowed.
    @inlinable
    public static func rescaleWide(_ units: Int128, from: Int, to: Int) -> Int128? {
        if to >= from {
            let raise = to - from
            // Beyond 10^38 only zero fits.
            guard raise <= 38 else { return units == 0 ? 0 : nil }
            let (m, o) = units.multipliedReportingOverflow(by: powersOfTen[raise])
            return o ? nil : m
        }
        // 10^38 is the largest power of ten below Int128.max; beyond it every value rounds to zero.
        let drop = from - to
        if drop > 38 { return 0 }
        return divideRoundingHalfEven(units, powersOfTen[drop])
    }

    /// 10^0 … 10^38 (a table: the margin and PnL arithmetic rescales on every order).
    @usableFromInline static let powersOfTen: [Int128] = {
        var powers: [Int128] = [1]
        for _ in 1...38 { powers.append(powers.last! * 10) }
        return powers
    }()

    /// Integer division rounding half to even (banker's rounding): the one rounding rule of Cascade.
    @inlinable
    public static func divideRoundingHalfEven(_ value: Int128, _ divisor: Int128) -> Int128 {
        // Both within Int64 (the usual case): one hardware division instead of the 128-bit runtime routine; the
        // same result (a test compares the two over edge and random operands).
        if let v = Int64(exactly: value), let d = Int64(exactly: divisor), v != .min, d != .min {
            return Int128(divideRoundingHalfEven64(v, d))
        }
        return divideRoundingHalfEvenWide(value, divisor)
    }

    /// ``divideRoundingHalfEven(_:_:)`` in 128 bits, whatever the operands.
    @inlinable
    public static func divideRoundingHalfEvenWide(_ value: Int128, _ divisor: Int128) -> Int128 { roundedQuotient(value, divisor) }

    /// The 64-bit path (neither operand `Int64.min`): `2|r| < 2^64` and a rounded quotient cannot overflow.
    @inlinable
    static func divideRoundingHalfEven64(_ value: Int64, _ divisor: Int64) -> Int64 { roundedQuotient(value, divisor) }

    /// The quotient rounded half to even, in `T` (`2|r| < 2·|divisor|` fits in `T.Magnitude`).
    @inlinable
    static func roundedQuotient<T: FixedWidthInteger & SignedInteger>(_ value: T, _ divisor: T) -> T {
        let (q, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        var quotient = q
        let twice = remainder.magnitude * 2
        let d = divisor.magnitude
        if twice > d || (twice == d && quotient & 1 != 0) {
            quotient += (value < 0) != (divisor < 0) ? -1 : 1
        }
        return quotient
    }
}

/// Why a decimal text could not be represented exactly.
public enum DecimalParseError: Error, Equatable, Sendable {
    /// No digits at all (`""`, `"-"`, `"."`).
    case empty
    /// A byte that is not a digit, a leading minus or the single decimal point.
    case invalidCharacter(UInt8)
    /// The value does not fit in `Int64` at the requested scale.
    case overflow
    /// Non-zero digits finer than the scale: representing them would round.
    case precisionExceeded(digits: Int)
}
