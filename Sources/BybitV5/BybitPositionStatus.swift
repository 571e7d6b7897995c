/// `positionStatus`: the documented closed set.
public enum BybitPositionStatus: String, Hashable, Sendable, CaseIterable {
    /// `Normal`.
    case normal = "Normal"
    /// In liquidation.
    case liquidation = "Liq"
    /// In auto-deleveraging.
    case autoDeleveraging = "Adl"
}
