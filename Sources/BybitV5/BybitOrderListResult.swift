public import CascadeCore

/// `result` of `GET /v5/order/realtime` and `/v5/order/history`: a page of orders, newest first.
public struct BybitOrderListResult: Sendable, Decodable {
    /// `category`.
    public var category: String?
    /// `nextPageCursor` (`""`/`nil` on the last page); pass it back verbatim as `cursor`.
    public var nextPageCursor: String?
    var list: [BybitLossy<BybitOrderWire>]

    /// Number of orders on the page.
    public var count: Int { list.count }

    /// The page's orders at each symbol's scale, registering unknown symbols in `instruments`.
    public func orders(instruments: inout InstrumentTable) throws(BybitDecodeError) -> [BybitOrder] {
        var quarantine: [BybitQuarantinedRow] = []
        let rows = orders(instruments: &instruments, quarantine: &quarantine)
        if let first = quarantine.first { throw first.error }
        return rows
    }

    /// The page's readable rows; a row that cannot be read goes to `quarantine` (client review row 4) instead of
    /// failing the page.
    public func orders(instruments: inout InstrumentTable, quarantine: inout [BybitQuarantinedRow]) -> [BybitOrder] {
        var table = instruments
        defer { instruments = table }
        return list.converting(source: "order list", prefix: "result.list", quarantine: &quarantine) {
            wire, path throws(BybitDecodeError) in try wire.order(path: path, instruments: &table)
        }
    }
}
