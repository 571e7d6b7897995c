import BybitV5
import CascadeCore
import HummingbirdWSClient
import NIOCore
import Synchronization

/// Pieces every Bybit WebSocket connection shares: message reassembly with a size limit, and the application
/// ping loop with its pong deadline.
enum WebSocketSession {
    /// Reads whole messages (fragments reassembled), stamping each with the receive time of its last
    /// fragment. Throws `.oversizeFrame` past `maxSize` and `.closedByServer` when the stream ends.
    static func readMessages(_ inbound: WebSocketInboundStream, maxSize: Int, clock: any WallClock,
                             _ handle: ([UInt8], LocalTime) async throws -> Void) async throws {
        var iterator = inbound.makeAsyncIterator()
        var message: [UInt8] = []
        while let frame = try await iterator.next() {
            switch frame.opcode {
            case .text, .binary: message = Array(frame.data.readableBytesView)
            case .continuation: message.append(contentsOf: frame.data.readableBytesView)
            }
            if message.count > maxSize { throw PublicStreamDisconnect.oversizeFrame }
            guard frame.fin else { continue }
            try await handle(message, clock.now())
        }
        throw PublicStreamDisconnect.closedByServer
    }

    /// Sends `{"op":"ping"}` every `interval`; throws `.pongTimeout` when no pong arrived within `timeout`
    /// of a ping (a half-open socket). `lastPong` reads the time of the latest pong in ns.
    static func pingLoop(_ outbound: WebSocketOutboundWriter, interval: Duration, timeout: Duration, clock: any WallClock,
                         requestPrefix: String, lastPong: @Sendable () -> Int64) async throws {
        var n = 0
        while true {
            try await Task.sleep(for: interval)
            n += 1
            let sentAt = clock.now().nanoseconds
            try await outbound.write(.text(BybitStreamRequest.ping(requestID: "\(requestPrefix)-\(n)")))
            try await Task.sleep(for: timeout)
            if lastPong() < sentAt { throw PublicStreamDisconnect.pongTimeout }
        }
    }
}
