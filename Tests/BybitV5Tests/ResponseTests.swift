import BybitV5
import CascadeCore
import Testing

@Suite struct ResponseTests {
    static let createRequest = try! BybitRequest.cancelOrder(symbol: "BTCUSDT", order: .orderId("1"))

    @Test func successEnvelopeDecodesResultAndTime() throws {
        let response = try BybitResponse<BybitOrderIDResult>.decode(try Fixture.bytes("rest.order.create.json"))
        #expect(response.retCode == .ok && response.retMsg == "OK")
        #expect(response.result == BybitOrderIDResult(orderId: "1321003749386327552", orderLinkId: "spot-test-postonly"))
        #expect(response.retExtInfo == .empty)
        #expect(response.time == ExchangeTime(milliseconds: 1_672_211_918_471))
    }

    /// A success envelope on a status other than 200 (a proxy's 307 or 404 carrying one) is not Bybit's success: before,
    /// the create it answered counted as placed. A decode error, so the create's outcome is unknown (a 4xx `http`
    /// error would read as a refusal).
    @Test(arguments: [307, 404])
    func aSuccessEnvelopeOnAnotherStatusIsNotASuccess(status: Int) throws {
        let body = try Fixture.bytes("rest.order.create.json")
        let create = BybitRequest(post: "/v5/order/create", body: "{}", operation: .create)
        do {
            _ = try BybitResponse<BybitOrderIDResult>.validated(body: body, httpStatus: status, headers: [], request: create)
            Issue.record("accepted as a success")
        } catch {
            guard case let .decode(endpoint, .invalidValue(field, _)) = error else { Issue.record("\(error)"); return }
            #expect(endpoint == "/v5/order/create" && field == "HTTP status")
        }
    }

    @Test func timestampErrorBecomesATypedAPIErrorWithServerTime() throws {
        let body = try Fixture.bytes("rest.error.10002.json")
        let response = try BybitResponse<BybitOrderIDResult>.decode(body)
        #expect(response.retCode == .requestExpired && response.result == nil)
        #expect(throws: BybitRESTError.self) {
            try BybitResponse<BybitOrderIDResult>.validated(body: body, httpStatus: 200, headers: [],
                                                            request: Self.createRequest)
        }
        do {
            _ = try BybitResponse<BybitOrderIDResult>.validated(body: body, httpStatus: 200, headers: [],
                                                                request: Self.createRequest)
        } catch {
            guard case let .api(api) = error else { Issue.record("\(error)"); return }
            #expect(api.retCode.rawValue == 10002 && api.meaning == .timestampOutOfWindow)
            #expect(api.httpStatus == 200 && api.endpoint == "/v5/order/cancel" && api.operation == .cancel)
            #expect(api.serverTime == ExchangeTime(milliseconds: 1_677_853_421_570))
            #expect(api.rateLimitResetTime == nil)
            #expect(api.retMsg.hasPrefix("invalid request, please check your server timestamp"))
        }
    }

    @Test func rateLimitErrorCarriesTheResetTimestampFromHeaders() {
        let body = Array(#"{"retCode":10006,"retMsg":"Too many visits!","result":{},"retExtInfo":{},"time":1672738134800}"#.utf8)
        let headers = [("content-type", "application/json"), ("x-bapi-limit", "10"), ("X-Bapi-Limit-Status", "0"),
                       ("x-BAPI-limit-reset-timestamp", " 1672738134824 ")]
        do {
            _ = try BybitResponse<BybitEmptyResult>.validated(body: body, httpStatus: 200, headers: headers,
                                                              endpoint: "/v5/order/create", operation: .create)
            Issue.record("expected a rate-limit error")
        } catch {
            guard case let .api(api) = error else { Issue.record("\(error)"); return }
            #expect(api.meaning == .rateLimited)
            #expect(api.rateLimitResetTime == ExchangeTime(milliseconds: 1_672_738_134_824))
            #expect(api.description.contains("10006"))
        }
    }

    @Test func rateLimitHeadersParseCaseInsensitivelyAndTolerateJunk() {
        let headers = BybitRateLimitHeaders(headers: [("X-Bapi-Limit", "10"), ("X-Bapi-Limit-Status", "9"),
                                                      ("X-Bapi-Limit-Reset-Timestamp", "1672738134824")])
        #expect(headers == BybitRateLimitHeaders(remaining: 9, limit: 10,
                                                 resetTime: ExchangeTime(milliseconds: 1_672_738_134_824)))
        #expect(BybitRateLimitHeaders(headers: [("x-bapi-limit-status", "nine")])
                == BybitRateLimitHeaders(remaining: nil, limit: nil, resetTime: nil))
        #expect(BybitRateLimitHeaders(headers: [("Content-Type", "application/json")]) == nil)
        // The first of repeated headers wins.
        #expect(BybitRateLimitHeaders(headers: [("x-bapi-limit", "10"), ("x-bapi-limit", "20")])?.limit == 10)
    }

    @Test func leverageNotModifiedIsSuccessForSetLeverage() throws {
        let body = Array(#"{"retCode":110043,"retMsg":"Set leverage has not been modified.","result":{},"retExtInfo":{},"time":1}"#.utf8)
        let request = try BybitRequest.setLeverage(symbol: "BTCUSDT", buyLeverage: try Rate("6"), sellLeverage: try Rate("6"))
        let response = try BybitResponse<BybitEmptyResult>.validated(body: body, httpStatus: 200, headers: [], request: request)
        #expect(response.retCode == .leverageNotModified && response.result == nil)
    }

    @Test func envelopeWithoutResultOrTimeStillDecodes() throws {
        let request = try BybitRequest.disconnectedCancelAll(timeWindowSeconds: 10)
        let response = try BybitResponse<BybitEmptyResult>.validated(
            body: try Fixture.bytes("rest.dcp.json"), httpStatus: 200, headers: [], request: request)
        #expect(response.retMsg == "success" && response.time == nil && response.result == nil)
        #expect(throws: BybitDecodeError.missingField("result")) { try response.requireResult() }
    }

    @Test func nonJSONBodiesAreHTTPErrorsOrDecodeErrors() {
        let html = Array("<html>403 Forbidden</html>".utf8)
        #expect(throws: BybitRESTError.http(status: 403, endpoint: "/v5/order/create",
                                           rateLimit: nil)) {
            try BybitResponse<BybitOrderIDResult>.validated(body: html, httpStatus: 403, headers: [],
                                                            endpoint: "/v5/order/create", operation: .create)
        }
        #expect(throws: BybitRESTError.decode(endpoint: "/v5/order/create", .notJSON)) {
            try BybitResponse<BybitOrderIDResult>.validated(body: html, httpStatus: 200, headers: [],
                                                            endpoint: "/v5/order/create", operation: .create)
        }
        // A Bybit envelope on a non-200 status is still judged by its retCode.
        let envelope = Array(#"{"retCode":10003,"retMsg":"API key is invalid.","result":{},"retExtInfo":{},"time":1}"#.utf8)
        do {
            _ = try BybitResponse<BybitOrderIDResult>.validated(body: envelope, httpStatus: 401, headers: [],
                                                                endpoint: "/v5/order/create", operation: .create)
        } catch {
            #expect(error == .api(BybitAPIError(
                retCode: .invalidAPIKey, meaning: .authentication(.invalidAPIKey), retMsg: "API key is invalid.",
                httpStatus: 401, endpoint: "/v5/order/create", operation: .create, rateLimitResetTime: nil,
                serverTime: ExchangeTime(milliseconds: 1))))
        }
    }

    @Test func successWithAMalformedResultIsADecodeError() {
        let body = Array(#"{"retCode":0,"retMsg":"OK","result":{"orderId":42},"retExtInfo":{},"time":1}"#.utf8)
        #expect(throws: BybitRESTError.decode(endpoint: "/v5/order/create", .wrongType(field: "result.orderId"))) {
            try BybitResponse<BybitOrderIDResult>.validated(body: body, httpStatus: 200, headers: [],
                                                            endpoint: "/v5/order/create", operation: .create)
        }
        #expect(throws: BybitDecodeError.missingField("retCode")) {
            try BybitResponse<BybitOrderIDResult>.decode(Array(#"{"retMsg":"OK"}"#.utf8))
        }
    }

    @Test func batchItemsPairWithTheirOwnCodes() throws {
        let response = try BybitResponse<BybitBatchOrderResult>.decode(
            try Fixture.bytes("rest.order.create-batch.linear-shaped.json"))
        let outcomes = try response.outcomes()
        #expect(outcomes.map(\.item.orderLinkId) == ["batch-000", "batch-001", "batch-002"])
        #expect(outcomes.map(\.retCode.rawValue) == [0, 10001, 110072])
        #expect(outcomes.map(\.meaning) == [.ok, .invalidParameter, .duplicateOrderLinkId])
        #expect(outcomes[0].item.orderId == "b551f227-7059-4fb5-a6a6-699c04dbd2f2" && outcomes[1].item.orderId.isEmpty)
        #expect(outcomes[1].retMsg == "position idx not match position mode")

        var broken = response
        broken.retExtInfo = BybitRetExtInfo(list: [.init(code: .ok, msg: "OK")])
        #expect(throws: BybitDecodeError.countMismatch(field: "retExtInfo.list", expected: 3, got: 1)) {
            try broken.outcomes()
        }
    }
}
