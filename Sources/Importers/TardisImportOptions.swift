/// One input of an import: a file the user named, or bytes in memory (tests, tools).
public struct TardisInput: Sendable, Hashable {
    enum Storage: Sendable, Hashable {
        case file(path: String)
        case memory([UInt8])
    }

    let storage: Storage
    /// The name used in errors, reports and the manifest (a path, or the name given to bytes).
    public let name: String

    /// A file on disk, plain or gzip (detected from its first bytes).
    public static func file(_ path: String) -> TardisInput { TardisInput(storage: .file(path: path), name: path) }

    /// Bytes in memory, plain or gzip, reported under `name`.
    public static func memory(name: String, bytes: [UInt8]) -> TardisInput { TardisInput(storage: .memory(bytes), name: name) }

    /// The name without directories (what the manifest records).
    var fileName: String { name.split(separator: "/").last.map(String.init) ?? name }
}

/// What to import: one symbol, one file per Tardis data type (each optional, at least one), and the
/// instrument rules when the user has them.
public struct TardisImportOptions: Sendable {
    /// The Bybit symbol, e.g. `BTCUSDT` (Tardis writes symbols upper-case, as the exchange does).
    public var symbol: String
    /// `incremental_book_L2` file.
    public var book: TardisInput?
    /// `trades` file.
    public var trades: TardisInput?
    /// `liquidations` file (a per-symbol or grouped `PERPETUALS` file: other symbols are left out).
    public var liquidations: TardisInput?
    /// `derivative_ticker` file.
    public var ticker: TardisInput?
    /// A Bybit `/v5/market/instruments-info` document listing the symbol: prices and sizes are then printed
    /// with Bybit's decimals, off-grid values are counted, and every output file starts with the document
    /// as a `_cascade.instruments` frame. Without it no tick size is assumed.
    public var instruments: TardisInput?
    /// Malformed rows allowed before the import stops (nil: no limit; they are always counted).
    public var maxMalformedRows: Int?

    /// Creates options for `symbol`; set the inputs afterwards.
    public init(symbol: String, book: TardisInput? = nil, trades: TardisInput? = nil, liquidations: TardisInput? = nil,
                ticker: TardisInput? = nil, instruments: TardisInput? = nil, maxMalformedRows: Int? = nil) {
        self.symbol = symbol
        self.book = book
        self.trades = trades
        self.liquidations = liquidations
        self.ticker = ticker
        self.instruments = instruments
        self.maxMalformedRows = maxMalformedRows
    }
}
