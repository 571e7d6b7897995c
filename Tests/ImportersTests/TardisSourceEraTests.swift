import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import Importers
import MarketData
import Recording
import Testing

/// What Tardis recorded changed on two days: the book was the older API's 25-level stream before
/// 2023-04-05, and liquidations were Bybit's throttled `liquidation` topic before 2025-02-26. Imported rows
/// are written as what they are, and the manifests say so.
@Suite struct TardisSourceEraTests {
    static let bookHeader = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
    static let liquidationsHeader = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
    /// 2023-04-05T00:00Z and 2025-02-26T00:00Z in µs.
    static let bookCutoff: Int64 = 1_680_652_800_000_000
    static let liquidationCutoff: Int64 = 1_740_528_000_000_000

    /// A book row `offset` µs from the 2023-04-05 cutoff (negative: before it), received 100 µs later.
    static func bookRow(_ offset: Int64, _ snapshot: Bool, _ side: String, _ price: String, _ amount: String) -> String {
        "bybit,BTCUSDT,\(bookCutoff + offset),\(bookCutoff + offset + 100),\(snapshot),\(side),\(price),\(amount)"
    }

    /// A liquidation row `offset` µs from the 2025-02-26 cutoff, received at `offset + received`.
    static func liquidationRow(_ offset: Int64, received: Int64 = 100, _ side: String, _ price: String, _ amount: String) -> String {
        "bybit,BTCUSDT,\(liquidationCutoff + offset),\(liquidationCutoff + offset + received),,\(side),\(price),\(amount)"
    }

    /// Decodes the frames and applies them (session frames included) to a feed, calling `check` after each.
    static func replay(_ frames: [ImportedFrame], check: (ImportedFrame, BybitPublicMessage, FeedState) -> Void = { _, _, _ in })
        throws -> (messages: [BybitPublicMessage], feed: FeedState, symbol: SymbolID) {
        let (messages, decoded) = try decode(frames)
        var decoder = decoded
        var feed = FeedState()
        for (message, frame) in zip(messages, frames) {
            if let input = decoder.feedInput(for: message, localTime: frame.localTime) { feed.apply(input) }
            check(frame, message, feed)
        }
        return (messages, feed, try #require(decoder.instruments.lookup("BTCUSDT")))
    }

    // MARK: - Book depth

    @Test func bookRowsBefore2023_04_05AreWrittenUnderTheir25LevelTopic() throws {
        let text = [Self.bookHeader,
                    Self.bookRow(-86_000_000_000, true, "bid", "28000", "1"),
                    Self.bookRow(-86_000_000_000, true, "ask", "28000.5", "2"),
                    Self.bookRow(-85_000_000_000, false, "bid", "28000", "0")].joined(separator: "\n")
        let tardis = try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT", book: csv("book.csv", text)))
        var frames: [ImportedFrame] = []
        while let frame = try tardis.next() { frames.append(frame) }
        try #require(frames.map(\.topic) == ["orderbook.25.BTCUSDT", "orderbook.25.BTCUSDT"])
        #expect(frames[0].text.hasPrefix(#"{"topic":"orderbook.25.BTCUSDT","type":"snapshot","#))
        let (messages, feed, id) = try Self.replay(frames)
        #expect(messages.allSatisfy { if case let .book(update) = $0 { update.depth == 25 } else { false } })
        // The book is the 25-level one, and no 50-level book pretends to exist.
        #expect(feed.book(id, depth: 25)?.isSynced == true && feed.book(id, depth: 50) == nil)
        #expect(feed.book(id, depth: 25)?.levels(.ask) == [[2_800_050_000_000, 2_000_000]])
        // The depth is in the printed counts (per topic), the provenance and its notes.
        let report = tardis.report
        #expect(report.framesPerTopic == ["orderbook.25.BTCUSDT": 2])
        #expect(tardis.provenance.syntheticFields == ["orderbook.25.BTCUSDT": ["u"]])
        let notes = try #require(tardis.provenance.notes)
        #expect(notes.count == 1 && notes[0].hasPrefix("orderbook.25.BTCUSDT: ") && notes[0].contains("pre-V5 25-level"))
        #expect(report.warnings == notes)

        // From 2023-04-05 on: orderbook.50, and nothing to note.
        let later = [Self.bookHeader, Self.bookRow(1_000, true, "bid", "28000", "1")].joined(separator: "\n")
        let tardis50 = try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT", book: csv("book.csv", later)))
        #expect(try tardis50.next()?.topic == "orderbook.50.BTCUSDT")
        #expect(try tardis50.next() == nil)
        #expect(tardis50.provenance.notes == nil && tardis50.report.warnings.isEmpty)
        #expect(tardis50.provenance.syntheticFields == ["orderbook.50.BTCUSDT": ["u"]])
    }

    @Test func aBookFileSpanning2023_04_05SwitchesTopicAtTheFirstSnapshotRunOfTheNewStream() throws {
        let text = [
            Self.bookHeader,
            Self.bookRow(-2_000_000, true, "bid", "28000", "1"),
            Self.bookRow(-2_000_000, true, "ask", "28000.5", "2"),
            Self.bookRow(-1_000_000, false, "ask", "28000.5", "3"),
            // After the cutoff, before any snapshot of the 50-level stream: not applied to any book.
            Self.bookRow(100_000, false, "bid", "28000", "5"),
            Self.bookRow(200_000, true, "bid", "27999", "1"),
            Self.bookRow(200_000, true, "ask", "28001", "1"),
            Self.bookRow(300_000, false, "ask", "28001", "4"),
        ].joined(separator: "\n")
        let tardis = try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT", book: csv("span.csv", text)))
        var frames: [ImportedFrame] = []
        while let frame = try tardis.next() { frames.append(frame) }
        try #require(frames.map(\.topic) == ["orderbook.25.BTCUSDT", "orderbook.25.BTCUSDT", "_cascade.session",
                                              "orderbook.50.BTCUSDT", "orderbook.50.BTCUSDT"])
        #expect(frames[2].localTime.nanoseconds == (Self.bookCutoff + 100_100) * 1_000)
        #expect(frames[2].text.contains(#""event":"resync","topic":"orderbook.25.BTCUSDT""#))
        #expect(frames[3].text.contains(#""type":"snapshot""#))
        let report = tardis.report
        #expect(report.book.depthChanges == 1 && report.book.rowsSkippedAwaitingSnapshot == 1 && report.book.resyncs == 0)
        #expect(report.framesPerTopic == ["orderbook.25.BTCUSDT": 2, "_cascade.session": 1, "orderbook.50.BTCUSDT": 2])
        #expect(tardis.provenance.syntheticFields == ["orderbook.25.BTCUSDT": ["u"], "orderbook.50.BTCUSDT": ["u"]])
        #expect(tardis.provenance.notes?.count == 1)
        // Replayed: the 25-level book stops being trusted at the cutoff; the 50-level one is whole from its snapshot.
        let (_, feed, id) = try Self.replay(frames) { frame, _, feed in
            if frame.topic == "_cascade.session" { #expect(feed.books.allSatisfy { !$0.isSynced }) }
        }
        let book = try #require(feed.deepestBook(id, syncedOnly: true))
        #expect(book.depth == 50 && book.levels(.bid) == [[2_799_900_000_000, 1_000_000]] && book.levels(.ask) == [[2_800_100_000_000, 4_000_000]])
        #expect(feed.book(id, depth: 25)?.isSynced == false)
    }

    @Test func aSnapshotRunUnderWayAtTheCutoffDoesNotStartThe50LevelBook() throws {
        // The run began in the 25-level stream: its rows after the cutoff are not a whole 50-level book.
        let text = [
            Self.bookHeader,
            Self.bookRow(-1_000_000, false, "bid", "28000", "1"),
            Self.bookRow(-500_000, true, "bid", "28000", "1"),
            Self.bookRow(100_000, true, "ask", "28001", "1"),
            Self.bookRow(200_000, false, "ask", "28001", "2"),
            Self.bookRow(300_000, true, "bid", "27999", "1"),
            Self.bookRow(300_000, true, "ask", "28002", "1"),
        ].joined(separator: "\n")
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", book: csv("run.csv", text)))
        try #require(frames.map(\.topic) == ["orderbook.25.BTCUSDT", "_cascade.session", "orderbook.50.BTCUSDT"])
        #expect(frames[2].localTime.nanoseconds == (Self.bookCutoff + 300_100) * 1_000 && frames[2].text.contains(#""type":"snapshot""#))
        #expect(report.book.rowsBeforeFirstSnapshot == 1 && report.book.rowsSkippedAwaitingSnapshot == 2)
    }

    // MARK: - Liquidation topic

    @Test func liquidationsBefore2025_02_26AreWrittenInTheThrottledTopicsShape() throws {
        let (frames, report) = try convert(TardisImportOptions(symbol: "BTCUSDT", liquidations: try Fixture.input(Fixture.liquidations)))
        // One event per message, even for the two rows received together; `data` is an object.
        try #require(frames.map(\.topic) == Array(repeating: "liquidation.BTCUSDT", count: 4))
        #expect(frames[0].text == #"{"topic":"liquidation.BTCUSDT","type":"snapshot","ts":1721347200500,"data":{"updatedTime":1721347200500,"symbol":"BTCUSDT","side":"Buy","size":"0.05","price":"63990.2"},"cascadeSynthetic":["ts"]}"#)
        #expect(frames[3].text.contains(#""side":"Sell""#))
        let (messages, _) = try decode(frames)
        var events: [Liquidation] = []
        for message in messages {
            guard case let .liquidations(list) = message else { Issue.record("not liquidations: \(message)"); continue }
            #expect(list.count == 1)
            events += list
        }
        let expected = rows(try Fixture.text(Fixture.liquidations)).filter { $0[1] == "BTCUSDT" }
        try #require(events.count == expected.count)
        for (event, cells) in zip(events, expected) {
            // The decoder tags the old topic's events as the throttled sample they are.
            #expect(event.source == .throttled)
            // Tardis `sell` is the engine's order: a long position was liquidated (side=Buy).
            #expect(event.liquidatedSide == (cells[5] == "sell" ? .long : .short))
            #expect(event.updatedTime.milliseconds == Int64(cells[2])! / 1_000 && event.exchangeTime >= event.updatedTime)
            #expect(event.localTime.nanoseconds == Int64(cells[3])! * 1_000)
            #expect(event.bankruptcyPrice.units == (try referenceUnits(cells[6], digits: Price.digits)))
            #expect(event.qty.units == (try referenceUnits(cells[7], digits: Quantity.digits)))
        }
        #expect(report.liquidations.messages == 4 && report.liquidations.events == 4 && report.liquidations.throttledEvents == 4)
        #expect(report.liquidations.longsLiquidated == 3 && report.liquidations.shortsLiquidated == 1)
        #expect(report.framesPerTopic == ["liquidation.BTCUSDT": 4])
        #expect(report.warnings.count == 1 && report.warnings.first?.hasPrefix("liquidation.BTCUSDT: ") == true
            && report.warnings.first?.contains("at most one per second per symbol") == true)
    }

    @Test func liquidationsFrom2025_02_26StayAllLiquidationAndAFileSpanningTheDaySwitchesThere() throws {
        let text = [
            Self.liquidationsHeader,
            Self.liquidationRow(-900_000, "sell", "84000.5", "0.2"),
            Self.liquidationRow(-400_000, received: 300_000, "buy", "84010", "0.1"),
            Self.liquidationRow(-300_000, received: 200_000, "sell", "84001", "0.3"),
            Self.liquidationRow(1_000_000, received: 500_000, "sell", "83990", "1.5"),
            Self.liquidationRow(1_200_000, received: 300_000, "buy", "84020", "0.4"),
        ].joined(separator: "\n")
        let tardis = try TardisImport(options: TardisImportOptions(symbol: "BTCUSDT", liquidations: csv("liq.csv", text)))
        var frames: [ImportedFrame] = []
        while let frame = try tardis.next() { frames.append(frame) }
        // Before the day: one throttled message per row (two rows received together are still two messages);
        // from the day on: rows received together are one allLiquidation message, ts = the later T.
        try #require(frames.map(\.topic) == ["liquidation.BTCUSDT", "liquidation.BTCUSDT", "liquidation.BTCUSDT", "allLiquidation.BTCUSDT"])
        #expect(frames[1].localTime == frames[2].localTime)
        let cutoffMs = Self.liquidationCutoff / 1_000
        #expect(frames[3].text == #"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(cutoffMs + 1_200),"data":[{"T":\#(cutoffMs + 1_000),"s":"BTCUSDT","S":"Buy","v":"1.5","p":"83990"},{"T":\#(cutoffMs + 1_200),"s":"BTCUSDT","S":"Sell","v":"0.4","p":"84020"}],"cascadeSynthetic":["ts"]}"#)
        let (messages, _) = try decode(frames)
        let events = messages.flatMap { message -> [Liquidation] in if case let .liquidations(l) = message { l } else { [] } }
        #expect(events.map(\.source) == [.throttled, .throttled, .throttled, .all, .all])
        #expect(events.map(\.liquidatedSide) == [.long, .short, .long, .long, .short])
        #expect(events.allSatisfy { $0.exchangeTime >= $0.updatedTime })
        let report = tardis.report
        #expect(report.liquidations.messages == 4 && report.liquidations.events == 5 && report.liquidations.throttledEvents == 3)
        #expect(tardis.provenance.syntheticFields == ["liquidation.BTCUSDT": ["ts"], "allLiquidation.BTCUSDT": ["ts"]])
        #expect(tardis.provenance.notes?.count == 1 && report.warnings.count == 1)

        // Only 2025-03 rows: allLiquidation, events tagged `all`, nothing to note.
        let march = [Self.liquidationsHeader, Self.liquidationRow(5 * 86_400_000_000, "buy", "86000", "0.01")].joined(separator: "\n")
        let (marchFrames, marchReport) = try convert(TardisImportOptions(symbol: "BTCUSDT", liquidations: csv("liq.csv", march)))
        #expect(marchFrames.map(\.topic) == ["allLiquidation.BTCUSDT"] && marchReport.warnings.isEmpty)
        let (marchMessages, _) = try decode(marchFrames)
        guard case let .liquidations(list) = marchMessages.first else { Issue.record("not liquidations"); return }
        #expect(list.map(\.source) == [.all] && list.map(\.liquidatedSide) == [.short])
    }

    // MARK: - Manifests

    @Test func manifestsKeepTheNotesOfTheTopicsTheirFilesHold() throws {
        let dir = try TemporaryDirectory("tardis-notes")
        defer { dir.remove() }
        // A 2023-04-04 book row, then the 2024 fixture's (throttled) liquidations: the recorder rotates between them.
        let book = [Self.bookHeader, Self.bookRow(-1_000_000, true, "bid", "28000", "1")].joined(separator: "\n")
        let options = TardisImportOptions(symbol: "BTCUSDT", book: csv("book.csv", book), liquidations: try Fixture.input(Fixture.liquidations))
        let recorder = try Recorder(directory: dir.file("out"), filePrefix: "tardis",
                                    rotation: RotationPolicy(maxAgeNanoseconds: 3_600_000_000_000, maxBytes: nil),
                                    createdBy: TardisImport.converterName)
        _ = try TardisImport(options: options).record(into: recorder)
        try recorder.close()
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.file("out"))
            .filter { $0.hasSuffix(".frames.gz") }.sorted().map { dir.file("out") + "/" + $0 }
        try #require(files.count == 2)
        let first = try #require(try FrameManifest.read(forDataFile: files[0]).provenance)
        let second = try #require(try FrameManifest.read(forDataFile: files[1]).provenance)
        // The first file holds only the 25-level book: its manifest notes that, not yet the liquidations.
        #expect(first.notes?.count == 1 && first.notes?[0].hasPrefix("orderbook.25.BTCUSDT: ") == true)
        #expect(first.syntheticFields == ["orderbook.25.BTCUSDT": ["u"]])
        #expect(second.notes?.count == 2 && second.notes?[1].hasPrefix("liquidation.BTCUSDT: ") == true)
        #expect(second.syntheticFields == ["orderbook.25.BTCUSDT": ["u"], "liquidation.BTCUSDT": ["ts"]])
        #expect(first.converterVersion == "2")
    }

    @Test func provenanceWithoutNotesDecodesAndWritesNoNotesKey() throws {
        let old = """
            {"converter":"cascade import --from tardis","converterVersion":"1","exchange":"bybit","inputs":[],\
            "source":"tardis","symbols":["BTCUSDT"],"syntheticFields":{"orderbook.50.BTCUSDT":["u"]}}
            """
        let provenance = try JSONDecoder().decode(FrameProvenance.self, from: Data(old.utf8))
        #expect(provenance.notes == nil && provenance.syntheticFields == ["orderbook.50.BTCUSDT": ["u"]])
        let encoder = JSONEncoder()
        #expect(!String(decoding: try encoder.encode(provenance), as: UTF8.self).contains("notes"))
        var noted = provenance
        noted.notes = ["a note"]
        #expect(try JSONDecoder().decode(FrameProvenance.self, from: try encoder.encode(noted)) == noted)
    }
}
