import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One node per data directory: an exclusive `flock` on `DIR/cascade.lock`, held for the life of this value (the
/// kernel drops it when the process dies, so a crash never leaves a stale lock). The file names the holder's pid.
public final class DataDirectoryLock: Sendable {
    public let path: String
    private let descriptor: Int32

    /// Why a node may not start on a data directory.
    public struct Refused: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    public init(directory: String) throws(Refused) {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Refused(description: "cannot create the data directory \(directory): \(error.localizedDescription)")
        }
        path = (directory as NSString).appendingPathComponent("cascade.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Refused(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw Refused(description: "another cascade node is running on \(directory)\(holder.isEmpty ? "" : " (pid \(holder))"): one node per data directory")
        }
        descriptor = fd
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
    }

    deinit {
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
