/// Whether a resting order fills when the other side of the replayed book moves through its price with no print.
///
/// Our orders are not in the recorded market, so the recording can show an ask posted below our bid — a state
/// that cannot exist on the venue, where that seller would have hit us. Prints fill resting orders under every
/// model; this decides the cross.
public protocol FillModel: Sendable {
    /// The quantity a resting order of `remaining` fills when `through` of displayed opposite liquidity (net of what
    /// our own orders already used) sits strictly through its price.
    func crossFill(remaining: Int64, through: Int64) -> Int64
}

/// Only prints fill resting orders: a book moving through them never does (under-counts fills and the adverse
/// selection that comes with them in fast markets).
public struct PrintsOnlyFill: FillModel {
    public init() {}
    public func crossFill(remaining: Int64, through: Int64) -> Int64 { 0 }
}

/// Default: a strict cross fills (the opposite best strictly better than our price), up to the liquidity through
/// it, at our own price, as maker. An equal price (a touch) does not fill: our queue there is unknown.
public struct StrictCrossFill: FillModel {
    public init() {}
    public func crossFill(remaining: Int64, through: Int64) -> Int64 { min(remaining, max(0, through)) }
}

/// The fill model a configuration names.
public enum FillModelChoice: FillModel, Hashable {
    case printsOnly
    case strictCross

    public func crossFill(remaining: Int64, through: Int64) -> Int64 {
        switch self {
        case .printsOnly: PrintsOnlyFill().crossFill(remaining: remaining, through: through)
        case .strictCross: StrictCrossFill().crossFill(remaining: remaining, through: through)
        }
    }
}
