import BybitV5
import Crypto
import Testing

/// Every signing vector of the reference (§5.1 REST, §3.1 WebSocket, §4 trade auth string).
@Suite struct SignerTests {
    let signer = BybitSigner(credentials: BybitCredentials(apiKey: "testkey", secret: "testsecret"))

    /// Independent HMAC with swift-crypto, to check the signer against the library directly.
    static func hmacHex(secret: String, _ text: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(text.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return mac.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    @Test func computedGETVectorMatches() {
        let payload = "category=linear&symbol=BTCUSDT"
        #expect(BybitSigner.signString(timestamp: 1_658_384_314_791, apiKey: "testkey", recvWindow: 5000, payload: payload)
                == "1658384314791testkey5000category=linear&symbol=BTCUSDT")
        #expect(signer.signature(timestamp: 1_658_384_314_791, recvWindow: 5000, payload: payload)
                == "da6213487e070e4d08e4f5d0cd9dadd8684519516f65ce3109007d2770aff690")
    }

    @Test func computedPOSTVectorMatches() {
        let body = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"50000","timeInForce":"PostOnly"}"#
        #expect(signer.signature(timestamp: 1_658_385_579_423, recvWindow: 5000, payload: body)
                == "18f0f8849fbcfa1416b25a54bc34161491c2e89f6f12755456a0afbfc67faf83")
    }

    /// The docs' own examples publish the string to sign but not the secret behind their example signature,
    /// so the sign strings are checked exactly and the signature is checked against an independent HMAC.
    @Test func docsSignStringsMatchExactly() {
        let get = BybitSigner.signString(timestamp: 1_658_384_314_791, apiKey: "XXXXXXXXXX", recvWindow: 5000,
                                         payload: "category=option&symbol=BTC-29JUL22-25000-C")
        #expect(get == "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C")
        let post = BybitSigner.signString(timestamp: 1_658_385_579_423, apiKey: "XXXXXXXXXX", recvWindow: 5000,
                                          payload: #"{"category": "option"}"#)
        #expect(post == #"1658385579423XXXXXXXXXX5000{"category": "option"}"#)
        #expect(signer.signature(timestamp: 1_658_385_579_423, apiKey: "XXXXXXXXXX", recvWindow: 5000,
                                 payload: #"{"category": "option"}"#)
                == Self.hmacHex(secret: "testsecret", post))
    }

    /// The signer's own HMAC over swift-crypto's SHA256 (faster than the generic `HMAC<SHA256>`) must equal the
    /// library's for secrets shorter than, equal to and longer than SHA-256's 64-byte block (a long key is hashed
    /// first), and for empty and multi-block messages.
    @Test(arguments: [0, 1, 10, 63, 64, 65, 100, 200])
    func signatureEqualsLibraryHMACForEveryKeyLength(keyLength: Int) {
        let secret = String((0..<keyLength).map { Character(UnicodeScalar(UInt8(33 + ($0 * 7) % 90))) })
        let signer = BybitSigner(credentials: BybitCredentials(apiKey: "k", secret: secret))
        for payload in ["", "a", String(repeating: "x=1&", count: 40)] {
            let text = BybitSigner.signString(timestamp: 1_700_000_000_123, apiKey: "k", recvWindow: 20_000, payload: payload)
            #expect(signer.signature(timestamp: 1_700_000_000_123, recvWindow: 20_000, payload: payload)
                    == Self.hmacHex(secret: secret, text), "key \(keyLength) bytes, payload \(payload.utf8.count) bytes")
        }
        #expect(signer.webSocketAuth(expires: 42) == Self.hmacHex(secret: secret, "GET/realtime42"))
    }

    @Test func webSocketAuthVectorMatches() {
        #expect(signer.webSocketAuth(expires: 1_662_350_400_000)
                == "b38c4f23eca76c513b6542823c0882c502bdea24e31f6d6af028af804c5c850a")
        #expect(Self.hmacHex(secret: "testsecret", "GET/realtime1662350400000")
                == "b38c4f23eca76c513b6542823c0882c502bdea24e31f6d6af028af804c5c850a")
    }

    /// Text the writer must escape (quote, backslash, control characters) next to text it copies as is (non-ASCII).
    @Test func frameStringsAreEscaped() {
        let frame = signer.webSocketAuthFrame(expires: 1, requestID: "a\"b\\c\nd\u{01}é")
        #expect(frame.hasPrefix(#"{"req_id":"a\"b\\c\nd\u0001é","op":"auth","#), "\(frame)")
    }

    @Test func authFrameHasNumericExpiresAndOptionalReqID() {
        let sig = "b38c4f23eca76c513b6542823c0882c502bdea24e31f6d6af028af804c5c850a"
        #expect(signer.webSocketAuthFrame(expires: 1_662_350_400_000, requestID: "10001")
                == #"{"req_id":"10001","op":"auth","args":["testkey",1662350400000,""# + sig + #""]}"#)
        #expect(signer.webSocketAuthFrame(expires: 1_662_350_400_000)
                == #"{"op":"auth","args":["testkey",1662350400000,""# + sig + #""]}"#)
    }

    @Test func headersComeInDocumentedOrder() {
        let headers = signer.headers(timestamp: 1_658_384_314_791, payload: "category=linear&symbol=BTCUSDT")
        #expect(headers.map(\.name) == ["X-BAPI-API-KEY", "X-BAPI-TIMESTAMP", "X-BAPI-SIGN", "X-BAPI-RECV-WINDOW"])
        #expect(headers.map(\.value) == ["testkey", "1658384314791",
                                         "da6213487e070e4d08e4f5d0cd9dadd8684519516f65ce3109007d2770aff690", "5000"])
    }

    @Test func requestHeadersSignTheExactPayloadAndAddContentTypeForPOST() throws {
        let get = try BybitRequest.positionList(.symbol("BTCUSDT"))
        let getHeaders = signer.headers(for: get, timestamp: 1_700_000_000_000, recvWindow: 8000)
        #expect(getHeaders.count == 4)
        #expect(getHeaders[2].value == Self.hmacHex(secret: "testsecret", "1700000000000testkey8000" + get.queryString))

        let post = BybitRequest.cancelAll(.settleCoin("USDT"))
        let postHeaders = signer.headers(for: post, timestamp: 1_700_000_000_000)
        #expect(postHeaders.map(\.name) == ["X-BAPI-API-KEY", "X-BAPI-TIMESTAMP", "X-BAPI-SIGN", "X-BAPI-RECV-WINDOW",
                                            "Content-Type"])
        #expect(postHeaders[2].value == Self.hmacHex(secret: "testsecret", "1700000000000testkey5000" + post.body))
        #expect(postHeaders[4].value == "application/json")

        // Public requests carry no credentials at all.
        #expect(signer.headers(for: .marketTime(), timestamp: 1).isEmpty)
    }

    @Test func signerNeverPrintsItsSecret() {
        let secret = BybitSigner(credentials: BybitCredentials(apiKey: "k", secret: "hunter2-secret"))
        var dumped = ""
        dump(secret, to: &dumped)
        for text in [String(describing: secret), String(reflecting: secret), "\(secret)", dumped] {
            #expect(!text.contains("hunter2"))
        }
    }
}
