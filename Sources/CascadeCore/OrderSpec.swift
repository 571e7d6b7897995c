/// Limit or market (a market order is an immediate-or-cancel order the venue prices within a protection band).
public enum OrderType: Hashable, Sendable, Codable, CaseIterable {
    case market
    case limit
}

/// How long an order works. `postOnly` is a time in force, as on Bybit: maker only, cancelled if it would take.
public enum TimeInForce: Hashable, Sendable, Codable, CaseIterable {
    case goodTillCancel
    case immediateOrCancel
    case fillOrKill
    case postOnly
}

/// The price a trigger watches.
public enum TriggerSource: Hashable, Sendable, Codable, CaseIterable {
    /// The last traded price (the venue's prints).
    case lastPrice
    case markPrice
    case indexPrice
}

/// Which way the watched price must move to reach a trigger.
public enum TriggerDirection: Hashable, Sendable, Codable, CaseIterable {
    /// Triggers when the price rises to or above the trigger price.
    case rise
    /// Triggers when the price falls to or below the trigger price.
    case fall

    /// The direction of a take-profit or stop-loss leg protecting a long (`long`) or a short position: a long's
    /// take-profit fires on a rise and its stop-loss on a fall; a short's are mirrored.
    @inlinable public static func protecting(long: Bool, takeProfit: Bool) -> TriggerDirection { long == takeProfit ? .rise : .fall }

    /// True when `price` has reached `trigger` in this direction.
    @inlinable public func isReached(_ price: Price, trigger: Price) -> Bool {
        self == .rise ? price >= trigger : price <= trigger
    }
}

/// What makes an order conditional: it waits, untriggered, until `source` reaches `price` in `direction`.
public struct Trigger: Hashable, Sendable, Codable {
    public var price: Price
    public var direction: TriggerDirection
    public var source: TriggerSource
    public init(price: Price, direction: TriggerDirection, source: TriggerSource = .lastPrice) {
        self.price = price
        self.direction = direction
        self.source = source
    }
}

/// Whether take-profit / stop-loss cover the whole position or a given size.
public enum TPSLMode: Hashable, Sendable, Codable, CaseIterable {
    /// The whole position, closed at market when triggered; resized with the position, gone when it closes.
    case full
    /// A given size, market or limit; for TP/SL attached to an order, one pair per fill of it.
    case partial
}

/// One take-profit or stop-loss leg: its trigger, the price it watches, and how it closes (nil limit: market).
public struct ProtectionLeg: Hashable, Sendable, Codable {
    public var trigger: Price
    public var source: TriggerSource
    /// The limit price of the closing order; nil closes at market (the only choice in ``TPSLMode/full``).
    public var limitPrice: Price?
    public init(trigger: Price, source: TriggerSource = .lastPrice, limitPrice: Price? = nil) {
        self.trigger = trigger
        self.source = source
        self.limitPrice = limitPrice
    }
}

/// Take-profit and stop-loss attached to an order: they protect what the order fills (Bybit `takeProfit`, `stopLoss`,
/// `tpslMode` on create).
public struct Protection: Hashable, Sendable, Codable {
    public var takeProfit: ProtectionLeg?
    public var stopLoss: ProtectionLeg?
    public var mode: TPSLMode
    public init(takeProfit: ProtectionLeg? = nil, stopLoss: ProtectionLeg? = nil, mode: TPSLMode = .full) {
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.mode = mode
    }
}

/// What an order is: everything a venue needs to accept, match and protect it.
public struct OrderSpec: Hashable, Sendable, Codable {
    public var side: Side
    public var type: OrderType
    /// Market orders are immediate-or-cancel whatever is given here.
    public var timeInForce: TimeInForce
    /// Required for limit orders; nil for market orders.
    public var price: Price?
    public var qty: Quantity
    /// Never opens or grows a position: cut to the position, cancelled when nothing is left to reduce.
    public var reduceOnly: Bool
    /// Makes the order conditional.
    public var trigger: Trigger?
    /// A conditional order that only closes (reduce-only once triggered, never refused for margin).
    public var closeOnTrigger: Bool
    /// Take-profit / stop-loss for what this order fills.
    public var protection: Protection?

    public init(side: Side, type: OrderType, timeInForce: TimeInForce, price: Price?, qty: Quantity, reduceOnly: Bool = false,
                trigger: Trigger? = nil, closeOnTrigger: Bool = false, protection: Protection? = nil) {
        self.side = side
        self.type = type
        self.timeInForce = type == .market ? .immediateOrCancel : timeInForce
        self.price = type == .market ? nil : price
        self.qty = qty
        self.reduceOnly = reduceOnly
        self.trigger = trigger
        self.closeOnTrigger = closeOnTrigger
        self.protection = protection
    }

    /// A limit order.
    public static func limit(_ side: Side, price: Price, qty: Quantity, timeInForce: TimeInForce = .goodTillCancel,
                             reduceOnly: Bool = false) -> OrderSpec {
        OrderSpec(side: side, type: .limit, timeInForce: timeInForce, price: price, qty: qty, reduceOnly: reduceOnly)
    }

    /// A market order.
    public static func market(_ side: Side, qty: Quantity, reduceOnly: Bool = false) -> OrderSpec {
        OrderSpec(side: side, type: .market, timeInForce: .immediateOrCancel, price: nil, qty: qty, reduceOnly: reduceOnly)
    }

    /// True for an order that waits for a trigger.
    @inlinable public var isConditional: Bool { trigger != nil }
    /// True when the order can only shrink the position (reduce-only, or close-on-trigger).
    @inlinable public var onlyReduces: Bool { reduceOnly || closeOnTrigger }
    /// True when what does not fill at once rests on the book (not a market order, not IOC or FOK).
    @inlinable public var canRest: Bool { type != .market && timeInForce != .immediateOrCancel && timeInForce != .fillOrKill }
}
