/// A price, as an integer count of 1e-8 (``digits``).
///
/// **Cascade's one price precision.** Every price of every symbol is stored at 8 fraction digits, whatever the
/// symbol's `tickSize`: recorded data is not always on the instrument grid (grid conformity is checked and counted
/// separately, ``InstrumentRules``), and one fixed precision means raw units persisted by features, labels and the
/// order journal mean the same thing for every symbol and every release. 8 digits represent every price Bybit
/// publishes for linear perpetuals (the finest `tickSize` is 1e-7) up to 9.2e10.
public struct Price: Hashable, Comparable, Sendable, Codable {
    /// Fraction digits of the unit (fixed for every symbol).
    public static let digits = 8
    /// Count of 1e-8.
    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.units < b.units }
    /// The zero price (used only as an explicit "none" sentinel in fixed-size storage).
    public static let zero = Price(units: 0)
}

/// A quantity of one instrument's base coin, as an integer count of 1e-6 (``digits``).
///
/// Fixed for every symbol like ``Price``: no linear `qtyStep` is finer than 1e-6, and 6 digits hold 9.2e12 (a
/// day's volume of 1000PEPEUSDT is ~1e11 contracts).
public struct Quantity: Hashable, Comparable, Sendable, Codable {
    /// Fraction digits of the unit (fixed for every symbol).
    public static let digits = 6
    /// Count of 1e-6.
    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.units < b.units }
    public static let zero = Quantity(units: 0)
    @inlinable public static func + (a: Self, b: Self) -> Self { Self(units: a.units + b.units) }
    @inlinable public static func - (a: Self, b: Self) -> Self { Self(units: a.units - b.units) }
}

/// An amount of USDT (the settle coin) at a fixed 1e-8 resolution, stored in 128 bits.
///
/// Rounding rule (the only one in Cascade): products are computed exactly in 128 bits and rounded
/// **half to even** to 1e-8 only when the exact result has more than eight decimals. Bybit's own
/// `execValue = price × qty` and `execFee = execValue × feeRate` therefore come out to the digit:
/// `0.5 × 95900.1 = 47950.05`, `× 0.00055 = 26.3725275`. 128 bits hold market-wide aggregates (a month of
/// BTCUSDT turnover is ~5e11 USDT, beyond `Int64` at 1e-8) and sums of them without overflow.
public struct USDT: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Fraction digits of the unit.
    public static let digits = 8
    /// Count of 1e-8 USDT.
    public var units: Int128
    @inlinable public init(units: Int128) { self.units = units }
    /// From 64-bit units (parsers and most amounts).
    @_disfavoredOverload @inlinable public init(units: Int64) { self.units = Int128(units) }
    public static let zero = USDT(units: Int128(0))
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.units < b.units }
    @inlinable public static func + (a: Self, b: Self) -> Self { Self(units: a.units + b.units) }
    @inlinable public static func - (a: Self, b: Self) -> Self { Self(units: a.units - b.units) }
    @inlinable public static prefix func - (a: Self) -> Self { Self(units: -a.units) }

    /// Parses exact decimal text, e.g. `"26.3725275"`.
    public init(_ text: String) throws(DecimalParseError) {
        var copy = text
        let result: Result<Int128, DecimalParseError> = copy.withUTF8 { buffer in
            do throws(DecimalParseError) { return .success(try FixedDecimal.parseWide(buffer, digits: Self.digits)) } catch {
                return .failure(error)
            }
        }
        units = try result.get()
    }

    /// `self × rate`, rounded half to even to 1e-8 (e.g. a fee from an exec value and a fee rate); nil on overflow.
    public func multiplied(by rate: Rate) -> USDT? {
        let (product, overflow) = units.multipliedReportingOverflow(by: Int128(rate.units))
        if overflow { return nil }
        return FixedDecimal.rescaleWide(product, from: Self.digits + Rate.digits, to: Self.digits).map(USDT.init(units:))
    }

    public var description: String { FixedDecimal.format(wide: units, digits: Self.digits) }
}

/// A dimensionless rate (fee rate, funding rate, ratio) at a fixed 1e-10 resolution.
public struct Rate: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Fraction digits of the unit: enough for Bybit's funding rates and fee rates (8 decimals at most).
    public static let digits = 10
    public var units: Int64
    @inlinable public init(units: Int64) { self.units = units }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.units < b.units }
    /// Parses exact decimal text, e.g. `"0.00055"` or `"-0.005"`.
    public init(_ text: String) throws(DecimalParseError) {
        units = try FixedDecimal.parse(text, digits: Self.digits)
    }
    public var description: String { FixedDecimal.format(units, digits: Self.digits) }
}
