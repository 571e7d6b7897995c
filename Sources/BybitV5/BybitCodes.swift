public import CascadeCore

/// The one table between Cascade's venue-neutral order vocabulary and Bybit's wire codes, used both ways: the
/// simulator's facade encodes reports with it, ``BybitReportMapper`` decodes Bybit's messages with it. A REST call's
/// retCode is read by ``BybitRetCode``'s meanings, not here.
public enum BybitCodes {
    // MARK: - Order terms

    public static func timeInForce(_ tif: TimeInForce) -> BybitTimeInForce {
        switch tif {
        case .goodTillCancel: .goodTillCancel
        case .immediateOrCancel: .immediateOrCancel
        case .fillOrKill: .fillOrKill
        case .postOnly: .postOnly
        }
    }

    /// Nil for `RPI` (retail price improvement), which Cascade does not place.
    public static func timeInForce(_ tif: BybitTimeInForce) -> TimeInForce? {
        switch tif {
        case .goodTillCancel: .goodTillCancel
        case .immediateOrCancel: .immediateOrCancel
        case .fillOrKill: .fillOrKill
        case .postOnly: .postOnly
        case .retailPriceImprovement: nil
        }
    }

    public static func triggerBy(_ source: TriggerSource) -> BybitTriggerBy {
        switch source {
        case .lastPrice: .lastPrice
        case .markPrice: .markPrice
        case .indexPrice: .indexPrice
        }
    }

    public static func triggerSource(_ by: BybitTriggerBy) -> TriggerSource {
        switch by {
        case .lastPrice: .lastPrice
        case .markPrice: .markPrice
        case .indexPrice: .indexPrice
        }
    }

    public static func direction(_ d: TriggerDirection) -> BybitTriggerDirection { d == .rise ? .rise : .fall }
    public static func direction(_ d: BybitTriggerDirection) -> TriggerDirection { d == .rise ? .rise : .fall }

    public static func orderFilter(_ filter: BybitOrderFilter) -> OrderFilter? {
        switch filter {
        case .order: .order
        case .stopOrder: .stopOrder
        case .openOrder: .openOrder
        case .tpslOrder: nil
        }
    }

    // MARK: - Who created an order (`createType`) and what kind of stop it is (`stopOrderType`)

    public static func createType(_ origin: OrderOrigin) -> String {
        switch origin {
        case .client: "CreateByUser"
        case .takeProfit: "CreateByTakeProfit"
        case .stopLoss: "CreateByStopLoss"
        case .partialTakeProfit: "CreateByPartialTakeProfit"
        case .partialStopLoss: "CreateByPartialStopLoss"
        case .liquidation: "CreateByLiq"
        case .autoDeleveraging: "CreateByAdl_PassThrough"
        case let .other(raw): raw
        }
    }

    public static func origin(createType: String) -> OrderOrigin {
        switch createType {
        case "CreateByUser", "", "CreateByStopOrder": .client
        case "CreateByTakeProfit": .takeProfit
        case "CreateByStopLoss": .stopLoss
        case "CreateByPartialTakeProfit": .partialTakeProfit
        case "CreateByPartialStopLoss": .partialStopLoss
        case "CreateByLiq": .liquidation
        case "CreateByAdl_PassThrough": .autoDeleveraging
        default: .other(createType)
        }
    }

    /// `stopOrderType` of an order: `TakeProfit`/`StopLoss` for the position's legs (`Partial…` with a size), `Stop` for
    /// a client's conditional order, `UNKNOWN` otherwise.
    public static func stopOrderType(origin: OrderOrigin, conditional: Bool, wholePosition: Bool) -> String {
        switch origin {
        case .takeProfit: wholePosition ? "TakeProfit" : "PartialTakeProfit"
        case .stopLoss: wholePosition ? "StopLoss" : "PartialStopLoss"
        case .partialTakeProfit: "PartialTakeProfit"
        case .partialStopLoss: "PartialStopLoss"
        default: conditional ? "Stop" : "UNKNOWN"
        }
    }

    // MARK: - Why an order ended (`cancelType`, `rejectReason`)

    /// Bybit's `(cancelType, rejectReason)` of a cancellation. A PostOnly that would take shows `UNKNOWN` and
    /// `EC_PostOnlyWillTakeLiquidity` (the docs' order-list example); an IOC or FOK remainder `UNKNOWN` and its reason.
    /// Only values of Bybit's own `cancelType`/`rejectReason` lists are written: a case Bybit has no value for is
    /// `EC_Others`, and reads back as `.other` (the mapping is lossy there, never invented).
    public static func cancelCodes(_ reason: CancelReason) -> (cancelType: String, rejectReason: String) {
        switch reason {
        case .byClient: ("CancelByUser", "EC_NoError")
        case .postOnlyWouldTakeLiquidity: ("UNKNOWN", "EC_PostOnlyWillTakeLiquidity")
        case .immediateOrCancelRemainder: ("UNKNOWN", "EC_NoImmediateQtyToFill")
        case .fillOrKillNotFilled: ("UNKNOWN", "EC_CancelForNoFullFill")
        case .reduceOnly: ("CancelByReduceOnly", "EC_NoError")
        case .beforeLiquidation: ("CancelAllBeforeLiq", "EC_NoError")
        case .beforeAutoDeleveraging: ("CancelAllBeforeAdl", "EC_NoError")
        case .protectionCleared: ("CancelByTpSlTsClear", "EC_NoError")
        case .insufficientMarginOnTrigger: ("UNKNOWN", "EC_Others")
        case .byVenue: ("CancelByAdmin", "EC_NoError")
        case .selfMatchPrevention: ("CancelBySmp", "EC_NoError")
        case .disconnected: ("CancelByDCP", "EC_NoError")
        case .settlement: ("CancelBySettle", "EC_NoError")
        case let .other(raw): (raw, "EC_NoError")
        }
    }

    /// The neutral reason of Bybit's `(cancelType, rejectReason)`; the code kept is the one that said it.
    public static func cancellation(cancelType: String, rejectReason: String) -> Cancellation {
        switch rejectReason {
        case "EC_PostOnlyWillTakeLiquidity": return Cancellation(.postOnlyWouldTakeLiquidity, venueCode: rejectReason)
        case "EC_NoImmediateQtyToFill": return Cancellation(.immediateOrCancelRemainder, venueCode: rejectReason)
        case "EC_CancelForNoFullFill": return Cancellation(.fillOrKillNotFilled, venueCode: rejectReason)
        default: break
        }
        let reason: CancelReason = switch cancelType {
        case "CancelByUser": .byClient
        case "CancelByReduceOnly": .reduceOnly
        case "CancelByPrepareLiq", "CancelAllBeforeLiq": .beforeLiquidation
        case "CancelByPrepareAdl", "CancelAllBeforeAdl": .beforeAutoDeleveraging
        case "CancelByTpSlTsClear": .protectionCleared
        case "CancelByAdmin": .byVenue
        case "CancelBySmp": .selfMatchPrevention
        case "CancelByDCP": .disconnected
        case "CancelBySettle": .settlement
        default: .other(cancelType.isEmpty || cancelType == "UNKNOWN" ? rejectReason : cancelType)
        }
        return Cancellation(reason, venueCode: cancelType)
    }

    // MARK: - Refusals (`retCode` on a call, `rejectReason` on the order stream)

    /// The retCode and message a refusal gets on a REST call.
    public static func retCode(_ reason: RejectReason) -> (code: BybitRetCode, message: String) {
        switch reason {
        case .unknownOrder: (.orderDoesNotExist, "order not exists or too late to cancel")
        case .orderClosed: (.orderDoesNotExist, "order not exists or too late to cancel")
        case .duplicateClientID: (.duplicateOrderLinkId, "OrderLinkedID is duplicate")
        case .nonPositiveQuantity: (.parameterError, "params error: qty must be positive")
        case .nonPositivePrice: (.parameterError, "params error: price must be positive")
        case .noMarketPrice: (.parameterError, "no market to price the order yet")
        case .nothingToAmend: (.parameterError, "params error: nothing to amend")
        case .priceNotOnTick: (.parameterError, "params error: price is not a multiple of tickSize")
        case .priceOutOfRange: (.priceOutOfRange, "Order price is out of permissible range")
        case .quantityNotOnStep: (.parameterError, "params error: qty is not a multiple of qtyStep")
        case .quantityBelowMinimum: (.parameterError, "params error: qty below minOrderQty")
        case .quantityAboveMaximum: (.parameterError, "params error: qty above maxOrderQty")
        case .notionalBelowMinimum: (.notionalBelowMinimum, "Order notional value below the lower limit")
        case .reduceOnlyWouldIncrease: (.orderQtyTruncatedToZero, "reduce-only rule not satisfied")
        case .reduceOnlyWithProtection: (.parameterError, "params error: When reduceOnly is true, take profit/stop loss cannot be set")
        case .positionIndexMismatch: (.parameterError, "position idx not match position mode")
        case .tooManyConditionalOrders: (.tooManyStopOrders, "The number of stop orders exceeds the maximum allowable limit")
        case .triggerAlreadyReached(.rise): (.triggerPriceNotAboveMarket, "expect Rising, but trigger_price is at or below the current price")
        case .triggerAlreadyReached(.fall): (.triggerPriceNotBelowMarket, "expect Falling, but trigger_price is at or above the current price")
        case .triggerPriceUnknown: (.parameterError, "no price known yet to check the trigger against")
        case .noPosition: (.parameterError, "can not set tp/sl/ts for zero position")
        case .insufficientBalance: (.availableBalanceInsufficient, "Available balance is insufficient")
        case .leverageNotModified: (.leverageNotModified, "Set leverage has not been modified.")
        case .leverageOutOfRange: (.parameterError, "params error: leverage out of range")
        case .leverageNotOnStep: (.parameterError, "params error: leverage is not a multiple of leverageStep")
        case .leverageInsufficientMargin: (.availableMarginInsufficient, "Available margin is insufficient.")
        case .rateLimited: (.tooManyVisits, "Too many visits. Exceeded the API Rate Limit.")
        // Decided by our own sender, never by a venue: no Bybit code stands for it.
        case .withdrawnUnsent: (.parameterError, "withdrawn by the sender before it was sent")
        case let .invalidParameter(text): (.parameterError, "params error: \(text)")
        case let .other(text): (.parameterError, text)
        }
    }

    /// The neutral reason of a refusal on a REST call (the inverse of ``retCode(_:)`` where it is one to one; codes
    /// with no neutral meaning keep Bybit's message as `.other`). The code itself is kept as the venue code.
    public static func rejection(retCode: BybitRetCode, message: String) -> Rejection {
        let reason: RejectReason = switch retCode {
        case .orderDoesNotExist, .orderCancelled: .unknownOrder
        case .orderCompletedOrCancelled: .orderClosed
        case .duplicateOrderLinkId: .duplicateClientID
        case .priceOutOfRange: .priceOutOfRange
        case .notionalBelowMinimum: .notionalBelowMinimum
        case .orderQtyTruncatedToZero: .reduceOnlyWouldIncrease
        case .tooManyStopOrders: .tooManyConditionalOrders
        case .triggerPriceNotAboveMarket: .triggerAlreadyReached(.rise)
        case .triggerPriceNotBelowMarket: .triggerAlreadyReached(.fall)
        case .availableBalanceInsufficient, .walletBalanceInsufficient, .walletBalanceInsufficient2, .insufficientAvailableBalance:
            .insufficientBalance
        case .leverageNotModified: .leverageNotModified
        case .availableMarginInsufficient: .leverageInsufficientMargin
        case .tooManyVisits, .ipRateLimitExceeded: .rateLimited
        case .parameterError: .invalidParameter(message)
        default: .other(message)
        }
        return Rejection(reason, venueCode: String(retCode.rawValue))
    }

    /// Bybit's `rejectReason` of an order refused at the matching engine (the order stream's `Rejected`): a value of
    /// Bybit's list where one fits, else `EC_Others` (lossy, never invented).
    public static func rejectReason(_ reason: RejectReason) -> String {
        switch reason {
        case .nonPositiveQuantity: "EC_QtyCannotBeZero"
        default: "EC_Others"
        }
    }

    /// The neutral reason of a `Rejected` order's `rejectReason`.
    public static func rejection(rejectReason: String) -> Rejection {
        let reason: RejectReason = switch rejectReason {
        case "EC_QtyCannotBeZero": .nonPositiveQuantity
        default: .other(rejectReason)
        }
        return Rejection(reason, venueCode: rejectReason)
    }

    // MARK: - Executions

    public static func execType(_ kind: ExecutionKind) -> BybitExecType {
        switch kind {
        case .trade: .trade
        case .blockTrade: .blockTrade
        case .funding: .funding
        case .bustTrade: .bustTrade
        case .autoDeleveraging: .adlTrade
        case .delivery: .delivery
        case .settlement: .settle
        case .movePosition: .movePosition
        case let .unknown(raw): BybitExecType(rawValue: raw)
        }
    }

    public static func kind(_ type: BybitExecType) -> ExecutionKind {
        switch type {
        case .trade: .trade
        case .blockTrade: .blockTrade
        case .funding: .funding
        case .bustTrade: .bustTrade
        case .adlTrade: .autoDeleveraging
        case .delivery: .delivery
        case .settle: .settlement
        case .movePosition: .movePosition
        default: .unknown(type.rawValue)
        }
    }
}
