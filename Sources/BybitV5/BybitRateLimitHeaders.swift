public import CascadeCore

/// Bybit's per-endpoint rate-limit headers (reference §5.4), present on every REST response.
///
/// * `X-Bapi-Limit-Status`: requests remaining for this endpoint in the current window → ``remaining``.
/// * `X-Bapi-Limit`: the endpoint's limit → ``limit``.
/// * `X-Bapi-Limit-Reset-Timestamp`: when the limit resets if it was exceeded; otherwise just the current time
///   → ``resetTime``.
///
/// Header names are matched case-insensitively (HTTP/2 lowercases them). The headers are advisory, so a value
/// that is not an integer reads as `nil` instead of failing the response: the body's `retCode` is what decides.
public struct BybitRateLimitHeaders: Hashable, Sendable {
    /// Calls of an endpoint's window that Cascade's REST client keeps for taking risk off: a call that adds risk waits
    /// until a second after the answer that reported the budget this low (`BybitRESTClient`'s default, and the
    /// backtest's model of it).
    public static let defaultHeadroom = 2
    /// `X-Bapi-Limit-Status`: remaining requests in the current window.
    public var remaining: Int?
    /// `X-Bapi-Limit`: the endpoint's limit per window.
    public var limit: Int?
    /// `X-Bapi-Limit-Reset-Timestamp` (ms): when an exceeded limit resets (the current time otherwise).
    public var resetTime: ExchangeTime?

    /// Values as given.
    public init(remaining: Int?, limit: Int?, resetTime: ExchangeTime?) {
        self.remaining = remaining
        self.limit = limit
        self.resetTime = resetTime
    }

    /// Reads the three headers from a response's header list; `nil` when none of them is present.
    /// When a header repeats, the first occurrence wins.
    public init?(headers: [(String, String)]) {
        var remaining: Int??
        var limit: Int??
        var reset: Int64??
        for (name, value) in headers {
            let trimmed = value.trimmingASCIISpaces
            switch name.asciiLowercased {
            case "x-bapi-limit-status" where remaining == nil: remaining = .some(Int(trimmed))
            case "x-bapi-limit" where limit == nil: limit = .some(Int(trimmed))
            case "x-bapi-limit-reset-timestamp" where reset == nil: reset = .some(Int64(trimmed))
            default: break
            }
        }
        guard remaining != nil || limit != nil || reset != nil else { return nil }
        self.remaining = remaining ?? nil
        self.limit = limit ?? nil
        self.resetTime = (reset ?? nil).map(ExchangeTime.init(milliseconds:))
    }
}

extension String {
    /// ASCII-only lowercasing: header names are ASCII, and this avoids locale-dependent case mapping.
    var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }, as: UTF8.self)
    }

    /// Drops leading and trailing spaces and tabs (HTTP optional white space).
    var trimmingASCIISpaces: String {
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 32 || bytes[start] == 9 { start += 1 }
        while end > start, bytes[end - 1] == 32 || bytes[end - 1] == 9 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
