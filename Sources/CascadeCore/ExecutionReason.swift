/// Why a venue refused an order or a command, venue-neutral; the venue's own code travels alongside in ``Rejection``.
public enum RejectReason: Hashable, Sendable, Codable {
    case unknownOrder
    /// The order is already filled or cancelled.
    case orderClosed
    case duplicateClientID
    case nonPositiveQuantity
    case nonPositivePrice
    /// A market order with nothing to price it (no book).
    case noMarketPrice
    case nothingToAmend
    case priceNotOnTick
    /// Outside the instrument's `minPrice`…`maxPrice`.
    case priceOutOfRange
    case quantityNotOnStep
    case quantityBelowMinimum
    case quantityAboveMaximum
    case notionalBelowMinimum
    /// A reduce-only order that would open or grow the position.
    case reduceOnlyWouldIncrease
    /// Reduce-only together with take-profit / stop-loss.
    case reduceOnlyWithProtection
    /// Hedge-mode position index on a one-way position.
    case positionIndexMismatch
    case tooManyConditionalOrders
    /// A trigger the watched price has already reached (it must still `rise` or `fall` to it).
    case triggerAlreadyReached(TriggerDirection)
    /// No watched price is known yet to check the trigger against.
    case triggerPriceUnknown
    /// Take-profit or stop-loss without a position.
    case noPosition
    /// The order's cost exceeds the available balance.
    case insufficientBalance
    case leverageNotModified
    case leverageOutOfRange
    /// Not a multiple of the instrument's `leverageStep`.
    case leverageNotOnStep
    case leverageInsufficientMargin
    case rateLimited
    /// Never sent: the sender dropped an entry create whose cancel was decided while it waited for its turn (and that
    /// cancel with it). Not a venue refusal; the venue never saw either (``SenderLaneRouter/withdrawal(_:cancelDecided:)``).
    case withdrawnUnsent
    /// A parameter the venue refused (its text).
    case invalidParameter(String)
    /// A venue reason with no neutral meaning (its text).
    case other(String)
}

/// A refusal: the neutral reason and the venue's code (Bybit: the `retCode`, or the `rejectReason` text).
public struct Rejection: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var reason: RejectReason
    public var venueCode: String?
    public init(_ reason: RejectReason, venueCode: String? = nil) {
        self.reason = reason
        self.venueCode = venueCode
    }
    public var description: String { venueCode.map { "\(reason) (\($0))" } ?? "\(reason)" }

    /// The venue code of a create whose outcome was unknown and that no list of the venue had, long enough to be
    /// presumed absent (the live gateway's queries): not a refusal, a presumption a later report overrides.
    public static let notFoundAfterQueries = "notFoundAfterQueries"

    /// A create or amend whose send deadline passed before it could leave (a rate-limit wait, or its turn in a sender
    /// lane): refused unsent, by the live REST client or the backtest's model of it.
    public static let staleUnsent = Rejection(.rateLimited, venueCode: "stale")

    /// This rejection is that presumption (``notFoundAfterQueries``), not a refusal.
    public var isPresumedAbsence: Bool { reason == .unknownOrder && venueCode == Self.notFoundAfterQueries }
}

/// Why an order ended without filling completely, venue-neutral.
public enum CancelReason: Hashable, Sendable, Codable {
    case byClient
    /// A PostOnly order that would have taken liquidity (Bybit accepts it, then cancels it).
    case postOnlyWouldTakeLiquidity
    /// The unfilled rest of an immediate-or-cancel (or market) order.
    case immediateOrCancelRemainder
    case fillOrKillNotFilled
    /// A reduce-only order (or its excess) that no longer reduces anything.
    case reduceOnly
    /// Cancelled before the account's positions were liquidated.
    case beforeLiquidation
    case beforeAutoDeleveraging
    /// A TP/SL leg removed: its position closed or flipped, or a new trading stop replaced it.
    case protectionCleared
    /// A conditional order that triggered without the margin to open.
    case insufficientMarginOnTrigger
    case byVenue
    case selfMatchPrevention
    /// The venue's disconnect protection cancelled it.
    case disconnected
    case settlement
    case other(String)
}

/// A cancellation: the neutral reason and the venue's code (Bybit: `cancelType`, or `rejectReason` for a PostOnly).
public struct Cancellation: Hashable, Sendable, Codable, CustomStringConvertible {
    public var reason: CancelReason
    public var venueCode: String?
    public init(_ reason: CancelReason, venueCode: String? = nil) {
        self.reason = reason
        self.venueCode = venueCode
    }
    public var description: String { venueCode.map { "\(reason) (\($0))" } ?? "\(reason)" }
}

/// What an execution is (Bybit `execType`), classified once at the boundary so that only trades reach fill code.
public enum ExecutionKind: Hashable, Sendable, Codable {
    case trade
    case blockTrade
    /// A funding payment: changes the wallet only. Its quantity is the position size, not a fill.
    case funding
    /// The liquidation engine taking over the position at its bankruptcy price.
    case bustTrade
    case autoDeleveraging
    case delivery
    case settlement
    case movePosition
    /// A type this code does not know: never applied as a fill; reconcile.
    case unknown(String)

    /// Fills of our own orders against the market.
    public var isFill: Bool { self == .trade || self == .blockTrade }
    /// Position changes the venue makes without an order of ours.
    public var isTakeover: Bool {
        switch self {
        case .bustTrade, .autoDeleveraging, .delivery, .settlement, .movePosition: true
        default: false
        }
    }
}
