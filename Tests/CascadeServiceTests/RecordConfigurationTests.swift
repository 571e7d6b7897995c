@testable import BybitV5Client
import CascadeCore
@testable import CascadeService
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

@Suite struct RecordPollTests {
    static func answer(_ status: Int, _ body: String) -> Result<BybitPublicREST.Answer, BybitPublicREST.Failure> {
        .success(BybitPublicREST.Answer(status: status, body: Array(body.utf8), sentAt: LocalTime(nanoseconds: 0),
                                        receivedAt: LocalTime(nanoseconds: 1)))
    }

    /// An instruments-info refused at start (here as `cascade sim` answers before its replay has rules) is asked
    /// again after the retry interval, not after the hour of its period: a paper node would otherwise trade blind.
    @Test func aFailedOrRefusedPollIsRetriedSoon() {
        let hour = Duration.seconds(3_600), retry = Duration.seconds(10)
        #expect(RecordService.pollDelay(after: Self.answer(200, #"{"retCode":0,"result":{}}"#), every: hour, retry: retry) == hour)
        #expect(RecordService.pollDelay(after: Self.answer(200, #"{"retCode":10016,"result":{}}"#), every: hour, retry: retry) == retry)
        #expect(RecordService.pollDelay(after: Self.answer(502, "bad gateway"), every: hour, retry: retry) == retry)
        #expect(RecordService.pollDelay(after: .failure(.transport("refused")), every: hour, retry: retry) == retry)
        // A poll whose period is shorter than the retry keeps its period.
        #expect(RecordService.pollDelay(after: .failure(.transport("refused")), every: .seconds(5), retry: retry) == .seconds(5))
    }
}
