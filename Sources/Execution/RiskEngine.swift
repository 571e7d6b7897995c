public import CascadeCore

/// A limit as Cascade states every risk limit: the smaller of an absolute cap and a share of equity.
public struct RiskLimit: Sendable, Hashable, Codable {
    /// Absolute cap, USDT units of 1e-8 (nil: none).
    public var absolute: Int64?
    /// Share of equity in basis points (nil: none).
    public var equityBps: Int64?

    public init(absolute: USDT? = nil, equityBps: Int64? = nil) {
        self.absolute = absolute.map { Int64($0.units) }
        self.equityBps = equityBps
    }

    /// The binding value at `equity` (nil: unlimited).
    public func value(equity: USDT) -> Int128? {
        let share = equityBps.map { Int128(equity.units) * Int128($0) / 10_000 }
        let cap: Int128? = absolute.map { Int128($0) }
        switch (cap, share) {
        case let (a?, s?): return min(a, s)
        case let (a?, nil): return a
        case let (nil, s?): return s
        case (nil, nil): return nil
        }
    }
}

/// The pre-trade limits (defaults are deliberately small; configuration sets them).
public struct RiskLimits: Sendable, Hashable, Codable {
    public var orderNotional = RiskLimit(absolute: USDT(units: Int64(100_000_000_000)), equityBps: 500)
    public var positionPerSymbol = RiskLimit(absolute: USDT(units: Int64(500_000_000_000)), equityBps: 2_000)
    public var portfolioExposure = RiskLimit(absolute: USDT(units: Int64(1_000_000_000_000)), equityBps: 5_000)
    public var episodeNotional = RiskLimit(absolute: USDT(units: Int64(300_000_000_000)), equityBps: 1_500)
    public var maxConcurrentLayers = 5
    public var maxEpisodesPerHour = 6
    /// No new entry this long after a stop-loss fill (ns).
    public var cooldownAfterStop: Int64 = 300_000_000_000
    public init() {}
}

/// Why an entry was refused: every denial names its limit.
public enum RiskDenial: Hashable, Sendable {
    case halted
    case reducing
    /// Equity cannot be computed (a position without a mark): nothing is sized on a guess.
    case noEquity
    case orderNotional(limit: USDT, wanted: USDT)
    case positionPerSymbol(limit: USDT, worstCase: USDT)
    case portfolioExposure(limit: USDT, worstCase: USDT)
    case episodeNotional(limit: USDT, worstCase: USDT)
    case concurrentLayers(limit: Int)
    case episodesPerHour(limit: Int)
    case cooldownAfterStop(until: Int64)
}

/// Amounts per symbol, for the few symbols a node trades: a short list scanned, not a hashed table. The risk check
/// reads these for every layer of every ladder, and each decision builds them anew: a table hashed the id (SipHash)
/// at every read and write on the decision path. Equal when they hold the same amounts, in any order.
public struct SymbolAmounts: Sendable, Hashable, ExpressibleByDictionaryLiteral {
    private struct Entry: Sendable, Hashable {
        var symbol: SymbolID
        var amount: USDT
    }
    private var entries: [Entry] = []

    public init() {}

    public init(dictionaryLiteral elements: (SymbolID, USDT)...) {
        for (symbol, amount) in elements {
            // As a dictionary literal: a symbol written twice is a mistake, not the last value.
            precondition(self[symbol] == nil, "symbol \(symbol.index) given twice")
            self[symbol] = amount
        }
    }

    /// The amount of `symbol`, nil when it has none; setting nil removes it.
    public subscript(symbol: SymbolID) -> USDT? {
        get { entries.first { $0.symbol == symbol }?.amount }
        set {
            let i = entries.firstIndex { $0.symbol == symbol }
            switch (i, newValue) {
            case let (i?, amount?): entries[i].amount = amount
            case let (i?, nil): entries.remove(at: i)
            case let (nil, amount?): entries.append(Entry(symbol: symbol, amount: amount))
            case (nil, nil): break
            }
        }
    }

    public subscript(symbol: SymbolID, default value: USDT) -> USDT {
        get { self[symbol] ?? value }
        set { self[symbol] = newValue }
    }

    /// The symbols that have an amount, in the order they were added (one removed and set again goes last; lazily:
    /// the risk check only iterates).
    public var symbols: some Sequence<SymbolID> { entries.lazy.map(\.symbol) }
    public var count: Int { entries.count }

    public static func == (a: SymbolAmounts, b: SymbolAmounts) -> Bool {
        a.entries.count == b.entries.count && a.entries.allSatisfy { b[$0.symbol] == $0.amount }
    }

    /// Order-independent, as `==` is: the count, then the sum of the entries' own hashes (as `Set` hashes).
    public func hash(into hasher: inout Hasher) {
        hasher.combine(entries.count)
        hasher.combine(entries.reduce(0) { $0 &+ $1.hashValue })
    }
}

/// What the engine has at risk when it asks: positions at mark and resting entries, per symbol.
public struct Exposure: Sendable, Hashable {
    /// Signed notional of the position at mark (positive long), per symbol.
    public var positions = SymbolAmounts()
    /// Notional of resting entries per symbol and side (each counted as if filled).
    public var restingBuys = SymbolAmounts()
    public var restingSells = SymbolAmounts()
    /// Resting entry orders (layers) in total.
    public var restingLayers = 0
    /// Entry notional the current episode has placed or filled so far.
    public var episodeNotional = USDT.zero
    public init() {}
}

/// The risk engine's pre-trade check. Every resting entry counts as if filled: the worst case of a side is the
/// position plus everything resting on that side plus the new order.
public struct RiskEngine: Sendable {
    public enum Mode: String, Sendable, Codable { case normal, reducing, halted }

    /// What the engine remembers between checks (journaled with every decision that changes it).
    public struct Memory: Sendable, Hashable, Codable {
        /// Left only explicitly.
        public var mode: Mode = .normal
        /// Start times of the episodes entered in the last hour.
        public var episodeStarts: [Int64] = []
        public var lastStop: Int64?
        public init() {}
    }

    public var limits: RiskLimits
    public var memory = Memory()
    public var mode: Mode { memory.mode }
    private var episodeStarts: [Int64] { memory.episodeStarts }
    private var lastStop: Int64? { memory.lastStop }

    public init(limits: RiskLimits = RiskLimits()) { self.limits = limits }

    public mutating func setMode(_ mode: Mode) { memory.mode = mode }
    public mutating func recordEpisodeStart(at t: Int64) {
        // Only the last hour counts: older starts are dropped so the memory stays bounded.
        memory.episodeStarts.removeAll { $0 <= t - 3_600_000_000_000 }
        memory.episodeStarts.append(t)
    }
    public mutating func recordStop(at t: Int64) { memory.lastStop = max(memory.lastStop ?? t, t) }

    /// May a new entry of `notional` on `side` of `symbol` be sent now, for an episode that `isNewEpisode` or not?
    public func check(symbol: SymbolID, side: Side, notional: USDT, isNewEpisode: Bool, exposure: Exposure,
                      equity: USDT?, now: Int64) -> RiskDenial? {
        switch mode {
        case .halted: return .halted
        case .reducing: return .reducing
        case .normal: break
        }
        guard let equity else { return .noEquity }
        if let stop = lastStop, now < stop + limits.cooldownAfterStop { return .cooldownAfterStop(until: stop + limits.cooldownAfterStop) }
        if isNewEpisode, episodeStarts.count(where: { $0 > now - 3_600_000_000_000 }) >= limits.maxEpisodesPerHour {
            return .episodesPerHour(limit: limits.maxEpisodesPerHour)
        }
        if exposure.restingLayers + 1 > limits.maxConcurrentLayers { return .concurrentLayers(limit: limits.maxConcurrentLayers) }
        if let limit = limits.orderNotional.value(equity: equity), notional.units > limit {
            return .orderNotional(limit: USDT(units: limit), wanted: notional)
        }
        let signedNew = side == .buy ? notional.units : -notional.units
        let position = exposure.positions[symbol]?.units ?? 0
        let resting = side == .buy ? (exposure.restingBuys[symbol]?.units ?? 0) : -(exposure.restingSells[symbol]?.units ?? 0)
        let worstSymbol = abs(position + resting + signedNew)
        if let limit = limits.positionPerSymbol.value(equity: equity), worstSymbol > limit {
            return .positionPerSymbol(limit: USDT(units: limit), worstCase: USDT(units: worstSymbol))
        }
        // Portfolio: every symbol at its worst side, this one with the new order. Each symbol of the three lists (and
        // this one) once, without building their union: a sum of integers, in any order.
        var worstAll = Int128(0)
        func worst(_ s: SymbolID) -> Int128 {
            let p = exposure.positions[s]?.units ?? 0
            let buys = (exposure.restingBuys[s]?.units ?? 0) + (s == symbol && side == .buy ? notional.units : 0)
            let sells = (exposure.restingSells[s]?.units ?? 0) + (s == symbol && side == .sell ? notional.units : 0)
            return max(abs(p + buys), abs(p - sells))
        }
        for s in exposure.positions.symbols { worstAll += worst(s) }
        for s in exposure.restingBuys.symbols where exposure.positions[s] == nil { worstAll += worst(s) }
        for s in exposure.restingSells.symbols where exposure.positions[s] == nil && exposure.restingBuys[s] == nil { worstAll += worst(s) }
        if exposure.positions[symbol] == nil && exposure.restingBuys[symbol] == nil && exposure.restingSells[symbol] == nil {
            worstAll += worst(symbol)
        }
        if let limit = limits.portfolioExposure.value(equity: equity), worstAll > limit {
            return .portfolioExposure(limit: USDT(units: limit), worstCase: USDT(units: worstAll))
        }
        let episodeWorst = exposure.episodeNotional.units + notional.units
        if let limit = limits.episodeNotional.value(equity: equity), episodeWorst > limit {
            return .episodeNotional(limit: USDT(units: limit), worstCase: USDT(units: episodeWorst))
        }
        return nil
    }
}

extension RiskDenial {
    /// The stable reason code written to the decision log.
    public var code: String {
        switch self {
        case .halted: "risk.halted"
        case .reducing: "risk.reducing"
        case .noEquity: "risk.noEquity"
        case .orderNotional: "risk.orderNotional"
        case .positionPerSymbol: "risk.positionPerSymbol"
        case .portfolioExposure: "risk.portfolioExposure"
        case .episodeNotional: "risk.episodeNotional"
        case .concurrentLayers: "risk.concurrentLayers"
        case .episodesPerHour: "risk.episodesPerHour"
        case .cooldownAfterStop: "risk.cooldownAfterStop"
        }
    }
}
