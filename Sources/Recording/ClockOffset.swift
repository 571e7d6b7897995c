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
        var estimator = Estimator(sampleFrames: sampleFrames)
        while !estimator.isFrozen, let line = try reader.next() {
            estimator.observe(localTime: line.localTime, json: line.json)
        }
        return estimator.offset
    }

    /// The same estimate built frame by frame, for a live feed (the paper node): the median receive − exchange
    /// offset of the timestamped frames seen so far, frozen once `sampleFrames` are in, so a recording of the feed
    /// gets the offset `estimate(path:)` computes from it.
    public struct Estimator: Sendable {
        public let sampleFrames: Int
        /// Sorted samples (ns).
        private var samples: [Int64] = []

        public init(sampleFrames: Int = 2_000) {
            self.sampleFrames = sampleFrames
            samples.reserveCapacity(sampleFrames)
        }

        public var isFrozen: Bool { samples.count >= sampleFrames }

        /// The median so far (nil before the first timestamped frame).
        public var offset: Int64? { samples.isEmpty ? nil : samples[samples.count / 2] }

        public mutating func observe(localTime: LocalTime, json: UnsafeRawBufferPointer) {
            guard !isFrozen else { return }
            // The recorder's own `_cascade.*` entries carry its receive clock as `ts`: they say nothing of the offset.
            if let topic = FrameTopic.topicRange(in: json), FrameTopic.isCascadeTopic(UnsafeRawBufferPointer(rebasing: json[topic])) { return }
            guard let ts = FrameScan.integer(after: #""ts":"#, in: json), ts > 0, ts <= Int64.max / 1_000_000 else { return }
            let (offset, overflow) = localTime.nanoseconds.subtractingReportingOverflow(ts * 1_000_000)
            guard !overflow else { return }
            var low = 0, high = samples.count
            while low < high {
                let mid = (low + high) / 2
                if samples[mid] <= offset { low = mid + 1 } else { high = mid }
            }
            samples.insert(offset, at: low)
        }
    }

    /// One offset per source: files in one directory come from one recorder (its rotation), so they share the
    /// median of the estimates of its first `filesPerSource` files (a per-file estimate would differ by a few ms
    /// between consecutive files and reorder frames at the seam). Returned per path, in order; nil for a source
    /// without exchange timestamps.
    public static func perSource(paths: [String], filesPerSource: Int = 3) throws(RecordingError) -> [Int64?] {
        func directory(_ path: String) -> Substring { path.lastIndex(of: "/").map { path[..<$0] } ?? "." }
        // A recorder's clock drifts slowly: a few of its files (the first ones) are enough for the median.
        var sampled: [Substring: [String]] = [:]
        for path in paths where sampled[directory(path), default: []].count < filesPerSource {
            sampled[directory(path), default: []].append(path)
        }
        var bySource: [Substring: Int64] = [:]
        for (source, files) in sampled {
            var values: [Int64] = []
            for file in files { if let e = try estimate(path: file) { values.append(e) } }
            if !values.isEmpty { bySource[source] = values.sorted()[values.count / 2] }
        }
        return paths.map { bySource[directory($0)] }
    }
}
