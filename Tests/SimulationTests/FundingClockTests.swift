import BybitV5
import CascadeCore
import CascadeTesting
import Foundation
import Recording
import Simulation
import Testing

@Suite struct FundingClockTests {
    let m = MarketBuilder()

    func ticker(_ kind: TickerUpdate.Kind, ts: Int64, rate: String? = nil, mark: String? = nil, next: Int64? = nil) throws -> TickerUpdate {
        var f = TickerFields()
        f.fundingRate = try rate.map { try Rate($0) }
        f.markPrice = mark.map(m.p)
        f.nextFundingTime = next.map(ExchangeTime.init(milliseconds:))
        return TickerUpdate(symbol: m.instrument.id, kind: kind, fields: f, crossSequence: nil,
                            exchangeTime: ExchangeTime(milliseconds: ts), localTime: LocalTime(nanoseconds: ts))
    }

    @Test func settlesOnceAtTheFundingTimeWithTheRatePublishedBefore() throws {
        var clock = FundingClock()
        #expect(clock.observe(try ticker(.snapshot, ts: 100, rate: "0.0001", mark: "50000", next: 1_000)) == nil)
        // The message after the funding time carries the next period's rate: it must not be used.
        let s = clock.observe(try ticker(.delta, ts: 1_001, rate: "0.0005", mark: "50100", next: 29_800_000))
        #expect(s == .settle(at: ExchangeTime(milliseconds: 1_000), rate: try Rate("0.0001"), mark: m.p("50000")))
        #expect(clock.observe(try ticker(.delta, ts: 1_002, mark: "50200")) == nil)
    }

    @Test func withoutAMarkPriceFundingIsReportedAsNotSimulated() throws {
        var clock = FundingClock()
        _ = clock.observe(try ticker(.snapshot, ts: 100, rate: "0.0001", next: 1_000))
        #expect(clock.due(at: ExchangeTime(milliseconds: 1_000)) == .notSimulated(at: ExchangeTime(milliseconds: 1_000), reason: "no mark price"))
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func theRecordedFundingTimeOf2023SettlesOnceAtThePublishedRate() throws {
        let path = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/btcusdt_2023-04-04T2358.frames.gz").path
        var reader = try FrameFileReader(path: path)
        var decoder = BybitPublicDecoder()
        var clock = FundingClock()
        var lastRateBefore: Rate?
        var settlements: [FundingClock.Settlement] = []
        while let line = try reader.next() {
            guard case let .ticker(update)? = try? decoder.decode(line.json, localTime: line.localTime) else { continue }
            if let s = clock.observe(update) { settlements.append(s) }
            if settlements.isEmpty, let r = update.fields.fundingRate { lastRateBefore = r }
        }
        #expect(settlements.count == 1)
        guard case let .settle(at, rate, _)? = settlements.first else { Issue.record("\(settlements)"); return }
        #expect(at == ExchangeTime(milliseconds: 1_680_652_800_000))   // 2023-04-05 00:00 UTC (data README)
        #expect(rate == lastRateBefore)
    }
}
