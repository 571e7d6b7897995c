import CascadeCore
public import Recording

/// A named, seeded synthetic market with one liquidation cascade, in Bybit V5 frame shapes (tests and benchmarks
/// only: nothing synthetic reaches a runtime path).
///
/// BTCUSDT-like rules (tick 0.1, step 0.001), 2025-06-02 01:00 UTC on (allLiquidation era, far from funding):
/// - a book of 50 levels around a 60,000.0 mid (bid 59,999.9, ask 60,000.1, then levels every 50.0 from 59,950.0 /
///   60,050.0), a delta and a ticker (mark and last 60,000.0 until the cascade) every second;
/// - background allLiquidation events every 20 s from 10 s (0.001–0.003 BTC at 60,000.0, sides alternating; sizes
///   from the seed), so a detector with a 3-minute minimum history is armed by the cascade;
/// - at `cascadeAt` (6 min): longs liquidated, 1.000 BTC at 59,990.0, then 0.500 at 59,950.0 300 ms later;
/// - at `cascadeAt` + 500 ms the bids from 59,999.9 to 59,900.0 are gone and a sell print of 0.5 at 59,870.0 trades
///   through every price between; the book then rests with best bid 59,850.0;
/// - at `cascadeAt` + 20 s the price reverts: the bids come back, the asks up to 60,050.0 are gone and a buy print of
///   0.1 at 60,060.0 trades through every price below it;
/// - the data ends at `cascadeAt` + 90 s.
///
/// The seed moves only the background liquidation sizes and the sizes of levels at 59,650.0 and below / 60,350.0 and
/// above: the prices a ladder within 70 bps of the mid would use, and the prints, are the same for every seed.
public struct SyntheticCascade: Sendable {
    public static let start: Int64 = 1_748_826_000_000          // 2025-06-02 01:00:00 UTC, ms
    public static let cascadeAt: Int64 = start + 360_000
    public static let end: Int64 = cascadeAt + 90_000
    /// Receive time − exchange time of every frame (ns).
    public static let latencyNanoseconds: Int64 = 20_000_000

    public let seed: UInt64
    /// Extra receive latency per frame, drawn from the seed in 0...this (ms): receive times then differ from exchange
    /// times by more than the clock correction removes, and topics interleave differently. Each topic stays in order.
    public let latencyJitterMilliseconds: Int64
    public init(seed: UInt64, latencyJitterMilliseconds: Int64 = 0) {
        self.seed = seed
        self.latencyJitterMilliseconds = latencyJitterMilliseconds
    }

    /// The frames, in receive order: (receive time ns, JSON text).
    public func frames() -> [(Int64, String)] {
        var random = SeededRandom(seed: seed)
        var jitter = SeededRandom(seed: seed ^ 0x6a09_e667_f3bc_c908)
        var out: [(Int64, String)] = []
        var u: UInt64 = 1
        var lastPerTopic: [Substring: Int64] = [:]
        func emit(_ ts: Int64, _ json: String) {
            var ns = ts * 1_000_000 + Self.latencyNanoseconds
            if latencyJitterMilliseconds > 0 { ns += Int64(jitter.next() % UInt64(latencyJitterMilliseconds + 1)) * 1_000_000 }
            // One connection per topic delivers in order.
            let topic = json.dropFirst(10).prefix { $0 != "\"" }
            ns = max(ns, (lastPerTopic[topic] ?? .min) + 1)
            lastPerTopic[topic] = ns
            out.append((ns, json))
        }
        let s = Self.start
        emit(s, Self.instrumentsFrame(at: s))
        // Book: near levels fixed, far levels sized by the seed.
        var bids: [(String, String)] = [("59999.9", "2.000"), ("59990.0", "2.000")]
        var asks: [(String, String)] = [("60000.1", "2.000"), ("60010.0", "2.000")]
        for k in 1...24 {
            let far = k >= 7
            let size = far ? "\(1 + random.next() % 5).000" : "2.000"
            bids.append((Self.text(600_000 - Int64(k) * 500), size))
            asks.append((Self.text(600_000 + Int64(k) * 500), size))
        }
        func levels(_ l: [(String, String)]) -> String { l.map { #"["\#($0.0)","\#($0.1)"]"# }.joined(separator: ",") }
        func book(_ ts: Int64, snapshot: Bool, b: [(String, String)], a: [(String, String)]) {
            emit(ts, #"{"topic":"orderbook.50.BTCUSDT","type":"\#(snapshot ? "snapshot" : "delta")","ts":\#(ts),"data":{"s":"BTCUSDT","b":[\#(levels(b))],"a":[\#(levels(a))],"u":\#(u),"seq":\#(u * 10)},"cts":\#(ts - 1)}"#)
            u += 1
        }
        func ticker(_ ts: Int64, last: String, mark: String, snapshot: Bool = false) {
            let extra = snapshot ? #","indexPrice":"\#(mark)","fundingRate":"0.0001","nextFundingTime":"1748851200000","fundingIntervalHour":"8""# : ""
            emit(ts, #"{"topic":"tickers.BTCUSDT","type":"\#(snapshot ? "snapshot" : "delta")","data":{"symbol":"BTCUSDT","lastPrice":"\#(last)","markPrice":"\#(mark)"\#(extra)},"cs":\#(u),"ts":\#(ts)}"#)
        }
        func liquidation(_ ts: Int64, side: String, qty: String, price: String) {
            emit(ts, Self.liquidationFrame(ts, side: side, qty: qty, price: price))
        }
        var tradeID = 1
        func trade(_ ts: Int64, side: String, qty: String, price: String) {
            emit(ts, Self.tradeFrame(ts, side: side, qty: qty, price: price, id: "syn-\(tradeID)"))
            tradeID += 1
        }
        book(s, snapshot: true, b: bids, a: asks)
        ticker(s, last: "60000.0", mark: "60000.0", snapshot: true)
        let c = Self.cascadeAt
        var last = "60000.0", mark = "60000.0"
        var t = s + 1_000
        var nextLiquidation = s + 10_000
        var sideToggle = false
        while t <= Self.end {
            // Background liquidations before the cascade.
            while nextLiquidation <= t, nextLiquidation < c - 10_000 {
                sideToggle.toggle()
                liquidation(nextLiquidation, side: sideToggle ? "Buy" : "Sell", qty: "0.00\(1 + random.next() % 3)", price: "60000.0")
                nextLiquidation += 20_000
            }
            if t == c + 20_000 {
                book(t, snapshot: false, b: [("59990.0", "1.000"), ("59999.9", "1.000")],
                     a: [("60000.1", "0"), ("60010.0", "0"), ("60050.0", "0")])
                trade(t, side: "Buy", qty: "0.100", price: "60060.0")
                last = "60060.0"
                mark = "60030.0"
            }
            // A heartbeat delta on a far level keeps the book fresh; its size comes from the seed.
            book(t, snapshot: false, b: [("59650.0", "\(1 + random.next() % 5).000")], a: [])
            ticker(t, last: last, mark: mark)
            // After the heartbeat: book update ids rise in receive order.
            if t == c {
                liquidation(c, side: "Buy", qty: "1.000", price: "59990.0")
                liquidation(c + 300, side: "Buy", qty: "0.500", price: "59950.0")
                book(c + 500, snapshot: false, b: [("59999.9", "0"), ("59990.0", "0"), ("59950.0", "0"), ("59900.0", "0")], a: [])
                trade(c + 500, side: "Sell", qty: "0.500", price: "59870.0")
                last = "59870.0"
                mark = "59950.0"
            }
            t += 1_000
        }
        // Receive order; frames of one time keep the order they were written in.
        return out.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element)
    }

    /// Writes the frames to `path` (recording format) with a manifest naming the generator.
    public func write(to path: String) throws(RecordingError) {
        let writer = try FrameFileWriter(path: path)
        for (ns, json) in frames() { try writer.append(localTime: LocalTime(nanoseconds: ns), json: Array(json.utf8)) }
        try writer.close()
        // The manifest names the generator: reports mark the data synthetic.
        try FrameManifest.rebuild(dataFile: path, createdBy: "synthetic: SyntheticCascade(seed: \(seed), latencyJitterMilliseconds: \(latencyJitterMilliseconds))").write(forDataFile: path)
    }

    /// A week (or `days`) of quiet market before ``start``, for a state whose baselines are full as a running node's
    /// are (the detector's default baseline is 10,080 minutes, the feature baselines' 1,440): the instruments, then an
    /// allLiquidation event every 20 s (sides alternating, 0.001–0.200 BTC at 60,000.0) and a trade every 10 s (0.001–0.500
    /// BTC at 60,000.0), every size from the seed, so every minute of both sides and of the trades holds a non-zero
    /// sum, spread as sizes are. Receive time is exchange time + ``latencyNanoseconds``. Frames of ``frames()``
    /// continue it: its last event is 10 s before ``start``.
    public func history(days: Int = 7) -> [(Int64, String)] {
        var random = SeededRandom(seed: seed ^ 0xbb67_ae85_84ca_a73b)
        let from = Self.start - Int64(days) * 86_400_000
        var out: [(Int64, String)] = [((from - 1_000) * 1_000_000 + Self.latencyNanoseconds, Self.instrumentsFrame(at: from - 1_000))]
        out.reserveCapacity(days * 12_960 + 1)
        var n = 0
        var t = from
        while t <= Self.start - 10_000 {
            let ns = t * 1_000_000 + Self.latencyNanoseconds
            if n % 2 == 0 {
                out.append((ns, Self.liquidationFrame(t, side: n % 4 == 0 ? "Buy" : "Sell", qty: Self.thousandths(1 + random.next() % 200),
                                                     price: "60000.0")))
            }
            out.append((ns + 1, Self.tradeFrame(t, side: n % 3 == 0 ? "Sell" : "Buy", qty: Self.thousandths(1 + random.next() % 500),
                                                price: "60000.0", id: "hist-\(n)")))
            n += 1
            t += 10_000
        }
        return out
    }

    /// "0.007" for 7, "0.120" for 120.
    static func thousandths(_ v: UInt64) -> String { FixedDecimal.format(Int64(v), digits: 3, minimumFractionDigits: 3) }

    static func liquidationFrame(_ ts: Int64, side: String, qty: String, price: String) -> String {
        #"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(ts),"data":[{"T":\#(ts - 2),"s":"BTCUSDT","S":"\#(side)","v":"\#(qty)","p":"\#(price)"}]}"#
    }

    static func tradeFrame(_ ts: Int64, side: String, qty: String, price: String, id: String) -> String {
        #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ts),"data":[{"T":\#(ts),"s":"BTCUSDT","S":"\#(side)","v":"\#(qty)","p":"\#(price)","L":"MinusTick","i":"\#(id)","BT":false}]}"#
    }

    /// The BTCUSDT-like trading rules both synthetic markets carry, as a `_cascade.instruments` frame at `ts`.
    static func instrumentsFrame(at s: Int64) -> String {
        #"{"topic":"_cascade.instruments","ts":\#(s),"data":{"category":"linear","list":[{"symbol":"BTCUSDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"BTC","quoteCoin":"USDT","settleCoin":"USDT","priceScale":"1","leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},"priceFilter":{"minPrice":"0.1","maxPrice":"1999999.8","tickSize":"0.1"},"lotSizeFilter":{"maxOrderQty":"500.000","minOrderQty":"0.001","qtyStep":"0.001","maxMktOrderQty":"100.000","minNotionalValue":"5"},"fundingInterval":480}]}}"#
    }

    /// Tenths of a dollar as price text ("59950.0").
    static func text(_ tenths: Int64) -> String { "\(tenths / 10).\(tenths % 10)" }
}
