/// What a REST call was trying to do: the same retCode means different things for different operations
/// (`110001` on a cancel means "already gone, query it"; `10016` on a create means "state unknown").
public enum BybitOperation: String, Hashable, Sendable, CaseIterable {
    /// `POST /v5/order/create` (and each item of `create-batch`).
    case create
    /// `POST /v5/order/amend`.
    case amend
    /// `POST /v5/order/cancel`.
    case cancel
    /// `POST /v5/order/cancel-all`.
    case cancelAll
    /// `POST /v5/position/set-leverage`.
    case setLeverage
    /// `POST /v5/position/switch-mode`.
    case switchPositionMode
    /// Any read-only `GET` (market data, order/position/wallet/execution queries).
    case query
    /// Anything else (trading-stop, DCP window, …).
    case other

    /// True for operations that change state at Bybit, where a lost answer leaves that state unknown.
    public var isMutating: Bool {
        switch self {
        case .create, .amend, .cancel, .cancelAll, .setLeverage, .switchPositionMode, .other: true
        case .query: false
        }
    }
}
