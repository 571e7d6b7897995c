public import CascadeCore

/// The envelope of every Bybit V5 REST response: `{"retCode","retMsg","result","retExtInfo","time"}` (§5.2).
///
/// `result` is decoded as `Result` only when `retCode` is `0`; error responses carry `result: {}`, which is not a
/// `Result`, so it is left `nil`. Some endpoints answer without `result`, `retExtInfo` or `time` at all
/// (`disconnected-cancel-all` returns `{"retCode":0,"retMsg":"success"}`): those read as `nil`/empty.
///
/// ```swift
/// let response = try BybitResponse<BybitOrderIDResult>.validated(
///     body: bytes, httpStatus: 200, headers: headers, request: request)   // throws(BybitRESTError)
/// let orderID = try response.requireResult().orderId
/// ```
public struct BybitResponse<Result: Decodable & Sendable>: Sendable, Decodable {
    /// `retCode`.
    public var retCode: BybitRetCode
    /// `retMsg` (`"OK"`, `"success"`, `""` on success; an explanation otherwise).
    public var retMsg: String
    /// `result` when `retCode` is `0` and the member is present and not `null`.
    public var result: Result?
    /// `retExtInfo` (per-item codes for batch endpoints).
    public var retExtInfo: BybitRetExtInfo
    /// `time`: Bybit's clock when it answered.
    public var time: ExchangeTime?

    /// An envelope as given.
    public init(retCode: BybitRetCode, retMsg: String, result: Result?, retExtInfo: BybitRetExtInfo = .empty,
                time: ExchangeTime?) {
        self.retCode = retCode
        self.retMsg = retMsg
        self.result = result
        self.retExtInfo = retExtInfo
        self.time = time
    }

    enum CodingKeys: String, CodingKey { case retCode, retMsg, result, retExtInfo, time }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        retCode = try c.decode(BybitRetCode.self, forKey: .retCode)
        retMsg = try c.decodeIfPresent(String.self, forKey: .retMsg) ?? ""
        retExtInfo = try c.decodeIfPresent(BybitRetExtInfo.self, forKey: .retExtInfo) ?? .empty
        time = try c.decodeIfPresent(Int64.self, forKey: .time).map(ExchangeTime.init(milliseconds:))
        result = retCode == .ok ? try c.decodeIfPresent(Result.self, forKey: .result) : nil
    }

    /// Decodes a response body without judging its retCode.
    public static func decode(_ body: [UInt8]) throws(BybitDecodeError) -> BybitResponse<Result> {
        try BybitJSON.decode(BybitResponse<Result>.self, from: body)
    }

    /// The result, or ``BybitDecodeError/missingField(_:)`` `"result"` when the response has none.
    public func requireResult() throws(BybitDecodeError) -> Result {
        guard let result else { throw .missingField("result") }
        return result
    }

    /// Decodes a response to `request` and returns it only when its retCode means success for the request's
    /// operation (``BybitRetCode/Meaning/isSuccess``, which includes `110043` for set-leverage).
    ///
    /// - Parameters:
    ///   - body: the raw response body.
    ///   - httpStatus: the HTTP status code.
    ///   - headers: the response headers (for the rate-limit reset time of `10006`).
    ///   - request: the request this answers (its path and operation).
    /// - Throws: ``BybitRESTError/api(_:)`` for a non-success retCode, ``BybitRESTError/http(status:endpoint:rateLimit:)``
    ///   for a non-200 status without an envelope, ``BybitRESTError/decode(endpoint:_:)`` for a malformed body or a
    ///   success envelope on a non-200 status.
    public static func validated(body: [UInt8], httpStatus: Int, headers: [(String, String)],
                                 request: BybitRequest) throws(BybitRESTError) -> BybitResponse<Result> {
        try validated(body: body, httpStatus: httpStatus, headers: headers, endpoint: request.path,
                      operation: request.operation)
    }

    /// ``validated(body:httpStatus:headers:request:)`` for a request described by its path and operation.
    public static func validated(body: [UInt8], httpStatus: Int, headers: [(String, String)], endpoint: String,
                                 operation: BybitOperation) throws(BybitRESTError) -> BybitResponse<Result> {
        let rateLimit = BybitRateLimitHeaders(headers: headers)
        let response: BybitResponse<Result>
        do {
            response = try decode(body)
        } catch {
            // Bybit's own errors always come in its envelope; anything else on a non-200 is an HTTP-level failure.
            if httpStatus != 200 { throw .http(status: httpStatus, endpoint: endpoint, rateLimit: rateLimit) }
            throw .decode(endpoint: endpoint, error)
        }
        let meaning = response.retCode.meaning(for: operation, message: response.retMsg)
        guard meaning.isSuccess else {
            throw .api(BybitAPIError(
                retCode: response.retCode, meaning: meaning, retMsg: response.retMsg, httpStatus: httpStatus,
                endpoint: endpoint, operation: operation,
                rateLimitResetTime: meaning == .rateLimited ? rateLimit?.resetTime : nil,
                serverTime: response.time))
        }
        // Bybit answers success with 200: a success envelope on any other status (a proxy's redirect carrying one) is
        // not Bybit's answer. A decode error, so a state-changing call's outcome is unknown whatever the status (an
        // HTTP 4xx would read as a refusal).
        if httpStatus != 200 { throw .decode(endpoint: endpoint, .invalidValue(field: "HTTP status", value: "\(httpStatus) with a success envelope")) }
        return response
    }
}
