public import CascadeCore

/// What an order is for: one letter of its ``OrderLinkID``.
public enum OrderRole: Character, Sendable, Hashable, CaseIterable {
    /// A ladder layer (entry).
    case entry = "E"
    /// The reduce-only take-profit of a position.
    case takeProfit = "T"
    /// A reduce-only market exit at the time limit.
    case timeExit = "X"
    /// A re-protection or flattening order after protection could not be confirmed.
    case protect = "P"

    /// The character as its byte (``Character/asciiValue`` walks the character's grapheme for it).
    var byte: UInt8 {
        switch self {
        case .entry: UInt8(ascii: "E")
        case .takeProfit: UInt8(ascii: "T")
        case .timeExit: UInt8(ascii: "X")
        case .protect: UInt8(ascii: "P")
        }
    }
}

/// The `orderLinkId` of every order Cascade sends: unique across restarts and nodes, readable back, and within
/// Bybit's 36 characters of `[A-Za-z0-9_-]`.
///
/// Layout (version `c1`): `c1{node}_{run}_{episode}_{role}{layer}_{attempt}`, numbers in base 36 (digits, lower case):
/// - `node`: 1–4 letters or digits naming the process (configured; two nodes never share one);
/// - `run`: the journal's run counter, incremented and committed at every start (restarts never reuse one);
/// - `episode`: the run's episode sequence number; `role`: ``OrderRole``; `layer`: the ladder layer;
/// - `attempt`: the send attempt for this (episode, role, layer), incremented by the journal before each send.
///
/// The longest id is `c1` + 4 + `_` + 6 + `_` + 7 + `_` + 1 + 2 + `_` + 3 = 29 characters, so every value within the
/// limits below fits; the limits are what 6, 7, 2 and 3 base-36 digits hold.
public struct OrderLinkID: Sendable, Hashable, CustomStringConvertible {
    public static let version = "c1"
    public static let maxRun: UInt64 = 2_176_782_335          // 36^6 − 1
    public static let maxEpisode: UInt64 = 78_364_164_095     // 36^7 − 1
    public static let maxLayer: UInt64 = 1_295                // 36^2 − 1
    public static let maxAttempt: UInt64 = 46_655             // 36^3 − 1

    public let node: String
    public let run: UInt64
    public let episode: UInt64
    public let role: OrderRole
    public let layer: UInt64
    public let attempt: UInt64

    /// Why an id cannot be built or read.
    public enum Error: Swift.Error, Hashable, Sendable {
        case invalidNode(String)
        case outOfRange(field: String, value: UInt64, max: UInt64)
        case notOurs(String)
    }

    public init(node: String, run: UInt64, episode: UInt64, role: OrderRole, layer: UInt64, attempt: UInt64) throws(Error) {
        guard (1...4).contains(node.utf8.count), node.utf8.allSatisfy(Self.isAlphanumeric) else { throw .invalidNode(node) }
        // Field by field, not through a list of them: an id is built for every order, and the list was allocated.
        if run > Self.maxRun { throw .outOfRange(field: "run", value: run, max: Self.maxRun) }
        if episode > Self.maxEpisode { throw .outOfRange(field: "episode", value: episode, max: Self.maxEpisode) }
        if layer > Self.maxLayer { throw .outOfRange(field: "layer", value: layer, max: Self.maxLayer) }
        if attempt > Self.maxAttempt { throw .outOfRange(field: "attempt", value: attempt, max: Self.maxAttempt) }
        self.node = node
        self.run = run
        self.episode = episode
        self.role = role
        self.layer = layer
        self.attempt = attempt
    }

    /// The text sent as `orderLinkId`, written in place (this is on the decision path: one per order) and made a
    /// string of its exact size: an id of up to 15 bytes (most: `c1a1_3_1k_E0_0` is 14) is then stored inline, with no
    /// allocation. The initialiser bounds every field (at most 29 characters), so 32 bytes always hold it.
    public var description: String {
        TextWriter.text(capacity: 32) { w in
            w.put(string: Self.version); w.put(string: node)
            w.put("_"); w.put(run, radix: 36)
            w.put("_"); w.put(episode, radix: 36)
            w.put("_"); w.put(byte: role.byte); w.put(layer, radix: 36)
            w.put("_"); w.put(attempt, radix: 36)
        }
    }

    /// As a validated client order id (always valid: the layout guarantees length and characters).
    public var clientOrderID: ClientOrderID {
        // The layout cannot produce an invalid id (the tests check length and characters over the whole range of
        // every field), so the text is not scanned again.
        ClientOrderID(validByConstruction: description)
    }

    /// Reads an id back; ids that are not ours (another version, another program, a manual order) are refused.
    public init(parsing text: String) throws(Error) {
        guard text.hasPrefix(Self.version) else { throw .notOurs(text) }
        let parts = text.dropFirst(Self.version.count).split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 5, let run = Self.number(parts[1]), let episode = Self.number(parts[2]),
              let roleCharacter = parts[3].first, let role = OrderRole(rawValue: roleCharacter),
              let layer = Self.number(parts[3].dropFirst()), let attempt = Self.number(parts[4]) else {
            throw .notOurs(text)
        }
        try self.init(node: String(parts[0]), run: run, episode: episode, role: role, layer: layer, attempt: attempt)
        // Only the canonical spelling is ours (no leading zeros, lower case): one order, one id.
        guard description == text else { throw .notOurs(text) }
    }

    static func number(_ text: Substring) -> UInt64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x7a) }) else { return nil }
        return UInt64(text, radix: 36)
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
    }
}
