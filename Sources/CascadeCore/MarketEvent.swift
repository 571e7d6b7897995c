/// One price level of a book message: size zero in a delta deletes the level.
public struct BookLevel: Hashable, Sendable {
    public var price: Price
    public var size: Quantity
    @inlinable public init(price: Price, size: Quantity) {
        self.price = price
        self.size = size
    }
}

/// A snapshot or delta of a depth-limited order book topic (`orderbook.{depth}.{symbol}`).
public struct BookUpdate: Sendable {
    public enum Kind: UInt8, Sendable { case snapshot, delta }
    public var symbol: SymbolID
    /// Depth of the topic (1, 50, 200, 500, 1000): books of different depths are separate books.
    public var depth: Int
    public var kind: Kind
    /// Update id `u` (per topic; `u == 1` means the service restarted and this is a snapshot).
    public var updateID: UInt64
    /// Cross sequence `seq`, comparable across depths and with the ticker's `cs`.
    public var sequence: UInt64
    /// Envelope `ts`: when the publisher generated the message.
    public var exchangeTime: ExchangeTime
    /// `cts`: matching-engine time of the book state (absent in some recordings).
    public var matchTime: ExchangeTime?
    public var localTime: LocalTime
    /// Bids in message order (snapshots: best first).
    public var bids: [BookLevel]
    /// Asks in message order (snapshots: best first).
    public var asks: [BookLevel]

    public init(symbol: SymbolID, depth: Int, kind: Kind, updateID: UInt64, sequence: UInt64,
                exchangeTime: ExchangeTime, matchTime: ExchangeTime?, localTime: LocalTime,
                bids: [BookLevel], asks: [BookLevel]) {
        self.symbol = symbol
        self.depth = depth
        self.kind = kind
        self.updateID = updateID
        self.sequence = sequence
        self.exchangeTime = exchangeTime
        self.matchTime = matchTime
        self.localTime = localTime
        self.bids = bids
        self.asks = asks
    }

    /// A snapshot, or a message with `u == 1` (Bybit's service-restart snapshot): either replaces the book.
    @inlinable public var replacesBook: Bool { kind == .snapshot || updateID == 1 }
}

/// One public trade.
public struct Trade: Sendable, Hashable {
    public var symbol: SymbolID
    public var price: Price
    public var qty: Quantity
    /// Side of the taker (aggressor).
    public var takerSide: Side
    /// `nil` when the publisher could not know it (first trades of a recording).
    public var tickDirection: TickDirection?
    /// Exchange trade id, as sent.
    public var id: String
    /// `T`: fill time on the matching engine.
    public var tradeTime: ExchangeTime
    /// Envelope `ts`.
    public var exchangeTime: ExchangeTime
    public var localTime: LocalTime
    public var isBlockTrade: Bool
    /// Retail-price-improvement trade: not part of the public book, must not advance queue estimates.
    public var isRPI: Bool
    /// Cross sequence when sent.
    public var sequence: UInt64?

    public init(symbol: SymbolID, price: Price, qty: Quantity, takerSide: Side, tickDirection: TickDirection?,
                id: String, tradeTime: ExchangeTime, exchangeTime: ExchangeTime, localTime: LocalTime,
                isBlockTrade: Bool, isRPI: Bool, sequence: UInt64?) {
        self.symbol = symbol
        self.price = price
        self.qty = qty
        self.takerSide = takerSide
        self.tickDirection = tickDirection
        self.id = id
        self.tradeTime = tradeTime
        self.exchangeTime = exchangeTime
        self.localTime = localTime
        self.isBlockTrade = isBlockTrade
        self.isRPI = isRPI
        self.sequence = sequence
    }
}

/// Which Bybit liquidation feed an event came from. Thresholds learnt on one never apply to the other.
public enum LiquidationSource: String, Hashable, Sendable, Codable, CaseIterable {
    /// `allLiquidation.{symbol}` (from 2025-02-26): every liquidation, pushed every 500 ms.
    case all
    /// The old `liquidation.{symbol}` topic: at most one liquidation per second per symbol, a sample.
    case throttled

    /// First day of `allLiquidation` (2025-02-26 00:00 UTC, in ms): events dated earlier cannot come from it.
    public static let allLiquidationLaunchMilliseconds: Int64 = 1_740_528_000_000

    /// The source an event really came from: `allLiquidation` data dated before the topic existed is re-wrapped
    /// throttled data (the shared 2024 series is), so it is classified `throttled`.
    public static func classify(topic: LiquidationSource, eventTime: ExchangeTime) -> LiquidationSource {
        topic == .all && eventTime.milliseconds < allLiquidationLaunchMilliseconds ? .throttled : topic
    }
}

/// One forced liquidation (`allLiquidation` or the old `liquidation` topic).
///
/// Bybit's `S` is the side of the **liquidated position**: `S=Buy` means a long was liquidated (the engine
/// sold into the bids), `S=Sell` a short (the engine bought). This type stores the position side so the
/// convention is decoded once, at the boundary.
public struct Liquidation: Sendable, Hashable {
    public var symbol: SymbolID
    public var liquidatedSide: PositionSide
    public var qty: Quantity
    public var bankruptcyPrice: Price
    /// `qty × bankruptcyPrice` in the settle coin (USDT for linear USDT contracts).
    public var notional: USDT
    /// `T`: the event's update time.
    public var updatedTime: ExchangeTime
    public var exchangeTime: ExchangeTime
    public var localTime: LocalTime
    /// The topic it arrived on (before ``LiquidationSource/classify(topic:eventTime:)``).
    public var source: LiquidationSource

    public init(symbol: SymbolID, liquidatedSide: PositionSide, qty: Quantity, bankruptcyPrice: Price, notional: USDT,
                updatedTime: ExchangeTime, exchangeTime: ExchangeTime, localTime: LocalTime,
                source: LiquidationSource) {
        self.symbol = symbol
        self.liquidatedSide = liquidatedSide
        self.qty = qty
        self.bankruptcyPrice = bankruptcyPrice
        self.notional = notional
        self.updatedTime = updatedTime
        self.exchangeTime = exchangeTime
        self.localTime = localTime
        self.source = source
    }

    /// The side of the order the liquidation engine sent (the opposite of the position).
    public var engineOrderSide: Side { liquidatedSide == .long ? .sell : .buy }
}

/// The fields of a `tickers` message. In a delta, `nil` means "unchanged"; merge into ``TickerFields`` state.
public struct TickerFields: Sendable, Hashable {
    public var lastPrice: Price?
    public var markPrice: Price?
    public var indexPrice: Price?
    public var bid1Price: Price?
    public var bid1Size: Quantity?
    public var ask1Price: Price?
    public var ask1Size: Quantity?
    public var fundingRate: Rate?
    public var nextFundingTime: ExchangeTime?
    public var openInterest: Quantity?
    public var openInterestValue: USDT?
    public var volume24h: Quantity?
    public var turnover24h: USDT?
    public var highPrice24h: Price?
    public var lowPrice24h: Price?
    public var prevPrice24h: Price?
    public var prevPrice1h: Price?
    public var price24hPcnt: Rate?
    public var fundingIntervalHours: Int?
    public var fundingCap: Rate?
    public var tickDirection: TickDirection?

    public init() {}

    /// Overwrites every field that `delta` carries (Bybit: "if a field is not found, its value has not changed").
    public mutating func merge(_ delta: TickerFields) {
        if let v = delta.lastPrice { lastPrice = v }
        if let v = delta.markPrice { markPrice = v }
        if let v = delta.indexPrice { indexPrice = v }
        if let v = delta.bid1Price { bid1Price = v }
        if let v = delta.bid1Size { bid1Size = v }
        if let v = delta.ask1Price { ask1Price = v }
        if let v = delta.ask1Size { ask1Size = v }
        if let v = delta.fundingRate { fundingRate = v }
        if let v = delta.nextFundingTime { nextFundingTime = v }
        if let v = delta.openInterest { openInterest = v }
        if let v = delta.openInterestValue { openInterestValue = v }
        if let v = delta.volume24h { volume24h = v }
        if let v = delta.turnover24h { turnover24h = v }
        if let v = delta.highPrice24h { highPrice24h = v }
        if let v = delta.lowPrice24h { lowPrice24h = v }
        if let v = delta.prevPrice24h { prevPrice24h = v }
        if let v = delta.prevPrice1h { prevPrice1h = v }
        if let v = delta.price24hPcnt { price24hPcnt = v }
        if let v = delta.fundingIntervalHours { fundingIntervalHours = v }
        if let v = delta.fundingCap { fundingCap = v }
        if let v = delta.tickDirection { tickDirection = v }
    }
}

/// A `tickers.{symbol}` message: a full snapshot or a sparse delta.
public struct TickerUpdate: Sendable, Hashable {
    public enum Kind: UInt8, Sendable { case snapshot, delta }
    public var symbol: SymbolID
    public var kind: Kind
    public var fields: TickerFields
    /// `cs`: cross sequence of the book state the ticker describes.
    public var crossSequence: UInt64?
    public var exchangeTime: ExchangeTime
    public var localTime: LocalTime

    public init(symbol: SymbolID, kind: Kind, fields: TickerFields, crossSequence: UInt64?,
                exchangeTime: ExchangeTime, localTime: LocalTime) {
        self.symbol = symbol
        self.kind = kind
        self.fields = fields
        self.crossSequence = crossSequence
        self.exchangeTime = exchangeTime
        self.localTime = localTime
    }
}

/// One kline bar as pushed by `kline.{interval}.{symbol}`. Unconfirmed until `confirmed` (the bar closed).
public struct Kline: Sendable, Hashable {
    public var symbol: SymbolID
    /// Bybit interval code: minutes (`"1"`, `"5"`, …) or `"D"`, `"W"`, `"M"`.
    public var interval: String
    public var start: ExchangeTime
    public var end: ExchangeTime
    public var open: Price
    public var high: Price
    public var low: Price
    public var close: Price
    public var volume: Quantity
    public var turnover: USDT
    public var confirmed: Bool
    /// Time of the last match in the bar.
    public var lastMatchTime: ExchangeTime
    public var exchangeTime: ExchangeTime
    public var localTime: LocalTime

    public init(symbol: SymbolID, interval: String, start: ExchangeTime, end: ExchangeTime, open: Price, high: Price,
                low: Price, close: Price, volume: Quantity, turnover: USDT, confirmed: Bool,
                lastMatchTime: ExchangeTime, exchangeTime: ExchangeTime, localTime: LocalTime) {
        self.symbol = symbol
        self.interval = interval
        self.start = start
        self.end = end
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.turnover = turnover
        self.confirmed = confirmed
        self.lastMatchTime = lastMatchTime
        self.exchangeTime = exchangeTime
        self.localTime = localTime
    }
}

/// A venue-neutral market event: what the feature engine, the strategy and the simulator consume.
/// Venue adapters (``BybitV5``) decode into it; nothing downstream needs a Bybit type.
public enum MarketEvent: Sendable {
    case book(BookUpdate)
    case trades([Trade])
    case liquidations([Liquidation])
    case ticker(TickerUpdate)
    case klines([Kline])

    /// The symbol the event is about (nil for an empty list).
    public var symbol: SymbolID? {
        switch self {
        case let .book(u): u.symbol
        case let .trades(t): t.first?.symbol
        case let .ticker(t): t.symbol
        case let .liquidations(l): l.first?.symbol
        case let .klines(k): k.first?.symbol
        }
    }

    /// The exchange time of the message (envelope `ts`; nil for an empty list).
    public var exchangeTime: ExchangeTime? {
        switch self {
        case let .book(u): u.exchangeTime
        case let .trades(t): t.first?.exchangeTime
        case let .ticker(t): t.exchangeTime
        case let .liquidations(l): l.first?.exchangeTime
        case let .klines(k): k.first?.exchangeTime
        }
    }
}
