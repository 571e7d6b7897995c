public import CascadeCore
import Foundation

/// Decodes `/v5/market/instruments-info` (linear) into ``InstrumentRules``. Not a hot path: `Codable` is fine.
///
/// Accepts the whole REST envelope, its `result` object, or the bare `list` array, so the same code reads
/// a recorded `_cascade.instruments` frame's data and a file the user names.
public enum BybitInstrumentsInfo {
    /// Why an instruments-info document was rejected.
    public enum DecodeError: Error, Equatable, Sendable, CustomStringConvertible {
        case notJSON(String)
        case retCode(Int, String)
        case invalidField(symbol: String, field: String, value: String)
        public var description: String {
            switch self {
            case let .notJSON(why): "instruments-info is not the expected JSON: \(why)"
            case let .retCode(code, msg): "instruments-info answered retCode \(code): \(msg)"
            case let .invalidField(symbol, field, value): "instruments-info \(symbol): \(field) = \"\(value)\" is not an exact decimal"
            }
        }
    }

    struct Envelope: Decodable {
        var retCode: Int?
        var retMsg: String?
        var result: Result?
    }
    struct Result: Decodable {
        var category: String?
        var list: [Item]
    }
    struct Item: Decodable {
        var symbol: String
        var status: String?
        var priceScale: String?
        var settleCoin: String?
        var fundingInterval: Int?
        var priceFilter: PriceFilter
        var lotSizeFilter: LotSizeFilter
        var leverageFilter: LeverageFilter?
    }
    struct LeverageFilter: Decodable {
        var maxLeverage: String?
        var minLeverage: String?
        var leverageStep: String?
    }
    struct PriceFilter: Decodable {
        var tickSize: String
        var minPrice: String?
        var maxPrice: String?
    }
    struct LotSizeFilter: Decodable {
        var qtyStep: String
        var minOrderQty: String
        var maxOrderQty: String
        var maxMktOrderQty: String?
        var minNotionalValue: String?
    }

    /// Parses a document and returns `(symbol, rules)` pairs in document order, at each symbol's scale.
    public static func decode(_ json: [UInt8], table: inout InstrumentTable) throws(DecodeError) -> [(String, InstrumentRules)] {
        let data = Data(json)
        let items: [Item]
        do {
            let decoder = JSONDecoder()
            if let envelope = try? decoder.decode(Envelope.self, from: data), let result = envelope.result {
                if let code = envelope.retCode, code != 0 { throw DecodeError.retCode(code, envelope.retMsg ?? "") }
                items = result.list
            } else if let result = try? decoder.decode(Result.self, from: data) {
                items = result.list
            } else {
                items = try decoder.decode([Item].self, from: data)
            }
        } catch let error as DecodeError {
            throw error
        } catch {
            throw .notJSON(String(describing: error))
        }
        var out: [(String, InstrumentRules)] = []
        for item in items {
            func price(_ field: String, _ text: String) throws(DecodeError) -> Price {
                do { return Price(units: try FixedDecimal.parse(text, digits: Price.digits)) } catch {
                    throw .invalidField(symbol: item.symbol, field: field, value: text)
                }
            }
            func qty(_ field: String, _ text: String) throws(DecodeError) -> Quantity {
                do { return Quantity(units: try FixedDecimal.parse(text, digits: Quantity.digits)) } catch {
                    throw .invalidField(symbol: item.symbol, field: field, value: text)
                }
            }
            let lot = item.lotSizeFilter
            let notionalText = lot.minNotionalValue ?? "0"
            let minNotional: USDT
            do { minNotional = try USDT(notionalText) } catch {
                throw .invalidField(symbol: item.symbol, field: "minNotionalValue", value: notionalText)
            }
            func rate(_ field: String, _ text: String?) throws(DecodeError) -> Rate? {
                guard let text else { return nil }
                do { return try Rate(text) } catch { throw .invalidField(symbol: item.symbol, field: field, value: text) }
            }
            let maxLeverage = try rate("maxLeverage", item.leverageFilter?.maxLeverage)
            let step = lot.qtyStep
            let qtyDecimals = step.split(separator: ".").dropFirst().first.map { $0.count } ?? 0
            let rules = InstrumentRules(
                tickSize: try price("tickSize", item.priceFilter.tickSize),
                qtyStep: try qty("qtyStep", step),
                minOrderQty: try qty("minOrderQty", lot.minOrderQty),
                maxOrderQty: try qty("maxOrderQty", lot.maxOrderQty),
                maxMarketOrderQty: try qty("maxMktOrderQty", lot.maxMktOrderQty ?? lot.maxOrderQty),
                minNotional: minNotional,
                priceDecimals: item.priceScale.flatMap { Int($0) } ?? 0,
                qtyDecimals: qtyDecimals,
                status: item.status ?? "",
                fundingIntervalMinutes: item.fundingInterval,
                settleCoin: item.settleCoin ?? "USDT",
                maxLeverage: maxLeverage,
                minLeverage: try rate("minLeverage", item.leverageFilter?.minLeverage),
                leverageStep: try rate("leverageStep", item.leverageFilter?.leverageStep),
                minPrice: try item.priceFilter.minPrice.map { t throws(DecodeError) in try price("minPrice", t) },
                maxPrice: try item.priceFilter.maxPrice.map { t throws(DecodeError) in try price("maxPrice", t) })
            table.setRules(rules, for: item.symbol)
            out.append((item.symbol, rules))
        }
        return out
    }
}
