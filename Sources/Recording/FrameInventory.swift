import Foundation

/// Which topics a set of recordings carries, known before replaying them: from each file's manifest when it has
/// one, else by scanning the file's topics (bytes only, nothing decoded).
///
/// The simulator chooses each symbol's matching book up front from this (the deepest recorded), instead of taking
/// whichever depth the replay happens to meet first.
public enum FrameInventory {
    /// Topic names of `paths`, with their frame counts.
    public static func topics(paths: [String]) throws(RecordingError) -> [String: Int] {
        var counts: [String: Int] = [:]
        for path in paths {
            if FileManager.default.fileExists(atPath: FrameManifest.path(forDataFile: path)),
               let manifest = try? FrameManifest.read(forDataFile: path) {
                for (topic, n) in manifest.framesPerTopic { counts[topic, default: 0] += n }
                continue
            }
            var reader = try FrameFileReader(path: path, compression: .automatic, chunkSize: 256 * 1024)
            while let line = try reader.next() {
                guard let range = FrameTopic.topicRange(in: line.json) else { continue }
                counts[String(decoding: UnsafeRawBufferPointer(rebasing: line.json[range]), as: UTF8.self), default: 0] += 1
            }
        }
        return counts
    }
}
