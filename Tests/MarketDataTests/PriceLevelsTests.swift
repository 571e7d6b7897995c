import CascadeCore
import CascadeTesting
@testable import MarketData
import Testing

/// The double-ended level buffer against a plain dictionary model, over seeded operations at both ends,
/// in the middle, and past its initial capacity.
@Suite struct PriceLevelsTests {
    @Test(arguments: [true, false])
    func matchesADictionaryModel(ascending: Bool) {
        var rng = SeededRandom(seed: ascending ? 11 : 12)
        var levels = PriceLevels(expectedLevels: 8, ascending: ascending)
        var model: [Int64: Int64] = [:]
        for step in 0..<20_000 {
            // Prices cluster at both ends and spread wider over time so the buffer must grow and re-centre.
            let spread = Int64(16 + step / 50)
            let price = Int64(rng.next() % UInt64(spread)) + 1
            let size = rng.next() % 3 == 0 ? 0 : Int64(rng.next() % 100) + 1
            let change = levels.apply(BookLevel(price: Price(units: price), size: Quantity(units: size)))
            let existed = model[price] != nil
            if size == 0 {
                #expect(change == (existed ? .deleted : .deleteOfMissing))
                model[price] = nil
            } else {
                #expect(change == (existed ? .updated : .inserted))
                model[price] = size
            }
            if step % 97 == 0 || step == 19_999 {
                let expected = model.sorted { ascending ? $0.key < $1.key : $0.key > $1.key }
                #expect(levels.levels.map { $0.price.units } == expected.map(\.key))
                #expect(levels.levels.map { $0.size.units } == expected.map(\.value))
                #expect(levels.count == model.count)
            }
        }
    }

    @Test func bestIsLastAndLookupsWork() {
        var bids = PriceLevels(expectedLevels: 4, ascending: true)
        for p in [5, 1, 9, 3] as [Int64] { _ = bids.apply(BookLevel(price: Price(units: p), size: Quantity(units: p * 10))) }
        #expect(bids.best?.price.units == 9 && bids.worst?.price.units == 1)
        #expect(bids.level(fromBest: 1).price.units == 5)
        #expect(bids.size(at: 3) == 30 && bids.size(at: 4) == 0)
    }
}
