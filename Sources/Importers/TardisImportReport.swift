/// What a Tardis import read, wrote, skipped and refused: everything a user needs to decide whether to
/// trust the recording. Nothing is dropped without being counted here.
public struct TardisImportReport: Sendable, Equatable {
    /// Counters of one input file.
    public struct InputStats: Sendable, Equatable {
        /// The data type (`incremental_book_L2`, `trades`, `liquidations`, `derivative_ticker`).
        public var role: String
        /// The file as named by the user.
        public var file: String
        /// Data rows read (header and blank lines excluded), of every symbol.
        public var rows = 0
        /// Rows of other symbols (grouped files such as `PERPETUALS`), left out.
        public var rowsOfOtherSymbols = 0
        /// Rows of the symbol that could not be used (see ``TardisImportReport/malformedSamples``).
        public var malformedRows = 0
        /// Empty lines (carry nothing).
        public var blankLines = 0
        /// SHA-256 of the file's bytes as read.
        public var sha256 = ""
        /// Size of the file in bytes.
        public var bytes: Int64 = 0

        /// Creates zeroed counters for one file.
        public init(role: String, file: String) {
            self.role = role
            self.file = file
        }
    }

    /// `incremental_book_L2` → `orderbook.50.{symbol}` (`orderbook.25.{symbol}` before 2023-04-05).
    public struct BookStats: Sendable, Equatable {
        /// Rows before the first `is_snapshot=true` row (Tardis: buffered updates to skip).
        public var rowsBeforeFirstSnapshot = 0
        /// Rows left out because the book waited for a new snapshot after a malformed row or a change of depth.
        public var rowsSkippedAwaitingSnapshot = 0
        /// `snapshot` messages written (the first one and every restart).
        public var snapshots = 0
        /// Snapshots after the first: a new run of snapshot rows (Tardis: connection restart or new day).
        public var restarts = 0
        /// Snapshot runs spanning several receive times: the later parts are written as `delta` messages,
        /// which leaves the same book as applying the whole run at once, at the right receive times.
        public var snapshotContinuations = 0
        /// `delta` messages written (continuations included).
        public var deltas = 0
        /// Level entries written.
        public var levels = 0
        /// `amount` 0 rows inside the first part of a snapshot run: nothing to delete in a fresh book.
        public var zeroLevelsInSnapshots = 0
        /// `_cascade.session` resync frames written after a malformed book row (the book is stale from there).
        public var resyncs = 0
        /// Rows dropped with a malformed row of the same message.
        public var rowsDroppedWithMalformedMessage = 0
        /// Changes from `orderbook.25` to `orderbook.50` (a file spanning 2023-04-05): each ends the 25-level
        /// book with a `_cascade.session` resync and starts the 50-level one at the next snapshot run.
        public var depthChanges = 0
        /// Creates zeroed counters.
        public init() {}
    }

    /// `trades` → `publicTrade.{symbol}`.
    public struct TradeStats: Sendable, Equatable {
        /// `publicTrade` messages written.
        public var messages = 0
        /// Trades written.
        public var trades = 0
        /// Trades whose taker bought (`S=Buy`).
        public var takerBuys = 0
        /// Trades whose taker sold (`S=Sell`).
        public var takerSells = 0
        /// Rows with side `unknown`: Bybit's `S` cannot say "unknown", so they are left out.
        public var rowsWithUnknownSide = 0
        /// Trades whose `id` cell was empty (written as `"i":""`).
        public var tradesWithoutID = 0
        /// Creates zeroed counters.
        public init() {}
    }

    /// `liquidations` → `allLiquidation.{symbol}` (`liquidation.{symbol}` before 2025-02-26).
    public struct LiquidationStats: Sendable, Equatable {
        /// `allLiquidation` and `liquidation` messages written.
        public var messages = 0
        /// Liquidations written.
        public var events = 0
        /// Liquidations written under the throttled `liquidation.{symbol}` topic (one per message).
        public var throttledEvents = 0
        /// Tardis side `sell` (the engine sold): Bybit `S=Buy`.
        public var longsLiquidated = 0
        /// Tardis side `buy`: Bybit `S=Sell`.
        public var shortsLiquidated = 0
        /// Rows with a side other than `buy`/`sell`, left out.
        public var rowsWithUnknownSide = 0
        /// Creates zeroed counters.
        public init() {}
    }

    /// `derivative_ticker` → `tickers.{symbol}`.
    public struct TickerStats: Sendable, Equatable {
        /// `snapshot` messages written (one).
        public var snapshots = 0
        /// `delta` messages written.
        public var deltas = 0
        /// Rows that changed no field (Bybit sends nothing then).
        public var unchangedRows = 0
        /// Rows before the first one with any value.
        public var rowsWithoutValues = 0
        /// Rows with a `predicted_funding_rate`: Bybit's ticker has no such field, so it is not carried.
        public var rowsWithPredictedFundingRate = 0
        /// Creates zeroed counters.
        public init() {}
    }

    /// One entry per input file, in the order book, trades, liquidations, ticker.
    public var inputs: [InputStats] = []
    /// What the order-book input gave.
    public var book = BookStats()
    /// What the trades input gave.
    public var trades = TradeStats()
    /// What the liquidations input gave.
    public var liquidations = LiquidationStats()
    /// What the ticker input gave.
    public var ticker = TickerStats()
    /// Frames written per topic.
    public var framesPerTopic: [String: Int] = [:]
    /// Malformed rows over all files.
    public var malformedRows = 0
    /// The first malformed rows as `file:line: problem`.
    public var malformedSamples: [String] = []
    /// What the user should know about the source of these rows: the notes of the manifests' provenance, one
    /// per topic written that has one (e.g. `liquidation.{symbol}` is Bybit's throttled sample).
    public var warnings: [String] = []
    /// Prices not on the instrument's tick grid (only counted with `--instruments`).
    public var offGridPrices = 0
    /// Non-zero sizes not on the instrument's quantity grid (only counted with `--instruments`).
    public var offGridQuantities = 0

    /// Creates an empty report.
    public init() {}

    /// Frames written over all topics.
    public var frames: Int { framesPerTopic.values.reduce(0, +) }
}
