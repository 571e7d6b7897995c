public import CascadeCore

/// Parameters of the feature engine. Every one that changes a feature's meaning is part of the schema hash.
public struct FeatureConfiguration: Sendable, Codable, Hashable {
    /// Completed, fully observed minutes the per-symbol baselines need before ratio features are warm.
    public var baselineWarmupMinutes = 60
    /// Minutes the baselines span (24 h).
    public var baselineMinutes = 1_440
    /// A trade is a large print when its notional is at least this share (per mille) of the baseline minute.
    public var largePrintPermille = 50
    /// Liquidation sizes are ranked against this many days of the symbol's liquidations.
    public var liquidationRankDays = 7
    /// Liquidations needed before a size percentile is warm.
    public var liquidationRankMinimum = 100
    /// A symbol with market streams (book, trades, ticker) that sent nothing at all for longer was not being
    /// recorded: its trades and ticker minutes there are missing and their windows restart. Liquidation streams use
    /// the detector's `maxSilenceNanoseconds`.
    public var maxStreamSilenceNanoseconds: Int64 = 60_000_000_000
    /// Symbol whose liquidation notional is a feature of every symbol.
    public var referenceSymbol = "BTCUSDT"
    /// True for live books (they contain our resting orders, which book features then subtract); false for
    /// replayed books, which never contained them. The same book plus the same own orders give the same features.
    public var booksIncludeOwnOrders = false
    /// The cascade detector's rule.
    public var detector = DetectorRule()

    public init() {}
}

/// One of our resting orders, as the book features must not count it.
public struct OwnOrder: Sendable, Hashable {
    public var side: BookSide
    public var price: Price
    public var qty: Quantity
    public init(side: BookSide, price: Price, qty: Quantity) {
        self.side = side
        self.price = price
        self.qty = qty
    }
}
