#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import CascadeCore
import Crypto

/// Writes a frames-format-v1 file as a sequence of gzip members, one member per ``flush(sync:)``.
///
/// Crash safety comes from the member boundaries: compressed bytes stay in memory until a flush
/// completes a member and hands all of it to `write(2)`, so after `kill -9` the file ends at a
/// member boundary (or, if the kill lands inside the `write` loop, with one torn member that
/// ``FrameFileReader`` detects). Frames appended after the last flush are lost in a crash; the
/// caller bounds that loss with its flush policy.
///
/// Single owner, not thread-safe: the recorder service confines it to one task.
public final class FrameFileWriter {
    /// Path the writer was opened with.
    public let path: String
    /// Compressed bytes that reached the file (complete members, plus a partial one only if a
    /// failed write could not be rolled back).
    public private(set) var bytesWritten: Int64 = 0
    /// Frames inside members that were completely written.
    public private(set) var framesWritten = 0
    /// Frames accepted by ``append(localTime:json:)-(_,UnsafeRawBufferPointer)``, flushed or not.
    public private(set) var framesAppended = 0
    /// Complete gzip members written.
    public private(set) var gzipMembers = 0
    /// Receive time of the first frame appended, in file order.
    public private(set) var firstLocalTime: LocalTime?
    /// Receive time of the last frame appended, in file order.
    public private(set) var lastLocalTime: LocalTime?
    /// True after ``close()`` or after a failed write (a failed writer refuses further frames).
    public private(set) var isClosed = false

    private var fd: Int32
    private let deflater: GzipDeflater
    /// Uncompressed lines waiting to be deflated (batched: one zlib call per ~128 KiB, not per frame).
    private let staging = ByteBuffer(capacity: 160 * 1024)
    /// Compressed bytes of the current, unfinished member.
    private let compressed = ByteBuffer(capacity: 64 * 1024)
    private var hasher = SHA256()
    private static let stagingLimit = 128 * 1024

    /// Creates the file. With `replaceExisting == false` an existing file is an error
    /// (``RecordingError/fileExists(path:)``), so a recording is never overwritten by accident.
    public init(path: String, level: Int32 = 6, replaceExisting: Bool = false) throws(RecordingError) {
        self.path = path
        deflater = try GzipDeflater(level: level)
        fd = try POSIXIO.openForWriting(path, exclusive: !replaceExisting)
    }

    deinit {
        // Unflushed frames are dropped here on purpose: deinit cannot report errors, and silently
        // succeeding would hide the same loss a crash causes. Call close() to keep them.
        if fd >= 0 { POSIXIO.closeQuietly(fd) }
    }

    /// Frames appended since the last successful flush (lost if the process dies now).
    public var pendingFrames: Int { framesAppended - framesWritten }

    /// Compressed bytes produced for the unfinished member so far (zlib may still hold more).
    public var pendingCompressedBytes: Int { compressed.count }

    /// Lower-case hex SHA-256 of every byte written to the file so far.
    public var sha256Hex: String { FrameManifest.hex(hasher.finalize()) }

    /// Appends one frame line `<ns> <json>\n`. `json` must be non-empty and free of `\n` bytes
    /// (frames are compact JSON; a newline would split the frame into two malformed lines).
    public func append(localTime: LocalTime, json: UnsafeRawBufferPointer) throws(RecordingError) {
        guard !isClosed else { throw .writerClosed(path: path) }
        try Self.validate(localTime: localTime, json: json)
        guard let jsonBase = json.baseAddress else { return }
        let ns = localTime.nanoseconds

        staging.reserveSpare(21 + json.count)
        appendDecimal(UInt64(ns))
        staging.append(byte: 0x20)
        staging.append(jsonBase, json.count)
        staging.append(byte: 0x0A)
        framesAppended += 1
        if firstLocalTime == nil { firstLocalTime = localTime }
        lastLocalTime = localTime
        if staging.count >= Self.stagingLimit {
            try deflateStaging(finish: false)
        }
    }

    /// Throws ``RecordingError/invalidFrame(reason:)`` unless the frame fits one v1 line.
    static func validate(localTime: LocalTime, json: UnsafeRawBufferPointer) throws(RecordingError) {
        guard let jsonBase = json.baseAddress, json.count > 0 else { throw .invalidFrame(reason: "empty JSON") }
        guard memchr(jsonBase, 0x0A, json.count) == nil else { throw .invalidFrame(reason: "JSON contains a newline") }
        guard localTime.nanoseconds >= 0 else { throw .invalidFrame(reason: "negative receive time \(localTime.nanoseconds)") }
    }

    /// Appends one frame from an array (see the pointer variant for the rules).
    public func append(localTime: LocalTime, json: [UInt8]) throws(RecordingError) {
        try withBytes(json) { (raw: UnsafeRawBufferPointer) throws(RecordingError) in
            try append(localTime: localTime, json: raw)
        }
    }

    /// Finishes the current gzip member and writes all of it. With `sync`, also `fsync`s so the
    /// member survives a power loss, not just a process crash. A flush with nothing pending is a no-op.
    ///
    /// On a write error the writer tries to truncate the file back to the last member boundary (so
    /// the file stays a clean sequence of members), marks itself closed and rethrows; the pending
    /// frames are lost. ``RecordingError/diskFull(path:)`` is the one to alert on.
    public func flush(sync: Bool = false) throws(RecordingError) {
        guard !isClosed else { throw .writerClosed(path: path) }
        guard pendingFrames > 0 else {
            if sync { try POSIXIO.sync(fd, path: path) }
            return
        }
        try deflateStaging(finish: true)
        var written = 0
        do throws(RecordingError) {
            try POSIXIO.writeAll(fd, compressed.base + compressed.start, compressed.count, path: path, written: &written)
        } catch {
            failAfterPartialWrite(written: written)
            throw error
        }
        hasher.update(bufferPointer: UnsafeRawBufferPointer(start: compressed.base + compressed.start, count: written))
        bytesWritten += Int64(written)
        compressed.removeAll()
        gzipMembers += 1
        framesWritten = framesAppended
        if sync { try POSIXIO.sync(fd, path: path) }
    }

    /// Flushes with `fsync` and closes the file. Idempotent; after a failed write it only closes.
    public func close() throws(RecordingError) {
        guard fd >= 0 else { return }
        if !isClosed {
            do throws(RecordingError) {
                try flush(sync: true)
            } catch {
                releaseDescriptor()
                throw error
            }
        }
        releaseDescriptor()
    }

    // MARK: - Private

    private func releaseDescriptor() {
        if fd >= 0 { POSIXIO.closeQuietly(fd) }
        fd = -1
        isClosed = true
    }

    private func deflateStaging(finish: Bool) throws(RecordingError) {
        do throws(RecordingError) {
            try deflater.compress(staging.base + staging.start, count: staging.count, finish: finish, into: compressed)
        } catch {
            releaseDescriptor()
            throw error
        }
        staging.removeAll()
    }

    /// Restores "file = complete members" after a failed write, or accounts for the torn bytes.
    private func failAfterPartialWrite(written: Int) {
        if written > 0 {
            if ftruncate(fd, off_t(bytesWritten)) != 0 {
                // Cannot roll back: the file now ends in a torn member, which readers count as a
                // torn tail. Keep size and hash truthful about what is on disk.
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: compressed.base + compressed.start, count: written))
                bytesWritten += Int64(written)
            }
        }
        compressed.removeAll()
        staging.removeAll()
        releaseDescriptor()
    }

    /// Writes `value` in decimal without allocating (this runs once per frame).
    private func appendDecimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch on the stack
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = value
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
                v /= 10
            } while v != 0
            staging.append(scratch.baseAddress! + i, scratch.count - i)
        }
    }
}
