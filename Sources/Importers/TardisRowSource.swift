import CascadeCore

/// One Tardis CSV file read row by row: checks the header, the exchange and the receive order,
/// keeps the rows of one symbol, and splits each into cells. The converters read the type-specific
/// cells from ``line`` through ``cells``.
final class TardisRowSource {
    /// What the next row turned out to be.
    enum Event {
        /// A row of the imported symbol whose common cells parsed; its own cells are in ``cells``.
        case row(Row)
        /// A row of the imported symbol that cannot be used. `localMicroseconds` is known when that cell parsed,
        /// so a book row can still be attributed to its message.
        case malformed(line: Int, localMicroseconds: Int64?, problem: TardisRowProblem)
    }

    /// The cells every data type shares.
    struct Row {
        var line: Int
        /// `timestamp`: the exchange's time, microseconds since the epoch.
        var exchangeMicroseconds: Int64
        /// `local_timestamp`: when Tardis received the message, microseconds since the epoch.
        var localMicroseconds: Int64
    }

    let dataType: TardisDataType
    let reader: CSVLineReader
    /// The file's name as given by the user (errors and reports).
    var name: String { reader.name }
    /// The current line's bytes.
    private(set) var line: [UInt8] = []
    /// The current line's cells, as ranges into ``line`` (quotes removed).
    private(set) var cells: [Range<Int>] = []
    /// Counters of this file.
    private(set) var stats: TardisImportReport.InputStats

    private let symbol: [UInt8]
    private var lastLocal: Int64?
    private var headerChecked = false

    /// Wraps a reader of one file of `dataType`, keeping rows of `symbol`.
    init(dataType: TardisDataType, reader: CSVLineReader, symbol: String) {
        self.dataType = dataType
        self.reader = reader
        self.symbol = Array(symbol.utf8)
        stats = TardisImportReport.InputStats(role: dataType.rawValue, file: reader.name)
    }

    /// The next row of the symbol, or nil at the end of the file.
    func next() throws(TardisImportError) -> Event? {
        if !headerChecked { try checkHeader() }
        while try reader.nextLine(into: &line) {
            if line.isEmpty {
                stats.blankLines += 1
                continue
            }
            stats.rows += 1
            let number = reader.lineNumber
            guard split() else { return malformed(number, nil, .badQuoting) }
            guard cells.count == dataType.columns.count else {
                return malformed(number, nil, .columnCount(expected: dataType.columns.count, found: cells.count))
            }
            // The exchange cell decides whether this is the right file at all: a wrong one stops the import.
            if !equals(cells[0], "bybit") { throw .wrongExchange(file: name, line: number, found: text(0)) }
            let local: Int64
            do throws(TardisRowProblem) { local = try microseconds(3) } catch { return malformed(number, nil, error) }
            // Receive order is checked on every row of the file, whatever its symbol: the merge relies on it.
            if let lastLocal, local < lastLocal {
                throw .receiveTimeWentBackwards(file: name, line: number, previousMicroseconds: lastLocal, microseconds: local)
            }
            lastLocal = local
            guard line[cells[1]].elementsEqual(symbol) else {
                stats.rowsOfOtherSymbols += 1
                continue
            }
            let exchange: Int64
            do throws(TardisRowProblem) { exchange = try microseconds(2) } catch { return malformed(number, local, error) }
            return .row(Row(line: number, exchangeMicroseconds: exchange, localMicroseconds: local))
        }
        stats.sha256 = reader.sha256 ?? ""
        stats.bytes = reader.bytesRead
        return nil
    }

    /// Records a row the converter could not use after all (its own cells were bad).
    func countMalformed() { stats.malformedRows += 1 }

    // MARK: - Cells

    /// The text of cell `index` (reports and ids).
    func text(_ index: Int) -> String { String(decoding: line[cells[index]], as: UTF8.self) }

    /// The column name of cell `index`.
    func column(_ index: Int) -> String { dataType.columns[index] }

    /// True when cell `index` is empty.
    func isEmpty(_ index: Int) -> Bool { cells[index].isEmpty }

    /// True when cell `index` is exactly `value`.
    func equals(_ index: Int, _ value: StaticString) -> Bool { equals(cells[index], value) }

    /// A time cell: a non-negative integer of microseconds small enough to be nanoseconds in `Int64`.
    func microseconds(_ index: Int) throws(TardisRowProblem) -> Int64 {
        let range = cells[index]
        guard !range.isEmpty else { throw .empty(column: column(index)) }
        var value: Int64 = 0
        for b in line[range] {
            let d = Int64(b) - Int64(UInt8(ascii: "0"))
            guard d >= 0, d <= 9 else { throw .notANumber(column: column(index), text: text(index)) }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(d)
            guard !o1, !o2, a <= Int64.max / 1_000 else { throw .outOfRange(column: column(index), text: text(index)) }
            value = a
        }
        return value
    }

    /// A decimal cell in units of `10^-digits` (scientific notation accepted, never rounded).
    func decimal(_ index: Int, digits: Int) throws(TardisRowProblem) -> Int64 {
        let range = cells[index]
        guard !range.isEmpty else { throw .empty(column: column(index)) }
        do {
            return try ExactDecimalText.units(line, range, digits: digits)
        } catch {
            switch error {
            case .notANumber: throw .notANumber(column: column(index), text: text(index))
            case let .tooPrecise(d): throw .tooPrecise(column: column(index), text: text(index), digits: d)
            case .outOfRange: throw .outOfRange(column: column(index), text: text(index))
            }
        }
    }

    /// The `side` cell of a trades or liquidations row: true for `buy`, false for `sell`, nil for `unknown`.
    func buySide() throws(TardisRowProblem) -> Bool? {
        if equals(5, "buy") { return true }
        if equals(5, "sell") { return false }
        if equals(5, "unknown") { return nil }
        throw .invalidValue(column: column(5), text: text(5))
    }

    /// The `price` and `amount` cells of a trades or liquidations row, both positive.
    func positivePriceAndAmount() throws(TardisRowProblem) -> (price: Int64, amount: Int64) {
        let price = try decimal(6, digits: Price.digits)
        guard price > 0 else { throw .outOfRange(column: column(6), text: text(6)) }
        let amount = try decimal(7, digits: Quantity.digits)
        guard amount > 0 else { throw .outOfRange(column: column(7), text: text(7)) }
        return (price, amount)
    }

    /// A decimal cell that may be empty (unknown): nil then.
    func optionalDecimal(_ index: Int, digits: Int) throws(TardisRowProblem) -> Int64? {
        cells[index].isEmpty ? nil : try decimal(index, digits: digits)
    }

    // MARK: - Private

    private func malformed(_ line: Int, _ local: Int64?, _ problem: TardisRowProblem) -> Event {
        stats.malformedRows += 1
        return .malformed(line: line, localMicroseconds: local, problem: problem)
    }

    /// Reads and checks the header line (done before any conversion, so a wrong file is refused
    /// before the output directory is touched; ``next()`` does it otherwise).
    func checkHeader() throws(TardisImportError) {
        guard !headerChecked else { return }
        headerChecked = true
        guard try reader.nextLine(into: &line) else { throw .emptyInput(file: name) }
        // A UTF-8 byte-order mark is not part of the header.
        if line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
        let found = String(decoding: line, as: UTF8.self)
        guard found == dataType.header else {
            throw .unexpectedHeader(file: name, expected: dataType.header, found: String(found.prefix(200)))
        }
    }

    /// Splits ``line`` at commas. A cell may be wrapped in double quotes (which are removed); a quote
    /// inside a cell, or an unterminated one, is refused (Tardis writes no such cells).
    private func split() -> Bool {
        cells.removeAll(keepingCapacity: true)
        var i = 0
        let n = line.count
        while true {
            if i < n && line[i] == UInt8(ascii: "\"") {
                guard let close = line[(i + 1)...].firstIndex(of: UInt8(ascii: "\"")) else { return false }
                cells.append((i + 1)..<close)
                i = close + 1
                if i == n { return true }
                guard line[i] == UInt8(ascii: ",") else { return false }
                i += 1
                continue
            }
            let end = line[i...].firstIndex(of: UInt8(ascii: ",")) ?? n
            if line[i..<end].contains(UInt8(ascii: "\"")) { return false }
            cells.append(i..<end)
            if end == n { return true }
            i = end + 1
        }
    }

    private func equals(_ range: Range<Int>, _ value: StaticString) -> Bool {
        let count = value.utf8CodeUnitCount
        guard range.count == count else { return false }
        return value.withUTF8Buffer { v in
            var i = 0
            for b in line[range] {
                if b != v[i] { return false }
                i += 1
            }
            return true
        }
    }
}
