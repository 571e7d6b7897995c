/// A Bybit V5 `retCode`: an open set of integers, so a struct with static members rather than an enum.
///
/// The members are every code of the reference's §5.3 table (from `docs/v5/error.mdx`, UTA) plus `10018`
/// and `170213`, which clients meet in practice. Interpret a code with ``meaning(for:message:)``.
public struct BybitRetCode: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The number as sent in `retCode` / `retExtInfo.list[].code`.
    public var rawValue: Int

    /// Wraps any code, documented or not.
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Decodes Bybit's JSON for this value, converting decimal strings exactly.
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(Int.self)
    }

    /// Encodes the bare integer, as Bybit sends it.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// A one-line human-readable form for logs.
    public var description: String { String(rawValue) }

    /// 0: OK.
    public static let ok = Self(rawValue: 0)
    /// 10000: Server Timeout.
    public static let serverTimeout = Self(rawValue: 10000)
    /// 10001: Request parameter error.
    public static let parameterError = Self(rawValue: 10001)
    /// 10002: The request time exceeds the time window range (timestamp outside `recv_window`).
    public static let requestExpired = Self(rawValue: 10002)
    /// 10003: API key is invalid (or belongs to another environment: mainnet/testnet/demo).
    public static let invalidAPIKey = Self(rawValue: 10003)
    /// 10004: Error sign (signature mismatch).
    public static let invalidSignature = Self(rawValue: 10004)
    /// 10005: Permission denied for this API key.
    public static let permissionDenied = Self(rawValue: 10005)
    /// 10006: Too many visits: the per-UID, per-endpoint rate limit was exceeded.
    public static let tooManyVisits = Self(rawValue: 10006)
    /// 10007: User authentication failed.
    public static let userAuthenticationFailed = Self(rawValue: 10007)
    /// 10010: Unmatched IP (the key is bound to other addresses).
    public static let unmatchedIP = Self(rawValue: 10010)
    /// 10014: Invalid duplicate request.
    public static let duplicateRequest = Self(rawValue: 10014)
    /// 10016: Server error (also sent while the trade service restarts).
    public static let serverError = Self(rawValue: 10016)
    /// 10017: Route not found.
    public static let routeNotFound = Self(rawValue: 10017)
    /// 10018: IP rate limit exceeded (not in the reference table; ccxt maps it to `RateLimitExceeded`).
    public static let ipRateLimitExceeded = Self(rawValue: 10018)
    /// 110001: Order does not exist.
    public static let orderDoesNotExist = Self(rawValue: 110001)
    /// 110003: Order price exceeds the allowable range.
    public static let priceOutOfRange = Self(rawValue: 110003)
    /// 110004: Wallet balance is insufficient.
    public static let walletBalanceInsufficient = Self(rawValue: 110004)
    /// 110006: The assets are estimated to be unable to cover the position margin.
    public static let cannotCoverPositionMargin = Self(rawValue: 110006)
    /// 110007: Available balance is insufficient.
    public static let availableBalanceInsufficient = Self(rawValue: 110007)
    /// 110008: The order has been completed or cancelled.
    public static let orderCompletedOrCancelled = Self(rawValue: 110008)
    /// 110009: The number of stop (conditional) orders exceeds the maximum allowable limit.
    public static let tooManyStopOrders = Self(rawValue: 110009)
    /// 110010: The order has been cancelled.
    public static let orderCancelled = Self(rawValue: 110010)
    /// 110012: Insufficient available balance.
    public static let insufficientAvailableBalance = Self(rawValue: 110012)
    /// 110013: Cannot set leverage due to risk limit level.
    public static let leverageBlockedByRiskLimit = Self(rawValue: 110013)
    /// 110017: "orderQty will be truncated to zero" (docs table); live V5 says "Reduce-only rule not satisfied".
    public static let orderQtyTruncatedToZero = Self(rawValue: 110017)
    /// 110020: Not allowed to have more than 500 active orders.
    public static let tooManyActiveOrders = Self(rawValue: 110020)
    /// 110021: Not allowed to exceed position limits due to Open Interest.
    public static let openInterestPositionLimit = Self(rawValue: 110021)
    /// 110025: Position mode has not been modified.
    public static let positionModeNotModified = Self(rawValue: 110025)
    /// 110029: Hedge mode is not supported for this symbol.
    public static let hedgeModeNotSupported = Self(rawValue: 110029)
    /// 110040: The order will trigger a forced liquidation.
    public static let wouldTriggerLiquidation = Self(rawValue: 110040)
    /// 110043: Set leverage has not been modified.
    public static let leverageNotModified = Self(rawValue: 110043)
    /// 110044: Available margin is insufficient.
    public static let availableMarginInsufficient = Self(rawValue: 110044)
    /// 110045: Wallet balance is insufficient.
    public static let walletBalanceInsufficient2 = Self(rawValue: 110045)
    /// 110057: Conditional order or limit order contains TP/SL related params.
    public static let unexpectedTPSLParameters = Self(rawValue: 110057)
    /// 110058: Cannot set TP/SL: remaining position size too small.
    public static let tpslPositionTooSmall = Self(rawValue: 110058)
    /// 110072: OrderLinkedID is duplicate.
    public static let duplicateOrderLinkId = Self(rawValue: 110072)
    /// 110073: Set margin mode failed.
    public static let setMarginModeFailed = Self(rawValue: 110073)
    /// 110079: The order is processing and can not be operated, try again later.
    public static let orderProcessing = Self(rawValue: 110079)
    /// 110092: Expected Rising, but the trigger price is on the wrong side.
    public static let triggerPriceNotAboveMarket = Self(rawValue: 110092)
    /// 110093: Expected Falling, but the trigger price is on the wrong side.
    public static let triggerPriceNotBelowMarket = Self(rawValue: 110093)
    /// 110094: Order notional value below the lower limit (`minNotionalValue`).
    public static let notionalBelowMinimum = Self(rawValue: 110094)
    /// 170213: Order does not exist (spot error table; not in the reference, ccxt maps it to `OrderNotFound`).
    public static let spotOrderDoesNotExist = Self(rawValue: 170213)

    /// Every named code, in ascending order (for tables and exhaustive tests).
    public static let documented: [BybitRetCode] = [
        .ok, .serverTimeout, .parameterError, .requestExpired, .invalidAPIKey, .invalidSignature, .permissionDenied,
        .tooManyVisits, .userAuthenticationFailed, .unmatchedIP, .duplicateRequest, .serverError, .routeNotFound,
        .ipRateLimitExceeded, .orderDoesNotExist, .priceOutOfRange, .walletBalanceInsufficient,
        .cannotCoverPositionMargin, .availableBalanceInsufficient, .orderCompletedOrCancelled, .tooManyStopOrders,
        .orderCancelled, .insufficientAvailableBalance, .leverageBlockedByRiskLimit, .orderQtyTruncatedToZero,
        .tooManyActiveOrders, .openInterestPositionLimit, .positionModeNotModified, .hedgeModeNotSupported, .wouldTriggerLiquidation,
        .leverageNotModified, .availableMarginInsufficient, .walletBalanceInsufficient2, .unexpectedTPSLParameters,
        .tpslPositionTooSmall, .duplicateOrderLinkId, .setMarginModeFailed, .orderProcessing, .triggerPriceNotAboveMarket,
        .triggerPriceNotBelowMarket, .notionalBelowMinimum, .spotOrderDoesNotExist,
    ]
}
