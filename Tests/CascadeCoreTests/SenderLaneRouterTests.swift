@testable import CascadeCore
import Testing

/// The live sender's lanes (and the backtest's model of them): what takes risk off goes in the protective lane, except
/// behind its own order's unanswered create.
struct SenderLaneRouterTests {
    let btc = SymbolID(index: 0)
    let at = ExchangeTime(milliseconds: 1)

    func id(_ text: String) -> ClientOrderID { try! ClientOrderID(text) }
    func command(_ action: VenueCommand.Action, _ symbol: SymbolID? = nil) -> VenueCommand {
        VenueCommand(symbol: symbol ?? btc, decidedAt: at, action: action)
    }
    let entry = OrderSpec.limit(.buy, price: Price(units: 100), qty: Quantity(units: 1), timeInForce: .postOnly)
    let exit = OrderSpec.market(.sell, qty: Quantity(units: 1), reduceOnly: true)

    @Test func eachCommandGoesByItsKind() {
        var router = SenderLaneRouter()
        let notReduceOnly: (ClientOrderID) -> Bool = { _ in false }
        #expect(router.route(command(.submit(id("e1"), entry)), reduceOnly: notReduceOnly) == .entries)
        #expect(router.route(command(.submit(id("x1"), exit)), reduceOnly: notReduceOnly) == .protective)
        #expect(router.route(command(.setLeverage(Rate(units: 1))), reduceOnly: notReduceOnly) == .entries)
        #expect(router.route(command(.setTradingStop(TradingStop(stopLoss: .set(ProtectionLeg(trigger: Price(units: 90)))))), reduceOnly: notReduceOnly) == .protective)
        #expect(router.route(command(.setTradingStop(TradingStop(stopLoss: .remove))), reduceOnly: notReduceOnly) == .protective,
                "every trading stop in one lane: they reach Bybit in the order decided")
        // Once their creates are answered, a cancel is protective and an amend goes by its order.
        router.answered(command(.submit(id("e1"), entry)))
        router.answered(command(.submit(id("x1"), exit)))
        #expect(router.route(command(.cancel(.client(id("e1")))), reduceOnly: notReduceOnly) == .protective)
        #expect(router.route(command(.amend(.client(id("e1")), OrderAmendment(qty: Quantity(units: 2)))), reduceOnly: notReduceOnly) == .entries)
        #expect(router.route(command(.amend(.client(id("t1")), OrderAmendment(qty: Quantity(units: 2)))), reduceOnly: { $0 == id("t1") }) == .protective,
                "an amend of a reduce-only order (the take-profit) takes no risk on")
    }

    @Test func aCommandAimedAtAnUnansweredCreateFollowsIt() {
        var router = SenderLaneRouter()
        let never: (ClientOrderID) -> Bool = { _ in false }
        _ = router.route(command(.submit(id("e1"), entry)), reduceOnly: never)
        _ = router.route(command(.submit(id("t1"), exit)), reduceOnly: never)
        #expect(router.route(command(.cancel(.client(id("e1")))), reduceOnly: never) == .entries, "behind the entry's create")
        #expect(router.route(command(.cancel(.client(id("t1")))), reduceOnly: never) == .protective)
        #expect(router.route(command(.cancelAll(.order)), reduceOnly: never) == .protective, "never behind an entry create")
        #expect(router.route(command(.amend(.venue(VenueOrderID("v1")), OrderAmendment(qty: Quantity(units: 2)))), reduceOnly: never) == .entries)
        router.answered(command(.submit(id("e1"), entry)))
        #expect(router.route(command(.cancel(.client(id("e1")))), reduceOnly: never) == .protective, "answered: by its kind")
    }
}
