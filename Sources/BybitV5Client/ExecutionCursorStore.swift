public import BybitV5
public import CascadeCore
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One execution the consumer has persisted: its id and `execTime`.
public struct ExecutionMark: Sendable, Hashable {
    public var id: String
    public var time: ExchangeTime
    public init(id: String, time: ExchangeTime) {
        self.id = id
        self.time = time
    }
    public init(_ execution: BybitExecution) { self.init(id: execution.execId, time: execution.execTime) }
}

/// What the consumer of the private stream has durably persisted: the newest `execTime`, and the ids of every
/// persisted execution within the overlap window before it.
///
/// The stream backfills from `newest − overlap` (Bybit does not publish executions in `execTime` order: a funding
/// row is stamped at the settlement instant but may be published after later fills) and skips the ids listed
/// here, so nothing persisted is delivered again and nothing published late is lost. Delivery is at least once:
/// what was delivered but not yet committed comes again after a reconnect or restart.
public struct ExecutionCursor: Sendable, Equatable {
    public var newest: ExchangeTime
    /// Persisted ids with their times, kept while `time ≥ newest − overlap`.
    public var recent: [String: ExchangeTime]

    public init(newest: ExchangeTime, recent: [String: ExchangeTime] = [:]) {
        self.newest = newest
        self.recent = recent
    }

    /// Where a backfill must start.
    public func backfillStart(overlap: Duration) -> ExchangeTime {
        ExchangeTime(milliseconds: newest.milliseconds - overlap.wholeNanoseconds / 1_000_000)
    }

    public func contains(_ id: String) -> Bool { recent[id] != nil }

    /// The cursor after persisting `marks`: newest moves forward only, old ids leave the window.
    public func committing(_ marks: [ExecutionMark], overlap: Duration) -> ExecutionCursor {
        var next = self
        for mark in marks {
            next.newest = max(next.newest, mark.time)
            next.recent[mark.id] = mark.time
        }
        let floor = next.backfillStart(overlap: overlap)
        next.recent = next.recent.filter { $0.value >= floor }
        return next
    }
}

/// Why the cursor could not be read or written. Never silently "no cursor": an unreadable cursor means the
/// stream cannot know what was persisted, so it refuses to trust itself (and says so).
public enum ExecutionCursorError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "execution cursor \(path) is unreadable: \(reason)"
        case let .writeFailed(path, reason): "execution cursor \(path) could not be written: \(reason)"
        }
    }
}

/// The private stream's record of persisted executions. The consumer owns it — later the order journal, which
/// commits in the same transaction as the fills — and calls ``commit(_:)`` only once the executions are durable;
/// the stream only reads it when it backfills. A fill delivered and not committed (the process died in between)
/// is therefore delivered again on the next start.
public protocol ExecutionCursorStore: Sendable {
    /// How far before the newest persisted execution a backfill starts (longer than Bybit's worst publication lag).
    var overlap: Duration { get }
    /// nil: nothing persisted yet (a first start). Throws when a cursor exists but cannot be read.
    func load() throws(ExecutionCursorError) -> ExecutionCursor?
    /// Records executions as persisted; returns only when the record is durable.
    func commit(_ marks: [ExecutionMark]) throws(ExecutionCursorError)
}

extension ExecutionCursorStore {
    public func commit(_ executions: [BybitExecution]) throws(ExecutionCursorError) { try commit(executions.map(ExecutionMark.init)) }
}

/// A cursor kept in memory (tests, paper runs whose journal is in memory too).
public final class InMemoryExecutionCursor: ExecutionCursorStore {
    private let value: Mutex<ExecutionCursor?>
    public let overlap: Duration
    public init(_ initial: ExecutionCursor? = nil, overlap: Duration = .seconds(600)) {
        value = Mutex(initial)
        self.overlap = overlap
    }
    public func load() -> ExecutionCursor? { value.withLock { $0 } }
    public func commit(_ marks: [ExecutionMark]) {
        guard let first = marks.first else { return }
        value.withLock { $0 = ($0 ?? ExecutionCursor(newest: first.time)).committing(marks, overlap: overlap) }
    }
}

/// A cursor in a small JSON file, replaced atomically on every commit: written to a temporary file, fsynced,
/// renamed over the old one, and the directory fsynced, so a crash leaves either the old or the new cursor.
public final class FileExecutionCursor: ExecutionCursorStore {
    public let path: String
    public let overlap: Duration
    /// Serialises commits (read, merge, write) of this instance. `load` reads the file each time: another instance
    /// (the journal's) may have committed since.
    private let lock = Mutex<Void>(())

    public init(path: String, overlap: Duration = .seconds(600)) {
        self.path = path
        self.overlap = overlap
    }

    public func load() throws(ExecutionCursorError) -> ExecutionCursor? { try read() }

    private func read() throws(ExecutionCursorError) -> ExecutionCursor? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .unreadable(path: path, reason: "cannot read the file")
        }
        do {
            let stored = try JSONDecoder().decode(Stored.self, from: data)
            return ExecutionCursor(newest: ExchangeTime(milliseconds: stored.newestMs),
                                   recent: stored.recentMs.mapValues { ExchangeTime(milliseconds: $0) })
        } catch {
            throw .unreadable(path: path, reason: "not a cursor (\(error))")
        }
    }

    public func commit(_ marks: [ExecutionMark]) throws(ExecutionCursorError) {
        guard let first = marks.first else { return }
        try lock.withLock { _ throws(ExecutionCursorError) in
            let next = (try read() ?? ExecutionCursor(newest: first.time)).committing(marks, overlap: overlap)
            try persist(next)
        }
    }

    /// The file's shape: `{"newestMs":…,"recentMs":{"execId":ms,…}}`.
    private struct Stored: Codable {
        var newestMs: Int64
        var recentMs: [String: Int64]
    }

    private func persist(_ cursor: ExecutionCursor) throws(ExecutionCursorError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes: [UInt8]
        do { bytes = Array(try encoder.encode(Stored(newestMs: cursor.newest.milliseconds, recentMs: cursor.recent.mapValues(\.milliseconds)))) } catch { throw .writeFailed(path: path, reason: "\(error)") }
        let temporary = path + ".tmp"
        // errno is read at once (before close or unlink can change it); a failed write leaves no temporary file.
        func fail(_ what: String, closing fd: Int32? = nil) -> ExecutionCursorError {
            let reason = String(cString: strerror(errno))
            if let fd { close(fd) }
            unlink(temporary)
            return .writeFailed(path: path, reason: "\(what): \(reason)")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw fail("open") }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("write", closing: fd)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw fail("fsync", closing: fd) }
        close(fd)
        guard rename(temporary, path) == 0 else { throw fail("rename") }
        // The rename itself is durable only once the directory is.
        let directory = (path as NSString).deletingLastPathComponent
        let dfd = open(directory.isEmpty ? "." : directory, O_RDONLY)
        guard dfd >= 0 else { throw fail("open directory") }
        defer { close(dfd) }
        guard fsync(dfd) == 0 else { throw fail("fsync directory") }
    }
}
