/// Shifts the exchange timestamps of a public V5 frame by a constant, leaving every other byte as it was.
///
/// The simulator rebases replayed data so its first event is stamped with the wall time the replay began:
/// clients that compare exchange time with their own clock (latency, staleness checks) then see recorded
/// markets as live ones. Shifted: the envelope's `ts` and `cts`, trade/liquidation `T`, kline `start`, `end`
/// and `timestamp`, ticker `nextFundingTime` (a quoted number). A value whose digit count would change is left
/// alone (the shift is minutes to years against 13-digit millisecond times, so that never happens in practice).
public enum BybitTimestampRebaser {
    static let keys: [[UInt8]] = ["\"ts\":", "\"cts\":", "\"T\":", "\"start\":", "\"end\":", "\"timestamp\":", "\"nextFundingTime\":"]
        .map { Array($0.utf8) }

    public static func rebase(_ bytes: [UInt8], byMilliseconds offset: Int64) -> [UInt8] {
        guard offset != 0 else { return bytes }
        var out = bytes
        var i = 0
        let n = bytes.count
        while i < n {
            guard bytes[i] == UInt8(ascii: "\"") else {
                i += 1
                continue
            }
            var matched: Int?
            for key in keys where i + key.count <= n && bytes[i..<(i + key.count)].elementsEqual(key) {
                matched = key.count
                break
            }
            guard let length = matched else {
                // Skip this string entirely so its contents are never read as keys.
                i += 1
                while i < n && bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                i += 1
                continue
            }
            var j = i + length
            let quoted = j < n && bytes[j] == UInt8(ascii: "\"")   // a quoted number
            if quoted { j += 1 }
            let start = j
            var value: Int64 = 0
            while j < n, bytes[j] >= UInt8(ascii: "0"), bytes[j] <= UInt8(ascii: "9"), j - start < 18 {
                value = value * 10 + Int64(bytes[j] - UInt8(ascii: "0"))
                j += 1
            }
            // Only plain non-zero integers are times ("0" means "none", e.g. an unset funding time).
            if j > start, value > 0, j >= n || !(bytes[j] == UInt8(ascii: ".") || bytes[j] == UInt8(ascii: "e")) {
                let shifted = Array(String(value + offset).utf8)
                if shifted.count == j - start { out.replaceSubrange(start..<j, with: shifted) }
            }
            // Step past the rest of a quoted value so its closing quote is not read as an opening one.
            if quoted {
                while j < n && bytes[j] != UInt8(ascii: "\"") { j += 1 }
                j += 1
            }
            i = j
        }
        return out
    }
}
