import CascadeService
import Testing

@Suite struct RecordConfigurationTests {
    @Test func defaultTopicsCoverBooksTradesLiquidationsAndTickersOfThreeSymbols() {
        let c = RecordConfiguration(outputDirectory: "/tmp/x")
        #expect(c.symbols == ["BTCUSDT", "ETHUSDT", "ICPUSDT"])
        #expect(c.connections.count == 1)
        #expect(c.connections[0].prefix(5) == ["orderbook.50.BTCUSDT", "orderbook.200.BTCUSDT", "publicTrade.BTCUSDT",
                                                "allLiquidation.BTCUSDT", "tickers.BTCUSDT"])
    }

    @Test func manySymbolsAreShardedUnderBybitsArgsLimitKeepingEachSymbolTogether() {
        var c = RecordConfiguration(outputDirectory: "/tmp/x")
        c.symbols = (0..<600).map { "SYM\($0)USDT" }
        c.depths = [1, 50, 200, 1000]
        let groups = c.connections
        #expect(groups.count > 1)
        for group in groups {
            #expect(group.reduce(2) { $0 + $1.utf8.count + 3 } <= 21_000)
            // A symbol's liquidations ride on the connection that carries its book.
            for topic in group where topic.hasPrefix("allLiquidation.") {
                #expect(group.contains("orderbook.50." + topic.dropFirst("allLiquidation.".count)))
            }
        }
        #expect(groups.flatMap { $0 } == c.topics)
    }
}
