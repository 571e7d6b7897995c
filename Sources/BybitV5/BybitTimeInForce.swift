/// `timeInForce` (enum.mdx): `GTC` is the default, Market orders are always `IOC`, `PostOnly` orders that would
/// take liquidity end `Cancelled` with `EC_PostOnlyWillTakeLiquidity`.
public enum BybitTimeInForce: String, Hashable, Sendable, CaseIterable {
    /// `GTC`: rests until filled or cancelled.
    case goodTillCancel = "GTC"
    /// `IOC`: fills what it can at once, cancels the rest.
    case immediateOrCancel = "IOC"
    /// `FOK`: fills completely at once or not at all.
    case fillOrKill = "FOK"
    /// `PostOnly`: maker only; cancelled if it would take liquidity.
    case postOnly = "PostOnly"
    /// Retail Price Improvement orders (maker-only, matched against retail flow).
    case retailPriceImprovement = "RPI"
}
