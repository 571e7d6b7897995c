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
/// absent optional ones are `nil`; a known field of the wrong JSON type, an inexact decimal or an undocumented
/// enum value fails the whole frame with a typed error naming the field (`data[0].execFee`), because a
/// half-applied fill is worse than a counted bad frame. A failed frame changes nothing but the symbols it
/// registered.
public struct BybitPrivateDecoder: Sendable {
    /// Symbols and their scales; symbols met for the first time are registered with the default scale.
    public var instruments: InstrumentTable

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
        switch topic.kind {
        case .order:
            let message = try BybitJSON.decode(TopicWire<BybitOrderWire>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            var out: [BybitOrder] = []
            for (index, wire) in message.data.enumerated() {
                out.append(try wire.order(path: "data[\(index)]", instruments: &instruments))
            }
            return .orders(out, env)
        case .execution, .executionFast:
            let message = try BybitJSON.decode(TopicWire<BybitExecutionWire>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            // The fast stream carries only trades and omits `execType`.
            let defaultType: BybitExecType? = topic.kind == .executionFast ? .trade : nil
            var out: [BybitExecution] = []
            for (index, wire) in message.data.enumerated() {
                out.append(try wire.execution(path: "data[\(index)]", instruments: &instruments, defaultExecType: defaultType))
            }
            return .executions(out, env)
        case .position:
            let message = try BybitJSON.decode(TopicWire<BybitPositionWire>.self, from: frame)
            let env = try envelope(id: message.id, creationTime: message.creationTime)
            var out: [BybitPosition] = []
            for (index, wire) in message.data.enumerated() {
                out.append(try wire.position(path: "data[\(index)]", instruments: &instruments))
            }
            return .positions(out, env)
        case .wallet:
            let message = try BybitJSON.decode(TopicWire<BybitWallet>.self, from: frame)
            return .wallets(message.data, try envelope(id: message.id, creationTime: message.creationTime))
        }
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
        var data: [Item]
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
