public import CascadeCore

/// `result` of `GET /v5/order/realtime` and `/v5/order/history`: a page of orders, newest first.
public struct BybitOrderListResult: Sendable, Decodable {
    /// `category`.
    public var category: String?
    /// `nextPageCursor` (`""`/`nil` on the last page); pass it back verbatim as `cursor`.
    public var nextPageCursor: String?
    var list: [BybitOrderWire]

    /// Number of orders on the page.
    public var count: Int { list.count }

    /// The page's orders at each symbol's scale, registering unknown symbols in `instruments`.
    public func orders(instruments: inout InstrumentTable) throws(BybitDecodeError) -> [BybitOrder] {
        var out: [BybitOrder] = []
        out.reserveCapacity(list.count)
        for (index, wire) in list.enumerated() {
            out.append(try wire.order(path: "result.list[\(index)]", instruments: &instruments))
        }
        return out
    }
}
