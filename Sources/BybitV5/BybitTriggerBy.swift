/// The price a conditional order or TP/SL watches (`triggerBy`, `tpTriggerBy`, `slTriggerBy`).
public enum BybitTriggerBy: String, Hashable, Sendable, CaseIterable {
    /// The last traded price (Bybit's default).
    case lastPrice = "LastPrice"
    /// The index price.
    case indexPrice = "IndexPrice"
    /// The mark price.
    case markPrice = "MarkPrice"
}
