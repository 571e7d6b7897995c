/// Why a Bybit REST body or private-stream frame could not be decoded into Cascade values.
///
/// Field names are JSON paths such as `data[0].execFee` or `result.list[2].avgPrice`, so a report names
/// the exact value that failed. No case carries credentials: only Bybit's own payload text reaches here.
public enum BybitDecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The bytes are not a JSON document (empty, torn, or not JSON at all).
    case notJSON
    /// A known field holds a JSON value of the wrong type (e.g. a number where Bybit documents a string).
    case wrongType(field: String)
    /// A field the payload requires is absent or `null`.
    case missingField(String)
    /// A decimal string that is not an exact decimal at the field's scale (`"1e5"`, `"abc"`, too many digits).
    case invalidDecimal(field: String, value: String)
    /// A string or integer outside its documented set (an unknown `orderStatus`, a side that is not Buy/Sell).
    case invalidValue(field: String, value: String)
    /// A private topic this decoder does not handle (`greeks`, `dcp`, …).
    case unknownTopic(String)
    /// A JSON object that is neither a topic message nor a control frame.
    case unrecognisedFrame
    /// Two lists that must pair up item by item do not (a batch `result.list` vs `retExtInfo.list`).
    case countMismatch(field: String, expected: Int, got: Int)

    /// A short stable name for counters (`"wrong_type"`, `"invalid_decimal"`, …).
    public var counterName: String {
        switch self {
        case .notJSON: "not_json"
        case .wrongType: "wrong_type"
        case .missingField: "missing_field"
        case .invalidDecimal: "invalid_decimal"
        case .invalidValue: "invalid_value"
        case .unknownTopic: "unknown_topic"
        case .unrecognisedFrame: "unrecognised_frame"
        case .countMismatch: "count_mismatch"
        }
    }

    /// A one-line human-readable form for logs.
    public var description: String {
        switch self {
        case .notJSON: "not a JSON document"
        case let .wrongType(field): "\(field) has the wrong JSON type"
        case let .missingField(field): "\(field) is missing"
        case let .invalidDecimal(field, value): "\(field) = \"\(value)\" is not an exact decimal at its scale"
        case let .invalidValue(field, value): "\(field) = \"\(value)\" is not a documented value"
        case let .unknownTopic(topic): "unknown private topic \"\(topic)\""
        case .unrecognisedFrame: "neither a topic message nor a control frame"
        case let .countMismatch(field, expected, got): "\(field) has \(got) items, expected \(expected)"
        }
    }
}
