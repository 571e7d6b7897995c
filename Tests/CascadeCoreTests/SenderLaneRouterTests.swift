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
        #expect(router.route(command(.submit(id("e1"), entry)), amendsReduceOnly: false) == .entries)
        #expect(router.route(command(.submit(id("x1"), exit)), amendsReduceOnly: false) == .protective)
        #expect(router.route(command(.setLeverage(Rate(units: 1))), amendsReduceOnly: false) == .entries)
        #expect(router.route(command(.setTradingStop(TradingStop(stopLoss: .set(ProtectionLeg(trigger: Price(units: 90)))))), amendsReduceOnly: false) == .protective)
        #expect(router.route(command(.setTradingStop(TradingStop(stopLoss: .remove))), amendsReduceOnly: false) == .protective,
                "every trading stop in one lane: they reach Bybit in the order decided")
        // Once their creates are answered, a cancel is protective and an amend goes by its order.
        router.answered(command(.submit(id("e1"), entry)))
        router.answered(command(.submit(id("x1"), exit)))
        #expect(router.route(command(.cancel(.client(id("e1")))), amendsReduceOnly: false) == .protective)
        #expect(router.route(command(.amend(.client(id("e1")), OrderAmendment(qty: Quantity(units: 2)))), amendsReduceOnly: false) == .entries)
        #expect(router.route(command(.amend(.client(id("t1")), OrderAmendment(qty: Quantity(units: 2)))), amendsReduceOnly: true) == .protective,
                "an amend of a reduce-only order (the take-profit) takes no risk on")
    }

    @Test func aCommandAimedAtAnUnansweredCreateFollowsIt() {
        var router = SenderLaneRouter()
        _ = router.route(command(.submit(id("e1"), entry)), amendsReduceOnly: false)
        _ = router.route(command(.submit(id("t1"), exit)), amendsReduceOnly: false)
        #expect(router.route(command(.cancel(.client(id("e1")))), amendsReduceOnly: false) == .entries, "behind the entry's create")
        #expect(router.route(command(.cancel(.client(id("t1")))), amendsReduceOnly: false) == .protective)
        #expect(router.route(command(.cancelAll(.order)), amendsReduceOnly: false) == .protective, "never behind an entry create")
        #expect(router.route(command(.amend(.venue(VenueOrderID("v1")), OrderAmendment(qty: Quantity(units: 2)))), amendsReduceOnly: false) == .entries)
        router.answered(command(.submit(id("e1"), entry)))
        #expect(router.route(command(.cancel(.client(id("e1")))), amendsReduceOnly: false) == .protective, "answered: by its kind")
    }

    /// At its turn, an entry create whose cancel is decided is withdrawn, and then that cancel (once); a reduce-only
    /// create, a create without a decided cancel and other cancels are sent.
    @Test func anEntryWhoseCancelIsDecidedIsWithdrawnWithItsCancel() {
        var router = SenderLaneRouter()
        #expect(router.withdrawal(command(.submit(id("e1"), entry)), cancelDecided: false) == nil)
        #expect(router.withdrawal(command(.submit(id("x1"), exit)), cancelDecided: true) == nil, "reduce-only: sent")
        #expect(router.withdrawal(command(.cancel(.client(id("e1")))), cancelDecided: false) == nil, "its create was sent")
        #expect(router.withdrawal(command(.submit(id("e2"), entry)), cancelDecided: true) == Rejection(.withdrawnUnsent))
        #expect(router.withdrawal(command(.cancel(.client(id("e1")))), cancelDecided: false) == nil, "another order's cancel")
        #expect(router.withdrawal(command(.cancel(.client(id("e2")))), cancelDecided: false) == Rejection(.withdrawnUnsent))
        #expect(router.withdrawal(command(.cancel(.client(id("e2")))), cancelDecided: false) == nil, "one cancel goes with it")
    }

    /// A step's consecutive entry creates of one symbol in the entry lane go in one item (at most 10); anything else goes
    /// alone, and nothing is reordered within a lane.
    @Test func aStepsEntryCreatesOfOneSymbolGoTogether() {
        let eth = SymbolID(index: 1)
        let entries = (0..<25).map { command(.submit(id("e\($0)"), entry)) }
        let takeProfit = command(.submit(id("t1"), exit))
        let leverage = command(.setLeverage(Rate(units: 1)))
        let other = command(.submit(id("h1"), entry), eth)
        let routed: [(command: VenueCommand, lane: SenderLane)] = [(entries[0], .entries), (takeProfit, .protective), (entries[1], .entries),
                                                                  (other, .entries), (entries[2], .entries)]
            + entries[3...].map { ($0, SenderLane.entries) }
        let items = SenderBatch.items(routed, batching: true)
        #expect(items.map(\.commands.count) == [2, 1, 1, 10, 10, 3], "\(items.map(\.commands.count))")
        #expect(items[0].commands == [entries[0], entries[1]] && items[1].lane == .protective && items[2].commands == [other])
        #expect(items[3].commands == Array(entries[2..<12]) && items[4].commands == Array(entries[12..<22]) && items[5].commands == Array(entries[22...]),
                "the rest of the step's entries after the other symbol's, 10 at most in one")
        #expect(SenderBatch.items([(entries[0], .entries), (leverage, .entries), (entries[1], .entries)], batching: true).count == 3,
                "a command between them splits them")
        #expect(SenderBatch.items(routed, batching: false).allSatisfy { $0.commands.count == 1 })
    }
}
