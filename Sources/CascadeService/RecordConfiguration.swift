import BybitV5
public import Recording

/// What `cascade record` subscribes to and how it writes.
public struct RecordConfiguration: Sendable {
    public var symbols: [String] = ["BTCUSDT", "ETHUSDT", "ICPUSDT"]
    /// Book depths per symbol (Bybit linear: 1, 50, 200, 1000).
    public var depths: [Int] = [50, 200]
    public var trades = true
    public var liquidations = true
    public var tickers = true
    public var endpoint = "wss://stream.bybit.com/v5/public/linear"
    public var rest = "https://api.bybit.com"
    public var outputDirectory: String
    public var filePrefix = "bybit"
    /// Written into every manifest's `createdBy`.
    public var createdBy = "cascade record"
    public var rotation = RotationPolicy()
    public var flush = FlushPolicy()
    /// REST polls recorded as `_cascade.rest` (open interest is not on the public stream at this resolution).
    public var openInterestInterval: Duration = .seconds(300)
    public var fundingHistoryInterval: Duration = .seconds(3_600)
    /// Instruments-info refresh (also written at the start of every file).
    public var instrumentsInterval: Duration = .seconds(3_600)
    /// A poll that failed or was answered with an error is asked again after this (or its period, if shorter).
    public var pollRetryInterval: Duration = .seconds(10)
    /// `/v5/market/time` samples recorded as `_cascade.clock`.
    public var clockInterval: Duration = .seconds(60)
    /// One-line health summary period.
    public var healthInterval: Duration = .seconds(60)
    /// After a full disk, how often writing is retried.
    public var diskRetryInterval: Duration = .seconds(30)

    public init(outputDirectory: String) {
        self.outputDirectory = outputDirectory
    }

    /// Topics per connection: whole symbols (a symbol's `allLiquidation` shares its book's connection) packed
    /// so each connection's `args` stay under Bybit's 21,000 characters per public connection.
    public var connections: [[String]] {
        BybitStreamRequest.batches(ofGroups: symbols.map(topics(of:)))
    }

    func topics(of s: String) -> [String] {
        var t = depths.map { "orderbook.\($0).\(s)" }
        if trades { t.append("publicTrade.\(s)") }
        if liquidations { t.append("allLiquidation.\(s)") }
        if tickers { t.append("tickers.\(s)") }
        return t
    }

    /// Every topic, grouped per symbol so each symbol's `allLiquidation` shares a connection with its book.
    public var topics: [String] { symbols.flatMap(topics(of:)) }
}
