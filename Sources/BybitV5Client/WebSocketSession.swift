import BybitV5
import CascadeCore
import HummingbirdWSClient
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// Pieces every Bybit WebSocket connection shares: message reassembly with a size limit, and the application
/// ping loop with its pong deadline.
enum WebSocketSession {
    /// One connection: connects, hands it to `serve`, and returns what `serve` returned — or, when the connection
    /// ended before `serve` could say, the transport's reason mapped by `ended` (an over-limit frame is
    /// `.oversizeFrame`, a failed connect `.connectFailed`, a plain close `.closedByServer`).
    static func connect<Outcome: Sendable>(
        url: String, maxFrameSize: Int, closeTimeout: Duration, tls: TLSConfiguration?, logger: Logger,
        serve: @escaping @Sendable (WebSocketInboundStream, WebSocketOutboundWriter) async -> Outcome,
        ended: (PublicStreamDisconnect) -> Outcome
    ) async -> Outcome {
        // The transport limit is set well above ours: a frame over the transport limit is dropped by the
        // WebSocket layer with no reason we can see, while one over ours is reported as `.oversizeFrame`.
        let transportLimit = min(max(maxFrameSize * 4, 1 << 20), Int(Int32.max))
        var configuration = WebSocketClientConfiguration(maxFrameSize: transportLimit, closeTimeout: closeTimeout)
        configuration.validateUTF8 = false
        let outcome = Mutex<Outcome?>(nil)
        let client = WebSocketClient(url: url, configuration: configuration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
            let result = await serve(inbound, outbound)
            outcome.withLock { $0 = result }
        }
        do {
            // A frame over maxFrameSize makes the client close with 1009 (message too big); the server echoes
            // the code back in its close frame, which is how the reason surfaces here.
            try await client.run()
        } catch let error as WebSocketClientError where error == .serverSentMessageTooLarge {
            return ended(.oversizeFrame)
        } catch {
            if let result = outcome.withLock({ $0 }) { return result }
            return ended(.connectFailed("\(error)"))
        }
        return outcome.withLock { $0 } ?? ended(.closedByServer)
    }

    /// Runs `connect` again after every failure until the task is cancelled, waiting a jittered, bounded
    /// backoff on `timer` in between (reset when a connection lasted `backoff.resetAfter`). `report` receives each
    /// failure and the delay before the next attempt.
    static func reconnectForever<Failure>(backoff: ReconnectBackoff, timer: any TaskClock,
                                          connect: (_ attempt: Int) async -> Failure,
                                          report: (Failure, Duration) -> Void) async {
        var failures = 0
        var attempt = 0
        var generator = SystemRandomNumberGenerator()   // jitter only; never market data
        while !Task.isCancelled {
            attempt += 1
            let started = timer.instant()
            let failure = await connect(attempt)
            if Task.isCancelled { break }
            failures = timer.instant() - started >= backoff.resetAfter ? 1 : failures + 1
            let delay = backoff.delay(afterFailures: failures, unit: Double.random(in: 0..<1, using: &generator))
            report(failure, delay)
            do { try await timer.sleep(for: delay) } catch { break }
        }
    }

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

    /// Sends `{"op":"ping"}` every `interval` on a fixed cadence and throws `.pongTimeout` when a ping stays
    /// unanswered for `timeout` (a half-open socket). Deadlines are on `timer` (monotonic: an NTP step cannot
    /// fake a timeout); `lastPong` reads the `timer` instant of the latest pong. It sleeps until the next thing
    /// due — the next ping or the pong deadline — and never polls.
    static func pingLoop(_ outbound: WebSocketOutboundWriter, interval: Duration, timeout: Duration, timer: any TaskClock,
                         requestPrefix: String, lastPong: @Sendable () -> ClockInstant) async throws {
        var n = 0
        var nextPing = timer.instant() + interval
        var unanswered: ClockInstant?
        while true {
            let wake = unanswered.map { min(nextPing, $0 + timeout) } ?? nextPing
            try await timer.sleep(until: wake)
            let now = timer.instant()
            if let sentAt = unanswered {
                if lastPong() >= sentAt {
                    unanswered = nil
                } else if now - sentAt >= timeout {
                    throw PublicStreamDisconnect.pongTimeout
                }
            }
            if now >= nextPing {
                n += 1
                nextPing = nextPing + interval
                if unanswered == nil { unanswered = now }
                try await outbound.write(.text(BybitStreamRequest.ping(requestID: "\(requestPrefix)-\(n)")))
            }
        }
    }
}
