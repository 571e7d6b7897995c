import Foundation

/// `JSONDecoder` with its errors translated into ``BybitDecodeError`` (paths like `data[0].price`).
///
/// Decodable initialisers in this module may throw ``BybitDecodeError`` themselves (for decimals they convert
/// while decoding); `JSONDecoder` passes such errors through unchanged, so they arrive here as they were thrown.
enum BybitJSON {
    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws(BybitDecodeError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as BybitDecodeError {
            throw error
        } catch let error as DecodingError {
            throw translate(error)
        } catch {
            throw .notJSON
        }
    }

    static func translate(_ error: DecodingError) -> BybitDecodeError {
        switch error {
        case let .typeMismatch(_, context):
            return .wrongType(field: path(context.codingPath))
        case let .valueNotFound(_, context):
            return .missingField(path(context.codingPath))
        case let .keyNotFound(key, context):
            return .missingField(path(context.codingPath + [key]))
        case let .dataCorrupted(context):
            // At the root this is invalid JSON; inside, a number that does not fit the declared integer type.
            return context.codingPath.isEmpty ? .notJSON : .wrongType(field: path(context.codingPath))
        @unknown default:
            return .notJSON
        }
    }

    /// `[data, 0, execFee]` → `data[0].execFee`.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                if !text.isEmpty { text += "." }
                text += key.stringValue
            }
        }
        return text
    }

    /// `path` joined with one more key.
    static func path(_ codingPath: [any CodingKey], _ key: some CodingKey) -> String {
        path(codingPath + [key])
    }
}
