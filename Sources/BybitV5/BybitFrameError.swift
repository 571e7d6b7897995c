public import CascadeCore

/// Why a Bybit V5 frame could not be decoded. The frame is counted and skipped; no state changes.
public enum BybitFrameError: Error, Equatable, Sendable {
    /// Zero bytes, or only white space.
    case empty
    /// The text ended inside a value (a torn or cut frame).
    case truncated
    /// A byte that JSON does not allow at this position.
    case unexpectedByte(offset: Int, byte: UInt8)
    /// A JSON value of the wrong type for a known field (e.g. a number where Bybit sends a string).
    case wrongType(field: StaticString)
    /// A field the topic requires is absent.
    case missingField(StaticString)
    /// A topic this decoder does not know (counted separately from damaged frames).
    case unknownTopic(String)
    /// A decimal string that cannot be represented exactly at the symbol's scale.
    case invalidDecimal(field: StaticString, DecimalParseError)
    /// An integer that does not fit in 64 bits.
    case numberOverflow(field: StaticString)
    /// An enumerated string value outside the documented set (e.g. a side that is neither Buy nor Sell).
    case invalidValue(field: StaticString)
    /// A frame that is neither a topic message nor a known control frame.
    case unrecognisedFrame

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.empty, .empty), (.truncated, .truncated), (.unrecognisedFrame, .unrecognisedFrame): return true
        case let (.unexpectedByte(o1, b1), .unexpectedByte(o2, b2)): return o1 == o2 && b1 == b2
        case let (.wrongType(f1), .wrongType(f2)), let (.missingField(f1), .missingField(f2)),
             let (.numberOverflow(f1), .numberOverflow(f2)), let (.invalidValue(f1), .invalidValue(f2)):
            return f1.description == f2.description
        case let (.unknownTopic(t1), .unknownTopic(t2)): return t1 == t2
        case let (.invalidDecimal(f1, e1), .invalidDecimal(f2, e2)): return f1.description == f2.description && e1 == e2
        default: return false
        }
    }

    /// A short stable name for counters and reports (`"truncated"`, `"unknown_topic"`, …).
    public var counterName: String {
        switch self {
        case .empty: "empty"
        case .truncated: "truncated"
        case .unexpectedByte: "unexpected_byte"
        case .wrongType: "wrong_type"
        case .missingField: "missing_field"
        case .unknownTopic: "unknown_topic"
        case .invalidDecimal: "invalid_decimal"
        case .numberOverflow: "number_overflow"
        case .invalidValue: "invalid_value"
        case .unrecognisedFrame: "unrecognised_frame"
        }
    }
}
