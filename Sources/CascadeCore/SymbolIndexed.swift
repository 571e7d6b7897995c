/// Values by ``SymbolID``, in an array indexed by the id. A table's ids are dense from 0, so a read is an index and a
/// bounds check, with no hashing: the hot paths read one per input, and on a cascade's first frame a hash table's
/// buckets are cold lines. Grows to the largest id given a value; any other id reads nil (a sentinel such as
/// `UInt32.max` included).
public struct SymbolIndexed<Value: Sendable>: Sendable {
    @usableFromInline var values: [Value?] = []

    /// Ids above this are not a table's (a million symbols): growing to one is a bug, trapped before it allocates.
    public static var maximumIndex: Int { 1 << 20 }

    @inlinable public init() {}

    @inlinable public subscript(id: SymbolID) -> Value? {
        get {
            let i = Int(id.index)
            return i < values.count ? values[i] : nil
        }
        set {
            let i = Int(id.index)
            if i >= values.count {
                guard newValue != nil else { return }
                precondition(i <= Self.maximumIndex, "symbol id \(i) is not an instrument table's")
                values.append(contentsOf: repeatElement(nil, count: i + 1 - values.count))
            }
            values[i] = newValue
        }
    }

    /// The ids with a value, ascending.
    public var keys: [SymbolID] { values.indices.filter { values[$0] != nil }.map { SymbolID(index: UInt32($0)) } }
}

extension SymbolIndexed where Value: Equatable {
    /// The first id (lowest) whose value is `value`.
    public func firstID(of value: Value) -> SymbolID? {
        values.firstIndex { $0 == value }.map { SymbolID(index: UInt32($0)) }
    }
}
