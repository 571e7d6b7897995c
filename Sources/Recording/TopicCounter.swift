#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts frames per topic without allocating a String per frame.
///
/// A recording has a few dozen topics at most, and consecutive frames usually share one, so a
/// last-hit check plus a linear `memcmp` scan beats hashing a freshly built key for every frame.
struct TopicCounter {
    private var topics: [[UInt8]] = []
    private var counts: [Int] = []
    private var lastHit = 0
    /// Frames without a top-level string `topic` (pongs, acks).
    private(set) var withoutTopic = 0

    /// Counts the topic of one frame.
    mutating func count(frame json: UnsafeRawBufferPointer) {
        guard let r = FrameTopic.topicRange(in: json) else {
            withoutTopic += 1
            return
        }
        let topic = UnsafeRawBufferPointer(rebasing: json[r])
        if lastHit < topics.count && Self.equal(topics[lastHit], topic) {
            counts[lastHit] += 1
            return
        }
        for i in topics.indices where Self.equal(topics[i], topic) {
            counts[i] += 1
            lastHit = i
            return
        }
        topics.append(Array(topic))
        counts.append(1)
        lastHit = topics.count - 1
    }

    /// Counts as a dictionary (JSON encoding with sorted keys makes the output deterministic).
    var dictionary: [String: Int] {
        var d: [String: Int] = [:]
        for (t, c) in zip(topics, counts) { d[String(decoding: t, as: UTF8.self), default: 0] += c }
        return d
    }

    private static func equal(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
    }
}
