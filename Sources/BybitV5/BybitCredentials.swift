import Foundation

/// A Bybit API key and its HMAC secret.
///
/// The secret never appears in `description`, `debugDescription`, `dump()` or any error of this type: logs and
/// crash reports print `BybitCredentials(apiKey: "…", secret: <redacted>)`. Load them at the edge of the
/// process, from an environment the caller passes in or from a file the user names:
///
/// ```swift
/// let credentials = try BybitCredentials.fromEnvironment(ProcessInfo.processInfo.environment)
/// let signer = BybitSigner(credentials: credentials)
/// ```
///
/// ## File formats
/// ``load(fromFile:)`` and ``parse(_:source:)`` accept either
/// * JSON: `{"apiKey": "…", "apiSecret": "…"}` (other members are ignored), or
/// * `key=value` lines: `apiKey=…` and `apiSecret=…`. Blank lines and lines starting with `#` are skipped,
///   white space around keys and values is trimmed, one pair of matching `"…"` or `'…'` quotes around a value is
///   removed, other keys are ignored, a repeated key is an error.
///
/// The format is chosen by the first non-blank character (`{` means JSON).
public struct BybitCredentials: Equatable, Sendable {
    /// The public API key, sent in clear as `X-BAPI-API-KEY`.
    public var apiKey: String
    /// The HMAC secret; only ``BybitSigner`` reads it.
    package let secret: String

    /// Credentials from values already in memory (tests, a secret store).
    public init(apiKey: String, secret: String) {
        self.apiKey = apiKey
        self.secret = secret
    }

    /// Why credentials could not be loaded. No case ever carries the secret or a line of the file.
    public enum LoadError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The environment variable is absent or holds only white space.
        case missingEnvironmentVariable(String)
        /// No file exists at the path.
        case fileNotFound(path: String)
        /// The path exists but cannot be read as text (a directory, permissions, not UTF-8).
        case unreadable(path: String, reason: String)
        /// The contents are in neither documented format (`line` is 1-based, for `key=value` files).
        case malformed(path: String, line: Int?, reason: String)
        /// The document parsed but `field` (`apiKey` or `apiSecret`) is absent or empty.
        case missingField(path: String, field: String)

        /// Names the failure without any secret material.
        public var description: String {
            switch self {
            case let .missingEnvironmentVariable(name): "environment variable \(name) is not set"
            case let .fileNotFound(path): "credentials file \(path) does not exist"
            case let .unreadable(path, reason): "credentials file \(path) cannot be read: \(reason)"
            case let .malformed(path, line?, reason): "credentials file \(path), line \(line): \(reason)"
            case let .malformed(path, nil, reason): "credentials file \(path): \(reason)"
            case let .missingField(path, field): "credentials file \(path) has no \(field)"
            }
        }
    }

    /// The names the two fields have in files.
    public static let apiKeyField = "apiKey"
    /// The name of the secret in files.
    public static let secretField = "apiSecret"

    /// Reads the key and secret from an environment dictionary (pass `ProcessInfo.processInfo.environment`).
    ///
    /// Values are trimmed of white space and newlines, so `export BYBIT_API_SECRET=$(cat file)` works.
    /// - Throws: ``LoadError/missingEnvironmentVariable(_:)`` naming the first variable that is absent or blank.
    public static func fromEnvironment(
        _ environment: [String: String], apiKeyVariable: String = "BYBIT_API_KEY",
        secretVariable: String = "BYBIT_API_SECRET"
    ) throws(LoadError) -> BybitCredentials {
        func value(_ name: String) throws(LoadError) -> String {
            guard let raw = environment[name] else { throw .missingEnvironmentVariable(name) }
            let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { throw .missingEnvironmentVariable(name) }
            return trimmed
        }
        return BybitCredentials(apiKey: try value(apiKeyVariable), secret: try value(secretVariable))
    }

    /// Reads a credentials file the user named (see the type's documentation for the two formats).
    ///
    /// This is the only file access in BybitV5; it exists so that every caller reads credentials the same way
    /// with the same redacted errors. ``parse(_:source:)`` is the pure part.
    public static func load(fromFile path: String) throws(LoadError) -> BybitCredentials {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw .fileNotFound(path: path)
        }
        if isDirectory.boolValue { throw .unreadable(path: path, reason: "is a directory") }
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw .unreadable(path: path, reason: "not readable by this user (check permissions)")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .unreadable(path: path, reason: "read failed")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw .unreadable(path: path, reason: "not UTF-8 text")
        }
        return try parse(text, source: path)
    }

    /// Parses the contents of a credentials file; `source` names it in errors (usually the path).
    public static func parse(_ contents: String, source: String) throws(LoadError) -> BybitCredentials {
        let trimmed = contents.trimmingCharacters(in: .whitespacesAndNewlines)
        var key: String?
        var secret: String?
        if trimmed.hasPrefix("{") {
            // JSONSerialization rather than Codable: a wrong type must not echo the value back in an error.
            guard let object = try? JSONSerialization.jsonObject(with: Data(trimmed.utf8)),
                  let dictionary = object as? [String: Any] else {
                throw .malformed(path: source, line: nil, reason: "not a JSON object")
            }
            for field in [apiKeyField, secretField] {
                guard let raw = dictionary[field] else { continue }
                guard let value = raw as? String else {
                    throw .malformed(path: source, line: nil, reason: "\(field) must be a string")
                }
                if field == apiKeyField { key = value } else { secret = value }
            }
        } else {
            var lineNumber = 0
            // `isNewline` also splits "\r\n", which Swift treats as one Character.
            for rawLine in contents.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
                lineNumber += 1
                let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
                if line.isEmpty || line.hasPrefix("#") { continue }
                guard let equals = line.firstIndex(of: "=") else {
                    throw .malformed(path: source, line: lineNumber, reason: "expected key=value")
                }
                let name = line[..<equals].trimmingCharacters(in: .whitespaces)
                let value = unquoted(line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces))
                guard !name.isEmpty else {
                    throw .malformed(path: source, line: lineNumber, reason: "empty key")
                }
                switch name {
                case apiKeyField:
                    if key != nil { throw .malformed(path: source, line: lineNumber, reason: "duplicate \(name)") }
                    key = value
                case secretField:
                    if secret != nil { throw .malformed(path: source, line: lineNumber, reason: "duplicate \(name)") }
                    secret = value
                default:
                    continue
                }
            }
        }
        let cleanKey = key?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let cleanSecret = secret?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard !cleanKey.isEmpty else { throw .missingField(path: source, field: apiKeyField) }
        guard !cleanSecret.isEmpty else { throw .missingField(path: source, field: secretField) }
        return BybitCredentials(apiKey: cleanKey, secret: cleanSecret)
    }

    /// Removes one pair of matching surrounding quotes (`.env` files often quote values).
    static func unquoted(_ value: String) -> String {
        guard value.count >= 2, let first = value.first, first == value.last, first == "\"" || first == "'" else {
            return value
        }
        return String(value.dropFirst().dropLast())
    }
}

extension BybitCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `BybitCredentials(apiKey: "…", secret: <redacted>)`.
    public var description: String { "BybitCredentials(apiKey: \"\(apiKey)\", secret: <redacted>)" }
    /// Same as ``description``: debug output must not leak the secret either.
    public var debugDescription: String { description }
    /// A mirror without the secret, so `dump()` and reflection-based loggers cannot print it.
    public var customMirror: Mirror {
        Mirror(self, children: ["apiKey": apiKey, "secret": "<redacted>"], displayStyle: .struct)
    }
}
