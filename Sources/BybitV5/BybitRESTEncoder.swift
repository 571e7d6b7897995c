/// Bybit V5 REST answers (`bybit_v5.md` §5.2, §5.5), written through ``BybitJSONWriter``: what the simulator answers
/// a client with.
public enum BybitRESTEncoder {
    /// `{"retCode","retMsg","result","retExtInfo","time"}` around a result object already written.
    public static func envelope(result: String = "{}", retCode: BybitRetCode = .ok, retMsg: String = "OK", retExtInfo: String = "{}",
                                time: Int64) -> String {
        var json = BybitJSONWriter()
        json.int("retCode", retCode.rawValue)
        json.string("retMsg", retMsg)
        json.raw("result", result)
        json.raw("retExtInfo", retExtInfo)
        json.int64("time", time)
        return json.finished()
    }

    /// `{"orderId","orderLinkId"}` (create, amend, cancel).
    public static func orderID(_ orderId: String, _ orderLinkId: String) -> String {
        var json = BybitJSONWriter()
        json.string("orderId", orderId)
        json.string("orderLinkId", orderLinkId)
        return json.finished()
    }

    /// A paged list: `{"category":"linear","list":[…],"nextPageCursor":…}`.
    public static func list(_ items: [String], nextPageCursor: String? = "", category: String? = "linear") -> String {
        var json = BybitJSONWriter()
        json.string("category", category)
        json.array("list", items)
        json.string("nextPageCursor", nextPageCursor)
        return json.finished()
    }

    /// Cancel-all: `{"list":[{"orderId","orderLinkId"}…],"success":"1"}`.
    public static func cancelAll(_ orders: [(orderId: String, orderLinkId: String)]) -> String {
        var json = BybitJSONWriter()
        json.array("list", orders.map { orderID($0.orderId, $0.orderLinkId) })
        json.string("success", "1")
        return json.finished()
    }

    /// One item of a create-batch answer (`result.list[i]`) and its status (`retExtInfo.list[i]`).
    public static func batchItem(symbol: String, orderId: String, orderLinkId: String, createAt: String) -> String {
        var json = BybitJSONWriter()
        json.string("category", "linear")
        json.string("symbol", symbol)
        json.string("orderId", orderId)
        json.string("orderLinkId", orderLinkId)
        json.string("createAt", createAt)
        return json.finished()
    }

    public static func batchStatus(code: BybitRetCode, message: String) -> String {
        var json = BybitJSONWriter()
        json.int("code", code.rawValue)
        json.string("msg", message)
        return json.finished()
    }

    /// `{"list":[…]}` (wallet-balance, create-batch).
    public static func plainList(_ items: [String]) -> String {
        var json = BybitJSONWriter()
        json.array("list", items)
        return json.finished()
    }
}
