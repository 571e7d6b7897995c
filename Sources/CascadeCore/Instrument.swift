/// A dense per-process index of a symbol, assigned by ``InstrumentTable`` (cheap to hash and to store).
public struct SymbolID: Hashable, Comparable, Sendable, Codable {
    public var index: UInt32
    @inlinable public init(index: UInt32) { self.index = index }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.index < b.index }
}

/// Trading rules of an instrument, as published by `/v5/market/instruments-info` at a moment in time.
///
/// Never constants in code: they come from a recorded `_cascade.instruments` snapshot or a file the user names.
public struct InstrumentRules: Hashable, Sendable, Codable {
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
    /// `leverageFilter.minLeverage` and `leverageStep`, when the snapshot carried them.
    public var minLeverage: Rate?
    public var leverageStep: Rate?
    /// `priceFilter.minPrice`/`maxPrice`: an order price outside them is refused (Bybit 110003).
    public var minPrice: Price?
    public var maxPrice: Price?

    public init(tickSize: Price, qtyStep: Quantity, minOrderQty: Quantity, maxOrderQty: Quantity,
                maxMarketOrderQty: Quantity, minNotional: USDT, priceDecimals: Int, qtyDecimals: Int,
                status: String, fundingIntervalMinutes: Int?, settleCoin: String, maxLeverage: Rate? = nil,
                minLeverage: Rate? = nil, leverageStep: Rate? = nil, minPrice: Price? = nil, maxPrice: Price? = nil) {
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
        self.minLeverage = minLeverage
        self.leverageStep = leverageStep
        self.minPrice = minPrice
        self.maxPrice = maxPrice
    }

    /// True when `price` lies within `minPrice`…`maxPrice` (a bound the snapshot lacked does not refuse).
    @inlinable public func isWithinPriceLimits(_ price: Price) -> Bool {
        (minPrice.map { price >= $0 } ?? true) && (maxPrice.map { price <= $0 } ?? true)
    }

    /// True when `price` is a whole number of ticks.
    @inlinable public func isOnPriceGrid(_ price: Price) -> Bool { tickSize.units > 0 && price.units % tickSize.units == 0 }
    /// True when `qty` is a whole number of steps.
    @inlinable public func isOnQuantityGrid(_ qty: Quantity) -> Bool { qtyStep.units > 0 && qty.units % qtyStep.units == 0 }
}

/// One tradable symbol: its name and (when known) its trading rules. Prices and quantities of every symbol are
/// at Cascade's one fixed precision (``Price/digits``, ``Quantity/digits``).
public struct Instrument: Hashable, Sendable {
    public var id: SymbolID
    public var symbol: String
    /// `nil` until an instruments-info snapshot for the symbol has been seen.
    public var rules: InstrumentRules?

    public init(id: SymbolID, symbol: String, rules: InstrumentRules? = nil) {
        self.id = id
        self.symbol = symbol
        self.rules = rules
    }

    /// Exact `price × qty` in USDT (linear contracts: quantity in base coin, price in USDT), rounded half to even.
    @inlinable
    public func notional(price: Price, qty: Quantity) -> USDT? { Self.notional(price: price, qty: qty) }

    /// ``notional(price:qty:)``, which reads no field of the instrument (callers in hot loops need no copy of one).
    @inlinable
    public static func notional(price: Price, qty: Quantity) -> USDT? {
        FixedDecimal.rescaleWide(Int128(price.units) * Int128(qty.units),
                                 from: Price.digits + Quantity.digits, to: USDT.digits).map(USDT.init(units:))
    }

    /// `value / qty` as a price (an average fill or entry price), rounded half to even; nil for a non-positive
    /// quantity, a negative value, or overflow.
    public func averagePrice(value: USDT, qty: Quantity) -> Price? {
        guard qty.units > 0, value.units >= 0,
              let scaled = FixedDecimal.rescaleWide(value.units, from: USDT.digits, to: Price.digits + Quantity.digits),
              let units = Int64(exactly: FixedDecimal.divideRoundingHalfEven(scaled, Int128(qty.units)))
        else { return nil }
        return Price(units: units)
    }

    /// Parses a price given as text.
    public func price(_ text: String) throws(DecimalParseError) -> Price {
        Price(units: try FixedDecimal.parse(text, digits: Price.digits))
    }

    /// Parses a quantity given as text.
    public func quantity(_ text: String) throws(DecimalParseError) -> Quantity {
        Quantity(units: try FixedDecimal.parse(text, digits: Quantity.digits))
    }

    /// Prints a price with Bybit's decimals when the rules are known, else trimmed.
    public func format(_ price: Price) -> String {
        FixedDecimal.format(price.units, digits: Price.digits,
                            minimumFractionDigits: min(rules?.priceDecimals ?? 0, Price.digits))
    }

    /// Prints a quantity with the step's decimals when the rules are known, else trimmed.
    public func format(_ qty: Quantity) -> String {
        FixedDecimal.format(qty.units, digits: Quantity.digits,
                            minimumFractionDigits: min(rules?.qtyDecimals ?? 0, Quantity.digits))
    }
}

/// The symbols a process knows, with dense ids. Unknown symbols met in data are added on first use.
public struct InstrumentTable: Sendable {
    public private(set) var instruments: [Instrument] = []
    private var bySymbol: [String: SymbolID] = [:]

    public init() {}

    /// The id of `symbol`, registering it on first use.
    public mutating func id(for symbol: String) -> SymbolID {
        if let id = bySymbol[symbol] { return id }
        let id = SymbolID(index: UInt32(instruments.count))
        instruments.append(Instrument(id: id, symbol: symbol))
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
