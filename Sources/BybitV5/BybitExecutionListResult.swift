public import CascadeCore

/// `result` of `GET /v5/execution/list`: a page of executions, newest first (for backfill after a gap).
public struct BybitExecutionListResult: Sendable, Decodable {
    /// `category`.
    public var category: String?
    /// `nextPageCursor` (`""`/`nil` on the last page); pass it back verbatim as `cursor`.
    public var nextPageCursor: String?
    var list: [BybitLossy<BybitExecutionWire>]

    /// Number of executions on the page.
    public var count: Int { list.count }

    /// The page's executions at each symbol's scale, registering unknown symbols in `instruments`.
    public func executions(instruments: inout InstrumentTable) throws(BybitDecodeError) -> [BybitExecution] {
        var quarantine: [BybitQuarantinedRow] = []
        let rows = executions(instruments: &instruments, quarantine: &quarantine)
        if let first = quarantine.first { throw first.error }
        return rows
    }

    /// The page's readable rows; a row that cannot be read goes to `quarantine` (client review row 4) instead of
    /// failing the page.
    public func executions(instruments: inout InstrumentTable, quarantine: inout [BybitQuarantinedRow]) -> [BybitExecution] {
        var table = instruments
        defer { instruments = table }
        return list.converting(source: "/v5/execution/list", prefix: "result.list", quarantine: &quarantine) {
            wire, path throws(BybitDecodeError) in try wire.execution(path: path, instruments: &table, defaultExecType: nil)
        }
    }
}
