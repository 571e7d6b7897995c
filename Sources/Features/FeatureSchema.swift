import Crypto
import Foundation

/// What a feature's number means.
public enum FeatureUnit: String, Sendable, Codable, Hashable {
    /// Basis points of a price (1e-4).
    case bps
    /// A dimensionless ratio in [-1, 1] (imbalances) or [0, 1] (percentiles).
    case ratio
    /// A notional or count rate divided by the symbol's rolling baseline rate (1 = a typical minute).
    case baselineRatio = "baseline-ratio"
    case count
    case seconds
    case hours
    /// 0 or 1.
    case flag
    /// +1 (longs liquidated), −1 (shorts liquidated), 0 (none).
    case side
    /// sin or cos of an angle.
    case cyclic
}

/// One column of the feature vector: name, unit, window, warm-up, family and a one-line meaning.
public struct FeatureDescriptor: Sendable, Codable, Hashable {
    public var name: String
    public var unit: FeatureUnit
    /// Window in seconds (nil: a point-in-time value).
    public var windowSeconds: Int?
    /// When the feature is warm, in words (e.g. "book synced", "60 s observed, baseline warm").
    public var warmup: String
    public var family: String
    public var doc: String

    public init(_ name: String, _ unit: FeatureUnit, window: Int? = nil, warmup: String, family: String, doc: String) {
        self.name = name
        self.unit = unit
        self.windowSeconds = window
        self.warmup = warmup
        self.family = family
        self.doc = doc
    }
}

/// The ordered, versioned list of features one engine configuration produces. The hash covers the version and every
/// descriptor, so a model trained on one schema refuses a vector of another.
public struct FeatureSchema: Sendable, Codable, Hashable {
    /// Bumped whenever a feature's meaning changes.
    public static let currentVersion = 1
    public var version: Int
    public var features: [FeatureDescriptor]
    /// The engine parameters that shape the values (windows of baselines, warm-up, the detector rule), as sorted-key
    /// JSON: part of the hash, so a change of any of them is a different schema.
    public var parameters: String
    /// SHA-256 (hex) of the canonical JSON of version, parameters and features.
    public var hash: String

    public init(version: Int = FeatureSchema.currentVersion, features: [FeatureDescriptor], parameters: String = "") {
        self.version = version
        self.features = features
        self.parameters = parameters
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var canonical = Data("cascade-features v\(version)\n".utf8)
        canonical.append(Data(parameters.utf8))
        canonical.append(Data("\n".utf8))
        canonical.append((try? encoder.encode(features)) ?? Data())
        hash = SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
    }

    /// Column index of `name`.
    public func index(of name: String) -> Int? { features.firstIndex { $0.name == name } }

    /// Pretty JSON (sorted keys) for the file written beside a feature CSV.
    public func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }
}

/// Receives features in schema order. The schema and the values come from the same code (``FeatureEngine``'s
/// writers), so names and values can never drift apart.
public protocol FeatureSink {
    mutating func emit(_ descriptor: @autoclosure () -> FeatureDescriptor, _ value: @autoclosure () -> Double,
                       warm: @autoclosure () -> Bool)
}

/// Collects descriptors, never computing a value.
struct SchemaCollector: FeatureSink {
    var features: [FeatureDescriptor] = []
    mutating func emit(_ descriptor: @autoclosure () -> FeatureDescriptor, _ value: @autoclosure () -> Double,
                       warm: @autoclosure () -> Bool) {
        features.append(descriptor())
    }
}

/// Collects values and warm flags, never building a descriptor.
struct ValueCollector: FeatureSink {
    var values: [Double] = []
    var warm: [Bool] = []
    init(capacity: Int) {
        values.reserveCapacity(capacity)
        warm.reserveCapacity(capacity)
    }
    mutating func emit(_ descriptor: @autoclosure () -> FeatureDescriptor, _ value: @autoclosure () -> Double,
                       warm isWarm: @autoclosure () -> Bool) {
        values.append(value())
        warm.append(isWarm())
    }
}

/// One symbol's features at one receive time.
public struct FeatureVector: Sendable, Hashable {
    public var schemaHash: String
    public var symbol: String
    /// Receive time the vector is as of (ns).
    public var time: Int64
    /// Values in schema order; NaN where an input is missing (never a silent default).
    public var values: [Double]
    /// Per feature: whether its window and inputs are warm.
    public var warm: [Bool]

    /// True when every feature is warm.
    public var isReady: Bool { !warm.contains(false) }

    /// True when the features at `indices` are warm.
    public func isReady(needing indices: [Int]) -> Bool { indices.allSatisfy { warm[$0] } }

    /// Bitwise equality (NaN equals NaN): what truncation invariance demands.
    public func isIdentical(to other: FeatureVector) -> Bool {
        symbol == other.symbol && time == other.time && warm == other.warm && values.count == other.values.count
            && zip(values, other.values).allSatisfy { $0.bitPattern == $1.bitPattern }
    }
}
