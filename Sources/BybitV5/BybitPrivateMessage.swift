/// One decoded frame of Bybit's private WebSocket (`/v5/private`).
public enum BybitPrivateMessage: Hashable, Sendable {
    /// `order` / `order.linear`: order state changes, in the frame's order.
    case orders([BybitOrder], BybitPrivateEnvelope)
    /// `execution`, `execution.fast` and their category variants: fills, funding, settlement.
    case executions([BybitExecution], BybitPrivateEnvelope)
    /// `position` / `position.linear`.
    case positions([BybitPosition], BybitPrivateEnvelope)
    /// `wallet`.
    case wallets([BybitWallet], BybitPrivateEnvelope)
    /// An auth reply, subscribe/unsubscribe ack or pong.
    case control(BybitControlFrame)

    /// The envelope of a topic message; `nil` for control frames.
    public var envelope: BybitPrivateEnvelope? {
        switch self {
        case let .orders(_, e), let .executions(_, e), let .positions(_, e), let .wallets(_, e): e
        case .control: nil
        }
    }
}
