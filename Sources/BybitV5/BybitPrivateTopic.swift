/// A private-stream topic (§3.2): `order`, `execution`, `execution.fast`, `position`, `wallet`, optionally with a
/// category suffix (`order.linear`, `execution.fast.linear`).
public struct BybitPrivateTopic: Hashable, Sendable, CustomStringConvertible {
    /// The stream.
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        /// `order`.
        case order
        /// `execution`.
        case execution
        /// `execution.fast`: lower latency, `execType=Trade` only, fewer fields.
        case executionFast = "execution.fast"
        /// `position`.
        case position
        /// `wallet`.
        case wallet
    }

    /// The stream.
    public var kind: Kind
    /// The category suffix (`order.linear` → `.linear`); `nil` for the all-in-one topic.
    public var category: BybitCategory?

    /// A topic as given.
    public init(kind: Kind, category: BybitCategory? = nil) {
        self.kind = kind
        self.category = category
    }

    /// Parses a topic name; `nil` for topics this decoder does not handle (`greeks`, `dcp`, `wallet.linear`, …).
    public init?(_ name: String) {
        // Longest kind first so `execution.fast.linear` is not read as `execution` + `fast.linear`.
        for kind in [Kind.executionFast, .execution, .order, .position, .wallet] {
            if name == kind.rawValue {
                self.init(kind: kind)
                return
            }
            let prefix = kind.rawValue + "."
            if name.hasPrefix(prefix), kind != .wallet,
               let category = BybitCategory(rawValue: String(name.dropFirst(prefix.count))) {
                self.init(kind: kind, category: category)
                return
            }
        }
        return nil
    }

    /// The topic name as sent on the wire.
    public var name: String { category.map { "\(kind.rawValue).\($0.rawValue)" } ?? kind.rawValue }

    /// A one-line human-readable form for logs.
    public var description: String { name }
}
