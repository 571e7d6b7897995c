public import CascadeCore
public import Execution
import Foundation
import GRDB

/// The durable order journal: SQLite through GRDB, in WAL mode with `synchronous=FULL`, one transaction per
/// ``commit(_:)`` — durable on disk before it returns, so nothing is sent that a crash could forget. It owns the
/// execution cursor: the exchange time of the latest venue report committed, updated in the same transaction.
///
/// Entries are stored as JSON (the Codable vocabulary of CascadeCore), one row each, in commit order; the start
/// entries' run numbers are a column, so ``nextRun()`` never reads the whole journal.
public final class SQLiteOrderJournal: OrderJournal {
    let queue: DatabaseQueue
    public let path: String
    private var closed = false
    private let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return e
    }()

    /// Opens (or creates) the journal at `path`.
    public init(path: String) throws(JournalError) {
        self.path = path
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            // WAL: a commit appends to the log; FULL: the log is fsync'd at every commit (durable across power loss).
            try db.execute(sql: "PRAGMA journal_mode = WAL")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // The journal is appended to and read once at start: a small page cache (SQLite's default is 2 MB) keeps
            // a node that runs for months from growing its memory with the file.
            try db.execute(sql: "PRAGMA cache_size = -256")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            var migrator = DatabaseMigrator()
            migrator.registerMigration("v1") { db in
                try db.execute(sql: """
                    CREATE TABLE entry (seq INTEGER PRIMARY KEY AUTOINCREMENT, tx INTEGER NOT NULL, kind TEXT NOT NULL,
                                        run INTEGER, body BLOB NOT NULL);
                    CREATE INDEX entry_run ON entry(run) WHERE run IS NOT NULL;
                    CREATE TABLE cursor (id INTEGER PRIMARY KEY CHECK (id = 1), exchange_ms INTEGER NOT NULL);
                    """)
            }
            try migrator.migrate(queue)
        } catch {
            throw JournalError("\(path): \(error)")
        }
    }

    public func commit(_ entries: [JournalEntry]) throws(JournalError) {
        if closed { throw JournalError("\(path): closed (the node has stopped)") }
        guard !entries.isEmpty else { return }
        var rows: [(kind: String, run: Int64?, body: Data, cursor: Int64?)] = []
        do {
            for entry in entries {
                let body = try encoder.encode(entry)
                switch entry {
                case let .started(run, _, _, _): rows.append(("started", Int64(run), body, nil))
                case .decision: rows.append(("decision", nil, body, nil))
                case let .report(_, report): rows.append(("report", nil, body, report.time.milliseconds))
                case .call: rows.append(("call", nil, body, nil))
                }
            }
            try queue.write { db in
                // The last row's transaction + 1: one index lookup, never a scan of the journal.
                let tx = ((try Int64.fetchOne(db, sql: "SELECT tx FROM entry ORDER BY seq DESC LIMIT 1")) ?? 0) + 1
                for row in rows {
                    try db.execute(sql: "INSERT INTO entry (tx, kind, run, body) VALUES (?, ?, ?, ?)",
                                   arguments: [tx, row.kind, row.run, row.body])
                }
                if let latest = rows.compactMap(\.cursor).max() {
                    try db.execute(sql: """
                        INSERT INTO cursor (id, exchange_ms) VALUES (1, ?)
                        ON CONFLICT(id) DO UPDATE SET exchange_ms = MAX(exchange_ms, excluded.exchange_ms)
                        """, arguments: [latest])
                }
            }
        } catch {
            throw JournalError("\(path): commit failed: \(error)")
        }
    }

    public func entries() throws(JournalError) -> [JournalEntry] {
        do {
            let bodies = try queue.read { db in try Data.fetchAll(db, sql: "SELECT body FROM entry ORDER BY seq") }
            let decoder = JSONDecoder()
            return try bodies.map { try decoder.decode(JournalEntry.self, from: $0) }
        } catch {
            throw JournalError("\(path): unreadable: \(error)")
        }
    }

    public func nextRun() throws(JournalError) -> UInt64 {
        do {
            let last = try queue.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(run) FROM entry WHERE run IS NOT NULL") } ?? 0
            return UInt64(last) + 1
        } catch {
            throw JournalError("\(path): \(error)")
        }
    }

    /// Transactions committed so far.
    public func transactions() throws(JournalError) -> Int {
        do { return try queue.read { db in try Int.fetchOne(db, sql: "SELECT tx FROM entry ORDER BY seq DESC LIMIT 1") } ?? 0 } catch {
            throw JournalError("\(path): \(error)")
        }
    }

    /// The execution cursor: the latest exchange time of a committed report (nil: none yet). Reports can commit out
    /// of time order (separate streams), so a backfill resumes from the cursor minus an overlap; duplicates are
    /// dropped by execution id.
    public func executionCursor() throws(JournalError) -> ExchangeTime? {
        do {
            return try queue.read { db in try Int64.fetchOne(db, sql: "SELECT exchange_ms FROM cursor WHERE id = 1") }
                .map(ExchangeTime.init(milliseconds:))
        } catch {
            throw JournalError("\(path): \(error)")
        }
    }

    /// Closes the database once the node has stopped: the write-ahead log is folded into the file and truncated
    /// (`wal_checkpoint(TRUNCATE)`), then the connection closes (on Linux the last one also removes `-wal` and
    /// `-shm`; Apple's SQLite keeps them, empty). A process that exits without it leaves the log to be replayed at
    /// the next open: harmless, but not a clean stop. A commit afterwards throws.
    public func close() throws(JournalError) {
        guard !closed else { return }
        closed = true
        do {
            _ = try queue.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
            try queue.close()
        } catch {
            throw JournalError("\(path): close failed: \(error)")
        }
    }

    /// True when the journal at `path` has no write-ahead log waiting to be replayed (none, or an empty one).
    public static func logIsEmpty(_ path: String) -> Bool {
        let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int
        return (size ?? 0) == 0
    }

    /// The SQLite settings in force (for the tests and the benchmark's statement of what was measured).
    public func pragmas() throws(JournalError) -> (journalMode: String, synchronous: Int) {
        do {
            return try queue.read { db in
                (try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "", try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1)
            }
        } catch {
            throw JournalError("\(path): \(error)")
        }
    }
}
