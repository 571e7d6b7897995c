/// A converted row that knows when it was received (`local_timestamp`, µs).
protocol TardisTimedRow {
    var localMicroseconds: Int64 { get }
}

/// One file's rows, converted by the caller's `parse` and handed out one message at a time: rows sharing
/// `local_timestamp` (what Tardis received as one message). Reads one row ahead, so memory stays one
/// message whatever the file size. Shared by the book, trades and liquidations converters.
final class TardisRowGroups<Row: TardisTimedRow> {
    /// What happens to rows that cannot be used.
    enum MalformedRows {
        /// Counted (with file and line) as they are read, and left out of the groups.
        case skipped
        /// Kept in their receive time's group (the book drops the whole message then).
        case grouped
    }

    /// The rows of one receive time, in file order.
    struct Group {
        /// The receive time; nil only for a lone malformed row whose `local_timestamp` did not parse.
        var localMicroseconds: Int64?
        /// The usable rows.
        var rows: [Row] = []
        /// The malformed rows (`.grouped` only), in file order.
        var malformed: [(line: Int, problem: TardisRowProblem)] = []
        /// The group starts with a malformed row: every row of its receive time is in it, whatever `sameMessage` says.
        var startsMalformed = false
        /// The group's last row is malformed (so what kind of row ended it is unknown).
        var endsMalformed = false
    }

    private enum Item {
        case row(Row)
        case malformed(line: Int, localMicroseconds: Int64?, problem: TardisRowProblem)
    }

    /// The file (its name and counters).
    let source: TardisRowSource
    private let context: ImportContext
    private let malformedRows: MalformedRows
    private var peeked: Item?

    init(source: TardisRowSource, context: ImportContext, malformedRows: MalformedRows) {
        self.source = source
        self.context = context
        self.malformedRows = malformedRows
    }

    /// The next message: the next row and the rows after it with the same receive time for which
    /// `sameMessage(first row, row)` holds. `parse` reads a row's own cells (nil: leave the row out, already
    /// counted by the caller; a thrown problem: a malformed row). Nil at the end of the file.
    func next(parse: (TardisRowSource.Row) throws(TardisRowProblem) -> Row?,
              sameMessage: (Row, Row) -> Bool = { _, _ in true }) throws(TardisImportError) -> Group? {
        guard let first = try take(parse) else { return nil }
        var group = Group()
        switch first {
        case let .row(row):
            group.localMicroseconds = row.localMicroseconds
            group.rows = [row]
        case let .malformed(line, local, problem):
            group.localMicroseconds = local
            group.malformed = [(line, problem)]
            group.startsMalformed = true
            group.endsMalformed = true
            // Without a receive time nothing can be attributed to the same message.
            if local == nil { return group }
        }
        while let item = try peek(parse) {
            switch item {
            case let .row(row):
                guard row.localMicroseconds == group.localMicroseconds,
                      group.startsMalformed || sameMessage(group.rows[0], row) else { return group }
                group.rows.append(row)
                group.endsMalformed = false
            case let .malformed(line, local, problem):
                guard local != nil, local == group.localMicroseconds else { return group }
                group.malformed.append((line, problem))
                group.endsMalformed = true
            }
            peeked = nil
        }
        return group
    }

    // MARK: - Rows

    private func peek(_ parse: (TardisRowSource.Row) throws(TardisRowProblem) -> Row?) throws(TardisImportError) -> Item? {
        if peeked == nil { peeked = try read(parse) }
        return peeked
    }

    private func take(_ parse: (TardisRowSource.Row) throws(TardisRowProblem) -> Row?) throws(TardisImportError) -> Item? {
        if let item = peeked {
            peeked = nil
            return item
        }
        return try read(parse)
    }

    /// The next row that is usable, or malformed when malformed rows are grouped.
    private func read(_ parse: (TardisRowSource.Row) throws(TardisRowProblem) -> Row?) throws(TardisImportError) -> Item? {
        while let event = try source.next() {
            switch event {
            case let .malformed(line, local, problem):
                guard malformedRows == .grouped else {
                    try context.malformed(file: source.name, line: line, problem)
                    continue
                }
                return .malformed(line: line, localMicroseconds: local, problem: problem)
            case let .row(row):
                do throws(TardisRowProblem) {
                    if let parsed = try parse(row) { return .row(parsed) }
                } catch {
                    source.countMalformed()
                    guard malformedRows == .grouped else {
                        try context.malformed(file: source.name, line: row.line, error)
                        continue
                    }
                    return .malformed(line: row.line, localMicroseconds: row.localMicroseconds, problem: error)
                }
            }
        }
        return nil
    }
}
