import AsyncHTTPClient
public import BybitV5
import CascadeCore
import Foundation
import NIOCore
import NIOHTTP1

/// Signed and unsigned HTTP calls to a loopback Bybit stand-in that return the answer as sent (status and parsed
/// JSON), so tests compare the simulator's bytes with Bybit's documented answers rather than with our own decoder.
public struct RawBybitClient: Sendable {
    public let baseURL: String
    public let signer: BybitSigner

    public init(port: Int, apiKey: String = "cascade-test-key", secret: String = "cascade-test-secret") {
        baseURL = "http://127.0.0.1:\(port)"
        signer = BybitSigner(credentials: BybitCredentials(apiKey: apiKey, secret: secret))
    }

    public struct Answer: @unchecked Sendable {
        public var status: Int
        public var text: String
        /// The body parsed as a JSON object (nil when it is not one).
        public var json: [String: Any]?
        public var retCode: Int? { (json?["retCode"] as? NSNumber)?.intValue }
        public var retMsg: String? { json?["retMsg"] as? String }
        public var result: [String: Any]? { json?["result"] as? [String: Any] }
    }

    /// `GET path?query` (the query sent and signed exactly as given).
    public func get(_ path: String, _ query: String = "", signed: Bool = true) async throws -> Answer {
        try await send(.GET, path, query: query, body: "", signed: signed)
    }

    /// `POST path` with `body` as its exact bytes.
    public func post(_ path: String, _ body: String, signed: Bool = true) async throws -> Answer {
        try await send(.POST, path, query: "", body: body, signed: signed)
    }

    private func send(_ method: HTTPMethod, _ path: String, query: String, body: String, signed: Bool) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path + (query.isEmpty ? "" : "?" + query))
        request.method = method
        if signed {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            // A wide receive window: a loaded CI machine can take seconds between signing and the server's check.
            for h in signer.headers(timestamp: now, recvWindow: LoopbackTest.recvWindow, payload: method == .GET ? query : body) {
                request.headers.add(name: h.name, value: h.value)
            }
        }
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 24)
        let text = String(buffer: bytes)
        let json = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
        return Answer(status: Int(response.status.code), text: text, json: json)
    }
}
