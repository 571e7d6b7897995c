public import CascadeCore

/// An amount of one coin of the wallet (`walletBalance`, `equity`, a `cumFeeDetail` entry) at 1e-8.
///
/// Kept apart from ``CascadeCore/USDT`` because a wallet lists several coins (`BTC`, `MNT`, …) and a BTC balance
/// is not a USDT amount; ``usdt`` reinterprets it only where the coin is known to be USDT.
public struct BybitCoinAmount: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Fraction digits of the unit: every balance Bybit prints for UTA wallets has at most eight.
    public static let digits = 8
    /// Count of 1e-8 of the coin.
    public var units: Int64

    /// An amount of `units` × 1e-8 of the coin.
    public init(units: Int64) { self.units = units }

    /// Parses exact decimal text, e.g. `"0.00102964"`.
    public init(_ text: String) throws(DecimalParseError) {
        units = try FixedDecimal.parse(text, digits: Self.digits)
    }

    /// A USDT amount as Bybit's coin amount (same 1e-8 unit). Beyond 9.2e10 USDT the 64-bit unit saturates (no
    /// account holds that much; a clamp, not a crash, in what the simulator prints).
    public init(clamping usdt: USDT) { units = Int64(clamping: usdt.units) }

    /// The same amount as ``CascadeCore/USDT`` (same 1e-8 unit); meaningful only when the coin is `USDT`.
    public var usdt: USDT { USDT(units: units) }

    /// Orders by amount.
    public static func < (a: Self, b: Self) -> Bool { a.units < b.units }

    /// A one-line human-readable form for logs.
    public var description: String { FixedDecimal.format(units, digits: Self.digits) }
}
