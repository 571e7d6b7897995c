public import Recording

/// Why an import stopped. Each case names the file (and line, when one is to blame) so the user can
/// look at the exact input; rows that are merely malformed are counted instead (``TardisRowProblem``).
public enum TardisImportError: Error, Equatable, Sendable {
    /// No input file was given.
    case noInputs
    /// The symbol is not a Bybit USDT perpetual's (upper-case letters and digits ending in `USDT`).
    case invalidSymbol(String)
    /// A file could not be opened or read.
    case unreadable(file: String, message: String)
    /// The gzip stream is damaged or ends inside a member.
    case badCompression(file: String, message: String)
    /// The file is empty (not even a header line).
    case emptyInput(file: String)
    /// The first line is not the header of the expected data type.
    case unexpectedHeader(file: String, expected: String, found: String)
    /// The file is named as the other of `trades`/`liquidations`, whose headers are identical: a swapped
    /// option would otherwise turn liquidations into trades without a word.
    case namedAsOtherDataType(file: String, expected: String, named: String)
    /// A row of another exchange (e.g. `bybit-spot`): the file is not a Bybit USDT-perpetual export.
    case wrongExchange(file: String, line: Int, found: String)
    /// `local_timestamp` went backwards: the file is not in receive order, so no merge can be trusted.
    case receiveTimeWentBackwards(file: String, line: Int, previousMicroseconds: Int64, microseconds: Int64)
    /// More malformed rows than allowed (`--max-malformed`); the first ones are listed.
    case tooManyMalformedRows(count: Int, firstRows: [String])
    /// The instruments file does not decode, or does not list the symbol.
    case instruments(file: String, message: String)
    /// A file changed while it was being imported (its SHA-256 differs between the two readings).
    case inputChanged(file: String)
    /// Writing the recording failed.
    case recording(RecordingError)
}

extension TardisImportError: CustomStringConvertible {
    /// One line for the command line.
    public var description: String {
        switch self {
        case .noInputs: "no input file given (--book, --trades, --liquidations or --ticker)"
        case let .invalidSymbol(symbol): "invalid symbol \"\(symbol)\": expected a Bybit USDT perpetual (upper-case letters and digits ending in USDT, e.g. BTCUSDT)"
        case let .unreadable(file, message): "cannot read \(file): \(message)"
        case let .badCompression(file, message): "\(file): damaged gzip data: \(message)"
        case let .emptyInput(file): "\(file): empty file (no header line)"
        case let .unexpectedHeader(file, expected, found):
            "\(file):1: header is \"\(found)\", expected \"\(expected)\" (wrong data type for this option?)"
        case let .namedAsOtherDataType(file, expected, named):
            "\(file) is named as a \(named) file but was given as \(expected) (the two share one header, so the name is the only check)"
        case let .wrongExchange(file, line, found):
            "\(file):\(line): exchange is \"\(found)\", expected \"bybit\" (Bybit USDT perpetuals)"
        case let .receiveTimeWentBackwards(file, line, previous, now):
            "\(file):\(line): local_timestamp \(now) is before the previous row's \(previous): the file is not in receive order"
        case let .tooManyMalformedRows(count, rows):
            "\(count) malformed rows, more than allowed; first: " + rows.joined(separator: "; ")
        case let .instruments(file, message): "--instruments \(file): \(message)"
        case let .inputChanged(file): "\(file) changed while it was being imported"
        case let .recording(error): "writing the recording: \(error)"
        }
    }
}

/// Why one row was counted as malformed and left out.
public enum TardisRowProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The row does not have the header's number of columns.
    case columnCount(expected: Int, found: Int)
    /// A required cell is empty.
    case empty(column: String)
    /// The cell is not a decimal number (or an integer where one is required).
    case notANumber(column: String, text: String)
    /// The number has non-zero digits finer than Cascade's fixed precision for the field: storing it would round.
    case tooPrecise(column: String, text: String, digits: Int)
    /// The number is out of the range the field allows (negative size, zero price, time too large).
    case outOfRange(column: String, text: String)
    /// The cell is not one of the documented values (e.g. a side that is neither `buy` nor `sell`).
    case invalidValue(column: String, text: String)
    /// A quoted cell with escaped quotes, or an unterminated quote.
    case badQuoting

    /// One line for reports.
    public var description: String {
        switch self {
        case let .columnCount(expected, found): "\(found) columns, expected \(expected)"
        case let .empty(column): "\(column) is empty"
        case let .notANumber(column, text): "\(column) \"\(text)\" is not a number"
        case let .tooPrecise(column, text, digits): "\(column) \"\(text)\" has more than \(digits) decimals"
        case let .outOfRange(column, text): "\(column) \"\(text)\" is out of range"
        case let .invalidValue(column, text): "\(column) \"\(text)\" is not a documented value"
        case .badQuoting: "unsupported or unterminated quoting"
        }
    }
}
