/// One Bybit V5 REST request, byte for byte as it will be sent and signed.
///
/// GET parameters are sorted by name (byte order, as pybit does) and joined as `name=value` with `&`; values
/// are percent-encoded except for unreserved characters, `,` (coin lists) and `%` (Bybit returns cursors already
/// percent-encoded, e.g. `page_token%3D39380%26`, and expects them back verbatim). POST bodies are compact JSON
/// with a fixed key order per endpoint. ``signaturePayload`` is exactly what goes on the wire, so
/// `BybitSigner.headers(for:timestamp:)` signs the same bytes the server will check.
///
/// Build requests with the static constructors (`.createOrder(…)`, `.positionList(…)`, …), which format prices
/// and quantities from integer units with the instrument and never go through `Double`.
public struct BybitRequest: Hashable, Sendable {
    /// The HTTP method.
    public enum Method: String, Hashable, Sendable {
        /// `GET`: parameters in the query string.
        case get = "GET"
        /// `POST`: parameters in a JSON body.
        case post = "POST"
    }

    /// One query parameter, unencoded.
    public struct QueryItem: Hashable, Sendable {
        /// Parameter name, e.g. `category`.
        public var name: String
        /// Parameter value, e.g. `linear`.
        public var value: String
        /// A parameter as given.
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// `GET` or `POST`.
    public let method: Method
    /// The path, e.g. `/v5/order/create`.
    public let path: String
    /// GET parameters in the order they are sent (sorted by name); empty for POST.
    public let queryItems: [QueryItem]
    /// The query string as sent after `?` (and signed for GET); empty for POST.
    public let queryString: String
    /// The POST body as sent (and signed); empty for GET.
    public let body: String
    /// True when the request needs the `X-BAPI-*` authentication headers.
    public let isSigned: Bool
    /// What the request does, for interpreting its retCode.
    public let operation: BybitOperation
    /// For a create built from ``BybitOrderParameters``: how many of its orders carry no `orderLinkId`, known when it
    /// was built. Nil for a body given as text, which a client that needs to know reads instead. Not part of the
    /// request's identity (equality and hash): it says nothing the body does not.
    package let ordersWithoutLinkId: Int?
    /// What the request spends of its endpoint's rate limit: Bybit counts a batch per order, anything else once.
    package let weight: Int

    public static func == (a: BybitRequest, b: BybitRequest) -> Bool {
        a.method == b.method && a.path == b.path && a.queryItems == b.queryItems && a.queryString == b.queryString
            && a.body == b.body && a.isSigned == b.isSigned && a.operation == b.operation
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(path)
        hasher.combine(queryItems)
        hasher.combine(queryString)
        hasher.combine(body)
        hasher.combine(isSigned)
        hasher.combine(operation)
    }

    /// A GET request; `query` is sorted by name, `nil`-free by construction.
    public init(get path: String, query: [QueryItem], isSigned: Bool, operation: BybitOperation = .query) {
        method = .get
        self.path = path
        // Sort by name, keeping the given order for equal names so the result never depends on the sort algorithm.
        queryItems = query.enumerated().sorted { a, b in
            let x = Array(a.element.name.utf8), y = Array(b.element.name.utf8)
            return x == y ? a.offset < b.offset : x.lexicographicallyPrecedes(y)
        }.map(\.element)
        queryString = queryItems.map { "\(Self.encode($0.name))=\(Self.encode($0.value))" }.joined(separator: "&")
        body = ""
        self.isSigned = isSigned
        self.operation = operation
        ordersWithoutLinkId = nil
        weight = 1
    }

    /// A signed POST request whose body is sent exactly as given.
    public init(post path: String, body: String, operation: BybitOperation) {
        self.init(post: path, body: body, operation: operation, ordersWithoutLinkId: nil)
    }

    package init(post path: String, body: String, operation: BybitOperation, ordersWithoutLinkId: Int?, weight: Int = 1) {
        precondition(weight >= 1, "a request spends at least one of its endpoint's budget")
        self.weight = weight
        method = .post
        self.path = path
        queryItems = []
        queryString = ""
        self.body = body
        isSigned = true
        self.operation = operation
        self.ordersWithoutLinkId = ordersWithoutLinkId
    }

    /// The body as UTF-8 bytes.
    public var bodyBytes: [UInt8] { Array(body.utf8) }

    /// The text the signature covers: the query string for GET, the body for POST.
    public var signaturePayload: String { method == .get ? queryString : body }

    /// Path plus query, e.g. `/v5/order/realtime?category=linear&symbol=BTCUSDT`.
    public var target: String { queryString.isEmpty ? path : "\(path)?\(queryString)" }

    /// Percent-encodes everything but unreserved characters, `,` and `%` (Bybit's cursors come already encoded,
    /// `page_token%3D39380%26`, and go back verbatim).
    public static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"), UInt8(ascii: ","), UInt8(ascii: "%"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0f)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Collects query parameters, dropping `nil` values (Bybit treats an empty value differently from absence).
struct BybitQuery {
    var items: [BybitRequest.QueryItem] = []

    mutating func add(_ name: String, _ value: String?) {
        if let value { items.append(.init(name: name, value: value)) }
    }

    mutating func add(_ name: String, _ value: Int?) {
        if let value { items.append(.init(name: name, value: String(value))) }
    }

    /// Checks `value` against a documented range before adding it.
    mutating func add(_ name: String, _ value: Int?, in range: ClosedRange<Int>) throws(BybitRequestError) {
        guard let value else { return }
        guard range.contains(value) else { throw .outOfRange(parameter: name, value: value, allowed: range) }
        add(name, value)
    }
}
