public import CascadeCore

/// Bybit V5 JSON of private-stream items and REST list items, from the wire models (`bybit_v5.md` §3.3–3.6, §5.5):
/// what the simulator sends, so that a Bybit client (ours, pybit, ccxt) reads the simulator as it reads Bybit.
///
/// Numbers are strings, times are strings of milliseconds, `positionIdx`/`triggerDirection`/`smpGroup` are numbers
/// and flags are booleans, as Bybit writes them. An absent price is written the way Bybit writes it for that field:
/// `""` for `avgPrice` and `liqPrice`, `"0"` for a trigger, take-profit or stop-loss. Every value goes through
/// ``BybitJSONWriter`` (escaped, no interpolation into JSON text).
public enum BybitPrivateEncoder {
    /// An order (`order` stream item; REST `order/realtime` and `order/history` list item).
    public static func order(_ o: BybitOrder, instrument i: Instrument) -> String {
        var json = BybitJSONWriter()
        json.string("category", o.category)
        json.string("orderId", o.orderId)
        json.string("orderLinkId", o.orderLinkId)
        json.string("parentOrderLinkId", o.parentOrderLinkId)
        json.string("blockTradeId", "")
        json.string("symbol", o.symbol)
        json.string("price", o.price.map(i.format) ?? "0")
        json.string("qty", i.format(o.qty))
        json.string("side", o.side.description)
        json.string("isLeverage", "")
        json.int("positionIdx", o.positionIndex?.rawValue ?? 0)
        json.string("orderStatus", o.orderStatus.rawValue)
        json.string("createType", o.createType)
        json.string("cancelType", o.cancelType)
        json.string("rejectReason", o.rejectReason)
        json.string("avgPrice", o.avgPrice.map(i.format) ?? "")
        json.string("leavesQty", o.leavesQty.map(i.format) ?? "0")
        json.string("leavesValue", (o.leavesValue ?? .zero).description)
        json.string("cumExecQty", i.format(o.cumExecQty))
        json.string("cumExecValue", (o.cumExecValue ?? .zero).description)
        json.string("cumExecFee", (o.cumExecFee ?? .zero).description)
        json.object("cumFeeDetail") { fees in
            for (coin, amount) in o.cumFeeDetail.sorted(by: { $0.key < $1.key }) { fees.string(dynamicKey: coin, amount.description) }
        }
        json.string("feeCurrency", o.cumFeeDetail.isEmpty ? "" : "USDT")
        json.string("closedPnl", (o.closedPnl ?? .zero).description)
        json.string("timeInForce", o.timeInForce.rawValue)
        json.string("orderType", o.orderType.rawValue)
        json.string("stopOrderType", o.stopOrderType)
        json.string("orderIv", "")
        json.string("triggerPrice", o.triggerPrice.map(i.format) ?? "0")
        json.string("takeProfit", o.takeProfit.map(i.format) ?? "0")
        json.string("stopLoss", o.stopLoss.map(i.format) ?? "0")
        json.string("tpTriggerBy", o.tpTriggerBy)
        json.string("slTriggerBy", o.slTriggerBy)
        json.int("triggerDirection", o.triggerDirection?.rawValue ?? 0)
        json.string("triggerBy", o.triggerBy)
        json.string("lastPriceOnCreated", "")
        json.bool("reduceOnly", o.reduceOnly)
        json.bool("closeOnTrigger", o.closeOnTrigger)
        json.string("smpType", "None")
        json.int("smpGroup", 0)
        json.string("smpOrderId", "")
        json.string("tpslMode", o.tpslMode)
        json.string("tpLimitPrice", o.tpLimitPrice.map(i.format) ?? "")
        json.string("slLimitPrice", o.slLimitPrice.map(i.format) ?? "")
        json.string("placeType", "")
        json.string("createdTime", String(o.createdTime.milliseconds))
        json.string("updatedTime", String(o.updatedTime.milliseconds))
        return json.finished()
    }

    /// An execution (`execution` stream item; REST `execution/list` item). `fast` writes the `execution.fast` subset.
    public static func execution(_ e: BybitExecution, instrument i: Instrument, fast: Bool = false) -> String {
        var json = BybitJSONWriter()
        json.string("category", e.category)
        json.string("symbol", e.symbol)
        json.string("execId", e.execId)
        json.string("execPrice", i.format(e.execPrice))
        json.string("execQty", i.format(e.execQty))
        json.string("orderId", e.orderId)
        json.bool("isMaker", e.isMaker)
        json.string("orderLinkId", e.orderLinkId)
        json.string("side", e.side.description)
        json.string("execTime", String(e.execTime.milliseconds))
        json.int64("seq", e.seq)
        if fast { return json.finished() }
        json.string("closedSize", e.closedSize.map(i.format) ?? "")
        json.string("execFee", (e.execFee ?? .zero).description)
        json.string("execType", e.execType.rawValue)
        json.string("execValue", (e.execValue ?? .zero).description)
        json.string("feeRate", (e.feeRate ?? Rate(units: 0)).description)
        json.string("tradeIv", "")
        json.string("markIv", "")
        json.string("blockTradeId", "")
        json.string("markPrice", e.markPrice.map(i.format) ?? "")
        json.string("indexPrice", "")
        json.string("underlyingPrice", "")
        json.string("leavesQty", e.leavesQty.map(i.format) ?? "0")
        json.string("orderPrice", e.orderPrice.map(i.format) ?? "0")
        json.string("orderQty", e.orderQty.map(i.format) ?? "0")
        json.string("orderType", e.orderType)
        json.string("stopOrderType", e.stopOrderType)
        json.string("isLeverage", "0")
        json.string("marketUnit", "")
        json.string("execPnl", (e.execPnl ?? .zero).description)
        json.string("createType", e.createType)
        json.string("extraFees", "")
        json.string("feeCurrency", e.feeCurrency)
        return json.finished()
    }

    /// A position. The stream calls the entry price `entryPrice`, the REST list `avgPrice` (§3.5, §5.5).
    public static func position(_ p: BybitPosition, instrument i: Instrument, stream: Bool) -> String {
        var json = BybitJSONWriter()
        json.string("category", p.category)
        json.string("symbol", p.symbol)
        json.string("side", p.side.map { $0 == .long ? "Buy" : "Sell" } ?? "")
        json.string("size", i.format(p.size))
        json.int("positionIdx", p.positionIndex?.rawValue ?? 0)
        json.int("tradeMode", p.tradeMode ?? 0)
        json.string("positionValue", (p.positionValue ?? .zero).description)
        json.string(stream ? "entryPrice" : "avgPrice", p.entryPrice.map(i.format) ?? "0")
        json.string("markPrice", p.markPrice.map(i.format) ?? "")
        json.string("leverage", (p.leverage ?? Rate(units: 0)).description)
        json.string("breakEvenPrice", "")
        json.string("positionBalance", (p.positionIM ?? .zero).description)
        json.string("positionIM", (p.positionIM ?? .zero).description)
        json.string("positionMM", (p.positionMM ?? .zero).description)
        json.string("liqPrice", p.liqPrice.map(i.format) ?? "")
        json.string("bustPrice", p.bustPrice.map(i.format) ?? "")
        json.string("takeProfit", p.takeProfit.map(i.format) ?? "0")
        json.string("stopLoss", p.stopLoss.map(i.format) ?? "0")
        json.string("trailingStop", p.trailingStop.map(i.format) ?? "0")
        json.string("tpslMode", "Full")
        json.string("unrealisedPnl", (p.unrealisedPnl ?? .zero).description)
        json.string("curRealisedPnl", (p.curRealisedPnl ?? .zero).description)
        json.string("cumRealisedPnl", (p.cumRealisedPnl ?? .zero).description)
        json.string("sessionAvgPrice", "")
        json.string("positionStatus", (p.positionStatus ?? .normal).rawValue)
        json.int("autoAddMargin", 0)
        json.int("adlRankIndicator", p.adlRankIndicator ?? 0)
        json.bool("isReduceOnly", p.isReduceOnly)
        json.string("mmrSysUpdatedTime", "")
        json.string("leverageSysUpdatedTime", "")
        json.string("createdTime", p.createdTime.map { String($0.milliseconds) } ?? "")
        json.string("updatedTime", p.updatedTime.map { String($0.milliseconds) } ?? "")
        json.int64("seq", p.seq)
        return json.finished()
    }

    /// A unified account (`wallet` stream item; REST `wallet-balance` list item).
    public static func wallet(_ w: BybitWallet) -> String {
        func text(_ v: USDT?) -> String { (v ?? .zero).description }
        func coin(_ v: BybitCoinAmount?) -> String { v?.description ?? "0" }
        var json = BybitJSONWriter()
        json.string("accountType", w.accountType)
        json.string("accountIMRate", (w.accountIMRate ?? Rate(units: 0)).description)
        json.string("accountMMRate", (w.accountMMRate ?? Rate(units: 0)).description)
        json.string("totalEquity", text(w.totalEquity))
        json.string("totalWalletBalance", text(w.totalWalletBalance))
        json.string("totalMarginBalance", text(w.totalMarginBalance))
        json.string("totalAvailableBalance", text(w.totalAvailableBalance))
        json.string("totalPerpUPL", text(w.totalPerpUPL))
        json.string("totalInitialMargin", text(w.totalInitialMargin))
        json.string("totalMaintenanceMargin", text(w.totalMaintenanceMargin))
        json.string("accountLTV", "0")
        json.array("coin", w.coins.map { c in
            var item = BybitJSONWriter()
            item.string("coin", c.coin)
            item.string("equity", coin(c.equity))
            item.string("usdValue", text(c.usdValue))
            item.string("walletBalance", coin(c.walletBalance))
            item.string("availableToWithdraw", coin(c.availableToWithdraw))
            item.string("availableToBorrow", "")
            item.string("locked", coin(c.locked))
            item.string("borrowAmount", coin(c.borrowAmount))
            item.string("accruedInterest", coin(c.accruedInterest))
            item.string("totalOrderIM", coin(c.totalOrderIM))
            item.string("totalPositionIM", coin(c.totalPositionIM))
            item.string("totalPositionMM", coin(c.totalPositionMM))
            item.string("unrealisedPnl", coin(c.unrealisedPnl))
            item.string("cumRealisedPnl", coin(c.cumRealisedPnl))
            item.string("bonus", coin(c.bonus))
            item.bool("collateralSwitch", c.collateralSwitch ?? true)
            item.bool("marginCollateral", c.marginCollateral ?? true)
            item.string("spotHedgingQty", "0")
            item.string("spotBorrow", "0")
            return item.finished()
        })
        return json.finished()
    }

    /// The private stream's answer to `ping`: `{"req_id","op":"pong","args":["<ms>"],"conn_id"}`.
    public static func pong(requestID: String?, now milliseconds: Int64, connectionID: String) -> String {
        var json = BybitJSONWriter()
        json.string("req_id", requestID ?? "")
        json.string("op", "pong")
        json.array("args", [BybitJSONWriter.quoted(String(milliseconds))])
        json.string("conn_id", connectionID)
        return json.finished()
    }

    /// A private-stream ack (docs): `success`, `ret_msg`, `op`, `conn_id`, and `req_id` when the request had one.
    public static func ack(op: String, success: Bool, message: String, connectionID: String, requestID: String?) -> String {
        var json = BybitJSONWriter()
        json.bool("success", success)
        json.string("ret_msg", message)
        json.string("op", op)
        json.string("conn_id", connectionID)
        json.string("req_id", requestID)
        return json.finished()
    }

    /// A private-stream message: `{"id","topic","creationTime","data":[…]}` (no `id` on `execution.fast`).
    public static func message(topic: String, id: String?, creationTime: ExchangeTime, items: [String]) -> String {
        var json = BybitJSONWriter()
        json.string("id", id)
        json.string("topic", topic)
        json.int64("creationTime", creationTime.milliseconds)
        json.array("data", items)
        return json.finished()
    }
}
