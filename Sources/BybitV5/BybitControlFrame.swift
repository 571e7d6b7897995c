/// A non-data frame of a Bybit V5 WebSocket: subscribe/unsubscribe acknowledgements, pongs, auth replies.
public struct BybitControlFrame: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        /// `{"op":"ping","ret_msg":"pong"}` (public) or `{"op":"pong"}` (private, options).
        case pong
        case subscribe
        case unsubscribe
        case auth
        /// Any other `op` (kept verbatim so nothing is silently dropped).
        case other(String)
    }
    public var kind: Kind
    /// `success` as sent; `nil` when the frame has no such field (pongs of private connections).
    public var success: Bool?
    public var retMessage: String
    public var requestID: String
    public var connectionID: String
    /// `args` strings, e.g. the server time of a private pong.
    public var args: [String]

    public init(kind: Kind, success: Bool?, retMessage: String, requestID: String, connectionID: String, args: [String]) {
        self.kind = kind
        self.success = success
        self.retMessage = retMessage
        self.requestID = requestID
        self.connectionID = connectionID
        self.args = args
    }

    /// A subscribe acknowledgement that reports failure (e.g. `error:handler not found,topic:…`).
    public var isFailedSubscription: Bool { (kind == .subscribe || kind == .unsubscribe) && success == false }
}
