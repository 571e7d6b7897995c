import CascadeCore
import MarketData
import Testing

/// Hand-built book messages through the production types.
struct BookMessages {
    var instrument = Instrument(id: SymbolID(index: 0), symbol: "BTCUSDT")
    var u: UInt64 = 100
    var seq: UInt64 = 1_000

    func levels(_ pairs: [(String, String)]) -> [BookLevel] {
        pairs.map { BookLevel(price: try! instrument.price($0.0), size: try! instrument.quantity($0.1)) }
    }

    mutating func message(_ kind: BookUpdate.Kind, u: UInt64? = nil, bids: [(String, String)], asks: [(String, String)]) -> BookUpdate {
        self.u = u ?? (self.u + 1)
        seq += 7
        return BookUpdate(symbol: instrument.id, depth: 50, kind: kind, updateID: self.u, sequence: seq,
                          exchangeTime: ExchangeTime(milliseconds: Int64(seq)), matchTime: nil,
                          localTime: LocalTime(nanoseconds: Int64(seq) * 1_000_000), bids: levels(bids), asks: levels(asks))
    }

    func p(_ text: String) -> Price { try! instrument.price(text) }
    func q(_ text: String) -> Quantity { try! instrument.quantity(text) }
}

@Suite struct OrderBookTests {
    func snapshotBook(_ m: inout BookMessages, policy: UpdateIDPolicy = .monotonic) -> OrderBook {
        var book = OrderBook(symbol: m.instrument.id, depth: 50, policy: policy)
        let outcome = book.apply(m.message(.snapshot, bids: [("100.0", "1"), ("99.5", "2"), ("99.0", "3")],
                                           asks: [("100.5", "4"), ("101.0", "5"), ("102.0", "6")]))
        #expect(outcome == .replaced)
        return book
    }

    @Test func snapshotReplacesAndReportsTopOfBook() {
        var m = BookMessages()
        let book = snapshotBook(&m)
        #expect(book.isSynced)
        #expect(book.bestBid == BookLevel(price: m.p("100"), size: m.q("1")))
        #expect(book.bestAsk == BookLevel(price: m.p("100.5"), size: m.q("4")))
        #expect(book.spread == m.p("0.5"))
        #expect(book.topLevels(.bid, 2).map(\.price) == [m.p("100"), m.p("99.5")])
        #expect(book.topLevels(.ask, 10).count == 3)
        #expect(book.displayedSize(at: m.p("101"), side: .ask) == m.q("5"))
        #expect(book.displayedSize(at: m.p("100.7"), side: .ask) == .zero)
    }

    /// The best levels are kept in the book's record (``OrderBook/bestBid``): after every kind of message they equal
    /// the levels the sides hold, a side emptied by a delta or a snapshot included, and a refused message keeps them.
    @Test func bestLevelsFollowEveryMessage() {
        var m = BookMessages()
        var book = OrderBook(symbol: m.instrument.id, depth: 50, policy: .strict)
        func check(_ note: String) {
            #expect(book.bestBid == (book.levelCount(.bid) > 0 ? book.level(.bid, fromBest: 0) : nil), "\(note)")
            #expect(book.bestAsk == (book.levelCount(.ask) > 0 ? book.level(.ask, fromBest: 0) : nil), "\(note)")
        }
        check("empty")
        #expect(book.bestBid == nil && book.bestAsk == nil)
        book.apply(m.message(.snapshot, bids: [("100", "1"), ("99", "2")], asks: [("101", "3")]))
        check("snapshot")
        book.apply(m.message(.delta, bids: [("100.5", "4")], asks: [("101", "0"), ("102", "5")]))
        check("delta: new best bid, best ask deleted")
        #expect(book.bestBid?.price == m.p("100.5") && book.bestAsk?.price == m.p("102"))
        book.apply(m.message(.delta, bids: [("100.5", "0"), ("100", "0"), ("99", "0")], asks: []))
        check("delta: bid side emptied")
        #expect(book.bestBid == nil && book.bestAsk?.price == m.p("102"))
        let last = m.u
        #expect(book.apply(m.message(.delta, u: last + 5, bids: [("101", "1")], asks: [])) == .invalidated(.updateIDGap(expected: last + 1, got: last + 5)))
        check("a gap: the message is refused, the levels stay")
        #expect(book.bestBid == nil)
        book.apply(m.message(.snapshot, bids: [("98", "1")], asks: []))
        check("snapshot with one side")
        #expect(book.bestBid?.price == m.p("98") && book.bestAsk == nil)
        book.apply(m.message(.delta, bids: [("103", "1")], asks: [("102.5", "1")]))
        check("a crossed book (invalidated, levels as applied)")
        #expect(!book.isSynced && book.bestBid?.price == m.p("103"))
    }

    @Test func deltaInsertsUpdatesAndDeletes() {
        var m = BookMessages()
        var book = snapshotBook(&m)
        let outcome = book.apply(m.message(.delta, bids: [("100.2", "7"), ("99.5", "0"), ("99.0", "3.5")],
                                           asks: [("100.5", "0"), ("100.7", "1")]))
        #expect(outcome == .applied)
        #expect(book.bestBid == BookLevel(price: m.p("100.2"), size: m.q("7")))
        #expect(book.bestAsk == BookLevel(price: m.p("100.7"), size: m.q("1")))
        #expect(book.topLevels(.bid, 5).map(\.price) == [m.p("100.2"), m.p("100"), m.p("99")])
        #expect(book.displayedSize(at: m.p("99"), side: .bid) == m.q("3.5"))
        #expect(book.stats.deletes == 2 && book.stats.deletesOfMissingLevels == 0)
    }

    @Test func deletingAnAbsentLevelIsCountedNotFatal() {
        var m = BookMessages()
        var book = snapshotBook(&m)
        #expect(book.apply(m.message(.delta, bids: [("50", "0")], asks: [])) == .applied)
        #expect(book.stats.deletesOfMissingLevels == 1 && book.isSynced)
    }

    @Test func restartSnapshotWithUpdateIDOneResetsTheBook() {
        var m = BookMessages()
        var book = snapshotBook(&m)
        let outcome = book.apply(m.message(.delta, u: 1, bids: [("90", "1")], asks: [("91", "1")]))
        #expect(outcome == .replaced)
        #expect(book.bidCount == 1 && book.askCount == 1 && book.stats.restartSnapshots == 1)
        #expect(book.apply(m.message(.delta, bids: [("90", "2")], asks: [])) == .applied)
    }

    @Test func gapIsAcceptedByMonotonicButCounted() {
        var m = BookMessages()
        var book = snapshotBook(&m, policy: .monotonic)
        #expect(book.apply(m.message(.delta, u: m.u + 5, bids: [("99", "1")], asks: [])) == .applied)
        #expect(book.stats.updateIDJumps == 1 && book.isSynced)
    }

    @Test func gapInvalidatesAStrictBookUntilTheNextSnapshot() {
        var m = BookMessages()
        var book = snapshotBook(&m, policy: .strict)
        let expected = m.u + 1
        #expect(book.apply(m.message(.delta, u: m.u + 3, bids: [("99", "1")], asks: [])) ==
                .invalidated(.updateIDGap(expected: expected, got: expected + 2)))
        #expect(!book.isSynced && book.stats.resyncsRequested == 1 && book.stats.updateIDJumps == 1)
        #expect(book.apply(m.message(.delta, bids: [("99", "9")], asks: [])) == .ignoredUntilSnapshot)
        #expect(book.apply(m.message(.snapshot, bids: [("99", "9")], asks: [("100", "1")])) == .replaced)
        #expect(book.isSynced)
    }

    @Test func regressionInvalidatesUnderEitherPolicy() {
        for policy in UpdateIDPolicy.allCases {
            var m = BookMessages()
            var book = snapshotBook(&m, policy: policy)
            let previous = m.u
            #expect(book.apply(m.message(.delta, u: previous, bids: [], asks: [])) ==
                    .invalidated(.updateIDRegression(previous: previous, got: previous)))
            #expect(book.stats.updateIDRegressions == 1)
        }
    }

    @Test func crossedBookIsDetectedAndInvalidates() {
        var m = BookMessages()
        var book = snapshotBook(&m)
        #expect(book.apply(m.message(.delta, bids: [("100.5", "1")], asks: [])) ==
                .invalidated(.crossed(bid: m.p("100.5"), ask: m.p("100.5"))))
        #expect(book.stats.crossedBooks == 1 && !book.isSynced)
    }

    @Test func deltasBeforeAnySnapshotAreIgnored() {
        var m = BookMessages()
        var book = OrderBook(symbol: m.instrument.id, depth: 50)
        #expect(book.apply(m.message(.delta, bids: [("1", "1")], asks: [])) == .ignoredUntilSnapshot)
        #expect(book.stats.deltasIgnoredUntilSnapshot == 1 && book.bidCount == 0)
    }

    @Test func unsortedSnapshotIsSortedAndCounted() {
        var m = BookMessages()
        var book = OrderBook(symbol: m.instrument.id, depth: 50)
        book.apply(m.message(.snapshot, bids: [("99", "1"), ("100", "2")], asks: [("102", "1"), ("101", "3")]))
        #expect(book.stats.unsortedSnapshots == 1)
        #expect(book.bestBid?.price == m.p("100") && book.bestAsk?.price == m.p("101"))
    }

    @Test func depthWithinBandReportsTheSpanTheBookCovers() throws {
        var m = BookMessages()
        let book = snapshotBook(&m)
        // mid = 100.25; 50 bps = 0.50125 → bids 100.0 (25 bps) inside, 99.5 (74.8 bps) outside.
        let bids = try #require(book.depth(within: 50, side: .bid))
        #expect(bids.quantity == m.q("1") && bids.levels == 1 && bids.isBandFullyCovered)
        #expect(bids.notional.description == "100")
        // 200 bps reaches beyond the farthest bid (99.0, 124.7 bps): not fully covered.
        let wide = try #require(book.depth(within: 200, side: .bid))
        #expect(wide.quantity == m.q("6") && !wide.isBandFullyCovered)
        #expect(wide.coveredCentiBps == 12_468)
        #expect(wide.notional == (try USDT("596")))
        let asks = try #require(book.depth(within: 100, side: .ask))
        #expect(asks.levels == 2 && asks.quantity == m.q("9") && asks.isBandFullyCovered)
    }

    @Test func sequenceRegressionsAreCounted() {
        var m = BookMessages()
        var book = snapshotBook(&m)
        m.seq -= 100
        book.apply(m.message(.delta, bids: [("99", "1")], asks: []))
        #expect(book.stats.sequenceRegressions == 1)
    }
}
