/// Builds the compact JSON text of one frame, keys in the order they are appended (Bybit's order),
/// so an import is reproducible byte for byte.
struct FrameText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    /// Appends text verbatim (punctuation and keys written by the converters).
    mutating func raw(_ text: String) { bytes.append(contentsOf: text.utf8) }

    /// Appends an integer.
    mutating func int(_ value: Int64) { bytes.append(contentsOf: String(value).utf8) }

    /// Appends an unsigned integer.
    mutating func int(_ value: UInt64) { bytes.append(contentsOf: String(value).utf8) }

    /// Appends a JSON string literal of `value`.
    mutating func string(_ value: String) { string(utf8: Array(value.utf8)) }

    /// Appends a JSON string literal of raw UTF-8 bytes: `"`, `\` and control characters escaped, other
    /// bytes as they are (vendor ids are ASCII, but nothing here trusts that).
    mutating func string<C: Collection<UInt8>>(utf8 value: C) {
        bytes.append(UInt8(ascii: "\""))
        for b in value {
            switch b {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(b >> 4)])
                bytes.append(hex[Int(b & 15)])
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
