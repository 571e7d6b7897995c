public import CascadeCore

/// The full ticker of a symbol, merged from Bybit's `snapshot` + sparse `delta` messages.
public struct TickerState: Sendable {
    public let symbol: SymbolID
    public private(set) var fields = TickerFields()
    public private(set) var hasSnapshot = false
    public private(set) var lastCrossSequence: UInt64?
    public private(set) var lastExchangeTime: ExchangeTime?
    public private(set) var lastLocalTime: LocalTime?
    /// Deltas that arrived before any snapshot (merged anyway, but the state is incomplete until a snapshot).
    public private(set) var deltasBeforeSnapshot = 0
    public private(set) var updates = 0

    public init(symbol: SymbolID) { self.symbol = symbol }

    /// Marks the state incomplete after a lost message: fields may be stale until the next snapshot.
    public mutating func markIncomplete() {
        hasSnapshot = false
    }

    /// Applies a snapshot (replaces every field) or a delta (overwrites the fields it carries).
    public mutating func apply(_ update: TickerUpdate) {
        updates += 1
        switch update.kind {
        case .snapshot:
            fields = update.fields
            hasSnapshot = true
        case .delta:
            if !hasSnapshot { deltasBeforeSnapshot += 1 }
            fields.merge(update.fields)
        }
        if let cs = update.crossSequence { lastCrossSequence = cs }
        lastExchangeTime = update.exchangeTime
        lastLocalTime = update.localTime
    }
}
