public import CascadeCore

/// The offset between a recording's receive clock and the exchange's clock.
///
/// Each frame gives `receive time − exchange ts` = clock offset + network and processing delay. The median over
/// the first frames that carry a top-level `"ts"` estimates the file's offset (as `cascade replay` reports it);
/// subtracting it puts frames of files recorded on different machines on one clock, the exchange's, so a merged
/// replay orders them as the exchange did (our 2024 captures' recorder clock is ~1.5 s off Bybit's).
public enum ClockOffset {
    /// The median receive − exchange offset (ns) over the first `sampleFrames` timestamped frames of `path`;
    /// nil when the file has none.
    public static func estimate(path: String, sampleFrames: Int = 2_000) throws(RecordingError) -> Int64? {
        var reader = try FrameFileReader(path: path, compression: .automatic, chunkSize: 64 * 1024)
        var samples: [Int64] = []
        samples.reserveCapacity(sampleFrames)
        while samples.count < sampleFrames, let line = try reader.next() {
            guard let ts = exchangeMilliseconds(in: line.json) else { continue }
            samples.append(line.localTime.nanoseconds - ts * 1_000_000)
        }
        guard !samples.isEmpty else { return nil }
        samples.sort()
        return samples[samples.count / 2]
    }

    /// One offset per source: files in one directory come from one recorder (its rotation), so they share the
    /// median of their estimates: a per-file estimate would differ by a few ms between consecutive files and
    /// reorder frames at the seam. Returned per path, in order; nil for a source without timestamps.
    public static func perSource(paths: [String]) throws(RecordingError) -> [Int64?] {
        var estimates: [Int64?] = []
        for path in paths { estimates.append(try estimate(path: path)) }
        func directory(_ path: String) -> Substring { path.lastIndex(of: "/").map { path[..<$0] } ?? "." }
        var bySource: [Substring: [Int64]] = [:]
        for (path, e) in zip(paths, estimates) { if let e { bySource[directory(path), default: []].append(e) } }
        return paths.map { path in
            guard let values = bySource[directory(path)]?.sorted(), !values.isEmpty else { return nil }
            return values[values.count / 2]
        }
    }

    /// The value of the first `"ts":` key (an integer of milliseconds), scanning bytes without decoding.
    static func exchangeMilliseconds(in json: UnsafeRawBufferPointer) -> Int64? {
        let key: [UInt8] = Array(#""ts":"#.utf8)
        let n = json.count
        var i = 0
        while i + key.count < n {
            if json[i] == key[0] && json[i + 1] == key[1] && json[i + 2] == key[2] && json[i + 3] == key[3] && json[i + 4] == key[4] {
                var j = i + key.count
                var value: Int64 = 0
                let start = j
                while j < n, json[j] >= 0x30, json[j] <= 0x39, j - start < 18 {
                    value = value * 10 + Int64(json[j] - 0x30)
                    j += 1
                }
                return j > start && value > 0 ? value : nil
            }
            i += 1
        }
        return nil
    }
}
