public import CascadeCore

/// `result` of `GET /v5/position/list`: a page of positions.
public struct BybitPositionListResult: Sendable, Decodable {
    /// `category`.
    public var category: String?
    /// `nextPageCursor` (`""`/`nil` on the last page).
    public var nextPageCursor: String?
    var list: [BybitPositionWire]

    /// Number of positions on the page.
    public var count: Int { list.count }

    /// The page's positions at each symbol's scale, registering unknown symbols in `instruments`.
    public func positions(instruments: inout InstrumentTable) throws(BybitDecodeError) -> [BybitPosition] {
        var out: [BybitPosition] = []
        out.reserveCapacity(list.count)
        for (index, wire) in list.enumerated() {
            out.append(try wire.position(path: "result.list[\(index)]", instruments: &instruments))
        }
        return out
    }
}
