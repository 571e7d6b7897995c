#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a recording operation failed.
///
/// Typed, so the live recorder can tell "the disk is full, stop writing and alert" apart from
/// programming errors and other I/O failures without string matching. `errno` values are kept raw
/// because the caller logs them and the numbers are what `man 2 write` documents.
public enum RecordingError: Error, Equatable, Sendable {
    /// `open(2)` failed (`errno`).
    case openFailed(path: String, errno: Int32)
    /// A file with this name already exists and the writer was told not to replace it.
    case fileExists(path: String)
    /// `write(2)` failed with `ENOSPC` or `EDQUOT`: nothing more can be written to this volume.
    case diskFull(path: String)
    /// `write(2)` failed with another `errno`.
    case writeFailed(path: String, errno: Int32)
    /// `read(2)` failed (`errno`).
    case readFailed(path: String, errno: Int32)
    /// `fsync(2)` failed (`errno`): data may not be durable.
    case syncFailed(path: String, errno: Int32)
    /// zlib returned an unexpected status (out of memory, version mismatch); `code` is zlib's.
    case zlib(code: Int32, message: String)
    /// The frame cannot be stored in frames format v1 (empty, contains a newline, negative time).
    case invalidFrame(reason: String)
    /// The writer was closed, or an earlier write failed and left it unusable.
    case writerClosed(path: String)
    /// Creating a directory or writing a manifest failed (Foundation's description).
    case fileSystem(path: String, message: String)

    /// True for the failure a long-running recorder must stop on and alert about.
    public var isDiskFull: Bool {
        if case .diskFull = self { return true }
        return false
    }
}

extension RecordingError: CustomStringConvertible {
    /// One-line message for logs and the command line.
    public var description: String {
        switch self {
        case let .openFailed(path, e): "cannot open \(path): \(Self.describe(errno: e))"
        case let .fileExists(path): "\(path) already exists"
        case let .diskFull(path): "disk full while writing \(path)"
        case let .writeFailed(path, e): "cannot write \(path): \(Self.describe(errno: e))"
        case let .readFailed(path, e): "cannot read \(path): \(Self.describe(errno: e))"
        case let .syncFailed(path, e): "cannot fsync \(path): \(Self.describe(errno: e))"
        case let .zlib(code, message): "zlib error \(code): \(message)"
        case let .invalidFrame(reason): "invalid frame: \(reason)"
        case let .writerClosed(path): "\(path) is closed (or failed earlier)"
        case let .fileSystem(path, message): "\(path): \(message)"
        }
    }

    private static func describe(errno e: Int32) -> String {
        guard let s = strerror(e) else { return "errno \(e)" }
        return "\(String(cString: s)) (errno \(e))"
    }
}
