public import CascadeCore
import Foundation
import Synchronization

/// Where the private stream keeps the time of the newest execution it has handed to the consumer, so a
/// reconnect (or a restart) backfills exactly what it missed from `/v5/execution/list`.
public protocol ExecutionCursorStore: Sendable {
    func load() -> ExchangeTime?
    func save(_ time: ExchangeTime)
}

/// A cursor kept in memory (tests, paper runs).
public final class InMemoryExecutionCursor: ExecutionCursorStore {
    private let value = Mutex<ExchangeTime?>(nil)
    public init(_ initial: ExchangeTime? = nil) { value.withLock { $0 = initial } }
    public func load() -> ExchangeTime? { value.withLock { $0 } }
    public func save(_ time: ExchangeTime) { value.withLock { $0 = max($0 ?? time, time) } }
}

/// A cursor persisted in a small file (`{"execTimeMs":…}`), replaced atomically on every save.
public final class FileExecutionCursor: ExecutionCursorStore {
    public let path: String
    private let lock = Mutex<Void>(())
    public init(path: String) { self.path = path }

    public func load() -> ExchangeTime? {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let ms = (object["execTimeMs"] as? NSNumber)?.int64Value else { return nil }
        return ExchangeTime(milliseconds: ms)
    }

    public func save(_ time: ExchangeTime) {
        lock.withLock { _ in
            if let current = load(), current >= time { return }
            let temporary = path + ".tmp"
            let bytes = Data(#"{"execTimeMs":\#(time.milliseconds)}"#.utf8)
            guard FileManager.default.createFile(atPath: temporary, contents: bytes) else { return }
            _ = try? FileManager.default.replaceItemAt(URL(fileURLWithPath: path), withItemAt: URL(fileURLWithPath: temporary))
            if !FileManager.default.fileExists(atPath: path) { try? FileManager.default.moveItem(atPath: temporary, toPath: path) }
        }
    }
}
