import BybitV5
import CascadeCore
import Simulation

/// Bybit V5 JSON of the simulator's records: one encoder per object, shared by REST lists and the private stream
/// (field sets from ../shared/reference/bybit_v5.md §3.3–3.6 and §5.5; numbers as strings, times as strings).
extension SimTrading {
    static func timeInForceName(_ tif: SimTimeInForce) -> String {
        switch tif {
        case .postOnly: "PostOnly"
        case .immediateOrCancel: "IOC"
        case .fillOrKill: "FOK"
        case .goodTillCancel: "GTC"
        }
    }

    /// `part / whole` to 4 decimals, rounded half to even ("0" when the whole is not positive), as Bybit prints rates.
    static func ratio(_ part: USDT, _ whole: USDT) -> String {
        guard whole.units > 0 else { return "0" }
        return FixedDecimal.format(wide: FixedDecimal.divideRoundingHalfEven(part.units * 10_000, whole.units), digits: 4)
    }

    func orderJSON(_ r: OrderRecord, _ i: Instrument) -> String {
        let leaves = r.isOpen ? Quantity(units: max(0, r.qty.units - r.filled)) : .zero
        let leavesValue = r.price.flatMap { i.notional(price: $0, qty: leaves) } ?? .zero
        let avg = i.averagePrice(value: r.execValue, qty: Quantity(units: r.filled)).map(i.format) ?? (r.filled > 0 ? "" : "0")
        // `Created` is internal (sent, not yet at the exchange): Bybit shows such an order as New once acknowledged.
        let status = r.status == "Created" ? "New" : r.status
        return #"{"category":"linear","orderId":"\#(r.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(r.orderLinkId))","symbol":"\#(r.symbol)","price":"\#(r.price.map(i.format) ?? "0")","qty":"\#(i.format(r.qty))","side":"\#(r.side)","isLeverage":"","positionIdx":0,"orderStatus":"\#(status)","createType":"\#(r.createType)","cancelType":"\#(r.cancelType)","rejectReason":"\#(r.rejectReason)","avgPrice":"\#(avg)","leavesQty":"\#(i.format(leaves))","leavesValue":"\#(leavesValue)","cumExecQty":"\#(i.format(Quantity(units: r.filled)))","cumExecValue":"\#(r.execValue)","cumExecFee":"\#(r.execFee)","cumFeeDetail":{"USDT":"\#(r.execFee)"},"feeCurrency":"USDT","closedPnl":"0","timeInForce":"\#(Self.timeInForceName(r.timeInForce))","orderType":"\#(r.orderType)","stopOrderType":"\#(r.stopOrderType)","triggerPrice":"\#(r.triggerPrice.map(i.format) ?? "0")","triggerDirection":\#(r.triggerDirection),"triggerBy":"\#(r.triggerBy)","takeProfit":"0","stopLoss":"0","tpTriggerBy":"UNKNOWN","slTriggerBy":"UNKNOWN","tpslMode":"","reduceOnly":\#(r.reduceOnly),"closeOnTrigger":\#(r.closeOnTrigger),"smpType":"None","smpGroup":0,"smpOrderId":"","createdTime":"\#(r.createdTime)","updatedTime":"\#(r.updatedTime)"}"#
    }

    func executionJSON(_ e: ExecutionRecord, _ i: Instrument) -> String {
        #"{"category":"linear","symbol":"\#(e.symbol)","orderId":"\#(e.orderId)","orderLinkId":"\#(BybitStreamRequest.escape(e.orderLinkId))","side":"\#(e.side)","orderPrice":"\#(e.orderPrice.map(i.format) ?? "0")","orderQty":"\#(i.format(e.orderQty))","leavesQty":"\#(i.format(e.leaves))","createType":"\#(e.createType)","orderType":"\#(e.orderType)","stopOrderType":"UNKNOWN","execFee":"\#(e.fee)","feeCurrency":"USDT","execId":"\#(e.execId)","execPrice":"\#(i.format(e.price))","execQty":"\#(i.format(e.qty))","execType":"\#(e.execType)","execValue":"\#(e.value)","execTime":"\#(e.time)","isMaker":\#(e.isMaker),"feeRate":"\#(e.feeRate)","markPrice":"\#(e.markPrice.map(i.format) ?? "")","indexPrice":"","blockTradeId":"","isLeverage":"0","seq":\#(e.seq)}"#
    }

    /// One symbol's position. The stream calls the entry price `entryPrice`, the REST list `avgPrice`.
    func positionJSON(_ id: SymbolID, stream: Bool) -> String {
        guard let exchange = exchanges[id] else { return "{}" }
        let i = exchange.account.instrument
        let a = exchange.account
        let side = a.size > 0 ? "Buy" : a.size < 0 ? "Sell" : ""
        let mark = exchange.engine.markPrice ?? exchange.engine.lastPrice
        let value = USDT(units: a.entryValue.units.magnitude == 0 ? 0 : Int128(a.entryValue.units.magnitude))
        let entry = a.averageEntryPrice.map(i.format) ?? "0"
        let unrealised = portfolio.unrealisedPnL(id)
        let liq = portfolio.estimatedLiquidationPrice(id).map(i.format) ?? ""
        let leverage = FixedDecimal.format(portfolio.leverage(id).units, digits: Rate.digits)
        // The position's own TP/SL: its open trading-stop legs.
        func leg(_ kind: String) -> OrderRecord? {
            orders.values.first { $0.symbol == i.symbol && $0.stopOrderType.hasSuffix(kind) && $0.isOpen && $0.createType != "CreateByUser" }
        }
        let tp = leg("TakeProfit"), sl = leg("StopLoss")
        let mode = (tp ?? sl)?.stopOrderType.hasPrefix("Partial") == true ? "Partial" : "Full"
        return #"{"category":"linear","symbol":"\#(i.symbol)","side":"\#(side)","size":"\#(i.format(Quantity(units: abs(a.size))))","positionIdx":0,"tradeMode":0,"positionValue":"\#(value)","\#(stream ? "entryPrice" : "avgPrice")":"\#(entry)","markPrice":"\#(mark.map(i.format) ?? "")","leverage":"\#(leverage)","positionIM":"\#(portfolio.positionIM(id))","positionMM":"\#(portfolio.maintenanceMargin(id))","liqPrice":"\#(liq)","bustPrice":"","takeProfit":"\#(tp?.triggerPrice.map(i.format) ?? "0")","stopLoss":"\#(sl?.triggerPrice.map(i.format) ?? "0")","tpslMode":"\#(mode)","trailingStop":"0","unrealisedPnl":"\#(unrealised)","curRealisedPnl":"\#(a.realisedPnL)","cumRealisedPnl":"\#(a.realisedPnL)","positionStatus":"Normal","autoAddMargin":0,"adlRankIndicator":0,"isReduceOnly":false,"createdTime":"0","updatedTime":"\#(clock + timeOffset)","seq":\#(seq)}"#
    }

    /// The unified account's wallet (USDT only).
    func walletJSON() -> String {
        let p = portfolio
        let wallet = p.walletBalance, unrealised = p.unrealisedPnL, equity = p.equity
        let im = p.totalPositionIM + p.totalOrderIM, mm = p.totalMaintenanceMargin
        let available = p.availableBalance > .zero ? p.availableBalance : .zero
        return #"{"accountType":"UNIFIED","accountIMRate":"\#(Self.ratio(im, equity))","accountMMRate":"\#(Self.ratio(mm, equity))","totalEquity":"\#(equity)","totalWalletBalance":"\#(wallet)","totalMarginBalance":"\#(equity)","totalAvailableBalance":"\#(available)","totalPerpUPL":"\#(unrealised)","totalInitialMargin":"\#(im)","totalMaintenanceMargin":"\#(mm)","coin":[{"coin":"USDT","equity":"\#(equity)","usdValue":"\#(equity)","walletBalance":"\#(wallet)","availableToWithdraw":"\#(available)","locked":"0","borrowAmount":"0","accruedInterest":"0","totalOrderIM":"\#(p.totalOrderIM)","totalPositionIM":"\#(p.totalPositionIM)","totalPositionMM":"\#(mm)","unrealisedPnl":"\#(unrealised)","cumRealisedPnl":"\#(wallet - deposit)","bonus":"0","collateralSwitch":true,"marginCollateral":true}]}"#
    }
}
