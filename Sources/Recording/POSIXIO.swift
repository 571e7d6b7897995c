#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin wrappers over `open`/`read`/`write`/`fsync` that retry `EINTR` and short writes.
///
/// Data files go through raw file descriptors rather than `FileHandle` so that a flush is one
/// `write(2)` sequence we control: after it returns the gzip member is in the kernel and survives
/// `kill -9` of this process, and `ENOSPC` surfaces as a typed error instead of an exception.
enum POSIXIO {
    /// Opens `path` for writing; `exclusive` refuses to touch an existing file.
    static func openForWriting(_ path: String, exclusive: Bool) throws(RecordingError) -> Int32 {
        var flags = O_WRONLY | O_CREAT | O_CLOEXEC
        flags |= exclusive ? O_EXCL : O_TRUNC
        let fd = open(path, flags, 0o644)
        if fd >= 0 { return fd }
        let e = errno
        if e == EEXIST { throw .fileExists(path: path) }
        throw .openFailed(path: path, errno: e)
    }

    /// Opens `path` read-only.
    static func openForReading(_ path: String) throws(RecordingError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .openFailed(path: path, errno: errno) }
        return fd
    }

    /// Writes all `count` bytes or throws; on error `written` says how many bytes reached the file.
    static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int, path: String,
                         written: inout Int) throws(RecordingError) {
        written = 0
        while written < count {
            let n = write(fd, base + written, count - written)
            if n > 0 {
                written += n
                continue
            }
            let e = n < 0 ? errno : ENOSPC  // a zero-byte write on a regular file means no room
            if e == EINTR { continue }
            if e == ENOSPC || e == EDQUOT { throw .diskFull(path: path) }
            throw .writeFailed(path: path, errno: e)
        }
    }

    /// Reads up to `count` bytes; returns 0 at end of file.
    static func readSome(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int,
                         path: String) throws(RecordingError) -> Int {
        while true {
            let n = read(fd, base, count)
            if n >= 0 { return n }
            let e = errno
            if e == EINTR { continue }
            throw .readFailed(path: path, errno: e)
        }
    }

    /// `fsync(2)`, retrying `EINTR`.
    static func sync(_ fd: Int32, path: String) throws(RecordingError) {
        while fsync(fd) != 0 {
            let e = errno
            if e == EINTR { continue }
            // Character devices and pipes cannot be synced; there is nothing more to make durable.
            if e == EINVAL || e == EROFS { return }
            throw .syncFailed(path: path, errno: e)
        }
    }

    /// Syncs a directory so a newly created or renamed entry survives a power loss (best effort).
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        _ = close(fd)
    }

    /// Replaces `path` atomically: writes `<path>.tmp` in the same directory, syncs it, renames it over
    /// `path`, syncs the directory. (Foundation's `.atomic` write on Linux leaves a temporary directory
    /// behind in /tmp per call, which a recorder running for months cannot afford.)
    static func writeFileAtomically(_ bytes: [UInt8], to path: String) throws(RecordingError) {
        let temporary = path + ".tmp"
        let fd = try openForWriting(temporary, exclusive: false)
        do throws(RecordingError) {
            let failure: RecordingError? = bytes.withUnsafeBytes { raw in
                guard let base = raw.baseAddress else { return nil }
                var written = 0
                do throws(RecordingError) {
                    try writeAll(fd, base, raw.count, path: temporary, written: &written)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
            try sync(fd, path: temporary)
        } catch {
            closeQuietly(fd)
            _ = unlink(temporary)
            throw error
        }
        closeQuietly(fd)
        if rename(temporary, path) != 0 {
            let e = errno
            _ = unlink(temporary)
            throw .writeFailed(path: path, errno: e)
        }
        var directory = path
        if let slash = directory.lastIndex(of: "/") { directory = String(directory[..<slash]) } else { directory = "." }
        syncDirectory(directory.isEmpty ? "/" : directory)
    }

    /// Closes `fd`, ignoring errors (nothing useful can be done about them at that point).
    static func closeQuietly(_ fd: Int32) {
        _ = close(fd)
    }
}
