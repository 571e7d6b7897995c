import CascadeCore
import CascadeTesting
import Features
import MarketData
import Testing

/// A feed and an engine driven by hand-built events, read back by feature name.
struct EngineHarness {
    var builder = MarketBuilder()
    var instruments = InstrumentTable()
    var feed = FeedState()
    var engine: FeatureEngine

    init(_ configure: (inout FeatureConfiguration) -> Void = { _ in }) {
        var c = FeatureConfiguration()
        configure(&c)
        engine = FeatureEngine(configuration: c)
        _ = instruments.id(for: "BTCUSDT")
    }

    mutating func apply(_ event: MarketEvent, at t: Int64) {
        apply(input: .event(event), at: t)
    }

    mutating func apply(input: FeedInput, at t: Int64) {
        feed.apply(input)
        engine.apply(input, at: t, feed: feed, instruments: instruments)
    }

    /// `usdt` USDT of `side` liquidated (qty usdt @ 1), received at `t`.
    func liquidation(_ side: PositionSide, _ usdt: Int, at t: Int64, source: LiquidationSource = .all) -> MarketEvent {
        .liquidations([builder.liquidation(side, qty: "\(usdt)", price: "1", updated: t / 1_000_000, ts: t / 1_000_000,
                                           receivedNs: t, source: source)])
    }

    mutating func vector(at t: Int64, symbol: String = "BTCUSDT") -> FeatureVector {
        engine.vector(for: symbol, at: t, feed: feed)!
    }

    func value(_ v: FeatureVector, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) -> Double {
        guard let i = engine.schema.index(of: name) else {
            Issue.record("no feature \(name)", sourceLocation: sourceLocation)
            return .nan
        }
        return v.values[i]
    }

    func warm(_ v: FeatureVector, _ name: String) -> Bool { v.warm[engine.schema.index(of: name)!] }
}

/// Seconds to nanoseconds.
func s(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }

/// A minute-aligned start (2024-03-05 04:00:00 UTC) so minute bins are whole.
let t0: Int64 = 1_709_611_200_000_000_000

func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance * max(1, abs(b)) }
