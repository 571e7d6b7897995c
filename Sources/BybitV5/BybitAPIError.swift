public import CascadeCore

/// A REST call that Bybit answered with a retCode that does not mean success for the operation.
///
/// Carries everything the client needs to react without re-parsing: the classified ``meaning``, where it
/// happened, and for rate limits when to try again. `retMsg` is Bybit's text; it never contains the secret
/// (a `10004` message echoes the signed *string*, which holds the public key, not the secret).
public struct BybitAPIError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The code as sent.
    public var retCode: BybitRetCode
    /// The code classified for ``operation``.
    public var meaning: BybitRetCode.Meaning
    /// Bybit's `retMsg`.
    public var retMsg: String
    /// The HTTP status of the response (business errors come with 200).
    public var httpStatus: Int
    /// The request path, e.g. `/v5/order/create`.
    public var endpoint: String
    /// What the request was doing.
    public var operation: BybitOperation
    /// For ``BybitRetCode/Meaning/rateLimited``: `X-Bapi-Limit-Reset-Timestamp`, the earliest time to retry
    /// (`nil` when the header was absent, e.g. for the IP limit `10018`).
    public var rateLimitResetTime: ExchangeTime?
    /// The envelope's `time`, Bybit's clock when it answered (useful for `10002`).
    public var serverTime: ExchangeTime?

    /// An error as given.
    public init(retCode: BybitRetCode, meaning: BybitRetCode.Meaning, retMsg: String, httpStatus: Int,
                endpoint: String, operation: BybitOperation, rateLimitResetTime: ExchangeTime?,
                serverTime: ExchangeTime?) {
        self.retCode = retCode
        self.meaning = meaning
        self.retMsg = retMsg
        self.httpStatus = httpStatus
        self.endpoint = endpoint
        self.operation = operation
        self.rateLimitResetTime = rateLimitResetTime
        self.serverTime = serverTime
    }

    /// A one-line human-readable form for logs.
    public var description: String {
        var text = "Bybit \(endpoint) (\(operation.rawValue)) retCode \(retCode): \(retMsg) [HTTP \(httpStatus)]"
        if let rateLimitResetTime { text += " retry after \(rateLimitResetTime)" }
        return text
    }
}
