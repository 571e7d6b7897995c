public import CascadeCore

/// Decodes frames of Bybit's private WebSocket into typed orders, executions, positions and wallets (§3).
///
/// ```swift
/// var decoder = BybitPrivateDecoder(instruments: table)
/// switch try decoder.decode(frameBytes, localTime: receivedAt) {   // throws(BybitDecodeError)
/// case let .executions(fills, envelope): …
/// case let .control(frame) where frame.isFailedAuth: …
/// default: …
/// }
/// ```
/// Not a hot path (a few messages per order), so it uses `Codable`: the frame is first decoded with every
/// value as text, then decimals are converted exactly at each symbol's scale. Unknown fields are ignored and
/// absent optional ones are `nil`. Fill-critical fields (ids, symbol, side, price, quantity, fee, status, times)
/// are strict: a wrong JSON type, an inexact decimal or an undocumented value there takes the row out of the
/// message into ``quarantined`` with a typed error naming the field (`data[0].execFee`), because a half-read
/// fill is worse than a reported one. Informational fields (`markPrice`, `positionStatus`, wallet totals…) read
/// as `nil` when unreadable and are named in the row's `unreadFields`. A frame that is not JSON, or has no
/// `data` array, fails whole.
public struct BybitPrivateDecoder: Sendable {
    /// Symbols and their scales; symbols met for the first time are registered with the default scale.
    public var instruments: InstrumentTable
    /// Rows that could not be read, until ``takeQuarantined()``.
    public private(set) var quarantined: [BybitQuarantinedRow] = []

    /// A decoder over `instruments` (share the table with the public decoder so scales agree).
    public init(instruments: InstrumentTable = InstrumentTable()) {
        self.instruments = instruments
    }

    /// Decodes one frame given as bytes.
    public mutating func decode(_ frame: [UInt8], localTime: LocalTime) throws(BybitDecodeError) -> BybitPrivateMessage {
        let probe = try BybitJSON.decode(Probe.self, from: frame)
        guard let topicName = probe.topic else {
            guard probe.op != nil else { throw .unrecognisedFrame }
            return .control(try BybitJSON.decode(ControlWire.self, from: frame).frame())
        }
        guard let topic = BybitPrivateTopic(topicName) else { throw .unknownTopic(topicName) }
        func envelope(id: String?, creationTime: Int64?) throws(BybitDecodeError) -> BybitPrivateEnvelope {
            guard let creationTime else { throw .missingField("creationTime") }
            return BybitPrivateEnvelope(topic: topic, id: id ?? "", creationTime: ExchangeTime(milliseconds: creationTime),
                                        localTime: localTime)
        }
        // Row by row: a row that cannot be read is quarantined, the others are delivered (client review row 4).
        var table = instruments
        defer { instruments = table }
        switch topic.kind {
        case .order:
            let message = try BybitJSON.decode(TopicWire<BybitOrderWire>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            return .orders(message.data.converting(source: topicName, prefix: "data", quarantine: &quarantined) {
                w, path throws(BybitDecodeError) in try w.order(path: path, instruments: &table)
            }, env)
        case .execution, .executionFast:
            let message = try BybitJSON.decode(TopicWire<BybitExecutionWire>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            // The fast stream carries only trades and omits `execType`.
            let defaultType: BybitExecType? = topic.kind == .executionFast ? .trade : nil
            return .executions(message.data.converting(source: topicName, prefix: "data", quarantine: &quarantined) {
                w, path throws(BybitDecodeError) in try w.execution(path: path, instruments: &table, defaultExecType: defaultType)
            }, env)
        case .position:
            let message = try BybitJSON.decode(TopicWire<BybitPositionWire>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            return .positions(message.data.converting(source: topicName, prefix: "data", quarantine: &quarantined) {
                w, path throws(BybitDecodeError) in try w.position(path: path, instruments: &table)
            }, env)
        case .wallet:
            let message = try BybitJSON.decode(TopicWire<BybitWallet>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            return .wallets(message.data.converting(source: topicName, prefix: "data", quarantine: &quarantined) {
                w, _ throws(BybitDecodeError) in w
            }, env)
        }
    }

    /// Rows of the frames decoded since the last call that could not be read, in order; clears them.
    public mutating func takeQuarantined() -> [BybitQuarantinedRow] {
        defer { quarantined = [] }
        return quarantined
    }

    /// Decodes one frame given as a `String` (tests, tools).
    public mutating func decode(_ frame: String, localTime: LocalTime) throws(BybitDecodeError) -> BybitPrivateMessage {
        try decode(Array(frame.utf8), localTime: localTime)
    }

    /// Just enough to route a frame.
    struct Probe: Decodable {
        var topic: String?
        var op: String?
    }

    struct TopicWire<Item: Decodable>: Decodable {
        var id: String?
        var creationTime: Int64?
        var data: [BybitLossy<Item>]
    }

    /// `{"success","ret_msg","op","conn_id","req_id","args"}` of auth replies, acks and private pongs.
    struct ControlWire: Decodable {
        var op: String
        var success: Bool?
        var ret_msg: String?
        var req_id: String?
        var conn_id: String?
        var args: [String]?

        func frame() -> BybitControlFrame {
            let kind: BybitControlFrame.Kind
            switch op {
            case "pong": kind = .pong
            case "ping" where ret_msg == "pong": kind = .pong
            case "subscribe": kind = .subscribe
            case "unsubscribe": kind = .unsubscribe
            case "auth": kind = .auth
            default: kind = .other(op)
            }
            return BybitControlFrame(kind: kind, success: success, retMessage: ret_msg ?? "", requestID: req_id ?? "",
                                     connectionID: conn_id ?? "", args: args ?? [])
        }
    }
}
