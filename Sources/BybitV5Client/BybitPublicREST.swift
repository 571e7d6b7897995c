import AsyncHTTPClient
import BybitV5
public import CascadeCore
import NIOCore
import NIOHTTP1

/// Unsigned GETs of Bybit's market endpoints, returning the exact response bytes (the recorder stores them
/// verbatim in `_cascade.*` entries). Signed trading calls live in the signed REST client.
public struct BybitPublicREST: Sendable {
    /// `https://api.bybit.com`, testnet, or any `http://` base URL (our simulator).
    public let baseURL: String
    public let timeout: Duration
    let client: HTTPClient

    /// One answer: HTTP status, body bytes, and the local times the request was sent and answered.
    public struct Answer: Sendable {
        public var status: Int
        public var body: [UInt8]
        public var sentAt: LocalTime
        public var receivedAt: LocalTime
    }

    /// Why a request produced no answer.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case transport(String)
        public var description: String {
            switch self { case let .transport(why): "REST transport error: \(why)" }
        }
    }

    public init(baseURL: String, timeout: Duration = .seconds(10)) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.timeout = timeout
        self.client = HTTPClient.shared
    }

    /// GET `path?query` (query items kept in the given order).
    public func get(_ path: String, query: [(String, String)] = [], clock: any WallClock) async throws(Failure) -> Answer {
        // The signed client's encoding: a cursor Bybit returned already encoded goes back verbatim.
        let q = query.map { "\($0.0)=\(BybitRequest.encode($0.1))" }.joined(separator: "&")
        var request = HTTPClientRequest(url: baseURL + path + (q.isEmpty ? "" : "?" + q))
        request.method = .GET
        request.headers.add(name: "User-Agent", value: "cascade")
        let sentAt = clock.now()
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(timeout.nanoseconds))
            var body = try await response.body.collect(upTo: 64 << 20)
            let bytes = body.readBytes(length: body.readableBytes) ?? []
            return Answer(status: Int(response.status.code), body: bytes, sentAt: sentAt, receivedAt: clock.now())
        } catch {
            throw .transport("\(error)")
        }
    }
}
