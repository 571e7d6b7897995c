/// The Tardis.dev "Downloadable CSV files" data types the importer reads, with the exact header
/// each file must start with (docs.tardis.dev, Downloadable CSV files → Data types).
public enum TardisDataType: String, Sendable, CaseIterable, Hashable {
    /// Tick-level L2 updates: one row per price level, rows of one exchange message share `local_timestamp`.
    case incrementalBookL2 = "incremental_book_L2"
    /// Tick-by-tick trades (taker side).
    case trades
    /// Liquidations; `side` is the side of the liquidation order.
    case liquidations
    /// Funding, open interest, last, index and mark prices.
    case derivativeTicker = "derivative_ticker"

    /// The header line's columns, in order.
    public var columns: [String] {
        switch self {
        case .incrementalBookL2:
            ["exchange", "symbol", "timestamp", "local_timestamp", "is_snapshot", "side", "price", "amount"]
        case .trades, .liquidations:
            ["exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount"]
        case .derivativeTicker:
            ["exchange", "symbol", "timestamp", "local_timestamp", "funding_timestamp", "funding_rate",
             "predicted_funding_rate", "open_interest", "last_price", "index_price", "mark_price"]
        }
    }

    /// The header line as it appears in the file.
    public var header: String { columns.joined(separator: ",") }

    /// Tie order when rows of different inputs share a receive time: book, trades, liquidations, ticker
    /// (the order of the command's options). Deterministic, so an import is reproducible byte for byte.
    var mergeRank: Int {
        switch self {
        case .incrementalBookL2: 0
        case .trades: 1
        case .liquidations: 2
        case .derivativeTicker: 3
        }
    }
}
