/// Everything that can go wrong turning one REST response into a result.
public enum BybitRESTError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Bybit answered with its envelope and a retCode that is not success for the operation.
    case api(BybitAPIError)
    /// A non-200 HTTP status without a Bybit envelope (403 IP ban, 404 path, 429 system protection, a proxy page).
    case http(status: Int, endpoint: String, rateLimit: BybitRateLimitHeaders?)
    /// A 200 response whose body is not the documented shape.
    case decode(endpoint: String, BybitDecodeError)

    /// A one-line human-readable form for logs.
    public var description: String {
        switch self {
        case let .api(error): error.description
        case let .http(status, endpoint, _): "Bybit \(endpoint): HTTP \(status) without a Bybit response body"
        case let .decode(endpoint, error): "Bybit \(endpoint): \(error)"
        }
    }
}
