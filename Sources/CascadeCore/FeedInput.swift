/// One stream of market data of one symbol (a venue topic, named venue-neutrally).
public enum FeedStream: Hashable, Sendable, CustomStringConvertible {
    case book(SymbolID, depth: Int)
    case trades(SymbolID)
    case ticker(SymbolID)
    case liquidations(SymbolID)
    case klines(SymbolID, interval: String)

    /// The symbol the stream is about.
    public var symbol: SymbolID {
        switch self {
        case let .book(s, _), let .trades(s), let .ticker(s), let .liquidations(s), let .klines(s, _): s
        }
    }

    public var description: String {
        switch self {
        case let .book(s, depth): "book(\(s.index), \(depth))"
        case let .trades(s): "trades(\(s.index))"
        case let .ticker(s): "ticker(\(s.index))"
        case let .liquidations(s): "liquidations(\(s.index))"
        case let .klines(s, interval): "klines(\(s.index), \(interval))"
        }
    }
}

/// A session boundary of a recorded or live feed.
public enum SessionBoundary: Hashable, Sendable {
    /// The connection carrying the streams went down: nothing of them is known from here.
    case disconnect
    /// A connection (re)opened: its streams restart; books need a new snapshot.
    case connect
    /// A stream was resubscribed to get a fresh snapshot.
    case resync
}

/// What one received frame means for the state of a feed: a market event, a frame that was lost, or a session
/// boundary. Venue adapters turn frames into these; ``MarketData`` keeps the state.
public enum FeedInput: Sendable {
    case event(MarketEvent)
    /// A frame of `stream` (nil: of an unknown stream) that could not be decoded: that stream missed a message.
    case lost(FeedStream?, reason: String)
    /// A session boundary for `streams` (nil: every stream).
    case session(SessionBoundary, streams: [FeedStream]?, at: LocalTime)
}
