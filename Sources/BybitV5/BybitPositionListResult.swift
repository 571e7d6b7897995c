public import CascadeCore

/// `result` of `GET /v5/position/list`: a page of positions.
public struct BybitPositionListResult: Sendable, Decodable {
    /// `category`.
    public var category: String?
    /// `nextPageCursor` (`""`/`nil` on the last page).
    public var nextPageCursor: String?
    var list: [BybitLossy<BybitPositionWire>]

    /// Number of positions on the page.
    public var count: Int { list.count }

    /// The page's positions at each symbol's scale, registering unknown symbols in `instruments`.
    public func positions(instruments: inout InstrumentTable) throws(BybitDecodeError) -> [BybitPosition] {
        var quarantine: [BybitQuarantinedRow] = []
        let rows = positions(instruments: &instruments, quarantine: &quarantine)
        if let first = quarantine.first { throw first.error }
        return rows
    }

    /// The page's readable rows; a row that cannot be read goes to `quarantine` (client review row 4) instead of
    /// failing the page.
    public func positions(instruments: inout InstrumentTable, quarantine: inout [BybitQuarantinedRow]) -> [BybitPosition] {
        var table = instruments
        defer { instruments = table }
        return list.converting(source: "/v5/position/list", prefix: "result.list", quarantine: &quarantine) {
            wire, path throws(BybitDecodeError) in try wire.position(path: path, instruments: &table)
        }
    }
}
