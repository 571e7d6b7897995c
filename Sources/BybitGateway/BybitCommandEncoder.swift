public import BybitV5
public import CascadeCore

/// Venue commands as Bybit V5 requests (one-way mode, linear): the inverse of what `cascade sim` reads back into
/// commands, so a request the gateway sends is the one the simulator's venue executes.
public enum BybitCommandEncoder {
    /// The request of `command` on `instrument` (its symbol, tick and step format the numbers).
    public static func request(_ command: VenueCommand, instrument: Instrument) throws(BybitRequestError) -> BybitRequest {
        switch command.action {
        case .submit:
            return try .createOrder(orderParameters(command, instrument: instrument)!)
        case let .amend(reference, amendment):
            return try .amendOrder(instrument: instrument, order: Self.reference(reference), qty: amendment.qty,
                                   price: amendment.price, triggerPrice: amendment.triggerPrice)
        case let .cancel(reference):
            return try .cancelOrder(symbol: instrument.symbol, order: Self.reference(reference))
        case let .cancelAll(filter):
            // Never a bare cancel-all from the engine by accident: nil here is the engine's explicit "every kind".
            return .cancelAll(.symbol(instrument.symbol), orderFilter: filter.map(Self.filter))
        case let .setTradingStop(stop):
            func price(_ change: LegChange) -> Price? {
                switch change {
                case .unchanged: nil
                case .remove: Price.zero      // Bybit: 0 cancels the leg
                case let .set(leg): leg.trigger
                }
            }
            func source(_ change: LegChange) -> BybitTriggerBy? {
                if case let .set(leg) = change { return BybitCodes.triggerBy(leg.source) }
                return nil
            }
            func limit(_ change: LegChange) -> Price? {
                if case let .set(leg) = change { return leg.limitPrice }
                return nil
            }
            let partial = stop.mode == .partial
            return .tradingStop(instrument: instrument, tpslMode: partial ? .partial : .full, positionIndex: .oneWay,
                                takeProfit: price(stop.takeProfit), stopLoss: price(stop.stopLoss),
                                takeProfitTriggerBy: source(stop.takeProfit), stopLossTriggerBy: source(stop.stopLoss),
                                takeProfitSize: partial && price(stop.takeProfit) != nil ? stop.size : nil,
                                stopLossSize: partial && price(stop.stopLoss) != nil ? stop.size : nil,
                                takeProfitLimitPrice: partial ? limit(stop.takeProfit) : nil,
                                stopLossLimitPrice: partial ? limit(stop.stopLoss) : nil,
                                takeProfitOrderType: partial && price(stop.takeProfit) != nil ? (limit(stop.takeProfit) == nil ? .market : .limit) : nil,
                                stopLossOrderType: partial && price(stop.stopLoss) != nil ? (limit(stop.stopLoss) == nil ? .market : .limit) : nil)
        case let .setLeverage(rate):
            return try .setLeverage(symbol: instrument.symbol, buyLeverage: rate, sellLeverage: rate)
        }
    }

    /// The order of a create command (nil for any other command): a single create's body, or one item of a batch.
    public static func orderParameters(_ command: VenueCommand, instrument: Instrument) -> BybitOrderParameters? {
        guard case let .submit(clientID, spec) = command.action else { return nil }
        return BybitOrderParameters(spec, clientID: clientID, instrument: instrument)
    }

    public static func reference(_ reference: OrderReference) -> BybitOrderReference {
        switch reference {
        case let .client(id): .orderLinkId(id.rawValue)
        case let .venue(id): .orderId(id.rawValue)
        }
    }

    public static func filter(_ filter: OrderFilter) -> BybitOrderFilter {
        switch filter {
        case .order: .order
        case .stopOrder: .stopOrder
        case .openOrder: .openOrder
        }
    }
}
