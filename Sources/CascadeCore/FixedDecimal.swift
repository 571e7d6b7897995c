/// Exact decimal text ⇄ integer conversion at a fixed number of fraction digits.
///
/// Every price, size and amount in Cascade is an `Int64` count of `10^-digits` units. Text is parsed
/// exactly: no `Double` is ever involved, digits beyond the scale are accepted only when they are zeros
/// (`"28140.10000000"` at 2 digits), and anything else is a typed error rather than a silent rounding.
public enum FixedDecimal {
    /// Largest supported number of fraction digits (10^18 still fits in `Int64`).
    public static let maxDigits = 18

    /// Powers of ten that fit in `Int64`, indexed by exponent.
    public static let powersOfTen: [Int64] = {
        var table: [Int64] = [1]
        for _ in 1...18 { table.append(table.last! &* 10) }
        return table
    }()

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
        // A short loop instead of a table: a global table costs a lazy-initialisation check per call.
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

    /// Formats units as decimal text with exactly `minimumFractionDigits` or more digits: trailing zeros
    /// beyond the minimum are trimmed, so `format(2814010, digits: 2, minimumFractionDigits: 2)` is `"28140.10"`.
    public static func format(_ units: Int64, digits: Int, minimumFractionDigits: Int = 0) -> String {
        let negative = units < 0
        let magnitude = units.magnitude
        let scale = UInt64(powersOfTen[digits])
        let integer = magnitude / scale
        var fraction = magnitude % scale
        var fractionDigits = digits
        while fractionDigits > minimumFractionDigits && fraction % 10 == 0 && fractionDigits > 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        var text = negative ? "-" : ""
        text += String(integer)
        if fractionDigits > 0 {
            let raw = String(fraction)
            text += "." + String(repeating: "0", count: fractionDigits - raw.count) + raw
        }
        return text
    }

    /// Rescales `units` from `from` to `to` fraction digits, rounding half to even when digits are dropped.
    /// Returns `nil` on `Int64` overflow.
    @inlinable
    public static func rescale(_ units: Int128, from: Int, to: Int) -> Int64? {
        if to >= from {
            let (m, o) = units.multipliedReportingOverflow(by: Int128(powersOfTen[to - from]))
            return o ? nil : Int64(exactly: m)
        }
        let divisor = Int128(powersOfTen[from - to])
        return Int64(exactly: divideRoundingHalfEven(units, divisor))
    }

    /// Integer division rounding half to even (banker's rounding): the one rounding rule of Cascade.
    @inlinable
    public static func divideRoundingHalfEven(_ value: Int128, _ divisor: Int128) -> Int128 {
        var (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        let twice = remainder.magnitude * 2
        let d = divisor.magnitude
        if twice > d || (twice == d && quotient & 1 != 0) {
            quotient += (value < 0) != (divisor < 0) ? -1 : 1
        }
        remainder = 0
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
