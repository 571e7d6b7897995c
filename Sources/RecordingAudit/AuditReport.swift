/// What `cascade replay` reports about one or more recordings: everything needed to trust them.
/// Every collection is ordered (by name or time) so two runs over the same files print the same bytes.
public struct AuditReport: Codable, Sendable, Equatable {
    public struct FileSummary: Codable, Sendable, Equatable {
        public var path: String
        public var frames: Int
        public var malformedLines: Int
        public var tornTail: Int
        public var corruptMembers: Int
        public init(path: String, frames: Int, malformedLines: Int, tornTail: Int, corruptMembers: Int) {
            self.path = path
            self.frames = frames
            self.malformedLines = malformedLines
            self.tornTail = tornTail
            self.corruptMembers = corruptMembers
        }
    }
    public struct TopicSummary: Codable, Sendable, Equatable {
        public var topic: String
        public var frames: Int
        public var levelUpdates: Int
        public var decodeErrors: Int
        public var firstLocal: String?
        public var lastLocal: String?
        /// Receive-time gaps longer than the threshold for this topic.
        public var gapsAboveThreshold: Int
        public var gapThresholdMs: Int64
        /// The largest gaps, largest first: start (UTC) and length.
        public var largestGaps: [Gap]
        /// Receive time − exchange `ts`, in ms (median, p5, p95): the recorder's clock offset plus latency.
        public var receiveMinusExchangeMs: OffsetSummary?
        /// True for event-driven topics (trades, liquidations): silence there is normal, not a feed fault.
        public var eventDriven: Bool
    }
    public struct Gap: Codable, Sendable, Equatable {
        public var start: String
        public var milliseconds: Int64
    }
    public struct OffsetSummary: Codable, Sendable, Equatable {
        public var median: Int64
        public var p5: Int64
        public var p95: Int64
        public var samples: Int
    }
    public struct BookSummary: Codable, Sendable, Equatable {
        public var topic: String
        public var synced: Bool
        public var state: String
        public var bestBid: [String]?
        public var bestAsk: [String]?
        public var levels: [Int]
        public var lastUpdateID: UInt64?
        public var lastSequence: UInt64?
        public var lastExchangeTime: String?
        public var snapshots: Int
        public var restartSnapshots: Int
        public var deltas: Int
        public var levelUpdates: Int
        public var resyncsRequested: Int
        public var updateIDJumps: Int
        public var updateIDRegressions: Int
        public var sequenceRegressions: Int
        public var crossedBooks: Int
        public var deletesOfMissingLevels: Int
        public var deltasIgnoredUntilSnapshot: Int
        public var overDepth: Int
    }
    public struct SymbolSummary: Codable, Sendable, Equatable {
        public var symbol: String
        public var trades: Int
        public var buyTakerTrades: Int
        public var sellTakerTrades: Int
        public var tradeVolume: String
        public var tradeNotionalUSDT: String
        public var liquidationsLongs: Int
        public var liquidationsShorts: Int
        public var liquidatedLongNotionalUSDT: String
        public var liquidatedShortNotionalUSDT: String
        public var offGridPrices: Int
        public var offGridQuantities: Int
        public var rulesKnown: Bool
        public var lastPrice: String?
        public var markPrice: String?
        public var fundingRate: String?
    }
    public struct SessionEvent: Codable, Sendable, Equatable {
        public var local: String
        public var event: String
    }

    public var files: [FileSummary] = []
    public var frames = 0
    public var levelUpdates = 0
    public var firstLocal: String?
    public var lastLocal: String?
    public var spanSeconds: Double = 0
    public var receiveTimeRegressions = 0
    public var decodeErrors: [String: Int] = [:]
    public var unknownTopics: [String: Int] = [:]
    public var controlFrames = 0
    public var topics: [TopicSummary] = []
    public var books: [BookSummary] = []
    public var symbols: [SymbolSummary] = []
    public var localFrames: [String: Int] = [:]
    public var sessionEvents: [SessionEvent] = []
    public var sessionEventsTotal = 0
    public var instrumentSnapshots = 0
    public var throughput: Throughput?

    public struct Throughput: Codable, Sendable, Equatable {
        public var seconds: Double
        public var framesPerSecond: Double
        public var levelUpdatesPerSecond: Double
        public var megabytesPerSecond: Double
    }

    public init() {}
}
