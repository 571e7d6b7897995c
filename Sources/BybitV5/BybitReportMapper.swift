public import CascadeCore

/// Turns Bybit's private messages into venue-neutral ``CascadeCore/ExecutionReport``s.
///
/// Stateful, because Bybit's order stream sends the whole order each time and the report is the change: the first
/// message of an order is its acceptance; a later one with another price, quantity or trigger is an amendment;
/// `Triggered` is the trigger firing; `Cancelled`, `Deactivated` and `Rejected` end it. A second `Filled` message
/// with `cancelType` `CancelByUser` and `rejectReason` `EC_OrigClOrdIDDoesNotExist` is a cancel that lost the race
/// to the fill (§3.3): a refused command, not a second fill.
///
/// Executions are classified once, here: `Trade`/`BlockTrade` are fills; `Funding` changes the wallet only (its
/// `execQty` is the position size, its `orderLinkId` empty — three public Bybit codebases booked it as a fill);
/// `BustTrade`, `AdlTrade`, `Delivery`, `Settle` and `MovePosition` change the position through a takeover; any
/// other type is reported unclassified and never applied. Partial fills are not order reports: the executions carry
/// them.
public struct BybitReportMapper: Sendable {
    /// What the mapper knows of an order from its last message.
    struct Known: Sendable {
        var status: BybitOrderStatus
        var price: Price?
        var qty: Quantity
        var triggerPrice: Price?
        var venueID: VenueOrderID
        var clientID: ClientOrderID?
        var symbol: String
        var progress: BybitOrder.Progress
    }

    var orders: [String: Known] = [:]

    /// Orders whose last message left them open (or about to be: untriggered, triggered), with their symbol: what a
    /// reconciliation expects the open-order list to hold.
    public var openOrders: [(orderId: String, symbol: String)] {
        orders.filter { $0.value.status.lifecycle != .terminal }.map { ($0.key, $0.value.symbol) }.sorted { $0.orderId < $1.orderId }
    }
    /// `orderLinkId` → `orderId`, for linking partial TP/SL orders to the order that made them.
    var links: [String: String] = [:]

    /// Whether a message about the order with this `orderLinkId` has been mapped.
    public func hasSeen(orderLinkId: String) -> Bool { links[orderLinkId] != nil }

    public init() {}

    /// The reports of one decoded private message (control frames give none).
    public mutating func reports(_ message: BybitPrivateMessage) -> [ExecutionReport] {
        switch message {
        case let .orders(list, _): list.flatMap { reports(order: $0) }
        case let .executions(list, _): list.map(report(execution:))
        case let .positions(list, envelope): list.compactMap { report(position: $0, at: envelope.creationTime) }
        case let .wallets(list, envelope): list.compactMap { report(wallet: $0, at: envelope.creationTime) }
        case .control: []
        }
    }

    /// The reports one order message means, given what was known of the order before. `listed`: the row comes from a
    /// REST list (a backfill, a reconciliation, a query), not from the stream: it must be ahead of what is known to
    /// say anything, since at equal progress and time the stream's message is the later word.
    public mutating func reports(order o: BybitOrder, listed: Bool = false) -> [ExecutionReport] {
        let venueID = VenueOrderID(o.orderId)
        let clientID = o.orderLinkId.isEmpty ? nil : try? ClientOrderID(o.orderLinkId)
        if !o.orderLinkId.isEmpty { links[o.orderLinkId] = o.orderId }
        func report(_ event: ExecutionReport.Event) -> ExecutionReport {
            ExecutionReport(symbol: o.symbolID, time: o.updatedTime, event: event)
        }
        let previous = orders[o.orderId]
        // An older state than the one known (a REST list read before the stream's latest message, say) says nothing
        // new: mapped, it would amend the order back to its old terms, reopen an ended one, or end it twice. A listed
        // row as far along as the stream's message says nothing either.
        if let previous, listed ? previous.progress >= o.progress : previous.progress > o.progress { return [] }
        orders[o.orderId] = Known(status: o.orderStatus, price: o.price, qty: o.qty, triggerPrice: o.triggerPrice, venueID: venueID,
                                  clientID: clientID, symbol: o.symbol, progress: o.progress)
        var out: [ExecutionReport] = []
        if previous == nil {
            if o.orderStatus == .rejected {
                return [report(.rejected(OrderRejected(venueID: venueID, clientID: clientID,
                                                       rejection: BybitCodes.rejection(rejectReason: o.rejectReason))))]
            }
            let parent = o.parentOrderLinkId.isEmpty ? nil : links[o.parentOrderLinkId].map(VenueOrderID.init)
            out.append(report(.accepted(OrderAccepted(venueID: venueID, clientID: clientID, spec: spec(of: o),
                                                      origin: BybitCodes.origin(createType: o.createType), parent: parent))))
        }
        switch o.orderStatus {
        case .new, .partiallyFilled, .untriggered:
            if let previous, previous.status == .triggered { break }
            if let previous, previous.price != o.price || previous.qty != o.qty || previous.triggerPrice != o.triggerPrice {
                out.append(report(.amended(OrderAmended(venueID: venueID, clientID: clientID, price: o.orderType == .limit ? o.price : nil,
                                                        qty: o.qty, triggerPrice: o.triggerPrice))))
            }
        case .triggered:
            out.append(report(.triggered(OrderTriggered(venueID: venueID, clientID: clientID, price: o.triggerPrice,
                                                        qty: o.qty))))
        case .filled:
            if previous?.status == .filled, o.rejectReason == "EC_OrigClOrdIDDoesNotExist" {
                out.append(report(.commandRejected(CommandRejected(
                    action: .cancel(.venue(venueID)), venueID: venueID, clientID: clientID,
                    rejection: Rejection(.orderClosed, venueCode: o.rejectReason)))))
            }
        case .cancelled, .deactivated, .partiallyFilledCanceled:
            guard previous.map({ ![.cancelled, .deactivated, .partiallyFilledCanceled].contains($0.status) }) ?? true else { break }
            out.append(report(.cancelled(OrderCancelled(
                venueID: venueID, clientID: clientID, cancellation: BybitCodes.cancellation(cancelType: o.cancelType, rejectReason: o.rejectReason),
                filledQty: o.cumExecQty, wasUntriggered: o.orderStatus == .deactivated))))
        case .rejected:
            if previous != nil {
                out.append(report(.rejected(OrderRejected(venueID: venueID, clientID: clientID,
                                                          rejection: BybitCodes.rejection(rejectReason: o.rejectReason)))))
            }
        }
        return out
    }

    /// The order's terms as Bybit states them.
    func spec(of o: BybitOrder) -> OrderSpec {
        var trigger: Trigger?
        if let price = o.triggerPrice, let direction = o.triggerDirection {
            trigger = Trigger(price: price, direction: BybitCodes.direction(direction),
                              source: BybitTriggerBy(rawValue: o.triggerBy).map(BybitCodes.triggerSource) ?? .lastPrice)
        }
        var protection: Protection?
        if o.takeProfit != nil || o.stopLoss != nil {
            func leg(_ price: Price?, _ by: String, _ limit: Price?) -> ProtectionLeg? {
                price.map { ProtectionLeg(trigger: $0, source: BybitTriggerBy(rawValue: by).map(BybitCodes.triggerSource) ?? .lastPrice,
                                          limitPrice: limit) }
            }
            protection = Protection(takeProfit: leg(o.takeProfit, o.tpTriggerBy, o.tpLimitPrice),
                                    stopLoss: leg(o.stopLoss, o.slTriggerBy, o.slLimitPrice),
                                    mode: o.tpslMode == "Partial" ? .partial : .full)
        }
        let type: OrderType = o.orderType == .market ? .market : .limit
        return OrderSpec(side: o.side, type: type, timeInForce: BybitCodes.timeInForce(o.timeInForce) ?? .goodTillCancel,
                         price: type == .limit ? o.price : nil, qty: o.qty, reduceOnly: o.reduceOnly, trigger: trigger,
                         closeOnTrigger: o.closeOnTrigger, protection: protection)
    }

    /// The report of one execution, classified by its type.
    public func report(execution e: BybitExecution) -> ExecutionReport {
        let executionID = ExecutionID(e.execId)
        let event: ExecutionReport.Event
        switch BybitCodes.kind(e.execType) {
        case .trade, .blockTrade:
            let clientID = e.orderLinkId.isEmpty ? nil : try? ClientOrderID(e.orderLinkId)
            event = .filled(Fill(venueID: VenueOrderID(e.orderId), clientID: clientID, executionID: executionID, side: e.side,
                                 price: e.execPrice, qty: e.execQty, liquidity: e.isMaker ? .maker : .taker, fee: e.execFee,
                                 feeRate: e.feeRate, leavesQty: e.leavesQty, closedQty: e.closedSize,
                                 closedPnl: e.execPnl, markPrice: e.markPrice, seq: e.seq))
        case .funding:
            // Funding: `side` is the position's side, `execQty` its size, `execPrice` the mark, `feeRate` the rate.
            let size = e.side == .buy ? e.execQty : Quantity(units: -e.execQty.units)
            event = .funding(FundingPayment(executionID: executionID, positionSize: size, markPrice: e.execPrice,
                                            rate: e.feeRate ?? Rate(units: 0), amount: e.execFee ?? .zero, seq: e.seq))
        case let kind where kind.isTakeover:
            event = .takeover(Takeover(kind: kind, executionID: executionID, venueID: VenueOrderID(e.orderId), side: e.side, price: e.execPrice,
                                       qty: e.execQty, fee: e.execFee ?? .zero, closedQty: e.closedSize, closedPnl: e.execPnl, seq: e.seq))
        default:
            event = .unclassified(UnclassifiedExecution(executionID: executionID, rawType: e.execType.rawValue,
                                                        venueID: e.orderId.isEmpty ? nil : VenueOrderID(e.orderId), side: e.side,
                                                        price: e.execPrice, qty: e.execQty))
        }
        return ExecutionReport(symbol: e.symbolID, time: e.execTime, event: event)
    }

    /// The report of one position message, stamped with its `updatedTime` (else `fallback`: the stream message's
    /// creation time, a REST answer's `time`; nil without either, never an invented time).
    public func report(position p: BybitPosition, at fallback: ExchangeTime? = nil) -> ExecutionReport? {
        guard let time = p.updatedTime ?? fallback else { return nil }
        let status: PositionStatus = switch p.positionStatus {
        case .liquidation?: .liquidation
        case .autoDeleveraging?: .autoDeleveraging
        default: .normal
        }
        let report = PositionReport(
            size: p.signedSize, averagePrice: p.size.units == 0 ? nil : p.entryPrice, markPrice: p.markPrice,
            liquidationPrice: p.liqPrice.flatMap { $0.units > 0 ? $0 : nil }, bankruptcyPrice: p.bustPrice.flatMap { $0.units > 0 ? $0 : nil }, leverage: p.leverage, positionValue: p.positionValue, unrealisedPnl: p.unrealisedPnl,
            currentRealisedPnl: p.curRealisedPnl, cumulativeRealisedPnl: p.cumRealisedPnl, initialMargin: p.positionIM,
            maintenanceMargin: p.positionMM, takeProfit: p.takeProfit, stopLoss: p.stopLoss, status: status,
            adlRankIndicator: p.adlRankIndicator ?? 0, seq: p.seq, createdTime: p.createdTime)
        return ExecutionReport(symbol: p.symbolID, time: time, event: .position(report))
    }

    /// The report of a wallet message: the unified account's totals (USD), with the USDT coin's own order margin and
    /// realised PnL when the message lists USDT (nil without totals).
    public func report(wallet w: BybitWallet, at time: ExchangeTime) -> ExecutionReport? {
        // Every total the report carries, or no report: an absent or unreadable total is never read as zero.
        guard let balance = w.totalWalletBalance, let equity = w.totalEquity, let available = w.totalAvailableBalance,
              let upl = w.totalPerpUPL, let im = w.totalInitialMargin, let mm = w.totalMaintenanceMargin else { return nil }
        let usdt = w.usdt
        let report = WalletReport(
            walletBalance: balance, equity: equity, availableBalance: available, unrealisedPnl: upl, initialMargin: im,
            orderInitialMargin: usdt?.totalOrderIM?.usdt, maintenanceMargin: mm, cumulativeRealisedPnl: usdt?.cumRealisedPnl?.usdt)
        // A wallet is the account's, not a symbol's.
        return ExecutionReport(symbol: nil, time: time, event: .wallet(report))
    }
}
