public import CascadeCore
public import Hummingbird
import HummingbirdTLS
import HummingbirdCore
import HTTPTypes
import NIOWebSocket
import HummingbirdWebSocket
public import Logging
import NIOCore
public import NIOSSL

/// The Bybit-compatible simulator server, on one port, served from a ``MarketReplay``: public WebSocket
/// `/v5/public/linear`, private WebSocket `/v5/private`, market REST, signed trading REST, and test controls
/// under `/_cascade/`.
public enum BybitSimulatorServer {
    /// Builds the Hummingbird application. `onRunning` receives the bound port (pass port 0 to pick one).
    public static func application(
        replay: MarketReplay, host: String = "127.0.0.1", port: Int, tls: TLSConfiguration? = nil,
        clock: any WallClock, logger: Logger, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.get("/v5/market/{endpoint}") { request, context -> Response in
            let endpoint = context.parameters.get("endpoint") ?? ""
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let (status, body) = await replay.answer(path: "/v5/market/\(endpoint)", query: query, now: clock.now())
            return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        // Signed trading endpoints: the signature covers the raw query (GET) or body (POST) as received.
        let signed: @Sendable (Request, String) async throws -> Response = { request, method in
            let body = method == "POST" ? String(buffer: try await request.body.collect(upTo: 1 << 20)) : ""
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            let (status, text, limitHeaders) = await replay.answerSigned(
                method: method, path: request.uri.path, rawQuery: request.uri.query ?? "", body: body, headers: headers, now: clock.now())
            // Faults decided by the replay: a lost answer (504, empty) or a late one.
            if status == 504 && text.isEmpty { return Response(status: .gatewayTimeout) }
            if let delay = limitHeaders.first(where: { $0.0 == "X-Cascade-Delay-Ms" }).flatMap({ Int64($0.1) }) {
                try await replay.timer.sleep(for: .milliseconds(delay))
            }
            var fields: HTTPFields = [.contentType: "application/json"]
            for (name, value) in limitHeaders where name != "X-Cascade-Delay-Ms" { if let n = HTTPField.Name(name) { fields[n] = value } }
            return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        // Every other /v5 path goes to the signed endpoints (an unknown one is answered 404/10017 before any
        // authentication).
        router.post("/v5/**") { request, _ in try await signed(request, "POST") }
        router.get("/v5/**") { request, _ in try await signed(request, "GET") }
        // Test controls (lockstep advance, reset, faults, status).
        let control: @Sendable (Request, String) async throws -> Response = { request, method in
            let body = method == "POST" ? Array(buffer: try await request.body.collect(upTo: 1 << 20)) : []
            let (status, text) = await replay.answerControl(method: method, path: request.uri.path, body: body)
            return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.post("/_cascade/{control}") { request, _ in try await control(request, "POST") }
        router.get("/_cascade/{control}") { request, _ in try await control(request, "GET") }
        for (path, isPrivate) in [("/v5/public/linear", false), ("/v5/private", true)] {
            router.ws(RouterPath(path)) { inbound, outbound, _ in
                if isPrivate, await replay.privateOutage { return }
                let (id, outbox, backlog) = await replay.connect(private: isPrivate)
                let timer = replay.timer
                await replay.socketOpened()
                await withTaskGroup(of: Void.self) { group in
                    // Given up by the replay (a client that stopped reading): end the handler, closing the socket.
                    group.addTask { for await _ in backlog.abandoned.stream {} }
                    // Watchdog: a write still pending `stall` after it began means the client stopped reading. It
                    // wakes only when a write starts, and at most once per stall period.
                    let stall = replay.outboxLimits.stall
                    group.addTask {
                        for await _ in backlog.writeSignal.stream {
                            guard let write = backlog.pendingWrite else { continue }
                            do { try await timer.sleep(until: write.since + stall) } catch { return }
                            if backlog.pendingWrite?.number == write.number {
                                await replay.closeSlowConsumer(id, reason: "not reading for \(stall)", stalledFor: timer.instant() - write.since)
                                return
                            }
                        }
                    }
                    group.addTask {
                        for await item in outbox {
                            // A delay fault holds the connection first; then the write's start is recorded, so a
                            // client that stops reading (not a fault) is what the watchdog sees as stuck.
                            if item.stallMilliseconds > 0 { try? await timer.sleep(for: .milliseconds(item.stallMilliseconds)) }
                            backlog.writeStarted(at: timer.instant())
                            do { try await outbound.write(.text(item.text)) } catch { break }
                            backlog.writeFinished(bytes: item.text.utf8.count)
                        }
                        // The replay closed this connection (fault hook) or the client went away.
                        try? await outbound.close(.goingAway, reason: "closed by simulator")
                    }
                    group.addTask {
                        do {
                            for try await message in inbound.messages(maxSize: 1 << 20) {
                                guard case let .text(text) = message else { continue }
                                await replay.receive(text, from: id)
                            }
                        } catch {}
                        await replay.disconnect(id)
                    }
                    await group.next()
                    await replay.disconnect(id)
                    group.cancelAll()
                }
                await replay.socketClosed()
            }
        }
        let webSocket = HTTPServerBuilder.http1WebSocketUpgrade(
            webSocketRouter: router, configuration: .init(ws: .init(maxFrameSize: 16 << 20)))
        let server: HTTPServerBuilder = if let tls { try .tls(webSocket, tlsConfiguration: tls) } else { webSocket }
        return Application(router: router, server: server,
                           configuration: .init(address: .hostname(host, port: port), serverName: "cascade-sim"),
                           onServerRunning: { channel in await onRunning(channel.localAddress?.port ?? port) },
                           logger: logger)
    }
}
