/// Byte scans of a frame's JSON text for values our own tools need without decoding it (the recorder's
/// `_cascade.*` entries, the envelope `ts`).
enum FrameScan {
    /// The non-negative integer after the first occurrence of `key` (e.g. `"ts":`); nil when absent or longer than
    /// 18 digits (so it always fits an `Int64`).
    static func integer(after key: String, in json: UnsafeRawBufferPointer) -> Int64? {
        let k = Array(key.utf8)
        let n = json.count
        var i = 0
        while i + k.count <= n {
            if json[i] == k[0], UnsafeRawBufferPointer(rebasing: json[i..<(i + k.count)]).elementsEqual(k) {
                var j = i + k.count
                let start = j
                var value: Int64 = 0
                while j < n, json[j] >= 0x30, json[j] <= 0x39 {
                    guard j - start < 18 else { return nil }
                    value = value * 10 + Int64(json[j] - 0x30)
                    j += 1
                }
                return j > start ? value : nil
            }
            i += 1
        }
        return nil
    }
}
