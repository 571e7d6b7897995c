extension BybitRetCode {
    /// What a retCode tells the client to do, for one operation. A closed set the client switches over.
    public enum Meaning: Hashable, Sendable {
        /// `0`: done.
        case ok
        /// `110001`/`110008`/`110010`/`170213` on cancel, amend or cancel-all: the order is no longer open
        /// (filled, cancelled or never existed). Not a failure of intent: query it for its final state.
        case orderAlreadyGone
        /// `110079`: Bybit is still processing the order; retry the operation later.
        case stillProcessing
        /// `10000`/`10016` on a state-changing operation: it may or may not have happened. Query before retrying.
        case unknownState
        /// `10000`/`10016` on a read-only query: a transient server failure; retrying is safe.
        case serverError
        /// `110043` on set-leverage: the leverage already has that value. Treat as success.
        case leverageUnchanged
        /// `110025` on switch-mode: the position mode already has that value. Treat as success.
        case positionModeUnchanged
        /// `10006` (per-UID limit) or `10018` (IP limit): wait until `X-Bapi-Limit-Reset-Timestamp`.
        case rateLimited
        /// `10003`/`10004`/`10005`/`10007`/`10010`: the key, signature or permissions are wrong. Not retryable.
        case authentication(AuthenticationFailure)
        /// `10002`: the request timestamp is outside `recv_window`; resynchronise with `/v5/market/time`.
        case timestampOutOfWindow
        /// `110004`/`110006`/`110007`/`110012`/`110044`/`110045`: not enough balance or margin.
        case insufficientBalance
        /// `110009`: too many active conditional orders for the symbol (10 for linear).
        case tooManyConditionalOrders
        /// `110020`: too many active orders for the symbol (500).
        case tooManyActiveOrders
        /// `110017`: the reduce-only order cannot reduce anything (its quantity would be truncated to zero,
        /// typically because the position is already flat).
        case reduceOnlyRejected
        /// `110072`: the `orderLinkId` was used before. Query by that id: the first order may be live.
        case duplicateOrderLinkId
        /// `110094`: the order's notional is below the instrument's `minNotionalValue`.
        case notionalBelowMinimum
        /// `110003`: the price is outside the allowed band around the mark price.
        case priceOutOfRange
        /// `110092`/`110093`: a conditional order's trigger price is on the wrong side of the market for its
        /// `triggerDirection`.
        case triggerPriceWrongSide
        /// `10001`: a request parameter is invalid (a client bug or an instrument-rule violation).
        case invalidParameter
        /// Any other code, with Bybit's message.
        case other(code: BybitRetCode, message: String)

        /// True when the operation achieved what it asked for (`ok`, or "already that value").
        public var isSuccess: Bool {
            switch self {
            case .ok, .leverageUnchanged, .positionModeUnchanged: true
            default: false
            }
        }

        /// True when the right next step is to query the order rather than to retry or give up.
        public var requiresOrderQuery: Bool {
            switch self {
            case .orderAlreadyGone, .unknownState, .duplicateOrderLinkId: true
            default: false
            }
        }
    }

    /// Which credential check failed.
    public enum AuthenticationFailure: Hashable, Sendable {
        /// `10003`: unknown key, or a key of another environment (mainnet/testnet/demo).
        case invalidAPIKey
        /// `10004`: the signature does not match (wrong secret, or the signed bytes differ from the sent ones).
        case invalidSignature
        /// `10005`: the key lacks the permission for this endpoint.
        case permissionDenied
        /// `10007`: user authentication failed.
        case userAuthenticationFailed
        /// `10010`: the request came from an IP the key is not bound to.
        case ipNotAllowed
    }

    /// Classifies this code for `operation`.
    ///
    /// The operation matters for order-lookup codes (only cancel/amend/cancel-all can find an order "already
    /// gone"), for server failures (unknown state only when something may have changed) and for the
    /// "not modified" codes (success only for the operation that sets that value).
    /// - Parameter message: Bybit's `retMsg`, kept in ``Meaning/other(code:message:)``.
    public func meaning(for operation: BybitOperation, message: String = "") -> Meaning {
        switch self {
        case .ok:
            return .ok
        case .orderDoesNotExist, .orderCompletedOrCancelled, .orderCancelled, .spotOrderDoesNotExist:
            switch operation {
            case .cancel, .amend, .cancelAll: return .orderAlreadyGone
            default: return .other(code: self, message: message)
            }
        case .orderProcessing:
            return .stillProcessing
        case .serverTimeout, .serverError:
            return operation.isMutating ? .unknownState : .serverError
        case .leverageNotModified:
            return operation == .setLeverage ? .leverageUnchanged : .other(code: self, message: message)
        case .positionModeNotModified:
            return operation == .switchPositionMode ? .positionModeUnchanged : .other(code: self, message: message)
        case .tooManyVisits, .ipRateLimitExceeded:
            return .rateLimited
        case .invalidAPIKey: return .authentication(.invalidAPIKey)
        case .invalidSignature: return .authentication(.invalidSignature)
        case .permissionDenied: return .authentication(.permissionDenied)
        case .userAuthenticationFailed: return .authentication(.userAuthenticationFailed)
        case .unmatchedIP: return .authentication(.ipNotAllowed)
        case .requestExpired:
            return .timestampOutOfWindow
        case .walletBalanceInsufficient, .cannotCoverPositionMargin, .availableBalanceInsufficient,
             .insufficientAvailableBalance, .availableMarginInsufficient, .walletBalanceInsufficient2:
            return .insufficientBalance
        case .tooManyStopOrders:
            return .tooManyConditionalOrders
        case .tooManyActiveOrders:
            return .tooManyActiveOrders
        case .orderQtyTruncatedToZero:
            return .reduceOnlyRejected
        case .duplicateOrderLinkId:
            return .duplicateOrderLinkId
        case .notionalBelowMinimum:
            return .notionalBelowMinimum
        case .priceOutOfRange:
            return .priceOutOfRange
        case .triggerPriceNotAboveMarket, .triggerPriceNotBelowMarket:
            return .triggerPriceWrongSide
        case .parameterError:
            return .invalidParameter
        default:
            return .other(code: self, message: message)
        }
    }
}
