import CascadeCore
public import Recording

/// A named, seeded synthetic market with many cascades (or none), in Bybit V5 frame shapes, for the placebo tests
/// (tests only: nothing synthetic reaches a runtime path). BTCUSDT-like rules (tick 0.1, step 0.001) from
/// 2025-06-02 01:00 UTC; a book of 25 levels a side 1.0 apart around a 0.2 spread, with a delta and a ticker (mark =
/// last) every second.
///
/// `.cascades`: after the warm-up (5 minutes unless told), one cascade every `spacingSeconds`, the liquidated side drawn from the
/// seed. At the cascade (`c`) 1.500 of the liquidated side is liquidated; at `c` + 500 ms the price jumps 10.0 past
/// the price a one-layer ladder at `offsetBps` from the mid rests at (a print trades through it); at `c` + 10 s the
/// price settles at that layer price moved `settleTenthsBps` / 10 bps in the ladder's favour plus the episode's noise
/// (three uniform draws in ±`noiseTenthsBps` / 10 bps), and holds there until 65 s after the cascade. Between
/// those windows the mid walks ±`backgroundStepTicks` ticks a second (a coin flip from the seed; 0: flat), so that
/// ladders placed at other times can fill too. No liquidation happens between cascades. A one-layer ladder at
/// `offsetBps` with a far take-profit and stop, out by time after 60 s, therefore earns the settle move, minus its
/// fees, per episode: the effect the placebo report must detect.
///
/// `.randomWalk`: no liquidation at all; every second the mid moves ±`stepTicks` ticks (a coin flip from the seed)
/// with a print at the new touch.
public struct SyntheticCascadeMarket: Sendable {
    public enum Shape: Sendable {
        case cascades(count: Int, spacingSeconds: Int64, offsetBps: Int64, settleTenthsBps: Int64, noiseTenthsBps: Int64,
                      backgroundStepTicks: Int64)
        case randomWalk(seconds: Int64, stepTicks: Int64)
    }

    public static let start: Int64 = 1_748_826_000_000          // 2025-06-02 01:00:00 UTC, ms
    /// Time before the first cascade (ms).
    public let warmUp: Int64
    public let seed: UInt64
    public let shape: Shape

    /// `warmUpSeconds`: the quiet time before the first cascade (5 minutes: a detector with a few minutes of
    /// minimum history is armed by then; the paper node's real-time test uses one minute).
    /// The tickers' `nextFundingTime` (ms): 08:00 UTC by default, hours after the data; a test that needs a funding
    /// settlement inside the data names an earlier one.
    public let nextFundingTime: Int64

    public init(seed: UInt64, shape: Shape, warmUpSeconds: Int64 = 300, nextFundingTime: Int64 = 1_748_851_200_000) {
        self.seed = seed
        self.shape = shape
        self.warmUp = warmUpSeconds * 1_000
        self.nextFundingTime = nextFundingTime
    }

    /// The paper and live nodes' end-to-end scenario: two cascades, 5 s and 122 s in, of opposite sides (seed 11:
    /// longs, then shorts). The first starts the detector's history (its first liquidation frame, in minute 0); minute
    /// 0 counts once minute 2 begins (the baseline lags one minute), so the second is detected: its side's baseline
    /// is all zeros. Traded with ``endToEndConfiguration``: one entry, filled as maker, then a time exit.
    public static let endToEnd = SyntheticCascadeMarket(seed: 11, shape: .cascades(count: 2, spacingSeconds: 117, offsetBps: 5,
                                                                                    settleTenthsBps: 20, noiseTenthsBps: 0,
                                                                                    backgroundStepTicks: 0),
                                                        warmUpSeconds: 5)

    /// One layer at 5 bps, far take-profit and stop, out by time after 10 s; a detector armed after one minute.
    public static let endToEndConfiguration = #"""
    {"depositUsdt": "100000",
     "ladder": {"offsetsBps": [5], "layerNotionalUsdt": "1000", "entryTtlMs": 30000},
     "exits": {"stopBps": 200, "takeProfitBps": 200, "maxHoldMs": 10000},
     "detector": {"baselineMinutes": 2, "minimumHistoryMinutes": 1}}
    """#

    /// The frames in receive order (receive = exchange + 20 ms): (receive time ns, JSON text).
    public func frames() -> [(Int64, String)] { generate().frames }

    /// Cascade times (ms) and liquidated sides (`true`: longs), as generated.
    public var cascades: [(time: Int64, longs: Bool)] { generate().cascades }

    func generate() -> (frames: [(Int64, String)], cascades: [(time: Int64, longs: Bool)]) {
        var cascades: [(time: Int64, longs: Bool)] = []
        var random = SeededRandom(seed: seed)
        var out: [(Int64, String)] = []
        var u: UInt64 = 1
        func emit(_ ts: Int64, _ json: String) { out.append((ts * 1_000_000 + 20_000_000, json)) }
        let s = Self.start
        emit(s, SyntheticCascade.instrumentsFrame(at: s))
        // The book in tenths: best bid, best ask, 25 levels a side 10 tenths apart behind the touch.
        var bids: [Int64: String] = [:]
        var asks: [Int64: String] = [:]
        func levels(bid: Int64, ask: Int64) -> ([Int64: String], [Int64: String]) {
            var b: [Int64: String] = [bid: "5.000"], a: [Int64: String] = [ask: "5.000"]
            for k in 1...24 {
                b[bid - Int64(k) * 10] = "2.000"
                a[ask + Int64(k) * 10] = "2.000"
            }
            return (b, a)
        }
        let text = SyntheticCascade.text
        func side(_ old: [Int64: String], _ new: [Int64: String]) -> String {
            var entries: [(Int64, String)] = []
            for (price, _) in old where new[price] == nil { entries.append((price, "0")) }
            for (price, size) in new where old[price] != size { entries.append((price, size)) }
            return entries.sorted { $0.0 < $1.0 }.map { #"["\#(text($0.0))","\#($0.1)"]"# }.joined(separator: ",")
        }
        func book(_ ts: Int64, bid: Int64, ask: Int64, snapshot: Bool = false) {
            let (b, a) = levels(bid: bid, ask: ask)
            let (oldB, oldA) = snapshot ? ([:], [:]) : (bids, asks)
            emit(ts, #"{"topic":"orderbook.50.BTCUSDT","type":"\#(snapshot ? "snapshot" : "delta")","ts":\#(ts),"data":{"s":"BTCUSDT","b":[\#(side(oldB, b))],"a":[\#(side(oldA, a))],"u":\#(u),"seq":\#(u * 10)},"cts":\#(ts - 1)}"#)
            u += 1
            bids = b
            asks = a
        }
        func heartbeat(_ ts: Int64) {
            // A size change far from the touch keeps the book fresh.
            let far = (bids.keys.min() ?? 0)
            bids[far] = "\(1 + random.next() % 5).000"
            emit(ts, #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":\#(ts),"data":{"s":"BTCUSDT","b":[["\#(text(far))","\#(bids[far]!)"]],"a":[],"u":\#(u),"seq":\#(u * 10)},"cts":\#(ts - 1)}"#)
            u += 1
        }
        func ticker(_ ts: Int64, last: Int64, snapshot: Bool = false) {
            let extra = snapshot ? #","indexPrice":"\#(text(last))","fundingRate":"0.0001","nextFundingTime":"\#(nextFundingTime)","fundingIntervalHour":"8""# : ""
            emit(ts, #"{"topic":"tickers.BTCUSDT","type":"\#(snapshot ? "snapshot" : "delta")","data":{"symbol":"BTCUSDT","lastPrice":"\#(text(last))","markPrice":"\#(text(last))"\#(extra)},"cs":\#(u),"ts":\#(ts)}"#)
        }
        var tradeID = 1
        func trade(_ ts: Int64, buy: Bool, qty: String, price: Int64) {
            emit(ts, #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(ts),"data":[{"T":\#(ts),"s":"BTCUSDT","S":"\#(buy ? "Buy" : "Sell")","v":"\#(qty)","p":"\#(text(price))","L":"MinusTick","i":"syn-\#(tradeID)","BT":false}]}"#)
            tradeID += 1
        }
        func liquidation(_ ts: Int64, longs: Bool, qty: String, price: Int64) {
            emit(ts, #"{"topic":"allLiquidation.BTCUSDT","type":"snapshot","ts":\#(ts),"data":[{"T":\#(ts - 2),"s":"BTCUSDT","S":"\#(longs ? "Buy" : "Sell")","v":"\#(qty)","p":"\#(text(price))"}]}"#)
        }
        var bid: Int64 = 599_999, ask: Int64 = 600_001
        var last: Int64 = 600_000
        book(s, bid: bid, ask: ask, snapshot: true)
        ticker(s, last: last, snapshot: true)
        // Scheduled moves: (time, new bid, print price, print is a buy).
        var moves: [(Int64, Int64, Int64, Bool)] = []
        let endTime: Int64
        switch shape {
        case let .cascades(count, spacingSeconds, _, _, _, _):
            endTime = s + warmUp + Int64(count) * spacingSeconds * 1_000
        case let .randomWalk(seconds, _):
            endTime = s + seconds * 1_000
        }
        var nextCascade = 0
        var t = s + 1_000
        while t <= endTime {
            switch shape {
            case let .cascades(count, spacingSeconds, offsetBps, settleTenthsBps, noiseTenthsBps, backgroundStepTicks):
                let c = s + warmUp + Int64(nextCascade) * spacingSeconds * 1_000
                let previous = c - spacingSeconds * 1_000
                // The background walk, paused from 2 s before a cascade to 65 s after it.
                if backgroundStepTicks > 0, t < c - 2_000, nextCascade == 0 || t > previous + 65_000 {
                    let up = random.next() & 1 == 0
                    let newBid = bid + (up ? backgroundStepTicks : -backgroundStepTicks)
                    moves.append((t, newBid, up ? newBid + 2 : newBid, up))
                }
                if nextCascade < count, t == c {
                    nextCascade += 1
                    let longs = random.next() & 1 == 0
                    let mid2 = bid + ask
                    // The layer price as LadderPlanner rounds it: away from the touch.
                    let layer = longs ? Self.floorDiv(mid2 * (10_000 - offsetBps), 20_000)
                                      : -Self.floorDiv(-mid2 * (10_000 + offsetBps), 20_000)
                    let through = longs ? layer - 100 : layer + 100
                    var noise: Int64 = 0
                    for _ in 0..<3 { noise += Int64(random.next() % UInt64(2 * noiseTenthsBps + 1)) - noiseTenthsBps }
                    let move = (settleTenthsBps + noise) * layer / 100_000
                    let settle = longs ? layer + move : layer - move
                    liquidation(c, longs: longs, qty: "1.000", price: longs ? bid - 50 : ask + 50)
                    liquidation(c + 300, longs: longs, qty: "0.500", price: longs ? bid - 80 : ask + 80)
                    // The jump: the touch moves past the layer and a print trades through every price between.
                    moves.append((c + 500, through - 1, through, !longs))
                    // The settle: a buy ladder's exit sells at the best bid (= settle), a sell ladder's buys at the
                    // best ask (= settle); the print is on the side the price moved to.
                    moves.append(longs ? (c + 10_000, settle, settle + 2, true) : (c + 10_000, settle - 2, settle - 2, false))
                    cascades.append((c, longs))
                }
            case let .randomWalk(_, stepTicks):
                let up = random.next() & 1 == 0
                let newBid = bid + (up ? stepTicks : -stepTicks)
                moves.append((t, newBid, up ? newBid + 2 : newBid, up))
            }
            heartbeat(t)
            ticker(t, last: last)
            // The moves of this second, in time order, after its heartbeat.
            moves.sort { $0.0 < $1.0 }
            while let move = moves.first, move.0 < t + 1_000 {
                moves.removeFirst()
                bid = move.1
                ask = move.1 + 2
                book(move.0, bid: bid, ask: ask)
                trade(move.0, buy: move.3, qty: "0.500", price: move.2)
                last = move.2
            }
            t += 1_000
        }
        return (out.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element), cascades)
    }

    /// Writes the frames to `path` (recording format) with a manifest naming the generator.
    public func write(to path: String) throws(RecordingError) {
        let writer = try FrameFileWriter(path: path)
        for (ns, json) in frames() { try writer.append(localTime: LocalTime(nanoseconds: ns), json: Array(json.utf8)) }
        try writer.close()
        // The manifest names the generator: reports mark the data synthetic.
        try FrameManifest.rebuild(dataFile: path, createdBy: "synthetic: SyntheticCascadeMarket(seed: \(seed), shape: \(shape)\(warmUp == 300_000 ? "" : ", warmUpSeconds: \(warmUp / 1_000)")\(nextFundingTime == 1_748_851_200_000 ? "" : ", nextFundingTime: \(nextFundingTime)"))").write(forDataFile: path)
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}
