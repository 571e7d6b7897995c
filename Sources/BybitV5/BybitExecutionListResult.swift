public import CascadeCore

/// `result` of `GET /v5/execution/list`: a page of executions, newest first (for backfill after a gap).
public struct BybitExecutionListResult: Sendable, Decodable {
    /// `category`.
    public var category: String?
    /// `nextPageCursor` (`""`/`nil` on the last page); pass it back verbatim as `cursor`.
    public var nextPageCursor: String?
    var list: [BybitExecutionWire]

    /// Number of executions on the page.
    public var count: Int { list.count }

    /// The page's executions at each symbol's scale, registering unknown symbols in `instruments`.
    public func executions(instruments: inout InstrumentTable) throws(BybitDecodeError) -> [BybitExecution] {
        var out: [BybitExecution] = []
        out.reserveCapacity(list.count)
        for (index, wire) in list.enumerated() {
            out.append(try wire.execution(path: "result.list[\(index)]", instruments: &instruments, defaultExecType: nil))
        }
        return out
    }
}
