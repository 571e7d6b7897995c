import CascadeCore
import MarketData
import Testing

/// What each feed input does to trust: the rules the auditor, the recorder and the simulator share.
@Suite struct FeedStateTests {
    let btc = SymbolID(index: 0)
    let at = LocalTime(nanoseconds: 0)

    func book(_ kind: BookUpdate.Kind, u: UInt64, depth: Int = 50, bid: Int64 = 100, ask: Int64 = 101) -> MarketEvent {
        .book(BookUpdate(symbol: btc, depth: depth, kind: kind, updateID: u, sequence: u, exchangeTime: ExchangeTime(milliseconds: Int64(u)),
                         matchTime: nil, localTime: at, bids: [BookLevel(price: Price(units: bid), size: Quantity(units: 1))],
                         asks: [BookLevel(price: Price(units: ask), size: Quantity(units: 1))]))
    }

    func trade() -> MarketEvent {
        .trades([Trade(symbol: btc, price: Price(units: 100), qty: Quantity(units: 1), takerSide: .sell, tickDirection: nil, id: "t",
                       tradeTime: ExchangeTime(milliseconds: 1), exchangeTime: ExchangeTime(milliseconds: 1), localTime: at,
                       isBlockTrade: false, isRPI: false, sequence: nil)])
    }

    @Test func aBookIsTrustedFromItsSnapshotUntilAnIntegrityCheckFails() {
        var feed = FeedState()
        #expect(feed.apply(book(.snapshot, u: 10)) == FeedState.Change(recovered: [.book(btc, depth: 50)]))
        #expect(feed.isTrusted(btc, depth: 50))
        #expect(feed.apply(book(.delta, u: 11)) == .steady)
        let broken = feed.apply(book(.delta, u: 9))
        #expect(broken.interrupted == [.book(btc, depth: 50)] && broken.reason?.contains("updateIDRegression") == true)
        #expect(!feed.isTrusted(btc, depth: 50))
        #expect(feed.apply(book(.delta, u: 12)) == .steady)            // ignored until a snapshot
        #expect(feed.apply(book(.snapshot, u: 20)).recovered == [.book(btc, depth: 50)])
        #expect(feed.counters.bookInvalidations == 1)
    }

    @Test func aLostTradesFrameInterruptsTheStreamUntilTheSymbolsNextCleanBookMessage() {
        var feed = FeedState()
        feed.apply(book(.snapshot, u: 10))
        feed.apply(trade())
        let lost = feed.apply(.lost(.trades(btc), reason: "truncated"))
        #expect(lost.interrupted == [.trades(btc)] && lost.reason?.contains("lost trades frame") == true)
        #expect(!feed.isTrusted(btc, depth: 50))
        #expect(feed.apply(.lost(.trades(btc), reason: "truncated")) == .steady)    // already interrupted
        #expect(feed.apply(trade()) == .steady)                                      // a later print is no book
        #expect(feed.apply(book(.delta, u: 11)) == FeedState.Change(recovered: [.trades(btc)]))
        #expect(feed.isTrusted(btc, depth: 50))
        // Lost, then disconnected: interrupted once, and back at the connect, not at a book message.
        feed.apply(.lost(.trades(btc), reason: "truncated"))
        #expect(feed.apply(.session(.disconnect, streams: [.trades(btc)], at: at)).interrupted.isEmpty)
        #expect(feed.apply(book(.snapshot, u: 30)) == FeedState.Change(recovered: []))
        #expect(feed.apply(.session(.connect, streams: [.trades(btc)], at: at)).recovered == [.trades(btc)])
    }

    @Test func aLostBookFrameInterruptsItOnceAndALostTickerFrameMakesItIncomplete() {
        var feed = FeedState()
        feed.apply(book(.snapshot, u: 10))
        #expect(feed.apply(.lost(.book(btc, depth: 50), reason: "invalid_decimal")).interrupted == [.book(btc, depth: 50)])
        #expect(feed.apply(.lost(.book(btc, depth: 50), reason: "invalid_decimal")) == .steady)   // already waiting
        var fields = TickerFields()
        fields.lastPrice = Price(units: 100)
        feed.apply(.ticker(TickerUpdate(symbol: btc, kind: .snapshot, fields: fields, crossSequence: nil,
                                        exchangeTime: ExchangeTime(milliseconds: 1), localTime: at)))
        #expect(feed.tickers[btc]?.hasSnapshot == true)
        feed.apply(.lost(.ticker(btc), reason: "truncated"))
        #expect(feed.tickers[btc]?.hasSnapshot == false)
        feed.apply(.lost(nil, reason: "not_json"))
        #expect(feed.counters.lostFrames == 4 && feed.counters.lostFramesOfUnknownStream == 1)
    }

    @Test func aDisconnectInterruptsBooksAndTradesUntilReconnectAndSnapshot() {
        var feed = FeedState()
        feed.apply(book(.snapshot, u: 10))
        feed.apply(trade())
        let down = feed.apply(.session(.disconnect, streams: [.book(btc, depth: 50), .trades(btc)], at: at))
        #expect(down.interrupted == [.book(btc, depth: 50), .trades(btc)] && down.reason == "session disconnect")
        #expect(!feed.isTrusted(btc, depth: 50))
        let up = feed.apply(.session(.connect, streams: [.book(btc, depth: 50), .trades(btc)], at: at))
        #expect(up.recovered == [.trades(btc)] && up.interrupted.isEmpty)
        #expect(!feed.isTrusted(btc, depth: 50))                      // the book still needs its snapshot
        // After a reconnect Bybit starts again with an unrelated u: ignored until the snapshot, not an anomaly.
        #expect(feed.apply(book(.delta, u: 3)) == .steady)
        #expect(feed.apply(book(.snapshot, u: 1)).recovered == [.book(btc, depth: 50)])
        #expect(feed.isTrusted(btc, depth: 50) && feed.book(btc, depth: 50)?.stats.updateIDRegressions == 0)
    }

    @Test func aBoundaryWithoutTopicsRestartsEveryStream() {
        var feed = FeedState()
        feed.apply(book(.snapshot, u: 10))
        feed.apply(book(.snapshot, u: 10, depth: 200))
        feed.apply(trade())
        let down = feed.apply(.session(.disconnect, streams: nil, at: at))
        #expect(Set(down.interrupted) == [.book(btc, depth: 50), .book(btc, depth: 200), .trades(btc)])
        #expect(feed.deepestBook(btc)?.depth == 200)
        let resync = feed.apply(.session(.resync, streams: [.book(btc, depth: 50)], at: at))
        #expect(resync == .steady)                                     // already waiting for its snapshot
    }
}
