import BybitV5
import Testing

@Suite struct RetCodeTests {
    typealias M = BybitRetCode.Meaning

    /// Codes whose meaning does not depend on the operation.
    @Test(arguments: [
        (0, M.ok),
        (10001, .invalidParameter),
        (10002, .timestampOutOfWindow),
        (10003, .authentication(.invalidAPIKey)),
        (10004, .authentication(.invalidSignature)),
        (10005, .authentication(.permissionDenied)),
        (10006, .rateLimited),
        (10007, .authentication(.userAuthenticationFailed)),
        (10010, .authentication(.ipNotAllowed)),
        (10018, .rateLimited),
        (110003, .priceOutOfRange),
        (110004, .insufficientBalance),
        (110006, .insufficientBalance),
        (110007, .insufficientBalance),
        (110009, .tooManyConditionalOrders),
        (110012, .insufficientBalance),
        (110017, .reduceOnlyRejected),
        (110020, .tooManyActiveOrders),
        (110044, .insufficientBalance),
        (110045, .insufficientBalance),
        (110072, .duplicateOrderLinkId),
        (110079, .stillProcessing),
        (110092, .triggerPriceWrongSide),
        (110093, .triggerPriceWrongSide),
        (110094, .notionalBelowMinimum),
    ])
    func operationIndependentCodesMapToTheirMeaning(code: Int, meaning: M) {
        for operation in BybitOperation.allCases {
            #expect(BybitRetCode(rawValue: code).meaning(for: operation) == meaning, "\(code) for \(operation)")
        }
    }

    @Test(arguments: [110001, 110008, 110010, 170213])
    func orderLookupCodesMeanAlreadyGoneOnlyForCancelAmendAndCancelAll(code: Int) {
        let retCode = BybitRetCode(rawValue: code)
        for operation in [BybitOperation.cancel, .amend, .cancelAll] {
            #expect(retCode.meaning(for: operation) == .orderAlreadyGone)
            #expect(retCode.meaning(for: operation).requiresOrderQuery)
        }
        #expect(retCode.meaning(for: .create, message: "m") == .other(code: retCode, message: "m"))
        #expect(retCode.meaning(for: .query, message: "m") == .other(code: retCode, message: "m"))
    }

    @Test(arguments: [10000, 10016])
    func serverFailuresLeaveStateUnknownOnlyForMutations(code: Int) {
        let retCode = BybitRetCode(rawValue: code)
        for operation in BybitOperation.allCases {
            #expect(retCode.meaning(for: operation) == (operation.isMutating ? .unknownState : .serverError))
        }
        #expect(retCode.meaning(for: .create).requiresOrderQuery)
    }

    @Test func notModifiedCodesAreSuccessOnlyForTheirOwnOperation() {
        #expect(BybitRetCode.leverageNotModified.meaning(for: .setLeverage) == .leverageUnchanged)
        #expect(BybitRetCode.leverageNotModified.meaning(for: .setLeverage).isSuccess)
        #expect(!BybitRetCode.leverageNotModified.meaning(for: .create).isSuccess)
        #expect(BybitRetCode.positionModeNotModified.meaning(for: .switchPositionMode) == .positionModeUnchanged)
        #expect(BybitRetCode.positionModeNotModified.meaning(for: .switchPositionMode).isSuccess)
        #expect(BybitRetCode.positionModeNotModified.meaning(for: .setLeverage, message: "x")
                == .other(code: .positionModeNotModified, message: "x"))
    }

    @Test func unlistedCodesKeepCodeAndMessage() {
        let code = BybitRetCode(rawValue: 131_999)
        #expect(code.meaning(for: .create, message: "something new") == .other(code: code, message: "something new"))
        #expect(!code.meaning(for: .create).isSuccess)
        for listed in [10014, 10017, 110013, 110021, 110040, 110057, 110058] {
            guard case .other = BybitRetCode(rawValue: listed).meaning(for: .create) else {
                Issue.record("\(listed) should stay .other")
                continue
            }
        }
    }

    @Test func everyCodeOfTheReferenceTableHasANamedMember() {
        let table = [0, 10000, 10001, 10002, 10003, 10004, 10005, 10006, 10007, 10010, 10014, 10016, 10017,
                     110001, 110003, 110004, 110006, 110007, 110008, 110009, 110010, 110012, 110013, 110017,
                     110020, 110021, 110025, 110040, 110043, 110044, 110045, 110057, 110058, 110072, 110079,
                     110092, 110093, 110094]
        let named = Set(BybitRetCode.documented.map(\.rawValue))
        for code in table { #expect(named.contains(code), "\(code)") }
        #expect(BybitRetCode.documented.map(\.rawValue) == BybitRetCode.documented.map(\.rawValue).sorted())
        #expect(BybitRetCode.tooManyVisits.rawValue == 10006 && BybitRetCode.orderProcessing.rawValue == 110079)
    }
}
