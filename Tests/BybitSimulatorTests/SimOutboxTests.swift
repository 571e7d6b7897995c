@testable import BybitSimulator
import CascadeCore
import CascadeTesting
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client that stops reading is closed within the stall limit and never holds up the replay for the others.
@Suite(.serialized) struct SimOutboxTests {
    final class Probe: Sendable {
        let frames = Atomic<Int>(0)
        let closed = Atomic<Bool>(false)
    }

    /// A WebSocket reader on the public stream that counts the data frames it gets.
    static func reader(port: Int, probe: Probe) -> Task<Void, Never> {
        Task {
            var logger = Logger(label: "outbox-reader")
            logger.logLevel = .critical
            let client = WebSocketClient(url: "ws://127.0.0.1:\(port)/v5/public/linear",
                                         configuration: .init(maxFrameSize: 1 << 24), logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"op":"subscribe","req_id":"r","args":["orderbook.200.BTCUSDT"]}"#))
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    if case let .text(text) = message, text.hasPrefix(#"{"topic""#) { probe.frames.add(1, ordering: .relaxed) }
                }
            }
            _ = try? await client.run()
            probe.closed.store(true, ordering: .relaxed)
        }
    }

    /// A raw TCP WebSocket client with a 2 KB receive buffer that subscribes and never reads again: the server's writes
    /// stall after a few hundred small frames. Returns the socket (closed by the caller).
    static func stuckClient(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var size: Int32 = 2048
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw POSIXError(.ECONNREFUSED) }
        let upgrade = "GET /v5/public/linear HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let payload = Array(#"{"op":"subscribe","req_id":"stuck","args":["orderbook.200.BTCUSDT"]}"#.utf8)
        let mask: [UInt8] = [1, 2, 3, 4]
        var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + mask   // a masked text frame (< 126 bytes)
        for (i, b) in payload.enumerated() { frame.append(b ^ mask[i % 4]) }
        for bytes in [Array(upgrade.utf8), frame] {
            guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else { throw POSIXError(.EIO) }
        }
        return fd
    }

    @Test func aClientThatNeverReadsIsClosedAndTheReplayGoesOnForTheOthers() async throws {
        var limits = SimOutboxLimits()
        limits.stall = .seconds(5)   // a reader slowed by a loaded CI machine is not a stuck one
        limits.bytes = 32 << 20
        // Snapshots of 200 levels a side (~8 KB each) at 50 frames/s (real time, 12 s): the stuck client's 2 KB receive
        // window keeps the server's socket buffer small, so its writes stall within a second or two.
        var book = SyntheticBookFrames(symbol: "BTCUSDT", depth: 200, seed: 11)
        let lines = (0..<600).map { i in book.snapshot(ts: 1_721_347_021_000 + Int64(i) * 20) }
        let sim = try await SimulatorHarness.start(lines: lines, speed: .realTime, outboxLimits: limits)
        defer { sim.stop() }
        // The reader subscribes first (the replay starts with it, so it is owed every frame), then the stuck one.
        let probe = Probe()
        let reader = Self.reader(port: sim.port, probe: probe)
        defer { reader.cancel() }
        #expect(await eventually { probe.frames.load(ordering: .relaxed) > 0 })
        let stuck = try Self.stuckClient(port: sim.port)
        defer { close(stuck) }
        #expect(await eventually(.seconds(30)) { await sim.replay.slowConsumersDisconnected == 1 })
        #expect(try await RawBybitClient(port: sim.port).get("/_cascade/status", signed: false).json?["slowConsumersClosed"] as? Int == 1)
        // Its socket is closed, even though a write to it was still pending.
        #expect(await eventually { await sim.replay.socketsOpen == 1 })
        // The replay goes on to the end for the reader, which gets every frame and is never closed.
        #expect(await eventually(.seconds(60)) { await sim.replay.finished })
        #expect(await eventually(.seconds(30)) { probe.frames.load(ordering: .relaxed) == 600 })
        #expect(await sim.replay.finished && !probe.closed.load(ordering: .relaxed))
    }
}
