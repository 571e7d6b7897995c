import BybitV5
import CascadeCore
import MarketData
import Simulation

/// The private topics of the simulator's `/v5/private` stream.
enum SimPrivateTopic: String, CaseIterable, Sendable {
    case order, execution, position, wallet
}

/// One account of `cascade sim` as Bybit shows it: a ``Simulation/SimulatedExchange`` (the account at the venue),
/// the Bybit records its reports make (`BybitOrder`s, `BybitExecution`s), and the private-stream items waiting for
/// their acknowledgement time.
///
/// The records are built only from ``CascadeCore/ExecutionReport``s and written only by
/// ``BybitV5/BybitPrivateEncoder``: the facade translates, the venue decides. Every report becomes private-stream
/// items stamped `report time + acknowledgement latency`; the replay releases them once its exchange clock reaches
/// that time, so a client never hears of a fill before it could have.
struct BybitAccount {
    /// A private-stream item due at an exchange time (ms, recorded clock).
    struct Push {
        var due: Int64
        var sequence: Int
        var topic: SimPrivateTopic
        var item: String
        /// The `execution.fast` form of a trade execution (nil: not on that topic).
        var fast: String?
    }

    /// What the facade remembers of an order besides its Bybit record.
    struct OrderInfo {
        /// Order of creation (lists sort by it when times tie).
        var number: Int
        /// Who made it (`orderFilter` reads it).
        var origin: OrderOrigin
    }

    let name: String
    var exchange: SimulatedExchange
    var orders: [String: BybitOrder] = [:]
    var info: [String: OrderInfo] = [:]
    /// `orderLinkId` → `orderId` (links are unique per account: 110072).
    var links: [String: String] = [:]
    var executions: [BybitExecution] = []
    /// Set by a venue restart (exchange ms): orders that ended before it are no longer in `/v5/order/realtime`.
    var realtimeForgetsEndedBefore: Int64?
    /// Fault hook: an ended order reaches `/v5/order/history` only this long after its last update (0: at once).
    var historyLagMilliseconds: Int64 = 0
    /// Private-stream items not yet released, in due order (ties in the order they were made).
    var pending: [Push] = []
    var pushSequence = 0
    var orderNumber = 0
    /// Added to every exchange time the account reports (timestamps rebased to the replay start).
    var timeOffset: Int64 = 0
    /// Matching suspensions and funding the data could not price: not Bybit messages, listed in `/_cascade/status`.
    var notices: [String] = []

    init(name: String, deposit: USDT, settings: VenueSettings) {
        self.name = name
        exchange = SimulatedExchange(deposit: deposit, settings: settings)
    }

    var deposit: USDT { exchange.deposit }

    func orderId(linkId: String) -> String? { links[linkId] }

    /// Removes and returns the private items due by `time` (ms, recorded clock).
    mutating func takeDue(upTo time: Int64) -> [Push] {
        guard let end = pending.firstIndex(where: { $0.due > time }) else {
            defer { pending = [] }
            return pending
        }
        defer { pending.removeFirst(end) }
        return Array(pending[..<end])
    }

    mutating func push(_ topic: SimPrivateTopic, _ item: String, due: Int64, fast: String? = nil) {
        pushSequence += 1
        let entry = Push(due: due, sequence: pushSequence, topic: topic, item: item, fast: fast)
        // Binary insertion behind every item due at or before it: the queue stays in due order, ties stay in order.
        var lo = pending.startIndex, hi = pending.endIndex
        while lo < hi {
            let mid = (lo + hi) / 2
            if pending[mid].due <= due { lo = mid + 1 } else { hi = mid }
        }
        pending.insert(entry, at: lo)
    }

    // MARK: - Orders sent

    /// The record of an order the venue acknowledged on the call: `New` (or `Untriggered`) until the venue reports.
    mutating func recordSent(_ id: VenueOrderID, clientID: ClientOrderID?, spec: OrderSpec, instrument: Instrument, at now: Int64) {
        orderNumber += 1
        let time = ExchangeTime(milliseconds: now)
        var o = BybitOrder(symbol: instrument.symbol, symbolID: instrument.id, orderId: id.rawValue, orderLinkId: clientID?.rawValue ?? "",
                           side: spec.side, orderType: spec.type == .market ? .market : .limit,
                           timeInForce: BybitCodes.timeInForce(spec.timeInForce), orderStatus: spec.isConditional ? .untriggered : .new,
                           stopOrderType: spec.isConditional ? "Stop" : "UNKNOWN", price: spec.price, qty: spec.qty, leavesQty: spec.qty,
                           leavesValue: spec.price.flatMap { instrument.notional(price: $0, qty: spec.qty) } ?? .zero, cumExecQty: .zero,
                           cumExecValue: .zero, cumExecFee: .zero, avgPrice: nil, closedPnl: .zero, reduceOnly: spec.reduceOnly,
                           closeOnTrigger: spec.closeOnTrigger, createdTime: time, updatedTime: time)
        Self.apply(spec, to: &o)
        orders[id.rawValue] = o
        info[id.rawValue] = OrderInfo(number: orderNumber, origin: .client)
        if let clientID { links[clientID.rawValue] = id.rawValue }
    }

    /// Trigger and TP/SL fields of an order's record.
    static func apply(_ spec: OrderSpec, to o: inout BybitOrder) {
        if let trigger = spec.trigger {
            o.triggerPrice = trigger.price
            o.triggerDirection = BybitCodes.direction(trigger.direction)
            o.triggerBy = BybitCodes.triggerBy(trigger.source).rawValue
        }
        if let protection = spec.protection {
            o.takeProfit = protection.takeProfit?.trigger
            o.stopLoss = protection.stopLoss?.trigger
            o.tpTriggerBy = protection.takeProfit.map { BybitCodes.triggerBy($0.source).rawValue } ?? "UNKNOWN"
            o.slTriggerBy = protection.stopLoss.map { BybitCodes.triggerBy($0.source).rawValue } ?? "UNKNOWN"
            o.tpLimitPrice = protection.takeProfit?.limitPrice
            o.slLimitPrice = protection.stopLoss?.limitPrice
            o.tpslMode = protection.mode == .full ? "Full" : "Partial"
        }
    }

    // MARK: - Reports → records and private messages

    /// Applies the venue's reports: records change at once (REST answers read them), the private stream hears of
    /// them one acknowledgement delay after they happened.
    mutating func apply(_ reports: [ExecutionReport], instruments: InstrumentTable) {
        guard !reports.isEmpty else { return }
        let delay = exchange.acknowledgementDelay()
        var changed: [(id: String, due: Int64)] = []
        func touch(_ id: String, _ due: Int64) {
            if let i = changed.firstIndex(where: { $0.id == id }) { changed[i].due = max(changed[i].due, due) } else { changed.append((id, due)) }
        }
        for r in reports {
            let due = r.time.milliseconds + delay
            let at = ExchangeTime(milliseconds: r.time.milliseconds + timeOffset)
            let instrument = r.symbol.map { instruments[$0] }
            switch r.event {
            case let .accepted(a):
                guard let instrument else { continue }
                let id = a.venueID.rawValue
                if orders[id] == nil {
                    // Made by the venue (a TP/SL leg, a partial TP/SL pair) or acknowledged when the liquidation
                    // engine cancelled it in flight.
                    recordSent(a.venueID, clientID: a.clientID, spec: a.spec, instrument: instrument, at: at.milliseconds)
                }
                let wholePosition = a.spec.qty == .zero
                orders[id]!.createType = BybitCodes.createType(a.origin)
                orders[id]!.stopOrderType = BybitCodes.stopOrderType(origin: a.origin, conditional: a.spec.isConditional,
                                                                   wholePosition: wholePosition)
                if let parent = a.parent, let link = orders[parent.rawValue]?.orderLinkId { orders[id]!.parentOrderLinkId = link }
                orders[id]!.orderStatus = a.spec.isConditional ? .untriggered : .new
                orders[id]!.updatedTime = at
                info[id]!.origin = a.origin
                touch(id, due)
            case let .rejected(rejected):
                guard let id = rejected.venueID?.rawValue, orders[id] != nil else { continue }
                orders[id]!.orderStatus = .rejected
                orders[id]!.rejectReason = BybitCodes.rejectReason(rejected.rejection.reason)
                orders[id]!.leavesQty = .zero
                orders[id]!.leavesValue = .zero
                orders[id]!.updatedTime = at
                touch(id, due)
            case let .triggered(t):
                let id = t.venueID.rawValue
                guard orders[id] != nil else { continue }
                orders[id]!.orderStatus = .triggered
                orders[id]!.qty = t.qty
                orders[id]!.leavesQty = t.qty
                orders[id]!.updatedTime = at
                push(.order, BybitPrivateEncoder.order(orders[id]!, instrument: instruments[orders[id]!.symbolID]), due: due)
                // It works as a normal order from here (Bybit: Triggered, then New).
                orders[id]!.orderStatus = .new
                touch(id, due)
            case let .amended(a):
                let id = a.venueID.rawValue
                guard var o = orders[id], let instrument else { continue }
                if let price = a.price { o.price = price }
                o.qty = a.qty
                if let trigger = a.triggerPrice { o.triggerPrice = trigger }
                o.leavesQty = Quantity(units: max(0, a.qty.units - o.cumExecQty.units))
                o.leavesValue = o.price.flatMap { instrument.notional(price: $0, qty: o.leavesQty ?? .zero) } ?? .zero
                o.updatedTime = at
                orders[id] = o
                touch(id, due)
            case let .filled(f):
                guard let instrument else { continue }
                let id = f.venueID.rawValue
                guard var o = orders[id] else { continue }
                // The venue states both; a fill without them would be a simulator defect, shown rather than guessed.
                guard let fee = f.fee, let feeRate = f.feeRate, let leavesQty = f.leavesQty else {
                    notices.append("\(at.milliseconds) \(instrument.symbol) fill \(f.executionID) without fee or leaves: not published")
                    continue
                }
                let value = instrument.notional(price: f.price, qty: f.qty) ?? .zero
                o.cumExecQty = o.cumExecQty + f.qty
                o.cumExecValue = (o.cumExecValue ?? .zero) + value
                o.cumExecFee = (o.cumExecFee ?? .zero) + fee
                o.cumFeeDetail["USDT"] = BybitCoinAmount(clamping: o.cumExecFee ?? .zero)
                o.avgPrice = instrument.averagePrice(value: o.cumExecValue ?? .zero, qty: o.cumExecQty)
                o.closedPnl = (o.closedPnl ?? .zero) + (f.closedPnlAfterCosts ?? .zero)
                o.leavesQty = leavesQty
                o.leavesValue = o.price.flatMap { instrument.notional(price: $0, qty: leavesQty) } ?? .zero
                o.orderStatus = leavesQty == .zero ? .filled : .partiallyFilled
                o.updatedTime = at
                orders[id] = o
                let e = BybitExecution(
                    symbol: o.symbol, symbolID: o.symbolID, execId: f.executionID.rawValue, orderId: id, orderLinkId: o.orderLinkId,
                    side: f.side, execPrice: f.price, execQty: f.qty, execValue: value, execFee: fee, feeRate: feeRate,
                    execType: .trade, isMaker: f.liquidity == .maker, execTime: at, seq: f.seq, closedSize: f.closedQty,
                    execPnl: f.closedPnl, orderPrice: o.price, orderQty: o.qty, leavesQty: leavesQty, markPrice: f.markPrice,
                    orderType: o.orderType.rawValue, stopOrderType: o.stopOrderType, createType: o.createType)
                executions.append(e)
                push(.execution, BybitPrivateEncoder.execution(e, instrument: instrument), due: due,
                     fast: BybitPrivateEncoder.execution(e, instrument: instrument, fast: true))
                touch(id, due)
            case let .cancelled(c):
                let id = c.venueID.rawValue
                guard var o = orders[id] else { continue }
                let codes = BybitCodes.cancelCodes(c.cancellation.reason)
                // Derivatives: a cancel after partial fills stays `Cancelled` with its executed quantity; a conditional
                // order that never fired ends `Deactivated`.
                o.orderStatus = c.wasUntriggered ? .deactivated : .cancelled
                o.cancelType = codes.cancelType
                o.rejectReason = codes.rejectReason
                o.leavesQty = .zero
                o.leavesValue = .zero
                o.updatedTime = at
                orders[id] = o
                touch(id, due)
            case let .commandRejected(c):
                // A cancel that lost the race to a fill: Bybit sends the order `Filled` a second time (§3.3).
                guard case .cancel = c.action, let id = c.venueID?.rawValue, orders[id]?.orderStatus == .filled else { continue }
                orders[id]!.cancelType = "CancelByUser"
                orders[id]!.rejectReason = "EC_OrigClOrdIDDoesNotExist"
                orders[id]!.updatedTime = at
                touch(id, due)
            case let .position(p):
                guard let instrument else { continue }
                push(.position, BybitPrivateEncoder.position(position(p, instrument: instrument, at: at), instrument: instrument, stream: true),
                     due: due)
            case let .wallet(w):
                push(.wallet, BybitPrivateEncoder.wallet(wallet(w)), due: due)
            case let .funding(p):
                guard let instrument else { continue }
                let qty = Quantity(units: abs(p.positionSize.units))
                // Bybit's funding rows: the position's side and size, the mark as price, the rate as fee rate, the
                // amount as fee, a synthetic order id of the settlement.
                let side: Side = p.positionSize.units > 0 ? .buy : .sell
                let e = BybitExecution(
                    symbol: instrument.symbol, symbolID: instrument.id, execId: p.executionID.rawValue,
                    orderId: "\(at.milliseconds / 1_000)-\(instrument.symbol)-\(side)", orderLinkId: "", side: side,
                    execPrice: p.markPrice, execQty: qty, execValue: instrument.notional(price: p.markPrice, qty: qty) ?? .zero,
                    execFee: p.amount, feeRate: p.rate, execType: .funding, isMaker: false, execTime: at, seq: p.seq, orderQty: .zero,
                    leavesQty: .zero, markPrice: p.markPrice, orderType: "UNKNOWN", createType: "")
                executions.append(e)
                push(.execution, BybitPrivateEncoder.execution(e, instrument: instrument), due: due)
            case let .takeover(t):
                guard let instrument else { continue }
                // The liquidation engine's order (createType CreateByLiq), filled at once by the takeover.
                let id = t.venueID.rawValue
                let value = instrument.notional(price: t.price, qty: t.qty) ?? .zero
                orderNumber += 1
                orders[id] = BybitOrder(
                    symbol: instrument.symbol, symbolID: instrument.id, orderId: id, orderLinkId: "", side: t.side, orderType: .market,
                    timeInForce: .immediateOrCancel, orderStatus: .filled, createType: BybitCodes.createType(.liquidation), price: t.price,
                    qty: t.qty, leavesQty: .zero, leavesValue: .zero, cumExecQty: t.qty, cumExecValue: value, cumExecFee: t.fee,
                    cumFeeDetail: ["USDT": BybitCoinAmount(clamping: t.fee)], avgPrice: t.price,
                    closedPnl: t.closedPnl ?? .zero, reduceOnly: true, closeOnTrigger: false, createdTime: at, updatedTime: at)
                info[id] = OrderInfo(number: orderNumber, origin: .liquidation)
                let e = BybitExecution(
                    symbol: instrument.symbol, symbolID: instrument.id, execId: t.executionID.rawValue, orderId: id, orderLinkId: "",
                    side: t.side, execPrice: t.price, execQty: t.qty, execValue: value, execFee: t.fee, feeRate: Rate(units: 0),
                    execType: BybitCodes.execType(t.kind), isMaker: false, execTime: at, seq: t.seq, closedSize: t.closedQty,
                    execPnl: t.closedPnl, orderPrice: t.price, orderQty: t.qty, leavesQty: .zero, markPrice: t.price,
                    orderType: "Market", createType: BybitCodes.createType(.liquidation))
                executions.append(e)
                push(.execution, BybitPrivateEncoder.execution(e, instrument: instrument), due: due)
                touch(id, due)
            case let .matchingSuspended(reason):
                notices.append("\(at.milliseconds) \(instrument?.symbol ?? "") matching suspended: \(reason)")
            case .matchingResumed:
                notices.append("\(at.milliseconds) \(instrument?.symbol ?? "") matching resumed")
            case let .fundingNotSimulated(reason):
                notices.append("\(at.milliseconds) \(instrument?.symbol ?? "") funding not simulated: \(reason)")
            case .unclassified:
                continue
            }
        }
        for (id, due) in changed {
            guard let o = orders[id] else { continue }
            push(.order, BybitPrivateEncoder.order(o, instrument: instruments[o.symbolID]), due: due)
        }
        if notices.count > 1_000 { notices.removeFirst(notices.count - 1_000) }
    }

    /// A position report as Bybit's position object.
    func position(_ p: PositionReport, instrument: Instrument, at time: ExchangeTime) -> BybitPosition {
        let size = Quantity(units: abs(p.size.units))
        return BybitPosition(
            symbol: instrument.symbol, symbolID: instrument.id, side: p.size.units > 0 ? .long : p.size.units < 0 ? .short : nil, size: size,
            positionIndex: .oneWay, entryPrice: p.averagePrice, positionValue: p.positionValue, leverage: p.leverage, markPrice: p.markPrice,
            liqPrice: p.liquidationPrice, bustPrice: p.bankruptcyPrice, takeProfit: p.takeProfit, stopLoss: p.stopLoss,
            unrealisedPnl: p.unrealisedPnl, curRealisedPnl: p.currentRealisedPnl, cumRealisedPnl: p.cumulativeRealisedPnl,
            positionIM: p.initialMargin, positionMM: p.maintenanceMargin, tradeMode: 0,
            positionStatus: p.status == .liquidation ? .liquidation : p.status == .autoDeleveraging ? .autoDeleveraging : .normal,
            adlRankIndicator: p.adlRankIndicator, isReduceOnly: false,
            createdTime: p.createdTime.map { ExchangeTime(milliseconds: $0.milliseconds + timeOffset) }, updatedTime: time, seq: p.seq)
    }

    /// The unified account's wallet (USDT only) as Bybit's wallet object.
    func wallet(_ w: WalletReport) -> BybitWallet {
        func coin(_ v: USDT) -> BybitCoinAmount { BybitCoinAmount(clamping: v) }
        let initial = w.initialMargin
        let orders = w.orderInitialMargin ?? .zero
        let available = w.availableBalance > .zero ? w.availableBalance : .zero
        let usdt = BybitWallet.Coin(
            coin: "USDT", equity: coin(w.equity), usdValue: w.equity, walletBalance: coin(w.walletBalance),
            availableToWithdraw: coin(available), locked: coin(.zero), unrealisedPnl: coin(w.unrealisedPnl),
            cumRealisedPnl: coin(w.cumulativeRealisedPnl ?? .zero), totalOrderIM: coin(orders),
            totalPositionIM: coin(initial - orders), totalPositionMM: coin(w.maintenanceMargin), borrowAmount: coin(.zero),
            accruedInterest: coin(.zero), bonus: coin(.zero), marginCollateral: true, collateralSwitch: true)
        return BybitWallet(
            totalEquity: w.equity, totalWalletBalance: w.walletBalance, totalMarginBalance: w.equity, totalAvailableBalance: available,
            totalPerpUPL: w.unrealisedPnl, totalInitialMargin: initial, totalMaintenanceMargin: w.maintenanceMargin,
            accountIMRate: Self.ratio(initial, w.equity), accountMMRate: Self.ratio(w.maintenanceMargin, w.equity), coins: [usdt])
    }

    /// `part / whole` to 4 decimals, rounded half to even (0 when the whole is not positive), as Bybit prints rates.
    static func ratio(_ part: USDT, _ whole: USDT) -> Rate {
        guard whole.units > 0 else { return Rate(units: 0) }
        let tenThousandths = FixedDecimal.divideRoundingHalfEven(part.units * 10_000, whole.units)
        return Rate(units: Int64(clamping: tenThousandths * 1_000_000))
    }
}
