/// The client's id of an order (Bybit `orderLinkId`): 1 to 36 characters of `[A-Za-z0-9_-]`, unique per account.
///
/// Chosen by whoever sends the order and known before the venue answers, so an order intent can be persisted, and a
/// lost answer resolved, by this id alone.
public struct ClientOrderID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The id as sent.
    public let rawValue: String
    /// The longest id a venue accepts (Bybit: 36).
    public static let maxLength = 36

    /// Validates `text`.
    /// - Throws: ``ClientOrderIDError`` for an empty id, one longer than 36, or a character outside `[A-Za-z0-9_-]`.
    public init(_ text: String) throws(ClientOrderIDError) {
        if text.isEmpty { throw .empty }
        var count = 0
        for byte in text.utf8 {
            count += 1
            let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == 0x2d || byte == 0x5f
            if !ok { throw .invalidCharacter(text) }
        }
        if count > Self.maxLength { throw .tooLong(count: count) }
        rawValue = text
    }

    /// An id whose text a type of this package builds valid by construction (``OrderLinkID``'s layout): not scanned
    /// again on the decision path, checked in debug builds.
    package init(validByConstruction text: String) {
        // The characters are checked in debug builds; the length always (a native string knows it without a scan).
        precondition(!text.isEmpty && text.utf8.count <= Self.maxLength, "\(text) is not a valid client order id")
        assert((try? ClientOrderID(text)) != nil, "\(text) is not a valid client order id")
        rawValue = text
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}

/// Why a text is not a ``ClientOrderID``.
public enum ClientOrderIDError: Error, Hashable, Sendable {
    case empty
    case tooLong(count: Int)
    /// The id (it holds a character outside `[A-Za-z0-9_-]`).
    case invalidCharacter(String)
}

/// The venue's id of an order (Bybit `orderId`), assigned when the venue acknowledges the submission.
public struct VenueOrderID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}

/// The venue's id of one execution (Bybit `execId`): fills, funding and takeovers are deduplicated by it.
public struct ExecutionID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}

/// An order named by either id (a venue resolves the venue id first, as Bybit does when both are sent).
public enum OrderReference: Hashable, Sendable, Codable, CustomStringConvertible {
    case client(ClientOrderID)
    case venue(VenueOrderID)

    public var description: String {
        switch self {
        case let .client(id): "client:\(id)"
        case let .venue(id): "venue:\(id)"
        }
    }
}

extension ClientOrderID: Codable {
    /// Decoded through the validating initialiser: a journal cannot smuggle in an id Bybit would refuse.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "orderLinkId: \(error)"))
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
