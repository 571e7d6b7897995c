import BybitSimulator
import CascadeCore
import CascadeTesting
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing

/// A client that stops reading is closed within the stall limit and never holds up the replay for the others.
@Suite(.serialized) struct SimOutboxTests {
    /// A raw WebSocket client on the public stream: subscribes, then either counts the data frames it reads or
    /// never reads a byte (NIO then stops reading the socket, the TCP window closes and the server's writes stall).
    final class Probe: Sendable {
        let frames = Atomic<Int>(0)
        let closed = Atomic<Bool>(false)
    }

    static func client(port: Int, reads: Bool, probe: Probe) -> Task<Void, Never> {
        Task {
            var logger = Logger(label: "outbox-client")
            logger.logLevel = .critical
            let client = WebSocketClient(url: "ws://127.0.0.1:\(port)/v5/public/linear",
                                         configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"op":"subscribe","req_id":"x","args":["orderbook.1000.BTCUSDT"]}"#))
                if reads {
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        if case let .text(text) = message, text.hasPrefix(#"{"topic""#) { probe.frames.add(1, ordering: .relaxed) }
                    }
                } else {
                    await awaitCancellation()
                }
            }
            try? await client.run()
            probe.closed.store(true, ordering: .relaxed)
        }
    }

    @Test func aClientThatNeverReadsIsClosedAndTheReplayGoesOnForTheOthers() async throws {
        // Snapshots of 1000 levels a side (~40 KB each), unpaced: the stuck client's socket fills within a few
        // hundred frames.
        var limits = SimOutboxLimits()
        limits.stall = .seconds(2)   // a reader slowed by a loaded CI machine is not a stuck one
        limits.softBytes = 256 << 10
        limits.bytes = 4 << 20
        var book = SyntheticBookFrames(symbol: "BTCUSDT", depth: 1000, seed: 11)
        let lines = (0..<1_000).map { i in book.snapshot(ts: 1_721_347_021_000 + Int64(i) * 20) }
        let sim = try await SimulatorHarness.start(lines: lines, speed: .asFastAsPossible, outboxLimits: limits)
        defer { sim.stop() }
        // The reader subscribes first (the replay starts with it, so it is owed every frame), then the stuck one.
        let readerProbe = Probe(), stuckProbe = Probe()
        let reader = Self.client(port: sim.port, reads: true, probe: readerProbe)
        defer { reader.cancel() }
        #expect(await eventually { readerProbe.frames.load(ordering: .relaxed) > 0 })
        let stuck = Self.client(port: sim.port, reads: false, probe: stuckProbe)
        defer { stuck.cancel() }
        #expect(await eventually(.seconds(30)) { await sim.replay.slowConsumersDisconnected == 1 })
        // Its socket is closed, even though a write to it was still pending.
        #expect(await eventually { await sim.replay.socketsOpen == 1 })
        // The reader is never closed and receives the whole replay.
        #expect(await eventually(.seconds(60)) { readerProbe.frames.load(ordering: .relaxed) == 1_000 })
        #expect(await sim.replay.finished && !readerProbe.closed.load(ordering: .relaxed))
    }
}
