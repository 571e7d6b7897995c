import BybitV5
import BybitV5Client
import CascadeCore
import CascadeTesting
import Foundation
import Logging
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Fills are never lost: the cursor moves only when the consumer commits, it is durable, a backfill re-reads the
/// overlap window and skips what was persisted, and an unreadable cursor is never taken for "none".
@Suite(.serialized) struct ExecutionCursorTests {
    static func executionIDs(_ log: PrivateEventLog) -> [String] {
        log.snapshot.flatMap { e -> [String] in
            switch e {
            case let .backfill(b): b.executions.map(\.execId)
            case let .message(.executions(list, _)): list.map(\.execId)
            default: []
            }
        }
    }

    /// One process lifetime: runs until trusted (and, when `expectingLive`, until the live E3 arrived).
    static func run(_ server: FakePrivateBybit, cursor: any ExecutionCursorStore, commits: Bool,
                    expectingLive: Bool = true) async throws -> [String] {
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret,
                                           cursor: cursor, commits: commits)
        defer { session.stop() }
        #expect(await session.log.wait { _ in session.log.isTrusted })
        if expectingLive { #expect(await session.log.wait { _ in Self.executionIDs(session.log).contains("E3") }) }
        return executionIDs(session.log)
    }

    @Test func aFillDeliveredButNotPersistedIsDeliveredAgainAfterARestart() async throws {
        let directory = try TemporaryDirectory("cursor")
        defer { directory.remove() }
        let path = directory.file("cursor.json")
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        // The first process sees E1, E2 (backfill) and E3 (live) and dies before persisting any of them.
        #expect(try await Self.run(server, cursor: FileExecutionCursor(path: path), commits: false) == ["E1", "E2", "E3"])
        #expect(try FileExecutionCursor(path: path).load() == nil)
        // The restart delivers them again, and this consumer persists them.
        let second = try await Self.run(server, cursor: FileExecutionCursor(path: path), commits: true)
        #expect(second.contains("E1") && second.contains("E2") && second.contains("E3"))
        let stored = try #require(try FileExecutionCursor(path: path).load())
        #expect(stored.newest.milliseconds == FakePrivateBybit.base + 300 && stored.contains("E1") && stored.contains("E3"))
        // After that restart nothing persisted comes back, though the backfill re-read the overlap window.
        #expect(try await Self.run(server, cursor: FileExecutionCursor(path: path), commits: true, expectingLive: false) == [])
    }

    @Test func aRowStampedBeforeTheCursorButPublishedLaterIsNotLost() async throws {
        let directory = try TemporaryDirectory("cursor")
        defer { directory.remove() }
        let path = directory.file("cursor.json")
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        _ = try await Self.run(server, cursor: FileExecutionCursor(path: path), commits: true)
        // A funding row stamped at the settlement instant, before E1..E3 (already persisted), shows up only now.
        let funding = FakePrivateBybit.execution("F1", time: FakePrivateBybit.base + 50)
            .replacingOccurrences(of: #""execType":"Trade""#, with: #""execType":"Funding""#)
        server.extraExecutions.withLock { $0 = [funding] }
        let ids = try await Self.run(server, cursor: FileExecutionCursor(path: path), commits: true, expectingLive: false)
        #expect(ids == ["F1"])
        // The backfill started a whole overlap before the newest persisted execution, not at it.
        let overlap = FileExecutionCursor(path: path).overlap
        #expect(server.executionStartTimes.withLock { $0.last } == FakePrivateBybit.base + 300 - overlap.wholeNanoseconds / 1_000_000)
    }

    @Test func anUnreadableCursorIsATypedFailureAndTheStreamIsNeverTrusted() async throws {
        let directory = try TemporaryDirectory("cursor")
        defer { directory.remove() }
        let path = directory.file("cursor.json")
        try Data("{\"newestMs\":".utf8).write(to: URL(fileURLWithPath: path))   // torn
        #expect(throws: ExecutionCursorError.self) { try FileExecutionCursor(path: path).load() }
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret,
                                           cursor: FileExecutionCursor(path: path))
        defer { session.stop() }
        #expect(await session.log.wait { events in
            events.contains { if case .failed(.cursorUnreadable, _, _) = $0 { true } else { false } }
        })
        #expect(!session.log.isTrusted && server.hits("/v5/execution/list") == 0)
    }

    @Test func commitsAreDurableAndKeepOnlyTheOverlapWindowOfIDs() throws {
        let directory = try TemporaryDirectory("cursor")
        defer { directory.remove() }
        let path = directory.file("cursor.json")
        let store = FileExecutionCursor(path: path, overlap: .seconds(60))
        try store.commit([ExecutionMark(id: "old", time: ExchangeTime(milliseconds: 1_000))])
        try store.commit([ExecutionMark(id: "new", time: ExchangeTime(milliseconds: 100_000)),
                          ExecutionMark(id: "late", time: ExchangeTime(milliseconds: 50_000))])
        // Read back by a fresh instance (what a restart sees): newest never moves back, ids outside the window go.
        let reread = try #require(try FileExecutionCursor(path: path, overlap: .seconds(60)).load())
        #expect(reread.newest.milliseconds == 100_000)
        #expect(reread.contains("new") && reread.contains("late") && !reread.contains("old"))
        #expect(reread.backfillStart(overlap: .seconds(60)).milliseconds == 40_000)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }

    @Test func aWriteErrorSurfaces() throws {
        let store = FileExecutionCursor(path: "/nonexistent-directory/cursor.json")
        #expect(throws: ExecutionCursorError.self) { try store.commit([ExecutionMark(id: "x", time: ExchangeTime(milliseconds: 1))]) }
    }

    @Test func aConsumerThatStopsReadingCostsAReconnectNeverAFill() async throws {
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        var logger = Logger(label: "overflow-test")
        logger.logLevel = .critical
        let credentials = BybitCredentials(apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(server.port)", credentials: credentials, recvWindow: LoopbackTest.recvWindow, logger: logger)
        var configuration = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(server.port)/v5/private")
        configuration.backoff = ReconnectBackoff(initial: .seconds(1), maximum: .seconds(1), jitter: 0)
        configuration.eventBuffer = 4   // connected, authenticated, gap, backfill: `trusted` no longer fits
        let timer = ManualClock(startingAt: 1)
        let client = PrivateStreamClient(configuration: configuration, credentials: credentials, rest: rest,
                                         cursor: InMemoryExecutionCursor(), timer: timer, logger: logger)
        let running = Task { await client.run() }
        defer { running.cancel() }
        // Nobody reads: the connection is closed instead of dropping a fill.
        #expect(await eventually { server.hits("/v5/execution/list") == 1 && timer.nextDeadline == timer.instant() + .seconds(1) })
        // While the consumer stays behind, reconnects neither authenticate nor backfill (no REST hammering).
        for attempt in 2...4 {
            timer.advance(by: .seconds(1))
            #expect(await eventually { server.connections == attempt && timer.nextDeadline == timer.instant() + .seconds(1) })
        }
        #expect(server.hits("/v5/execution/list") == 1)
        // The consumer reads again: the four buffered events, then the gap it was owed, then a whole new handshake
        // whose backfill delivers the uncommitted fills again.
        let log = PrivateEventLog()
        let consumer = Task { for await e in client.events { log.append(e) } }
        defer { consumer.cancel() }
        #expect(await log.wait { $0.count >= 4 })
        timer.advance(by: .seconds(1))
        #expect(await log.wait { _ in log.names.filter { $0 == "trusted" }.count == 1 && log.executions.contains { $0.execId == "E3" } })
        let names = log.names
        #expect(Array(names.prefix(5)) == ["connected", "authenticated", "gap", "backfill", "gap"])
        let second = Array(names.dropFirst(5).filter { $0 != "failed" }.prefix(5))
        #expect(second == ["connected", "authenticated", "gap", "backfill", "trusted"])
        let backfills = log.snapshot.compactMap { e -> [String]? in if case let .backfill(b) = e { b.executions.map(\.execId) } else { nil } }
        #expect(backfills == [["E1", "E2"], ["E1", "E2"]])
        #expect(server.hits("/v5/execution/list") == 2)
    }

    @Test func aLiveCopyOfABackfilledFillIsNotDeliveredTwice() async throws {
        let server = try await FakePrivateBybit.start(pushAfterBackfill: true)
        defer { server.task.cancel() }
        let session = PrivateClientSession(port: server.port, apiKey: FakePrivateBybit.apiKey, secret: FakePrivateBybit.secret)
        defer { session.stop() }
        // The live frame (E2, already backfilled, and E3) arrives after `trusted`.
        #expect(await session.log.wait { _ in session.log.executions.contains { $0.execId == "E3" } })
        #expect(Self.executionIDs(session.log) == ["E1", "E2", "E3"])
    }

    /// The probe executable next to this test bundle (built with the tests).
    static var probePath: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("CursorProbe").path
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func aKill9BetweenDeliveryAndPersistenceRedeliversTheFill() async throws {
        let probe = Self.probePath
        guard FileManager.default.isExecutableFile(atPath: probe) else {
            Issue.record("CursorProbe not built at \(probe)")
            return
        }
        let directory = try TemporaryDirectory("kill9")
        defer { directory.remove() }
        let cursor = directory.file("cursor.json")
        let server = try await FakePrivateBybit.start()
        defer { server.task.cancel() }
        func launch(_ mode: String, log: String) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: probe)
            process.arguments = [String(server.port), cursor, log, mode]
            try process.run()
            return process
        }
        // First life: E1, E2 (backfill) and E3 (live) are handed over, and the process is killed before persisting.
        let first = directory.file("first.log")
        let one = try launch("hold", log: first)
        #expect(await eventually(.seconds(30)) { Self.lines(first).contains("delivered E3") })
        kill(one.processIdentifier, SIGKILL)
        one.waitUntilExit()
        #expect(one.terminationReason == .uncaughtSignal && !FileManager.default.fileExists(atPath: cursor))
        // Second life: every one of them comes again, and this time each is committed.
        let second = directory.file("second.log")
        let two = try launch("commit", log: second)
        #expect(await eventually(.seconds(30)) { Self.lines(second).contains("committed E3") })
        kill(two.processIdentifier, SIGKILL)
        two.waitUntilExit()
        #expect(Set(Self.lines(second).filter { $0.hasPrefix("delivered") }) == ["delivered E1", "delivered E2", "delivered E3"])
        // Third life: nothing committed comes back. (An order update pushed after the live executions marks the end of
        // what the connection delivers: the probe logs it after any execution that came before it.)
        let update = FakePrivateBybit.order.replacingOccurrences(of: #""updatedTime":"1746270400001""#, with: #""updatedTime":"1746270400002""#)
        server.extraLive.withLock { $0 = [#"{"id":"o1","topic":"order","creationTime":1746270400301,"data":[\#(update)]}"#] }
        let third = directory.file("third.log")
        let three = try launch("hold", log: third)
        #expect(await eventually(.seconds(30)) { Self.lines(third).contains("orders") })
        kill(three.processIdentifier, SIGKILL)
        three.waitUntilExit()
        #expect(!Self.lines(third).contains { $0.hasPrefix("delivered") })
    }
}
