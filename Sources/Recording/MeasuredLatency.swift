/// One-way latency samples measured by our recorder: each `_cascade.clock` entry holds the local times a
/// `/v5/market/time` request was sent and answered; half the round trip is one sample.
///
/// These are REST round trips from the recording machine, the best measurement a recording carries of how long
/// an order takes to reach Bybit (a WebSocket order path is usually a little faster; say so when using them).
public enum MeasuredLatency {
    /// Half round-trip samples in whole milliseconds (rounded up, at least 1), in file order.
    public static func oneWayMilliseconds(paths: [String]) throws(RecordingError) -> [Int64] {
        var out: [Int64] = []
        let topic = Array(CascadePseudoTopic.clock.rawValue.utf8)
        for path in paths {
            var reader = try FrameFileReader(path: path, compression: .automatic, chunkSize: 256 * 1024)
            while let line = try reader.next() {
                guard let range = FrameTopic.topicRange(in: line.json), range.count == topic.count,
                      UnsafeRawBufferPointer(rebasing: line.json[range]).elementsEqual(topic),
                      let sent = FrameScan.integer(after: #""sentNs":"#, in: line.json),
                      let received = FrameScan.integer(after: #""receivedNs":"#, in: line.json), received >= sent else { continue }
                // Both are non-negative 18-digit values at most: the difference cannot overflow.
                out.append(max(1, (received - sent + 1_999_999) / 2_000_000))
            }
        }
        return out
    }
}
