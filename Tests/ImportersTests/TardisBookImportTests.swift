import BybitV5
import CascadeCore
import Foundation
import Importers
import MarketData
import Testing

/// incremental_book_L2 → orderbook.50: what a book built from the frames holds, message by message.
@Suite struct TardisBookImportTests {
    /// Book frames decoded and applied through the production decoder and FeedState; the book after each.
    static func replayBook(_ frames: [ImportedFrame]) throws -> (states: [(bids: Levels, asks: Levels)], updates: [BookUpdate], feed: FeedState) {
        var feed = FeedState()
        var states: [(bids: Levels, asks: Levels)] = []
        var updates: [BookUpdate] = []
        let (messages, decoder) = try decode(frames)
        for message in messages {
            guard case let .book(update) = message else {
                if let input = message.marketEvent { feed.apply(input) }
                continue
            }
            updates.append(update)
            let change = feed.apply(.book(update))
            #expect(change.interrupted.isEmpty, "book interrupted: \(change.reason ?? "")")
            let id = try #require(decoder.instruments.lookup("BTCUSDT"))
            let book = try #require(feed.book(id, depth: update.depth))
            #expect(book.isSynced)
            states.append((book.levels(.bid), book.levels(.ask)))
        }
        return (states, updates, feed)
    }

    @Test func bookAfterEveryMessageEqualsANaiveBookBuiltFromTheRows() throws {
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: try Fixture.input(Fixture.book)))
        let (states, updates, feed) = try Self.replayBook(frames)
        let reference = try ReferenceBook.states(csvText: try Fixture.text(Fixture.book))
        try #require(states.count == reference.count, "\(states.count) messages, reference \(reference.count)")
        for (i, (got, want)) in zip(states, reference).enumerated() {
            #expect(got.bids == want.bids, "bids after message \(i)")
            #expect(got.asks == want.asks, "asks after message \(i)")
            // Top of book, the acceptance check, stated on its own as well.
            #expect(got.bids.first == want.bids.first && got.asks.first == want.asks.first, "top of book after message \(i)")
        }
        // The book never crossed and nothing was invalidated.
        #expect(feed.counters.bookInvalidations == 0)
        let book = try #require(feed.books.first)
        #expect(book.stats.crossedBooks == 0 && book.stats.updateIDRegressions == 0 && book.stats.updateIDJumps == 0)
        #expect(updates.count == report.book.snapshots + report.book.deltas)
    }

    @Test func rowsBeforeTheFirstSnapshotAreSkippedAndCounted() throws {
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: try Fixture.input(Fixture.book)))
        #expect(report.book.rowsBeforeFirstSnapshot == 2)
        let first = try #require(frames.first)
        // The first frame is the first snapshot, at its own receive time: local_timestamp × 1000.
        #expect(first.localTime == LocalTime(nanoseconds: 1_721_347_200_001_000_000))
        #expect(first.text == #"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1721347200000,"data":{"s":"BTCUSDT","b":[["64000","1.204"],["63999.9","0.5"],["63999.5","2"]],"a":[["64000.1","0.75"],["64000.5","3.1"],["64001","0.01"]],"u":1},"cascadeSynthetic":["u"]}"#)
        #expect(report.inputs.first?.rows == 24 && report.inputs.first?.malformedRows == 0)
        #expect(report.warnings.isEmpty)
    }

    @Test func amountZeroDeletesALevelAndLevelsAreOrderedBestFirst() throws {
        let (frames, _) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: try Fixture.input(Fixture.book)))
        let (states, updates, _) = try Self.replayBook(frames)
        // Message 1 deletes the best bid 64000 (amount 0) and changes the best ask's size.
        #expect(updates[1].kind == .delta)
        #expect(updates[1].bids == [BookLevel(price: Price(units: 6_400_000_000_000), size: Quantity(units: 0))])
        #expect(states[1].bids.first == [6_399_990_000_000, 500_000])
        #expect(!states[1].bids.contains { $0[0] == 6_400_000_000_000 })
        // Message 2 re-inserts 64000, deletes the best ask and adds one given as 1e-03.
        #expect(states[2].bids.first == [6_400_000_000_000, 300_000])
        #expect(states[2].asks.first == [6_400_020_000_000, 1_000])
        for update in updates {
            #expect(update.bids.map(\.price) == update.bids.map(\.price).sorted(by: >), "bids descending")
            #expect(update.asks.map(\.price) == update.asks.map(\.price).sorted(), "asks ascending")
        }
        // The synthetic update id counts messages from 1, and the frames say it is synthetic.
        #expect(updates.map(\.updateID) == Array(1...UInt64(updates.count)))
        #expect(frames.allSatisfy { $0.text.hasSuffix(#","cascadeSynthetic":["u"]}"#) })
        // Tardis keeps no cross sequence and no matching-engine time: none are written.
        #expect(updates.allSatisfy { $0.sequence == 0 && $0.matchTime == nil })
    }

    @Test func aSecondSnapshotRunRestartsTheBook() throws {
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: try Fixture.input(Fixture.book)))
        let (states, updates, _) = try Self.replayBook(frames)
        #expect(report.book.snapshots == 2 && report.book.restarts == 1 && report.book.deltas == 5)
        let restart = try #require(updates.firstIndex { $0.kind == .snapshot && $0.updateID > 1 })
        // The restart keeps counting `u` (no u=1 restart semantics) and replaces the whole book.
        #expect(updates[restart].updateID == UInt64(restart + 1))
        #expect(states[restart].bids == [[6_395_050_000_000, 800_000], [6_395_000_000_000, 1_000_000]])
        #expect(states[restart].asks == [[6_395_100_000_000, 2_500_000], [6_395_230_000_000, 4_000]])
        #expect(states.last?.asks == [[6_395_180_000_000, 600_000], [6_395_230_000_000, 4_000]])
    }

    @Test func aSnapshotRunSpanningTwoReceiveTimesContinuesAsADelta() throws {
        let text = """
            exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
            bybit,BTCUSDT,1000000,1000100,true,bid,100,1
            bybit,BTCUSDT,1000000,1000100,true,ask,101,2
            bybit,BTCUSDT,1000000,1000200,true,bid,99.5,3
            bybit,BTCUSDT,1000000,1000200,true,ask,101,0
            bybit,BTCUSDT,1000000,1000200,true,ask,102,4
            bybit,BTCUSDT,1020000,1020300,false,bid,100,0

            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: csv("run.csv", text)))
        #expect(report.book.snapshots == 1 && report.book.snapshotContinuations == 1 && report.book.deltas == 2)
        #expect(report.inputs[0].blankLines == 0)
        let (states, updates, _) = try Self.replayBook(frames)
        #expect(updates.map(\.kind) == [.snapshot, .delta, .delta])
        #expect(states.map(\.bids) == (try ReferenceBook.states(csvText: text)).map(\.bids))
        #expect(states.map(\.asks) == (try ReferenceBook.states(csvText: text)).map(\.asks))
        #expect(states[1].asks == [[10_200_000_000, 4_000_000]])
        // 1970 is long before Tardis recorded Bybit's V5 book: 25 levels, and the report says where such rows come from.
        #expect(frames.allSatisfy { $0.topic == "orderbook.25.BTCUSDT" })
        #expect(report.warnings.count == 1 && report.warnings.first?.contains("pre-V5 25-level") == true)
    }

    @Test func aMalformedBookRowDropsItsMessageAndTheBookWaitsForTheNextSnapshot() throws {
        let text = """
            exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
            bybit,BTCUSDT,1000000,1000100,true,bid,100,1
            bybit,BTCUSDT,1000000,1000100,true,ask,101,2
            bybit,BTCUSDT,1010000,1010100,false,bid,100.5,1
            bybit,BTCUSDT,1010000,1010100,false,ask,1O1,0
            bybit,BTCUSDT,1020000,1020100,false,bid,100.4,1
            bybit,BTCUSDT,1030000,1030100,true,bid,99,5
            bybit,BTCUSDT,1030000,1030100,true,ask,100,6
            bybit,BTCUSDT,1040000,1040100,false,ask,100,7
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: csv("bad.csv", text)))
        #expect(report.malformedRows == 1 && report.inputs[0].malformedRows == 1)
        #expect(report.malformedSamples == [#"bad.csv:5: price "1O1" is not a number"#])
        #expect(report.book.rowsDroppedWithMalformedMessage == 1 && report.book.resyncs == 1)
        #expect(report.book.rowsSkippedAwaitingSnapshot == 1 && report.book.restarts == 1)
        // (1970 rows: the 25-level topic of their era.)
        #expect(frames.map(\.topic) == ["orderbook.25.BTCUSDT", "_cascade.session", "orderbook.25.BTCUSDT", "orderbook.25.BTCUSDT"])
        #expect(frames[1].text == #"{"topic":"_cascade.session","ts":1010,"data":{"event":"resync","topic":"orderbook.25.BTCUSDT","reason":"import: malformed row bad.csv:5"}}"#)
        // Replayed, the resync makes the book wait: nothing stale is ever trusted.
        let (messages, decoder) = try decode(frames)
        var feed = FeedState()
        var decoderCopy = decoder
        for (message, frame) in zip(messages, frames) {
            if let input = decoderCopy.feedInput(for: message, localTime: frame.localTime) { feed.apply(input) }
            if frame.topic == "_cascade.session" { #expect(feed.books.first?.isSynced == false) }
        }
        #expect(feed.books.first?.isSynced == true)
        #expect(feed.books.first?.levels(.ask) == [[10_000_000_000, 7_000_000]])
    }

    @Test func aMalformedFirstRowOfASnapshotRunNeverLeavesAPartialSnapshot() throws {
        // The run at 1020100 starts with a malformed row, and goes on at 1020200: that later part is not a
        // whole book, so it must not be written as a snapshot; the book waits for the run at 1040100.
        let text = """
            exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
            bybit,BTCUSDT,1000000,1000100,true,bid,100,1
            bybit,BTCUSDT,1000000,1000100,true,ask,101,2
            bybit,BTCUSDT,1010000,1010100,false,bid,100.5,1
            bybit,BTCUSDT,1020000,1020100,true,bid,9x,5
            bybit,BTCUSDT,1020000,1020100,true,ask,100,6
            bybit,BTCUSDT,1020000,1020200,true,bid,98,1
            bybit,BTCUSDT,1020000,1020200,true,ask,100.5,2
            bybit,BTCUSDT,1030000,1030100,false,ask,100,7
            bybit,BTCUSDT,1040000,1040100,true,bid,97,1
            bybit,BTCUSDT,1040000,1040100,true,ask,99,1
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: csv("run.csv", text)))
        #expect(frames.map(\.localTime.nanoseconds) == [1_000_100_000, 1_010_100_000, 1_020_100_000, 1_040_100_000])
        #expect(frames.map(\.topic)[2] == "_cascade.session")
        #expect(report.book.snapshots == 2 && report.book.restarts == 1 && report.book.snapshotContinuations == 0)
        #expect(report.book.rowsDroppedWithMalformedMessage == 1 && report.book.rowsSkippedAwaitingSnapshot == 3)
        // The same when the whole first message of the run is malformed (nothing tells its kind): the book waits.
        let allBad = text.replacingOccurrences(of: "bybit,BTCUSDT,1020000,1020100,true,ask,100,6\n", with: "")
        let (framesAllBad, reportAllBad) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: csv("run.csv", allBad)))
        #expect(framesAllBad.map(\.localTime.nanoseconds) == [1_000_100_000, 1_010_100_000, 1_020_100_000, 1_040_100_000])
        #expect(reportAllBad.book.rowsSkippedAwaitingSnapshot == 3 && reportAllBad.book.snapshots == 2)
    }

    @Test func rowsOfOtherSymbolsAreLeftOutAndCounted() throws {
        let text = """
            exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
            bybit,ETHUSDT,1000000,1000100,true,bid,3400,1
            bybit,BTCUSDT,1000000,1000100,true,bid,100,1
            bybit,ETHUSDT,1000000,1000100,true,ask,3401,1
            bybit,BTCUSDT,1000000,1000100,true,ask,101,1
            """
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: csv("grouped.csv", text)))
        #expect(frames.count == 1 && report.inputs[0].rowsOfOtherSymbols == 2 && report.book.levels == 2)
    }

    @Test func withInstrumentsPricesAndSizesArePrintedAsBybitDoes() throws {
        let options = TardisImportOptions(symbol: "BTCUSDT", book: try Fixture.input(Fixture.book),
                                          instruments: try Fixture.input(Fixture.instruments))
        let (frames, report) = try convert(options)
        #expect(frames[0].text.contains(#""b":[["64000.00","1.204"],["63999.90","0.500"],["63999.50","2.000"]]"#))
        #expect(frames[1].text.contains(#"["64000.00","0"]"#))
        #expect(report.offGridPrices == 0 && report.offGridQuantities == 0)
    }
}
