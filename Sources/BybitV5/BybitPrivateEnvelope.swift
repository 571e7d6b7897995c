public import CascadeCore

/// The envelope of a private topic message: `{"id","topic","creationTime","data":[…]}` (no `type` field).
public struct BybitPrivateEnvelope: Hashable, Sendable {
    /// `topic`, parsed.
    public var topic: BybitPrivateTopic
    /// `id` (absent on `execution.fast`, then `""`).
    public var id: String
    /// `creationTime`: when Bybit created the message.
    public var creationTime: ExchangeTime
    /// When this process received the frame (passed in by the caller).
    public var localTime: LocalTime

    /// An envelope as given.
    public init(topic: BybitPrivateTopic, id: String, creationTime: ExchangeTime, localTime: LocalTime) {
        self.topic = topic
        self.id = id
        self.creationTime = creationTime
        self.localTime = localTime
    }
}
