import Foundation
public import CascadeCore

/// Records frames into a directory of rotating frames files, each closed with a manifest.
///
/// Single owner, not an actor: the live recording service wraps it in its own isolation, and the
/// importer drives it synchronously. Time comes only from the frames' receive times (file names,
/// rotation age, flush age), so importing a capture reproduces the files the live run would have
/// written.
///
/// After an I/O error (``RecordingError/diskFull(path:)`` above all) the recorder refuses further
/// frames and rethrows that error: the service must stop and alert, not retry in a loop. The files
/// closed so far keep their manifests; the failed one can get one from
/// ``FrameManifest/rebuild(dataFile:createdBy:)``.
public final class Recorder {
    /// Directory the files are written to (created if missing).
    public let directory: String
    /// File names start with this prefix.
    public let filePrefix: String
    /// When files are rotated.
    public let rotation: RotationPolicy
    /// When gzip members are completed and written.
    public let flushPolicy: FlushPolicy
    /// zlib level of the data files.
    public let compressionLevel: Int32
    /// Written into every manifest's `createdBy`.
    public let createdBy: String
    /// Written into every manifest's `provenance` (set it before the first frame): what an import
    /// converted from. Nil for live recordings.
    public var provenance: FrameProvenance?

    /// Called right after a new file is opened, before the frame that caused it is written: the
    /// place to `recordCascade(topic: .instruments, ...)` so every file starts self-describing.
    /// Frames recorded from the hook go into the new file and never trigger rotation.
    public var onNewFile: ((Recorder) throws(RecordingError) -> Void)?
    /// Called with every frame right after it was appended (the paper node trades on exactly the lines it records,
    /// so `cascade backtest` on the recording sees what the node saw).
    public var onFrame: ((LocalTime, UnsafeRawBufferPointer) -> Void)?
    /// Called after every flush that wrote a member (``stats`` already updated).
    public var onFlush: ((Recorder) -> Void)?

    /// Running totals.
    public private(set) var stats = RecorderStats()
    /// Manifests of the files closed so far, oldest first.
    public private(set) var closedFiles: [FrameManifest] = []
    /// Whether ``closedFiles`` keeps every manifest (importers list them at the end); a node that records for months
    /// turns it off, and the manifests stay on disk beside their files.
    public var keepsClosedManifests = true

    private var writer: FrameFileWriter?
    private var topics = TopicCounter()
    private var oldestUnflushed: LocalTime?
    private var lastLocalTime: LocalTime?
    private var inNewFileHook = false
    private var failure: RecordingError?
    private var isClosed = false

    /// Creates the directory if needed; no file is created until the first frame arrives (its
    /// receive time names the file).
    public init(directory: String, filePrefix: String = "frames", rotation: RotationPolicy = RotationPolicy(),
                flushPolicy: FlushPolicy = FlushPolicy(), compressionLevel: Int32 = 6,
                createdBy: String = "cascade") throws(RecordingError) {
        self.directory = directory
        self.filePrefix = filePrefix
        self.rotation = rotation
        self.flushPolicy = flushPolicy
        self.compressionLevel = compressionLevel
        self.createdBy = createdBy
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw .fileSystem(path: directory, message: "\(error)")
        }
    }

    /// Path of the file currently open, if any.
    public var currentFilePath: String? { writer?.path }

    /// Records one frame received at `localTime`: rotates first if the open file is too old or
    /// too large, appends, then flushes if the flush policy says so.
    public func record(localTime: LocalTime, json: UnsafeRawBufferPointer) throws(RecordingError) {
        try checkUsable()
        // Refuse a bad frame before it can rotate or open a file that would then stay empty.
        try FrameFileWriter.validate(localTime: localTime, json: json)
        if writer != nil && !inNewFileHook && shouldRotate(at: localTime) {
            try closeCurrentFile()
        }
        if writer == nil { try openFile(firstFrameTime: localTime) }
        guard let writer else { return }
        do throws(RecordingError) {
            try writer.append(localTime: localTime, json: json)
        } catch {
            if case .invalidFrame = error { throw error }  // the frame was refused; the file is fine
            throw fail(error)
        }
        topics.count(frame: json)
        onFrame?(localTime, json)
        stats.framesRecorded += 1
        if let last = lastLocalTime, localTime < last { stats.framesWithDecreasingTime += 1 }
        lastLocalTime = localTime
        if oldestUnflushed == nil { oldestUnflushed = localTime }
        if !inNewFileHook { try flushIfDue(now: localTime) }
    }

    /// Records one frame given as an array.
    public func record(localTime: LocalTime, json: [UInt8]) throws(RecordingError) {
        try withBytes(json) { (raw: UnsafeRawBufferPointer) throws(RecordingError) in
            try record(localTime: localTime, json: raw)
        }
    }

    /// Records a reserved local frame `{"topic":"_cascade.<name>","ts":<ms>,"data":<dataJSON>}`.
    public func recordCascade(topic: CascadePseudoTopic, localTime: LocalTime, dataJSON: [UInt8]) throws(RecordingError) {
        try record(localTime: localTime, json: topic.frameJSON(localTimeNanoseconds: localTime.nanoseconds, dataJSON: dataJSON))
    }

    /// Applies the time-based policies without a frame (call it from a timer when the feed is
    /// quiet): flushes frames older than the flush age, and closes a file older than the rotation
    /// age (the next frame then opens a new one).
    public func tick(now: LocalTime) throws(RecordingError) {
        try checkUsable()
        guard writer != nil else { return }
        if shouldRotate(at: now) {
            try closeCurrentFile()
        } else {
            try flushIfDue(now: now)
        }
    }

    /// Completes the current gzip member and writes it (no-op when nothing is pending).
    public func flush(sync: Bool? = nil) throws(RecordingError) {
        try checkUsable()
        guard let writer, writer.pendingFrames > 0 else { return }
        let before = writer.bytesWritten
        do throws(RecordingError) {
            try writer.flush(sync: sync ?? flushPolicy.sync)
        } catch {
            throw fail(error)
        }
        stats.bytesWritten += writer.bytesWritten - before
        stats.framesFlushed = flushedBeforeThisFile + writer.framesWritten
        stats.flushes += 1
        oldestUnflushed = nil
        onFlush?(self)
    }

    /// Flushes, closes the open file and writes its manifest. Idempotent; later frames are refused.
    public func close() throws(RecordingError) {
        if isClosed { return }
        if let failure { isClosed = true; throw failure }
        if writer != nil { try closeCurrentFile() }
        isClosed = true
    }

    // MARK: - Private

    /// `stats.framesFlushed` at the moment the current file was opened.
    private var flushedBeforeThisFile = 0

    private func checkUsable() throws(RecordingError) {
        if let failure { throw failure }
        if isClosed { throw .writerClosed(path: directory) }
    }

    private func fail(_ error: RecordingError) -> RecordingError {
        failure = error
        writer = nil  // the writer closed its descriptor already
        return error
    }

    private func shouldRotate(at now: LocalTime) -> Bool {
        guard let writer, let first = writer.firstLocalTime else { return false }
        if let maxAge = rotation.maxAgeNanoseconds, now.nanoseconds - first.nanoseconds >= maxAge { return true }
        if let maxBytes = rotation.maxBytes, writer.bytesWritten + Int64(writer.pendingCompressedBytes) >= maxBytes {
            return true
        }
        return false
    }

    private func flushIfDue(now: LocalTime) throws(RecordingError) {
        guard let writer, writer.pendingFrames > 0 else { return }
        var due = false
        if let maxFrames = flushPolicy.maxFrames, writer.pendingFrames >= maxFrames { due = true }
        if let maxAge = flushPolicy.maxAgeNanoseconds, let oldest = oldestUnflushed,
           now.nanoseconds - oldest.nanoseconds >= maxAge { due = true }
        if due { try flush() }
    }

    private func openFile(firstFrameTime: LocalTime) throws(RecordingError) {
        let stamp = Self.fileStamp(nanoseconds: firstFrameTime.nanoseconds)
        var suffix = 0
        while true {
            let name = "\(filePrefix)-\(stamp)\(suffix == 0 ? "" : "-\(suffix)").frames.gz"
            let path = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            do throws(RecordingError) {
                writer = try FrameFileWriter(path: path, level: compressionLevel)
                break
            } catch {
                // O_EXCL makes the existence check and the creation one atomic step.
                guard case .fileExists = error else { throw fail(error) }
                suffix += 1
            }
        }
        topics = TopicCounter()
        flushedBeforeThisFile = stats.framesFlushed
        stats.filesOpened += 1
        if let hook = onNewFile {
            inNewFileHook = true
            defer { inNewFileHook = false }
            try hook(self)
        }
    }

    private func closeCurrentFile() throws(RecordingError) {
        guard let writer else { return }
        try flush()
        do throws(RecordingError) {
            try writer.close()
        } catch {
            throw fail(error)
        }
        let manifest = FrameManifest(
            file: String(writer.path.split(separator: "/").last ?? ""), sha256: writer.sha256Hex,
            bytes: writer.bytesWritten, frames: writer.framesWritten, gzipMembers: writer.gzipMembers,
            firstLocalTimeNs: writer.firstLocalTime?.nanoseconds, lastLocalTimeNs: writer.lastLocalTime?.nanoseconds,
            framesPerTopic: topics.dictionary, framesWithoutTopic: topics.withoutTopic,
            createdBy: createdBy, closedCleanly: true, provenance: provenance)
        self.writer = nil
        do throws(RecordingError) {
            try manifest.write(forDataFile: writer.path)
        } catch {
            throw fail(error)
        }
        if keepsClosedManifests { closedFiles.append(manifest) }
        stats.filesClosed += 1
    }

    /// `yyyyMMdd'T'HHmmss.SSS` in UTC, from integer nanoseconds (no Double, no Foundation dates).
    static func fileStamp(nanoseconds ns: Int64) -> String {
        let ms = ns >= 0 ? ns / 1_000_000 : -((-ns + 999_999) / 1_000_000)
        let f = UTCFormat.fields(milliseconds: ms)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(f.year, 4))\(pad(f.month, 2))\(pad(f.day, 2))T\(pad(f.hour, 2))\(pad(f.minute, 2))\(pad(f.second, 2)).\(pad(f.millisecond, 3))"
    }
}
