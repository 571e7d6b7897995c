/// A dense per-process index of a symbol, assigned by ``InstrumentTable`` (cheap to hash and to store).
public struct SymbolID: Hashable, Comparable, Sendable {
    public var index: UInt32
    @inlinable public init(index: UInt32) { self.index = index }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.index < b.index }
}

/// The fixed decimal scales at which one symbol's prices and quantities are stored.
///
/// Chosen per symbol, never derived from `tickSize`, so off-grid recorded values stay exact.
/// The default (8 price digits, 6 quantity digits) represents every Bybit linear price below 9.2e10 and
/// quantity below 9.2e12 (a day's volume of 1000PEPEUSDT is ~1e11 contracts); no linear `qtyStep` is finer
/// than 1e-6.
public struct SymbolScale: Hashable, Sendable {
    public var priceDigits: Int
    public var qtyDigits: Int
    public init(priceDigits: Int, qtyDigits: Int) {
        precondition((0...FixedDecimal.maxDigits).contains(priceDigits) && (0...FixedDecimal.maxDigits).contains(qtyDigits),
                      "scale digits must be within 0...18")
        self.priceDigits = priceDigits
        self.qtyDigits = qtyDigits
    }
    /// 1e-8 prices, 1e-6 quantities: exact for every price and size Bybit publishes for linear perpetuals.
    public static let standard = SymbolScale(priceDigits: 8, qtyDigits: 6)
}

/// Trading rules of an instrument, as published by `/v5/market/instruments-info` at a moment in time.
///
/// Never constants in code: they come from a recorded `_cascade.instruments` snapshot or a file the user names.
public struct InstrumentRules: Hashable, Sendable {
    public var tickSize: Price
    public var qtyStep: Quantity
    public var minOrderQty: Quantity
    public var maxOrderQty: Quantity
    public var maxMarketOrderQty: Quantity
    public var minNotional: USDT
    /// Decimals Bybit uses to print prices (`priceScale`).
    public var priceDecimals: Int
    /// Decimals implied by `qtyStep` (for printing quantities as Bybit does).
    public var qtyDecimals: Int
    public var status: String
    public var fundingIntervalMinutes: Int?
    public var settleCoin: String
    /// `leverageFilter.maxLeverage` (a ratio, e.g. `100`), when the snapshot carried it.
    public var maxLeverage: Rate?

    public init(tickSize: Price, qtyStep: Quantity, minOrderQty: Quantity, maxOrderQty: Quantity,
                maxMarketOrderQty: Quantity, minNotional: USDT, priceDecimals: Int, qtyDecimals: Int,
                status: String, fundingIntervalMinutes: Int?, settleCoin: String, maxLeverage: Rate? = nil) {
        self.tickSize = tickSize
        self.qtyStep = qtyStep
        self.minOrderQty = minOrderQty
        self.maxOrderQty = maxOrderQty
        self.maxMarketOrderQty = maxMarketOrderQty
        self.minNotional = minNotional
        self.priceDecimals = priceDecimals
        self.qtyDecimals = qtyDecimals
        self.status = status
        self.fundingIntervalMinutes = fundingIntervalMinutes
        self.settleCoin = settleCoin
        self.maxLeverage = maxLeverage
    }

    /// True when `price` is a whole number of ticks.
    @inlinable public func isOnPriceGrid(_ price: Price) -> Bool { tickSize.units > 0 && price.units % tickSize.units == 0 }
    /// True when `qty` is a whole number of steps.
    @inlinable public func isOnQuantityGrid(_ qty: Quantity) -> Bool { qtyStep.units > 0 && qty.units % qtyStep.units == 0 }
}

/// One tradable symbol: its name, storage scale and (when known) its trading rules.
public struct Instrument: Hashable, Sendable {
    public var id: SymbolID
    public var symbol: String
    public var scale: SymbolScale
    /// `nil` until an instruments-info snapshot for the symbol has been seen.
    public var rules: InstrumentRules?

    public init(id: SymbolID, symbol: String, scale: SymbolScale, rules: InstrumentRules? = nil) {
        self.id = id
        self.symbol = symbol
        self.scale = scale
        self.rules = rules
    }

    /// Exact `price × qty` in USDT (linear contracts: quantity in base coin, price in USDT), rounded half to even.
    @inlinable
    public func notional(price: Price, qty: Quantity) -> USDT? {
        FixedDecimal.rescaleWide(Int128(price.units) * Int128(qty.units),
                                 from: scale.priceDigits + scale.qtyDigits, to: USDT.digits).map(USDT.init(units:))
    }

    /// `value / qty` as a price (an average fill or entry price), rounded half to even; nil for a non-positive
    /// quantity, a negative value, or overflow.
    public func averagePrice(value: USDT, qty: Quantity) -> Price? {
        guard qty.units > 0, value.units >= 0,
              let scaled = FixedDecimal.rescaleWide(value.units, from: USDT.digits, to: scale.priceDigits + scale.qtyDigits),
              let units = Int64(exactly: FixedDecimal.divideRoundingHalfEven(scaled, Int128(qty.units)))
        else { return nil }
        return Price(units: units)
    }

    /// Parses a price given as text at this symbol's scale.
    public func price(_ text: String) throws(DecimalParseError) -> Price {
        Price(units: try FixedDecimal.parse(text, digits: scale.priceDigits))
    }

    /// Parses a quantity given as text at this symbol's scale.
    public func quantity(_ text: String) throws(DecimalParseError) -> Quantity {
        Quantity(units: try FixedDecimal.parse(text, digits: scale.qtyDigits))
    }

    /// Prints a price with Bybit's decimals when the rules are known, else trimmed.
    public func format(_ price: Price) -> String {
        FixedDecimal.format(price.units, digits: scale.priceDigits,
                            minimumFractionDigits: min(rules?.priceDecimals ?? 0, scale.priceDigits))
    }

    /// Prints a quantity with the step's decimals when the rules are known, else trimmed.
    public func format(_ qty: Quantity) -> String {
        FixedDecimal.format(qty.units, digits: scale.qtyDigits,
                            minimumFractionDigits: min(rules?.qtyDecimals ?? 0, scale.qtyDigits))
    }
}

/// The symbols a process knows, with dense ids. Unknown symbols met in data are added with the default scale.
public struct InstrumentTable: Sendable {
    public private(set) var instruments: [Instrument] = []
    private var bySymbol: [String: SymbolID] = [:]
    /// Scale used for a symbol that was not configured explicitly.
    public var defaultScale: SymbolScale
    /// Per-symbol scale overrides (set before the symbol is first met).
    public var scaleOverrides: [String: SymbolScale]

    public init(defaultScale: SymbolScale = .standard, scaleOverrides: [String: SymbolScale] = [:]) {
        self.defaultScale = defaultScale
        self.scaleOverrides = scaleOverrides
    }

    /// The id of `symbol`, registering it on first use.
    public mutating func id(for symbol: String) -> SymbolID {
        if let id = bySymbol[symbol] { return id }
        let id = SymbolID(index: UInt32(instruments.count))
        instruments.append(Instrument(id: id, symbol: symbol, scale: scaleOverrides[symbol] ?? defaultScale))
        bySymbol[symbol] = id
        return id
    }

    /// The id of `symbol` if it is known.
    public func lookup(_ symbol: String) -> SymbolID? { bySymbol[symbol] }

    /// The instrument with `id`.
    @inlinable public subscript(id: SymbolID) -> Instrument { instruments[Int(id.index)] }

    /// Installs trading rules for a symbol (from an instruments-info snapshot), registering it if needed.
    public mutating func setRules(_ rules: InstrumentRules, for symbol: String) {
        let id = id(for: symbol)
        instruments[Int(id.index)].rules = rules
    }
}
