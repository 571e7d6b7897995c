public import CascadeCore

/// The state of a market-data feed in one place: books per (symbol, depth), tickers per symbol, and whether each
/// stream can be trusted.
///
/// `cascade replay`'s auditor, the recorder's book monitor and the simulator's replay all feed it the same inputs
/// (decoded events, lost frames, session boundaries) and read the same conclusions:
/// - A book is trusted from a snapshot until an integrity check fails (update-id regression or gap by policy,
///   crossed book), one of its frames is lost, or its session restarts; then it waits for its next snapshot.
/// - A trades stream is interrupted from its connection's disconnect to the next connect: prints in between are
///   unknown, so resting orders cannot be judged against them. A lost trades frame interrupts it until the symbol's
///   next book message (of any depth, applied cleanly): the print is gone for good, but a book stamped after it
///   shows what it left, and queues restart from that book.
/// - A ticker that lost a frame or its session is incomplete until its next snapshot.
///
/// Every book is applied in place (no copy out of a dictionary per message).
public struct FeedState: Sendable {
    /// Update-id policy of books (see ``UpdateIDPolicy``), optionally per depth.
    public struct Configuration: Sendable {
        public var updateIDPolicy: UpdateIDPolicy = .monotonic
        public var updateIDPolicyByDepth: [Int: UpdateIDPolicy] = [:]
        public init() {}
    }

    /// What an input changed about trust (empty arrays in the common case: nothing allocated).
    public struct Change: Equatable, Sendable {
        /// Streams that can no longer be trusted until they recover.
        public var interrupted: [FeedStream] = []
        /// Streams trusted again (a book's new snapshot; trades after a reconnect).
        public var recovered: [FeedStream] = []
        /// Why the streams were interrupted.
        public var reason: String?
        /// Nothing about trust changed.
        public static let steady = Change()
        public init(interrupted: [FeedStream] = [], recovered: [FeedStream] = [], reason: String? = nil) {
            self.interrupted = interrupted
            self.recovered = recovered
            self.reason = reason
        }
        public var isSteady: Bool { interrupted.isEmpty && recovered.isEmpty }
    }

    /// Counters of what went wrong.
    public struct Counters: Equatable, Sendable {
        public var lostFrames = 0
        /// Lost frames whose stream could not be told.
        public var lostFramesOfUnknownStream = 0
        public var sessionRestarts = 0
        public var bookInvalidations = 0
        public init() {}
    }

    public let configuration: Configuration
    /// Books in the order first met.
    public private(set) var books: [OrderBook] = []
    private var bookIndex: [BookKey: Int] = [:]
    public private(set) var tickers: [SymbolID: TickerState] = [:]
    /// Symbols whose trades stream is between a disconnect and the next connect.
    public private(set) var interruptedTrades: Set<SymbolID> = []
    /// Symbols that lost a trades frame and wait for their next book message.
    public private(set) var tradesAwaitingBook: Set<SymbolID> = []
    /// Symbols whose trades were met (a session boundary without a topic list restarts them all).
    private var tradeSymbols: Set<SymbolID> = []
    public private(set) var counters = Counters()

    struct BookKey: Hashable {
        var symbol: SymbolID
        var depth: Int
    }

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// The book of `symbol` at `depth`, if one was met.
    public func book(_ symbol: SymbolID, depth: Int) -> OrderBook? {
        bookIndex[BookKey(symbol: symbol, depth: depth)].map { books[$0] }
    }

    /// The deepest book met for `symbol` (`syncedOnly`: among those in sync now).
    public func deepestBook(_ symbol: SymbolID, syncedOnly: Bool = false) -> OrderBook? {
        deepestBookIndex(symbol, syncedOnly: syncedOnly).map { books[$0] }
    }

    /// The index in ``books`` of `symbol`'s deepest book, to read it in place (``deepestBook(_:syncedOnly:)`` copies
    /// the book, retaining each of its buffers).
    public func deepestBookIndex(_ symbol: SymbolID, syncedOnly: Bool = false) -> Int? {
        // A loop, not filter+max: the feature engine asks on every book message.
        var best: Int?
        for i in books.indices where books[i].symbol == symbol && (!syncedOnly || books[i].isSynced) {
            if best.map({ books[i].depth > books[$0].depth }) ?? true { best = i }
        }
        return best
    }

    /// True when `symbol`'s book at `depth` is synced and its trades stream is not interrupted: what matching needs.
    public func isTrusted(_ symbol: SymbolID, depth: Int) -> Bool {
        bookIndex[BookKey(symbol: symbol, depth: depth)].map(isTrusted(bookAt:)) ?? false
    }

    /// ``isTrusted(_:depth:)`` of the book at `index` of ``books`` (a caller that holds the index skips the lookup by key).
    public func isTrusted(bookAt index: Int) -> Bool {
        let symbol = books[index].symbol
        return books[index].isSynced && !interruptedTrades.contains(symbol) && !tradesAwaitingBook.contains(symbol)
    }

    /// Applies one input.
    @discardableResult
    public mutating func apply(_ input: FeedInput) -> Change {
        switch input {
        case let .event(event): apply(event)
        case let .lost(stream, reason): lost(stream, reason: reason)
        case let .session(boundary, streams, _): session(boundary, streams: streams)
        }
    }

    /// Applies one market event.
    @discardableResult
    public mutating func apply(_ event: MarketEvent) -> Change {
        switch event {
        case let .book(update):
            let key = BookKey(symbol: update.symbol, depth: update.depth)
            let index: Int
            if let known = bookIndex[key] {
                index = known
            } else {
                let policy = configuration.updateIDPolicyByDepth[update.depth] ?? configuration.updateIDPolicy
                books.append(OrderBook(symbol: update.symbol, depth: update.depth, policy: policy))
                index = books.count - 1
                bookIndex[key] = index
            }
            let wasSynced = books[index].isSynced
            var change = Change.steady
            switch books[index].apply(update) {
            case let .invalidated(error):
                counters.bookInvalidations += 1
                return Change(interrupted: [.book(update.symbol, depth: update.depth)], reason: "book integrity: \(error)")
            case .replaced where !wasSynced && books[index].isSynced:
                change.recovered.append(.book(update.symbol, depth: update.depth))
            default:
                break
            }
            if !tradesAwaitingBook.isEmpty, books[index].isSynced, tradesAwaitingBook.remove(update.symbol) != nil {
                change.recovered.append(.trades(update.symbol))
            }
            return change
        case let .ticker(update):
            tickers[update.symbol, default: TickerState(symbol: update.symbol)].apply(update)
            return .steady
        case let .trades(list):
            if let symbol = list.first?.symbol, !tradeSymbols.contains(symbol) { tradeSymbols.insert(symbol) }
            return .steady
        case .liquidations, .klines:
            return .steady
        }
    }

    private mutating func lost(_ stream: FeedStream?, reason: String) -> Change {
        counters.lostFrames += 1
        guard let stream else {
            counters.lostFramesOfUnknownStream += 1
            return .steady
        }
        switch stream {
        case let .book(symbol, depth):
            guard let index = bookIndex[BookKey(symbol: symbol, depth: depth)] else { return .steady }
            // A book already waiting for its snapshot has nothing more to lose.
            guard books[index].isSynced else { return .steady }
            _ = books[index].invalidate(.frameLost)
            counters.bookInvalidations += 1
            return Change(interrupted: [stream], reason: "lost book frame: \(reason)")
        case let .ticker(symbol):
            tickers[symbol]?.markIncomplete()
            return .steady
        case let .trades(symbol):
            // A lost print cannot be fetched again: the stream is interrupted until a book shows what it left.
            guard !interruptedTrades.contains(symbol), tradesAwaitingBook.insert(symbol).inserted else { return .steady }
            return Change(interrupted: [stream], reason: "lost trades frame: \(reason)")
        case .liquidations, .klines:
            // Counted, and reported by whoever consumes it.
            return Change(interrupted: [stream], reason: "lost frame: \(reason)")
        }
    }

    private mutating func session(_ boundary: SessionBoundary, streams: [FeedStream]?) -> Change {
        counters.sessionRestarts += 1
        let books: [FeedStream] = streams?.filter { if case .book = $0 { true } else { false } }
            ?? self.books.map { .book($0.symbol, depth: $0.depth) }
        let trades: [SymbolID] = streams?.compactMap { if case let .trades(s) = $0 { s } else { nil } }
            ?? tradeSymbols.sorted()
        let tickerSymbols: [SymbolID] = streams?.compactMap { if case let .ticker(s) = $0 { s } else { nil } } ?? Array(tickers.keys)
        // Every boundary restarts the named books: the next message must be a snapshot, and deltas before it are
        // ignored and counted, not reported as update-id anomalies.
        var interrupted: [FeedStream] = []
        for case let .book(symbol, depth) in books {
            guard let index = bookIndex[BookKey(symbol: symbol, depth: depth)] else { continue }
            if self.books[index].isSynced { interrupted.append(.book(symbol, depth: depth)) }
            self.books[index].awaitSnapshot()
        }
        for symbol in tickerSymbols { tickers[symbol]?.markIncomplete() }
        switch boundary {
        case .disconnect:
            for symbol in trades where interruptedTrades.insert(symbol).inserted {
                // Already interrupted by a lost frame: now until the connect.
                if tradesAwaitingBook.remove(symbol) == nil { interrupted.append(.trades(symbol)) }
            }
            return Change(interrupted: interrupted, reason: interrupted.isEmpty ? nil : "session disconnect")
        case .connect:
            let back = trades.filter { interruptedTrades.remove($0) != nil }.map { FeedStream.trades($0) }
            return Change(interrupted: interrupted, recovered: back, reason: interrupted.isEmpty ? nil : "session restart")
        case .resync:
            return Change(interrupted: interrupted, reason: interrupted.isEmpty ? nil : "book resync")
        }
    }
}
