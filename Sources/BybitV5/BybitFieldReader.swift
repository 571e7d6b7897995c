import CascadeCore

/// Turns the text fields of one wire object into domain values, naming every failure by its JSON path.
///
/// Bybit sends numbers as strings and uses `""` for "not applicable" (`avgPrice`, `leavesQty`, `liqPrice`), so an
/// absent field and an empty string both read as `nil`; anything else must be an exact decimal at the field's
/// scale or the whole object is rejected with a typed error (a silently dropped fill is worse than a counted
/// bad frame). Informational fields are read through ``informational``: there a value that cannot be read
/// becomes `nil` and its name is noted in ``unread`` (client review row 4: one new enum value or an over-scale
/// total must not blind the node to its fills).
struct BybitFieldReader {
    /// JSON path of the object, e.g. `data[0]`.
    let path: String
    /// Names of informational fields that could not be read, shared by the strict reader and its lenient copy.
    let unread: Unread
    let lenient: Bool

    final class Unread {
        var names: [String] = []
    }

    init(path: String) {
        self.path = path
        self.unread = Unread()
        self.lenient = false
    }

    private init(path: String, unread: Unread) {
        self.path = path
        self.unread = unread
        self.lenient = true
    }

    /// The same object read leniently: failures become `nil`, noted in ``unread``.
    var informational: BybitFieldReader { BybitFieldReader(path: path, unread: unread) }

    /// `error` thrown by a strict reader; noted and swallowed by a lenient one.
    func fail<T>(_ error: BybitDecodeError, _ field: String) throws(BybitDecodeError) -> T? {
        guard lenient else { throw error }
        unread.names.append(field)
        return nil
    }

    func name(_ field: String) -> String { path.isEmpty ? field : "\(path).\(field)" }

    func required<T>(_ value: T?, _ field: String) throws(BybitDecodeError) -> T {
        guard let value else { throw .missingField(name(field)) }
        return value
    }

    /// A string that must be present and non-empty (ids, symbols).
    func requiredString(_ value: String?, _ field: String) throws(BybitDecodeError) -> String {
        guard let value, !value.isEmpty else { throw .missingField(name(field)) }
        return value
    }

    /// Units of `10^-digits`; `nil` for an absent field or `""`.
    func decimal(_ text: String?, _ field: String, digits: Int) throws(BybitDecodeError) -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        do {
            return try FixedDecimal.parse(text, digits: digits)
        } catch {
            return try fail(.invalidDecimal(field: name(field), value: text), field)
        }
    }

    func price(_ text: String?, _ field: String, _ instrument: Instrument) throws(BybitDecodeError) -> Price? {
        try decimal(text, field, digits: Price.digits).map(Price.init(units:))
    }

    /// A trigger/TP/SL price: Bybit writes `"0"`, `"0.00"` or `""` when there is none, and no real one is zero.
    func optionalTriggerPrice(_ text: String?, _ field: String, _ instrument: Instrument) throws(BybitDecodeError) -> Price? {
        guard let price = try price(text, field, instrument), price.units != 0 else { return nil }
        return price
    }

    func quantity(_ text: String?, _ field: String, _ instrument: Instrument) throws(BybitDecodeError) -> Quantity? {
        try decimal(text, field, digits: Quantity.digits).map(Quantity.init(units:))
    }

    func usdt(_ text: String?, _ field: String) throws(BybitDecodeError) -> USDT? {
        try decimal(text, field, digits: USDT.digits).map(USDT.init(units:))
    }

    func rate(_ text: String?, _ field: String) throws(BybitDecodeError) -> Rate? {
        try decimal(text, field, digits: Rate.digits).map(Rate.init(units:))
    }

    func coinAmount(_ text: String?, _ field: String) throws(BybitDecodeError) -> BybitCoinAmount? {
        try decimal(text, field, digits: BybitCoinAmount.digits).map(BybitCoinAmount.init(units:))
    }

    /// A millisecond timestamp sent as a decimal string (`"1672364262444"`); `nil` for absent or `""`.
    func time(_ text: String?, _ field: String) throws(BybitDecodeError) -> ExchangeTime? {
        guard let text, !text.isEmpty else { return nil }
        guard text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let ms = Int64(text) else {
            return try fail(.invalidValue(field: name(field), value: text), field)
        }
        return ExchangeTime(milliseconds: ms)
    }

    /// `Buy`/`Sell` exactly as Bybit writes them.
    func side(_ text: String?, _ field: String) throws(BybitDecodeError) -> Side {
        switch try required(text, field) {
        case "Buy": return .buy
        case "Sell": return .sell
        case let other: throw .invalidValue(field: name(field), value: other)
        }
    }

    /// A closed `String` enum; absent is `nil`, an undocumented value is an error.
    func closed<E: RawRepresentable>(_ text: String?, _ field: String, as type: E.Type) throws(BybitDecodeError) -> E?
    where E.RawValue == String {
        guard let text else { return nil }
        guard let value = E(rawValue: text) else { return try fail(.invalidValue(field: name(field), value: text), field) }
        return value
    }

    /// A closed `Int` enum; absent is `nil`, an undocumented value is an error.
    func closed<E: RawRepresentable>(_ number: Int?, _ field: String, as type: E.Type) throws(BybitDecodeError) -> E?
    where E.RawValue == Int {
        guard let number else { return nil }
        guard let value = E(rawValue: number) else { return try fail(.invalidValue(field: name(field), value: String(number)), field) }
        return value
    }
}

extension KeyedDecodingContainer {
    /// A reader whose path is this container's JSON path.
    var fields: BybitFieldReader { BybitFieldReader(path: BybitJSON.path(codingPath)) }

    /// The string under `key`, `nil` when absent or `null`; a non-string is a `typeMismatch`.
    func text(_ key: Key) throws -> String? { try decodeIfPresent(String.self, forKey: key) }
}
