/// The `mode` of `POST /v5/position/switch-mode` (an integer on the wire).
public enum BybitPositionMode: Int, Hashable, Sendable, CaseIterable {
    /// `0`: "Merged Single", i.e. one-way mode.
    case oneWay = 0
    /// `3`: "Both Sides", i.e. hedge mode.
    case hedge = 3
}
