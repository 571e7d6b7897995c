import Crypto

/// HMAC-SHA256 request signing for Bybit V5 REST and the private/trade WebSocket `auth` op (reference §5.1, §3.1).
///
/// REST: `X-BAPI-SIGN = hex(HMAC_SHA256(secret, timestamp + apiKey + recvWindow + payload))`, where `payload` is
/// the query string exactly as it appears after `?` (GET) or the body bytes exactly as sent (POST). Bybit checks
/// the raw bytes it received, so sign ``BybitRequest/signaturePayload`` and send that same request unchanged.
///
/// ```swift
/// let signer = BybitSigner(credentials: credentials)
/// let request = try BybitRequest.createOrder(instrument: btc, side: .buy, orderType: .limit, qty: q, price: p)
/// let headers = signer.headers(for: request, timestamp: nowMs)   // X-BAPI-API-KEY, …, Content-Type
/// ```
/// Pure: the timestamp is passed in, nothing is read from a clock.
public struct BybitSigner: Sendable {
    /// The key sent as `X-BAPI-API-KEY` and in the WebSocket `auth` args.
    public let apiKey: String
    /// HMAC-SHA256 already keyed with the secret: each signature copies it.
    private let keyed: KeyedHMACSHA256

    /// Bybit's default `X-BAPI-RECV-WINDOW` in milliseconds.
    public static let defaultRecvWindow = 5000

    /// A signer for one key pair.
    public init(credentials: BybitCredentials) {
        apiKey = credentials.apiKey
        keyed = KeyedHMACSHA256(key: Array(credentials.secret.utf8))
    }

    /// The exact text that is signed: `timestamp + apiKey + recvWindow + payload`.
    public static func signString(timestamp: Int64, apiKey: String, recvWindow: Int, payload: String) -> String {
        "\(timestamp)\(apiKey)\(recvWindow)\(payload)"
    }

    /// Lowercase hex HMAC-SHA256 of ``signString(timestamp:apiKey:recvWindow:payload:)`` under this secret.
    ///
    /// `apiKey` is explicit so the documentation's vectors (signed with a placeholder key) can be checked; use
    /// ``signature(timestamp:recvWindow:payload:)`` for requests.
    public func signature(timestamp: Int64, apiKey: String, recvWindow: Int, payload: String) -> String {
        // The parts are fed one by one, so the joined text is never built.
        var hmac = keyed.start()
        var timestamp = String(timestamp), apiKey = apiKey, recvWindow = String(recvWindow), payload = payload
        timestamp.withUTF8 { hmac.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        apiKey.withUTF8 { hmac.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        recvWindow.withUTF8 { hmac.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        payload.withUTF8 { hmac.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return Self.hex(keyed.finish(hmac))
    }

    /// The REST signature for this signer's own key.
    public func signature(timestamp: Int64, recvWindow: Int = BybitSigner.defaultRecvWindow, payload: String) -> String {
        signature(timestamp: timestamp, apiKey: apiKey, recvWindow: recvWindow, payload: payload)
    }

    /// The four authentication headers, in this order: `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP`, `X-BAPI-SIGN`,
    /// `X-BAPI-RECV-WINDOW`.
    ///
    /// `X-BAPI-SIGN-TYPE: 2` is not sent: the docs' header list does not include it and HMAC is the default
    /// (pybit sends it; the reference says servers ignore it).
    public func headers(timestamp: Int64, recvWindow: Int = BybitSigner.defaultRecvWindow,
                        payload: String) -> [(name: String, value: String)] {
        [
            (name: "X-BAPI-API-KEY", value: apiKey),
            (name: "X-BAPI-TIMESTAMP", value: String(timestamp)),
            (name: "X-BAPI-SIGN", value: signature(timestamp: timestamp, recvWindow: recvWindow, payload: payload)),
            (name: "X-BAPI-RECV-WINDOW", value: String(recvWindow)),
        ]
    }

    /// Every header a request needs: the authentication headers when it is signed, then
    /// `Content-Type: application/json` for POST.
    public func headers(for request: BybitRequest, timestamp: Int64,
                        recvWindow: Int = BybitSigner.defaultRecvWindow) -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        if request.isSigned {
            out = headers(timestamp: timestamp, recvWindow: recvWindow, payload: request.signaturePayload)
        }
        if request.method == .post { out.append((name: "Content-Type", value: "application/json")) }
        return out
    }

    /// The private/trade WebSocket signature: `hex(HMAC_SHA256(secret, "GET/realtime" + expires))`.
    /// - Parameter expires: a millisecond timestamp in the future (now plus a few seconds; see §3.1).
    public func webSocketAuth(expires: Int64) -> String {
        hmacHex("GET/realtime\(expires)")
    }

    /// The complete `auth` request frame: `{"req_id":"…","op":"auth","args":["key",expires,"signature"]}`.
    ///
    /// `expires` is a JSON number (as pybit sends it); `req_id` is omitted when `requestID` is `nil`.
    public func webSocketAuthFrame(expires: Int64, requestID: String? = nil) -> String {
        var json = BybitJSONWriter()
        json.string("req_id", requestID)
        json.string("op", "auth")
        json.raw("args", "[\(BybitJSONWriter.quoted(apiKey)),\(expires),\(BybitJSONWriter.quoted(webSocketAuth(expires: expires)))]")
        return json.finished()
    }

    private func hmacHex(_ text: String) -> String {
        var hmac = keyed.start()
        var text = text
        text.withUTF8 { hmac.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return Self.hex(keyed.finish(hmac))
    }

    /// 64 lowercase hex digits written in place: no intermediate arrays.
    static func hex(_ mac: SHA256.Digest) -> String {
        String(unsafeUninitializedCapacity: 64) { buffer in
            mac.withUnsafeBytes { bytes in
                for (i, byte) in bytes.enumerated() {
                    buffer[2 * i] = Self.hexDigit(byte >> 4)
                    buffer[2 * i + 1] = Self.hexDigit(byte & 0x0f)
                }
            }
            return 64
        }
    }

    @inline(__always) static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }
}

/// HMAC-SHA256 (RFC 2104) on swift-crypto's `SHA256`, with both padded keys hashed once.
///
/// Why not `HMAC<SHA256>`: its entry points are generic and not inlinable, so every `update` and `finalize` looks up
/// generic metadata at run time; on the decision path that was ~1.5 µs of each ~1.9 µs signature. `SHA256`'s
/// `update(bufferPointer:)` is concrete. Tests check the output equals `HMAC<SHA256>` for keys shorter than, equal
/// to and longer than the 64-byte block.
struct KeyedHMACSHA256: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    init(key: [UInt8]) {
        var block = key.count > 64 ? Array(SHA256.hash(data: key)) : key
        block += repeatElement(0, count: 64 - block.count)
        var inner = SHA256(), outer = SHA256()
        block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
        block.map { $0 ^ 0x5c }.withUnsafeBytes { outer.update(bufferPointer: $0) }
        self.inner = inner
        self.outer = outer
    }

    /// The inner hash, keyed, for one message.
    func start() -> SHA256 { inner }

    /// The MAC of the message fed to `hash` since ``start()``.
    func finish(_ hash: SHA256) -> SHA256.Digest {
        var outer = outer
        hash.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
        return outer.finalize()
    }
}

extension BybitSigner: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `BybitSigner(apiKey: "…", secret: <redacted>)`: the key material never reaches logs.
    public var description: String { "BybitSigner(apiKey: \"\(apiKey)\", secret: <redacted>)" }
    /// Same as ``description``.
    public var debugDescription: String { description }
    /// A mirror without the key material, so `dump()` cannot print it.
    public var customMirror: Mirror {
        Mirror(self, children: ["apiKey": apiKey, "secret": "<redacted>"], displayStyle: .struct)
    }
}
