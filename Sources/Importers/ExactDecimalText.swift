import CascadeCore

/// Exact parsing of the numbers in vendor CSV files, including scientific notation.
///
/// Tardis writes numbers the way JavaScript prints them, so a small value can appear as `1e-7` or
/// `1.5e-7` instead of `0.0000001`. Such text is rewritten digit for digit into plain decimal text (the
/// exponent only moves the decimal point) and then parsed by ``CascadeCore/FixedDecimal``: no `Double`
/// is ever involved, and a value with non-zero digits finer than the scale is an error, never a rounding.
public enum ExactDecimalText {
    /// Why a text is not an exact decimal at the requested scale.
    public enum Failure: Error, Equatable, Sendable {
        /// Empty, stray characters, or an exponent without digits.
        case notANumber
        /// Non-zero digits beyond the scale.
        case tooPrecise(digits: Int)
        /// Too large for the field (`Int64` units), or an exponent beyond ±64.
        case outOfRange
    }

    /// Largest exponent magnitude accepted: far beyond any price or size, small enough to bound the work.
    static let maxExponent = 64

    /// Units of `10^-digits` of the decimal text in `bytes[range]` (`-?d*(.d*)?([eE][+-]?d+)?`).
    public static func units(_ bytes: [UInt8], _ range: Range<Int>, digits: Int) throws(Failure) -> Int64 {
        let hasExponent = bytes[range].contains { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let rewritten = hasExponent ? try plainDecimal(bytes, range) : nil
        do throws(DecimalParseError) {
            if let rewritten {
                return try rewritten.withUnsafeBufferPointer { buffer throws(DecimalParseError) in
                    try FixedDecimal.parse(buffer, digits: digits)
                }
            }
            // The common case, plain text, is parsed in place: no copy per cell.
            return try bytes.withUnsafeBufferPointer { buffer throws(DecimalParseError) in
                try FixedDecimal.parse(UnsafeBufferPointer(rebasing: buffer[range]), digits: digits)
            }
        } catch {
            switch error {
            case .empty, .invalidCharacter: throw .notANumber
            case .overflow: throw .outOfRange
            case let .precisionExceeded(d): throw .tooPrecise(digits: d)
            }
        }
    }

    /// ``units(_:_:digits:)`` for a string (tests, options).
    public static func units(_ text: String, digits: Int) throws(Failure) -> Int64 {
        let bytes = Array(text.utf8)
        return try units(bytes, 0..<bytes.count, digits: digits)
    }

    /// The text without an exponent: `1.5e-3` → `0.0015`, `6.3950e4` → `63950`, plain text unchanged.
    static func plainDecimal(_ bytes: [UInt8], _ range: Range<Int>) throws(Failure) -> [UInt8] {
        guard let e = range.firstIndex(where: { bytes[$0] == UInt8(ascii: "e") || bytes[$0] == UInt8(ascii: "E") }) else {
            return Array(bytes[range])
        }
        let exponent = try parseExponent(bytes, (e + 1)..<range.upperBound)
        var i = range.lowerBound
        var negative = false
        if i < e, bytes[i] == UInt8(ascii: "-") {
            negative = true
            i += 1
        }
        // Mantissa digits without the point, and how many of them stand before it.
        var digits: [UInt8] = []
        var integerDigits = 0
        var sawPoint = false
        while i < e {
            let b = bytes[i]
            if b == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits.append(b)
                if !sawPoint { integerDigits += 1 }
            } else {
                throw .notANumber
            }
            i += 1
        }
        guard !digits.isEmpty else { throw .notANumber }
        let point = integerDigits + exponent
        var out: [UInt8] = negative ? [UInt8(ascii: "-")] : []
        if point <= 0 {
            out += Array("0.".utf8) + [UInt8](repeating: UInt8(ascii: "0"), count: -point) + digits
        } else if point >= digits.count {
            out += digits + [UInt8](repeating: UInt8(ascii: "0"), count: point - digits.count)
        } else {
            out += digits[0..<point] + [UInt8(ascii: ".")] + digits[point...]
        }
        return out
    }

    private static func parseExponent(_ bytes: [UInt8], _ range: Range<Int>) throws(Failure) -> Int {
        var i = range.lowerBound
        var sign = 1
        if i < range.upperBound, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            sign = bytes[i] == UInt8(ascii: "-") ? -1 : 1
            i += 1
        }
        guard i < range.upperBound else { throw .notANumber }
        var value = 0
        while i < range.upperBound {
            let d = Int(bytes[i]) - Int(UInt8(ascii: "0"))
            guard d >= 0, d <= 9 else { throw .notANumber }
            value = value * 10 + d
            if value > maxExponent { throw .outOfRange }
            i += 1
        }
        return sign * value
    }
}
