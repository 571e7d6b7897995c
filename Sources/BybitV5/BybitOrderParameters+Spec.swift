public import CascadeCore

extension BybitOrderParameters {
    /// The create parameters of a venue-neutral order (one-way mode: `positionIdx` 0). Attached protection maps to
    /// `takeProfit`/`stopLoss` with their trigger sources and `tpslMode`; a Full-mode leg closes at market (no limit
    /// price), as Bybit requires.
    public init(_ spec: OrderSpec, clientID: ClientOrderID?, instrument: Instrument) {
        func tif(_ t: TimeInForce) -> BybitTimeInForce {
            switch t {
            case .goodTillCancel: .goodTillCancel
            case .immediateOrCancel: .immediateOrCancel
            case .fillOrKill: .fillOrKill
            case .postOnly: .postOnly
            }
        }
        func by(_ s: TriggerSource) -> BybitTriggerBy {
            switch s {
            case .lastPrice: .lastPrice
            case .markPrice: .markPrice
            case .indexPrice: .indexPrice
            }
        }
        let protection = spec.protection
        self.init(instrument: instrument, side: spec.side, orderType: spec.type == .market ? .market : .limit, qty: spec.qty,
                  price: spec.price, timeInForce: spec.type == .market ? nil : tif(spec.timeInForce), orderLinkId: clientID?.rawValue,
                  positionIndex: .oneWay, reduceOnly: spec.reduceOnly ? true : nil, closeOnTrigger: spec.closeOnTrigger ? true : nil,
                  trigger: spec.trigger.map { Trigger(price: $0.price, direction: $0.direction == .rise ? .rise : .fall, by: by($0.source)) },
                  takeProfit: protection?.takeProfit?.trigger, stopLoss: protection?.stopLoss?.trigger,
                  takeProfitTriggerBy: protection?.takeProfit.map { by($0.source) }, stopLossTriggerBy: protection?.stopLoss.map { by($0.source) },
                  tpslMode: protection.map { $0.mode == .full ? .full : .partial })
    }
}
