/// A row of a private-stream frame or a REST list that could not be read even leniently: a fill-critical field
/// (id, symbol, side, price, quantity, fee, status, time) is missing or unreadable. The rest of its message is
/// delivered; this row is reported instead of taking the whole stream down (client review row 4), so the
/// consumer can distrust its symbol (reduce-only) and alert.
public struct BybitQuarantinedRow: Hashable, Sendable, CustomStringConvertible {
    /// `order`, `execution`, `position`, `wallet`, or the REST path (`/v5/execution/list`).
    public var source: String
    /// The row's JSON path, e.g. `data[1]` or `result.list[3]`.
    public var path: String
    /// The row's `symbol` when it could be read at all.
    public var symbol: String?
    /// Why it failed (the failing field's path).
    public var error: BybitDecodeError

    public init(source: String, path: String, symbol: String?, error: BybitDecodeError) {
        self.source = source
        self.path = path
        self.symbol = symbol
        self.error = error
    }

    public var description: String { "\(source) \(path) (\(symbol ?? "symbol unreadable")): \(error)" }
}

/// One element of a JSON array decoded on its own: a bad element is kept as its error instead of failing the array.
struct BybitLossy<Item: Decodable>: Decodable {
    let item: Result<Item, BybitDecodeError>
    /// The element's `symbol`, read on its own so a failed element can still be attributed.
    let symbol: String?

    private enum SymbolKey: String, CodingKey { case symbol }

    init(from decoder: any Decoder) throws {
        symbol = try? decoder.container(keyedBy: SymbolKey.self).decodeIfPresent(String.self, forKey: .symbol)
        do {
            item = .success(try Item(from: decoder))
        } catch let error as BybitDecodeError {
            item = .failure(error)
        } catch let error as DecodingError {
            item = .failure(BybitJSON.translate(error))
        } catch {
            item = .failure(.notJSON)
        }
    }
}

extension Array {
    /// Converts each lossy element with `convert(wire, path)`; elements that fail to decode or convert go to
    /// `quarantine` under `source` and `prefix[index]`.
    func converting<Wire, Out>(source: String, prefix: String, quarantine: inout [BybitQuarantinedRow],
                               _ convert: (Wire, String) throws(BybitDecodeError) -> Out) -> [Out]
    where Element == BybitLossy<Wire> {
        var out: [Out] = []
        out.reserveCapacity(count)
        for (index, element) in enumerated() {
            let path = "\(prefix)[\(index)]"
            do {
                out.append(try convert(element.item.get(), path))
            } catch {
                quarantine.append(BybitQuarantinedRow(source: source, path: path, symbol: element.symbol, error: error))
            }
        }
        return out
    }
}

extension BybitLossy: Sendable where Item: Sendable {}
