/// `execType` of an execution. An open set (the docs list end with "…"), so a struct with static members:
/// an undocumented type is kept, not rejected, because dropping a fill would corrupt the position.
public struct BybitExecType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The value as sent.
    public var rawValue: String
    /// Wraps any value.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A normal fill.
    public static let trade = Self(rawValue: "Trade")
    /// A fill from auto-deleveraging.
    public static let adlTrade = Self(rawValue: "AdlTrade")
    /// A funding fee payment (`execFee` is the funding amount; negative when received).
    public static let funding = Self(rawValue: "Funding")
    /// A liquidation (takeover) fill.
    public static let bustTrade = Self(rawValue: "BustTrade")
    /// Delivery of an expiring future.
    public static let delivery = Self(rawValue: "Delivery")
    /// Settlement.
    public static let settle = Self(rawValue: "Settle")
    /// A block trade.
    public static let blockTrade = Self(rawValue: "BlockTrade")
    /// A position moved between accounts.
    public static let movePosition = Self(rawValue: "MovePosition")

    /// True for executions that trade against the book or a counterparty (everything but funding/settlement).
    public var isTrade: Bool { self == .trade || self == .adlTrade || self == .bustTrade || self == .blockTrade }

    /// A one-line human-readable form for logs.
    public var description: String { rawValue }
}
