import CascadeCore
import Testing

@Suite struct SymbolIndexedTests {
    /// Ids set out of order read back their own values; ids never set, beyond the array, or set to nil read nil; keys
    /// and `firstID` are in id order.
    @Test func valuesByIdReadBackAndOthersReadNil() {
        var table = SymbolIndexed<Int>()
        let a = SymbolID(index: 0), b = SymbolID(index: 3), c = SymbolID(index: 1)
        table[b] = 7
        table[a] = 5
        table[c] = 7
        #expect(table[a] == 5 && table[b] == 7 && table[c] == 7)
        #expect(table[SymbolID(index: 2)] == nil && table[SymbolID(index: 4)] == nil && table[SymbolID(index: .max)] == nil)
        #expect(table.keys == [a, c, b])
        #expect(table.firstID(of: 7) == c && table.firstID(of: 5) == a && table.firstID(of: 9) == nil)
        table[c] = nil
        #expect(table[c] == nil && table.keys == [a, b] && table.firstID(of: 7) == b)
        // Clearing an id beyond the array leaves it as it is (no growth for nothing).
        table[SymbolID(index: 10)] = nil
        #expect(table.keys == [a, b] && table[SymbolID(index: 10)] == nil)
        table[SymbolID(index: 10)] = 1
        #expect(table.keys == [a, b, SymbolID(index: 10)])
    }
}
