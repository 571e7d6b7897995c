/// The side of an order or of a trade's aggressor.
public enum Side: UInt8, Hashable, Sendable, Codable, CaseIterable, CustomStringConvertible {
    case buy
    case sell
    public var opposite: Side { self == .buy ? .sell : .buy }
    public var description: String { self == .buy ? "Buy" : "Sell" }
}

/// The side of a position (never confused with an order side: a long is closed by a sell).
public enum PositionSide: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible, Codable {
    case long
    case short
    public var description: String { self == .long ? "long" : "short" }
}

/// Which side of the book a level belongs to.
public enum BookSide: UInt8, Hashable, Sendable, CaseIterable {
    case bid
    case ask
}

/// Bybit's tick direction of a trade relative to the previous trade price.
public enum TickDirection: UInt8, Hashable, Sendable {
    case plusTick
    case zeroPlusTick
    case minusTick
    case zeroMinusTick
}
