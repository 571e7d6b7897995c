import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import MarketData
import Recording
import Testing

/// Books built from real recordings must agree with the independent reference builder in ../shared/tools.
@Suite struct RealFramesBookTests {
    static let bookFiles = SharedData.frameFiles.filter { $0.path.contains("binance-derived") }

    struct Built {
        var decoder = BybitPublicDecoder()
        var books: [String: OrderBook] = [:]
        var decodeErrors = 0
    }

    static func build(_ path: String) throws -> Built {
        var built = Built()
        var reader = try FrameFileReader(path: path)
        while let line = try reader.next() {
            do {
                let message = try built.decoder.decode(line.json, localTime: line.localTime)
                guard case let .book(update) = message else { continue }
                let topic = "orderbook.\(update.depth).\(built.decoder.instruments[update.symbol].symbol)"
                var book = built.books[topic] ?? OrderBook(symbol: update.symbol, depth: update.depth)
                book.apply(update)
                built.books[topic] = book
            } catch {
                built.decodeErrors += 1
            }
        }
        #expect(reader.stats.isClean)
        return built
    }

    @Test(.enabled(if: SharedData.isAvailable && SharedData.hasPython, "needs ../shared/data and python3 (absent: skipped)"),
          arguments: bookFiles)
    func finalTopOfBookMatchesTheReferenceBuilder(file: URL) throws {
        let script = SharedData.root.appendingPathComponent("tools/check_frames.py").path
        let output = try SharedData.run(try #require(SharedData.executable("python3")), [script, file.path])
        let summary = try #require(try JSONSerialization.jsonObject(with: output) as? [String: Any])
        let reference = try #require(summary["book_at_end"] as? [String: [String: Any]])
        let built = try Self.build(file.path)
        #expect(built.decodeErrors == 0)
        #expect(Set(reference.keys) == Set(built.books.keys))
        for (topic, ref) in reference {
            let book = try #require(built.books[topic])
            let instrument = built.decoder.instruments[book.symbol]
            let bid = try #require(ref["best_bid"] as? [String])
            let ask = try #require(ref["best_ask"] as? [String])
            #expect(book.bestBid == BookLevel(price: try instrument.price(bid[0]), size: try instrument.quantity(bid[1])), "\(topic)")
            #expect(book.bestAsk == BookLevel(price: try instrument.price(ask[0]), size: try instrument.quantity(ask[1])), "\(topic)")
            let levels = try #require(ref["levels"] as? [Int])
            #expect([book.bidCount, book.askCount] == levels, "\(topic)")
            #expect(book.lastUpdateID == (ref["u"] as? NSNumber)?.uint64Value)
            #expect(book.lastSequence == (ref["seq"] as? NSNumber)?.uint64Value)
            #expect(book.isSynced)
            #expect(book.stats.updateIDJumps == 0 && book.stats.updateIDRegressions == 0 && book.stats.crossedBooks == 0)
            #expect(book.stats.overDepth == 0)
        }
    }

    @Test(.enabled(if: SharedData.isAvailable && SharedData.hasPython, "needs ../shared/data and python3 (absent: skipped)"))
    func bybitOrderBook500SampleAppliesCleanly() throws {
        let zip = SharedData.root.appendingPathComponent("data/real/bybit-orderbook-ob500-sample-nautilus/xrpusdt-ob500.data.zip")
        let python = try #require(SharedData.executable("python3"))
        let data = try SharedData.run(python, ["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); sys.stdout.buffer.write(z.read(z.namelist()[0]))", zip.path])
        let lines = data.split(separator: UInt8(ascii: "\n"))
        #expect(lines.count == 50)
        var decoder = BybitPublicDecoder()
        var book: OrderBook?
        var outcomes: [BookApplyOutcome] = []
        for (i, line) in lines.enumerated() {
            let message = try decoder.decode(Array(line), localTime: LocalTime(nanoseconds: Int64(i)))
            guard case let .book(update) = message else { Issue.record("line \(i + 1) is not a book message"); continue }
            #expect(update.depth == 500)
            if book == nil {
                book = OrderBook(symbol: update.symbol, depth: 500, policy: .strict)
            }
            outcomes.append(book!.apply(update))
        }
        let final = try #require(book)
        #expect(outcomes.first == .replaced)
        #expect(outcomes.dropFirst().allSatisfy { $0 == .applied })
        #expect(final.isSynced && final.stats.snapshots == 1 && final.stats.deltas == 49)
        #expect(final.stats.crossedBooks == 0 && final.stats.updateIDRegressions == 0)
        #expect(final.bidCount >= 490 && final.askCount >= 490)
        let instrument = decoder.instruments[final.symbol]
        let bid = try #require(final.bestBid)
        let low = try instrument.price("1.9"), high = try instrument.price("2.0")
        #expect(bid.price > low && bid.price < high)
    }
}
