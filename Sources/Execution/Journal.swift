public import CascadeCore

/// One line of the decision log: every decision, including the decision not to trade, with its reason code.
public struct DecisionLogEntry: Sendable, Hashable, Codable {
    public var time: ExchangeTime
    public var symbol: String
    /// The detector's episode id (stable across restarts), when the decision is about one.
    public var episode: String?
    /// What was decided: `enter`, `skip`, `skipLayer`, `takeProfit`, `reprotect`, `flatten`, `cancelEntries`,
    /// `timeExit`, `halt`, `reduce`, `resume`, `alarm`.
    public var action: String
    /// Why, as a stable code (`riskDenied.positionPerSymbol`, `breaker.bookStale`, `entryTTL`, …).
    public var reason: String
    /// Human detail (prices, limits).
    public var detail: String

    public init(time: ExchangeTime, symbol: String, episode: String?, action: String, reason: String, detail: String = "") {
        self.time = time
        self.symbol = symbol
        self.episode = episode
        self.action = action
        self.reason = reason
        self.detail = detail
    }
}

/// A new order the engine commits to before sending it.
public struct OrderIntent: Sendable, Hashable, Codable {
    /// What the order is, shared with its tracked record (``ManagedOrder``): applying the intent copies a reference.
    let identity: OrderIdentity
    /// `id` as sent; constant, so the journal and the live engine can never disagree about it.
    public var linkID: String { identity.clientID.rawValue }
    // An intent's identity always has its symbol and ladder (both initialisers set them).
    public var symbol: String { identity.symbol! }
    public var spec: OrderSpec { identity.spec }
    public var ladder: UInt64 { identity.ladder! }
    /// `linkID` read back, and as a client id (kept so that applying an intent never parses or formats it again; not
    /// stored).
    public var id: OrderLinkID { identity.id }
    public var clientID: ClientOrderID { identity.clientID }

    public init(id: OrderLinkID, symbol: String, spec: OrderSpec, ladder: UInt64) {
        self.init(id: id, clientID: id.clientOrderID, symbol: symbol, spec: spec, ladder: ladder)
    }

    /// With `id`'s text already written (the engine formats it once per order).
    init(id: OrderLinkID, clientID: ClientOrderID, symbol: String, spec: OrderSpec, ladder: UInt64) {
        identity = OrderIdentity(id: id, clientID: clientID, spec: spec, symbol: symbol, ladder: ladder)
    }

    enum CodingKeys: String, CodingKey { case linkID, symbol, spec, ladder }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let linkID = try c.decode(String.self, forKey: .linkID)
        let symbol = try c.decode(String.self, forKey: .symbol)
        let spec = try c.decode(OrderSpec.self, forKey: .spec)
        let ladder = try c.decode(UInt64.self, forKey: .ladder)
        // The text as journaled is the client id (no second formatting of the parsed id).
        let id: OrderLinkID, clientID: ClientOrderID
        do {
            id = try OrderLinkID(parsing: linkID)
            clientID = try ClientOrderID(linkID)
        } catch {
            throw DecodingError.dataCorruptedError(forKey: .linkID, in: c, debugDescription: "not an orderLinkId of ours: \(linkID)")
        }
        identity = OrderIdentity(id: id, clientID: clientID, spec: spec, symbol: symbol, ladder: ladder)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(linkID, forKey: .linkID)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(spec, forKey: .spec)
        try c.encode(ladder, forKey: .ladder)
    }
}

/// A command to send, its symbol named (ids are per process; names survive restarts).
public struct JournaledCommand: Sendable, Hashable, Codable {
    public var symbol: String
    public var decidedAt: ExchangeTime
    public var action: VenueCommand.Action
}

/// One decision: the log lines, the orders it commits to, the commands it sends and the state it leaves. Applied
/// the same way when it is made and when the journal is replayed, so a restart rebuilds exactly the state it left.
public struct Decision: Sendable, Hashable, Codable {
    public var time: ExchangeTime
    public var log: [DecisionLogEntry] = []
    public var intents: [OrderIntent] = []
    public var commands: [JournaledCommand] = []
    /// Ladders after the decision (new or changed), whole.
    public var ladders: [Ladder] = []
    /// The risk state after the decision, when it changed.
    public var risk: RiskState?
    /// Trading rules of the symbols it trades, when the journal does not hold them yet (or they changed): a journal
    /// replays without the recording.
    public var instruments: [String: InstrumentRules] = [:]
    public var alarms: [String] = []

    public init(time: ExchangeTime) { self.time = time }
    public var isEmpty: Bool {
        // A pattern, not `risk == nil`, which copied the risk state to compare it (seen in perf).
        guard case .none = risk else { return false }
        return log.isEmpty && intents.isEmpty && commands.isEmpty && ladders.isEmpty && alarms.isEmpty && instruments.isEmpty
    }
}

/// What the venue answered to a command when it was sent (an answer on the call, before any stream report).
public enum CallResult: Sendable, Hashable, Codable {
    /// Accepted for processing (a submitted order's venue id, when the venue gives one).
    case sent(VenueOrderID?)
    /// Refused on the call.
    case refused(Rejection)
    /// No answer (transport failure): the order is *unknown* until the venue says.
    case transportError
}

/// The journal's unit: applied in order, entries rebuild the engine.
///
/// Indirect, every case: an entry is one pointer, and a copy of it (the step's, the journal's, the decision left
/// pending) shares one box instead of retaining each of a decision's lists or moving hundreds of bytes of a report.
/// The stored encoding does not depend on it (`OrderIntentCodingTests` pins it).
public indirect enum JournalEntry: Sendable, Hashable, Codable {
    /// A start of the engine: the run counter (every start takes a new one, so orderLinkIds never repeat).
    case started(run: UInt64, node: String, startingBalance: USDT, at: ExchangeTime)
    case decision(Decision)
    /// A venue report, with its symbol's name.
    case report(symbol: String?, ExecutionReport)
    /// The venue's answer on the call that sent a command (journaled when it reaches the engine).
    case call(symbol: String, action: VenueCommand.Action, result: CallResult, at: ExchangeTime)
}

/// Why the journal could not be written or read. The engine stops: nothing is sent without a committed entry.
public struct JournalError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Where decisions are committed before any command leaves. One call to ``commit(_:)`` is one transaction:
/// durable (for the SQLite journal) before it returns.
public protocol OrderJournal: AnyObject {
    func commit(_ entries: [JournalEntry]) throws(JournalError)
    /// Every entry, in commit order.
    func entries() throws(JournalError) -> [JournalEntry]
    /// The next run number (one more than the last `started` entry's, 1 for a new journal).
    func nextRun() throws(JournalError) -> UInt64
    /// Releases the storage once the node has stopped; a commit afterwards throws.
    func close() throws(JournalError)
}

/// The backtest's journal: entries kept in memory, in order. Same contract, no durability.
public final class InMemoryJournal: OrderJournal {
    public private(set) var stored: [JournalEntry] = []
    /// Transactions committed (one per ``commit(_:)``).
    public private(set) var transactions = 0
    private var closed = false
    public init() {}
    public func commit(_ entries: [JournalEntry]) throws(JournalError) {
        if closed { throw JournalError("in-memory journal: closed") }
        stored.append(contentsOf: entries)
        transactions += 1
    }
    /// Nothing to release; later commits throw, as the SQLite journal's do.
    public func close() throws(JournalError) { closed = true }
    public func entries() throws(JournalError) -> [JournalEntry] { stored }
    public func nextRun() throws(JournalError) -> UInt64 { Self.nextRun(after: stored) }

    /// One more than the highest run started in `entries`.
    public static func nextRun(after entries: [JournalEntry]) -> UInt64 {
        var last: UInt64 = 0
        for case let .started(run, _, _, _) in entries { last = max(last, run) }
        return last + 1
    }
}
