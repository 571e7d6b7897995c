/// `positionIdx`: which position an order or position belongs to (an integer on the wire).
public enum BybitPositionIndex: Int, Hashable, Sendable, CaseIterable {
    /// `0`: one-way mode.
    case oneWay = 0
    /// `1`: hedge mode, Buy (long) side.
    case hedgeBuy = 1
    /// `2`: hedge mode, Sell (short) side.
    case hedgeSell = 2
}
