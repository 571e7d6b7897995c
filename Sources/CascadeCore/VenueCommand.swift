/// A command to a venue, stamped with the exchange time of the last market event (of any kind) its sender had seen.
///
/// `decidedAt` is what makes simulated latency honest: the venue receives the command at `decidedAt` + entry latency,
/// so a reaction can never reach the book before the event it reacts to. A decision triggered by an `allLiquidation`
/// message has `decidedAt` ≥ that message's envelope time, never the liquidation's own (earlier) update time.
public struct VenueCommand: Hashable, Sendable, Codable {
    public var symbol: SymbolID
    public var decidedAt: ExchangeTime
    public var action: Action

    public init(symbol: SymbolID, decidedAt: ExchangeTime, action: Action) {
        self.symbol = symbol
        self.decidedAt = decidedAt
        self.action = action
    }

    /// What the command asks.
    public enum Action: Hashable, Sendable, Codable {
        /// A new order; the client id may be absent only for orders a venue client sends without one.
        case submit(ClientOrderID?, OrderSpec)
        /// New quantity, price or trigger of an open order (conditional orders included).
        case amend(OrderReference, OrderAmendment)
        case cancel(OrderReference)
        /// Every open order of the symbol that `filter` selects (nil: every kind, TP/SL included).
        case cancelAll(OrderFilter?)
        /// The position's take-profit / stop-loss.
        case setTradingStop(TradingStop)
        /// The symbol's leverage (both sides: one-way mode).
        case setLeverage(Rate)
    }
}

/// What to change in an open order (nil: unchanged).
public struct OrderAmendment: Hashable, Sendable, Codable {
    /// The new total quantity (filled part included).
    public var qty: Quantity?
    public var price: Price?
    /// A conditional order's new trigger price.
    public var triggerPrice: Price?
    public init(qty: Quantity? = nil, price: Price? = nil, triggerPrice: Price? = nil) {
        self.qty = qty
        self.price = price
        self.triggerPrice = triggerPrice
    }
    /// True when nothing would change.
    public var isEmpty: Bool { qty == nil && price == nil && triggerPrice == nil }
}

/// Which kinds of open orders a cancel-all or a query selects (Bybit's linear `orderFilter`).
public enum OrderFilter: Hashable, Sendable, Codable, CaseIterable {
    /// Active orders: not conditional, not TP/SL.
    case order
    /// Conditional orders, TP/SL included.
    case stopOrder
    /// Every open order but TP/SL orders (the position's legs and partial TP/SL pairs). Bybit does not define it
    /// further; this reading is ours.
    case openOrder

    /// Whether the filter selects an order made by `origin`, still waiting for its trigger or not (a conditional
    /// order that fired works as an active order). The one reading the venue's cancel-all and its lists share.
    public func selects(origin: OrderOrigin, waitingForTrigger: Bool) -> Bool {
        switch self {
        case .order: !waitingForTrigger
        case .stopOrder: waitingForTrigger
        case .openOrder: !origin.isTakeProfitOrStopLoss
        }
    }
}

/// A change to one TP/SL leg of the position.
public enum LegChange: Hashable, Sendable, Codable {
    case unchanged
    case remove
    case set(ProtectionLeg)
}

/// The position's take-profit and stop-loss (Bybit `/v5/position/trading-stop`).
public struct TradingStop: Hashable, Sendable, Codable {
    public var takeProfit: LegChange
    public var stopLoss: LegChange
    public var mode: TPSLMode
    /// The size each leg closes in ``TPSLMode/partial``; nil in full mode (the whole position at trigger time).
    public var size: Quantity?
    public init(takeProfit: LegChange = .unchanged, stopLoss: LegChange = .unchanged, mode: TPSLMode = .full, size: Quantity? = nil) {
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.mode = mode
        self.size = size
    }
}

extension VenueCommand.Action {
    /// Takes risk off: a cancel (one order or all), a reduce-only order, a trading stop that removes no leg (one that
    /// removes the stop-loss or take-profit takes protection away). A live node whose journal failed still sends the
    /// ones already queued, and the backtest never refuses them as stale. (Bybit's REST client has its own, coarser rule
    /// for what it never holds back: it reads a request, not a command, and counts every trading stop.)
    public var reducesRisk: Bool {
        switch self {
        case .cancel, .cancelAll: true
        case let .setTradingStop(stop): stop.stopLoss != .remove && stop.takeProfit != .remove
        case let .submit(_, spec): spec.reduceOnly
        case .amend, .setLeverage: false
        }
    }
}

/// The live sender's two lanes, each sending one call at a time in the order its commands were decided (the
/// backtest's sequential sender models the same). Cancels, reduce-only orders and their amends, and every trading stop
/// have a lane of their own, so a create Bybit is slow to answer (a cascade is when it is slowest) never holds an exit,
/// a stop or a cancel behind it. Entry creates, leverage and amends of orders that add risk share the other.
public enum SenderLane: Int, Sendable, Hashable, CaseIterable {
    case entries, protective
}

/// Which ``SenderLane`` each command goes in. A command aimed at an order (by client id) whose create is not answered
/// yet goes in that create's lane, behind it: sent ahead in the other lane it could reach Bybit first ("order not
/// exists"), and the order would then rest with nobody cancelling it. (A command by venue id follows an answered
/// create.) Every trading stop goes in the protective lane, one that removes a leg too, so that trading stops reach
/// Bybit in the order they were decided; so does a cancel-all, which therefore does not wait for unanswered entry
/// creates: the engine never sends one (entries are cancelled by id), and a caller that does must cancel those by id.
/// What takes risk off can overtake entry creates still queued: an exit can reach Bybit before an entry decided
/// earlier, whose later fill the engine handles as a fill after its ladder closed.
///
/// An entry create whose cancel was decided while it waited for its turn is withdrawn unsent when its turn comes, and
/// its cancel with it (``withdrawal(_:cancelDecided:)``): sent, the entry would rest, in the cascade it was placed
/// against, for the round trip until its cancel arrived.
public struct SenderLaneRouter: Sendable {
    /// Creates sent or queued, not yet answered, and their lane.
    var unanswered: [ClientOrderID: SenderLane] = [:]
    /// Entry creates withdrawn unsent whose cancel has not had its turn yet.
    var withdrawn: Set<ClientOrderID> = []

    public init() {}

    /// The lane of `command`, recorded when it is a create. `amendsReduceOnly`: the command amends a reduce-only order
    /// (the take-profit; the caller's order book knows).
    public mutating func route(_ command: VenueCommand, amendsReduceOnly: Bool) -> SenderLane {
        let lane = lane(command, amendsReduceOnly: amendsReduceOnly)
        if case let .submit(id?, _) = command.action { unanswered[id] = lane }
        return lane
    }

    func lane(_ command: VenueCommand, amendsReduceOnly: Bool) -> SenderLane {
        switch command.action {
        case let .cancel(.client(id)), let .amend(.client(id), _):
            if let pending = unanswered[id] { return pending }
        case .setTradingStop, .cancelAll:
            return .protective
        default:
            break
        }
        return command.action.reducesRisk || amendsReduceOnly ? .protective : .entries
    }

    /// A step's commands, each routed (``route(_:amendsReduceOnly:)``), as the calls their lanes send
    /// (``SenderBatch/items(_:batching:)``): what the live sender and the backtest's queue.
    public mutating func items(_ commands: [VenueCommand], amendsReduceOnly: (VenueCommand) -> Bool,
                               batching: Bool) -> [(lane: SenderLane, commands: [VenueCommand])] {
        SenderBatch.items(commands.map { (command: $0, lane: route($0, amendsReduceOnly: amendsReduceOnly($0))) }, batching: batching)
    }

    /// `command`'s call was answered (or dropped unsent): commands aimed at its order now go by their own kind.
    public mutating func answered(_ command: VenueCommand) {
        if case let .submit(id?, _) = command.action { unanswered[id] = nil }
    }

    /// An item's commands at their turn to leave (``SenderBatch``), in order: those answered unsent, each with its
    /// refusal (withdrawn: ``withdrawal(_:cancelDecided:)``; or stale, when `isStale` says so: the backtest's model of the
    /// live REST client's deadline, which the live node's client applies itself), and those to send. The one rule the
    /// live sender and the backtest's share.
    public mutating func partition(_ item: [VenueCommand], cancelDecided: (VenueCommand) -> Bool,
                                   isStale: (VenueCommand) -> Bool = { _ in false }) -> (unsent: [(VenueCommand, Rejection)], outgoing: [VenueCommand]) {
        var unsent: [(VenueCommand, Rejection)] = []
        var outgoing: [VenueCommand] = []
        for command in item {
            if let withdrawn = withdrawal(command, cancelDecided: cancelDecided(command)) {
                unsent.append((command, withdrawn))
            } else if isStale(command) {
                unsent.append((command, .staleUnsent))
            } else {
                outgoing.append(command)
            }
        }
        return (unsent, outgoing)
    }

    /// At `command`'s turn to leave: the refusal it is answered with instead of being sent, or nil to send it. An entry
    /// create (not reduce-only) is withdrawn when `cancelDecided` (the caller's order book has a cancel of it decided
    /// and unanswered: queued behind it, since a cancel follows its unanswered create); so is that cancel, at its own
    /// turn. Reduce-only creates are always sent: what the engine does when one is refused (it places the take-profit
    /// again) is not what it meant by cancelling it.
    public mutating func withdrawal(_ command: VenueCommand, cancelDecided: Bool) -> Rejection? {
        switch command.action {
        case let .submit(id?, spec) where cancelDecided && !spec.reduceOnly:
            withdrawn.insert(id)
        case let .cancel(.client(id)) where withdrawn.contains(id):
            withdrawn.remove(id)
        default:
            return nil
        }
        return Rejection(.withdrawnUnsent)
    }
}

/// What a sender lane sends as one call: a command alone, or, when entries are batched (`live.batchEntries`), a step's
/// entry creates of one symbol together (Bybit's `create-batch`, at most ``maxOrders`` orders). A ladder's layers then
/// reach Bybit in one round trip instead of one round trip each; Bybit answers each order on its own
/// (`retExtInfo.list`), so each command still gets its own answer.
public enum SenderBatch {
    /// Orders in one batch: Bybit's batch page takes up to 20 linear orders in a `create-batch`, but its rate-limit page
    /// counts each order against the endpoint's limit, 10 per second by default for linear; a larger batch could never
    /// pass that on a default account.
    public static let maxOrders = 10

    /// Whether `command` may go in a batch: an entry create (not reduce-only) with a client id.
    public static func isBatchable(_ command: VenueCommand) -> Bool {
        if case let .submit(_?, spec) = command.action { !spec.reduceOnly } else { false }
    }

    /// A step's commands with their lanes, in order, as the items their lanes send one call at a time. With `batching`,
    /// a batchable command joins the step's previous item of its lane when that item is a batch of the same symbol
    /// with room (so only consecutive entry creates of one lane join: nothing is reordered).
    public static func items(_ routed: [(command: VenueCommand, lane: SenderLane)], batching: Bool) -> [(lane: SenderLane, commands: [VenueCommand])] {
        guard batching, routed.count > 1 else { return routed.map { ($0.lane, [$0.command]) } }
        var items: [(lane: SenderLane, commands: [VenueCommand])] = []
        var lastOfLane: [Int?] = Array(repeating: nil, count: SenderLane.allCases.count)
        for (command, lane) in routed {
            if isBatchable(command), let i = lastOfLane[lane.rawValue], let first = items[i].commands.first,
               isBatchable(first), first.symbol == command.symbol, items[i].commands.count < maxOrders {
                items[i].commands.append(command)
                continue
            }
            lastOfLane[lane.rawValue] = items.count
            items.append((lane, [command]))
        }
        return items
    }
}
