/// `orderType`: `Market` (converted by Bybit to an IOC limit with slippage protection) or `Limit`.
public enum BybitOrderType: String, Hashable, Sendable, CaseIterable {
    /// `Market`.
    case market = "Market"
    /// `Limit`.
    case limit = "Limit"
}
