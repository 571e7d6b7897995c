/// Bybit's product `category`. Cascade trades `linear` (USDT perpetuals); the others appear in topic names.
public enum BybitCategory: String, Hashable, Sendable, CaseIterable {
    /// USDT/USDC perpetuals and futures.
    case linear
    /// Spot.
    case spot
    /// Coin-margined perpetuals and futures.
    case inverse
    /// Options.
    case option
}
