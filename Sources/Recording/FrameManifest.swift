import Foundation
import Crypto
import CascadeCore

/// The sidecar `<file>.manifest.json` describing one frames file.
///
/// Lets tools list, verify (sha256) and select recordings (time span, topics) without
/// decompressing them. Written by ``Recorder`` when a file is closed (rotation or close), or
/// rebuilt from the data by ``rebuild(dataFile:createdBy:)`` for a file orphaned by a crash.
public struct FrameManifest: Codable, Sendable, Hashable {
    /// Format tag of the data file.
    public static let formatV1 = "cascade-frames-v1"

    /// Always ``formatV1`` for files this package writes.
    public var format: String
    /// File name of the data file (no directory: the manifest sits next to it).
    public var file: String
    /// Lower-case hex SHA-256 of the compressed file bytes.
    public var sha256: String
    /// Size of the compressed file in bytes.
    public var bytes: Int64
    /// Frames in the file.
    public var frames: Int
    /// Complete gzip members (one per flush).
    public var gzipMembers: Int
    /// Receive time of the first frame in file order (nil for an empty file).
    public var firstLocalTimeNs: Int64?
    /// Receive time of the last frame in file order.
    public var lastLocalTimeNs: Int64?
    /// Frames per top-level `topic` (encoded with sorted keys).
    public var framesPerTopic: [String: Int]
    /// Frames without a top-level `topic` (pongs, subscribe acks).
    public var framesWithoutTopic: Int
    /// Program that wrote the file, e.g. `cascade import`.
    public var createdBy: String
    /// True when written by the writer at close or rotation; false when rebuilt after a crash.
    public var closedCleanly: Bool
    /// Where an imported recording's frames came from; nil (and absent from the JSON) for recordings
    /// that are not conversions, so manifests written before this field existed still decode.
    public var provenance: FrameProvenance?

    /// Creates a manifest from its fields.
    public init(file: String, sha256: String, bytes: Int64, frames: Int, gzipMembers: Int,
                firstLocalTimeNs: Int64?, lastLocalTimeNs: Int64?, framesPerTopic: [String: Int],
                framesWithoutTopic: Int, createdBy: String, closedCleanly: Bool, provenance: FrameProvenance? = nil) {
        self.format = Self.formatV1
        self.file = file
        self.sha256 = sha256
        self.bytes = bytes
        self.frames = frames
        self.gzipMembers = gzipMembers
        self.firstLocalTimeNs = firstLocalTimeNs
        self.lastLocalTimeNs = lastLocalTimeNs
        self.framesPerTopic = framesPerTopic
        self.framesWithoutTopic = framesWithoutTopic
        self.createdBy = createdBy
        self.closedCleanly = closedCleanly
        self.provenance = provenance
    }

    /// `<dataFile>.manifest.json`.
    public static func path(forDataFile dataFile: String) -> String { dataFile + ".manifest.json" }

    /// Deterministic JSON: sorted keys, pretty-printed, trailing newline.
    public func encoded() throws(RecordingError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self)) + [0x0A]
        } catch {
            throw .fileSystem(path: file, message: "manifest encoding failed: \(error)")
        }
    }

    /// Writes the manifest next to `dataFile` atomically (temporary file + rename), so a reader
    /// never sees half a manifest, then syncs the directory so the rename is durable.
    public func write(forDataFile dataFile: String) throws(RecordingError) {
        let target = Self.path(forDataFile: dataFile)
        try POSIXIO.writeFileAtomically(try encoded(), to: target)
    }

    /// Reads the manifest of `dataFile`.
    public static func read(forDataFile dataFile: String) throws(RecordingError) -> FrameManifest {
        let source = path(forDataFile: dataFile)
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: source))
            return try JSONDecoder().decode(FrameManifest.self, from: data)
        } catch {
            throw .fileSystem(path: source, message: "\(error)")
        }
    }

    /// Builds a manifest by reading `dataFile` (for a file left without one by a crash).
    /// `closedCleanly` is false; frames are those a reader can recover.
    public static func rebuild(dataFile: String, createdBy: String) throws(RecordingError) -> FrameManifest {
        var reader = try FrameFileReader(path: dataFile, compression: .gzip)
        var topics = TopicCounter()
        var first: Int64?
        var last: Int64?
        while let line = try reader.next() {
            if first == nil { first = line.localTime.nanoseconds }
            last = line.localTime.nanoseconds
            topics.count(frame: line.json)
        }
        let stats = reader.stats
        return FrameManifest(
            file: URL(fileURLWithPath: dataFile).lastPathComponent, sha256: try sha256Hex(ofFile: dataFile),
            bytes: stats.bytesRead, frames: stats.frames, gzipMembers: stats.gzipMembers,
            firstLocalTimeNs: first, lastLocalTimeNs: last, framesPerTopic: topics.dictionary,
            framesWithoutTopic: topics.withoutTopic, createdBy: createdBy, closedCleanly: false)
    }

    /// Lower-case hex SHA-256 of a file's bytes, read in 256 KiB chunks.
    public static func sha256Hex(ofFile path: String) throws(RecordingError) -> String {
        let fd = try POSIXIO.openForReading(path)
        defer { POSIXIO.closeQuietly(fd) }
        let buffer = ByteBuffer(capacity: 256 * 1024)
        var hasher = SHA256()
        while true {
            let n = try POSIXIO.readSome(fd, buffer.base, buffer.capacity, path: path)
            if n == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(start: buffer.base, count: n))
        }
        return hex(hasher.finalize())
    }

    /// Lower-case hex of a digest.
    static func hex(_ digest: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
