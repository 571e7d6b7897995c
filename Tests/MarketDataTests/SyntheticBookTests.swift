import BybitV5
import CascadeCore
import CascadeTesting
import MarketData
import Testing

/// A long seeded stream checked against the generator's own reference book: strict ids, never crossed.
@Suite struct SyntheticBookTests {
    @Test(arguments: [1 as UInt64, 7, 2024])
    func longSeededStreamStaysConsistent(seed: UInt64) throws {
        var gen = SyntheticBookFrames(depth: 50, seed: seed)
        var decoder = BybitPublicDecoder()
        var book: OrderBook?
        for i in 0..<5_000 {
            let frame = i == 0 ? gen.snapshot() : gen.delta()
            guard case let .book(update) = try decoder.decode(frame, localTime: LocalTime(nanoseconds: Int64(i))) else {
                Issue.record("not a book"); return
            }
            if book == nil { book = OrderBook(symbol: update.symbol, depth: 50, policy: .strict) }
            let outcome = book!.apply(update)
            #expect(outcome == (i == 0 ? .replaced : .applied))
            // The best levels kept in the book's record are the sides' own after every message.
            let b = book!
            #expect(b.bestBid == (b.levelCount(.bid) > 0 ? b.level(.bid, fromBest: 0) : nil))
            #expect(b.bestAsk == (b.levelCount(.ask) > 0 ? b.level(.ask, fromBest: 0) : nil))
        }
        let b = try #require(book)
        let instrument = decoder.instruments[b.symbol]
        let best = try #require(gen.referenceBest)
        #expect(b.isSynced && b.stats.overDepth == 0 && b.stats.deletesOfMissingLevels == 0)
        #expect(b.bidCount == gen.referenceLevelCounts.bids && b.askCount == gen.referenceLevelCounts.asks)
        #expect(b.bestBid == BookLevel(price: try instrument.price(best.bid.0), size: try instrument.quantity(best.bid.1)))
        #expect(b.bestAsk == BookLevel(price: try instrument.price(best.ask.0), size: try instrument.quantity(best.ask.1)))
    }
}
