// The paper node's memory over a long, fast replay of three symbols (issue 13: RSS ≤ 64 MB and flat).
//
// The node's own objects, minus the socket: every frame goes through the `Recorder` the node writes with, whose
// `onFrame` hands it to the `PaperTrader` (the backtest's lane: FeedState, features, detector, engine, simulated
// venue, SQLite journal), exactly as `cascade paper` does; the 1 s timer is `idle(until:)`. The market is synthetic
// (named and seeded below: `ThreeSymbolFeed`), as fast as the CPU goes: hours of market in minutes.
//   CASCADE_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product PaperMemory
//   .build-bench/release/PaperMemory [hours]
#if canImport(Glibc)
import Glibc
#endif
import Backtest
import CascadeCore
import CascadeService
import CascadeTesting
import Execution
import Features
import Foundation
import Logging
import Recording
import Simulation
import Storage

/// Three symbols (BTCUSDT, ETHUSDT, SOLUSDT) from seed 0x9A9E: a book delta every 100 ms, a trade and a ticker every
/// second per symbol, and every 10 minutes a burst of liquidations on one symbol (sides and symbols from the seed).
struct ThreeSymbolFeed {
    static let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    var books = ThreeSymbolFeed.symbols.enumerated().map { SyntheticBookFrames(symbol: $0.element, depth: 50, seed: 0x9A9E + UInt64($0.offset)) }
    var random = SeededRandom(seed: 0x9A9E)
    let start: Int64 = 1_748_826_000_000

    var instruments: String {
        let items = Self.symbols.map { s in
            #"{"symbol":"\#(s)","contractType":"LinearPerpetual","status":"Trading","baseCoin":"\#(s.dropLast(4))","quoteCoin":"USDT","settleCoin":"USDT","priceScale":"2","leverageFilter":{"minLeverage":"1","maxLeverage":"100.00","leverageStep":"0.01"},"priceFilter":{"minPrice":"0.01","maxPrice":"1999999.98","tickSize":"0.01"},"lotSizeFilter":{"maxOrderQty":"500.000","minOrderQty":"0.001","qtyStep":"0.001","maxMktOrderQty":"100.000","minNotionalValue":"5"},"fundingInterval":480}"#
        }
        return #"{"topic":"_cascade.instruments","ts":\#(start),"data":{"category":"linear","list":[\#(items.joined(separator: ","))]}}"#
    }

    /// The frames of second `k` (exchange ms), in time order.
    mutating func second(_ k: Int64) -> [(Int64, String)] {
        var out: [(Int64, String)] = []
        let t0 = start + k * 1_000
        for (i, symbol) in Self.symbols.enumerated() {
            for step in 0..<10 {
                let ts = t0 + Int64(step) * 100 + Int64(i)
                out.append((ts, k == 0 && step == 0 ? books[i].snapshot(ts: ts) : books[i].delta(ts: ts)))
            }
            guard let best = books[i].referenceBest else { continue }
            let ts = t0 + 950 + Int64(i)
            out.append((ts, #"{"topic":"publicTrade.\#(symbol)","type":"snapshot","ts":\#(ts),"data":[{"T":\#(ts),"s":"\#(symbol)","S":"Buy","v":"0.010","p":"\#(best.ask.0)","L":"PlusTick","i":"t-\#(k)-\#(i)","BT":false}]}"#))
            out.append((ts + 1, #"{"topic":"tickers.\#(symbol)","type":"\#(k == 0 ? "snapshot" : "delta")","data":{"symbol":"\#(symbol)","lastPrice":"\#(best.ask.0)","markPrice":"\#(best.bid.0)","indexPrice":"\#(best.bid.0)","fundingRate":"0.0001","nextFundingTime":"\#(start + 8 * 3_600_000)"},"cs":\#(k),"ts":\#(ts + 1)}"#))
            if k % 600 == 300, Int(random.next() % 3) == i, let best = books[i].referenceBest {
                let side = random.next() & 1 == 0 ? "Buy" : "Sell"
                out.append((ts + 2, #"{"topic":"allLiquidation.\#(symbol)","type":"snapshot","ts":\#(ts + 2),"data":[{"T":\#(ts + 2),"s":"\#(symbol)","S":"\#(side)","v":"1.500","p":"\#(best.bid.0)"}]}"#))
            }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}

/// Bytes malloc has handed out and not had back: what the live objects hold, apart from pages the allocator keeps
/// (RSS can grow by fragmentation while this stays flat). glibc's `malloc_stats` prints it ("Total (incl. mmap):
/// … in use bytes"); Swift's Glibc module does not export malloc.h, so the call goes through dlsym with stderr sent
/// to a file for the moment.
func heapInUseBytes() -> Int {
    #if canImport(Glibc)
    guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "malloc_stats") else { return 0 }
    let stats = unsafeBitCast(symbol, to: (@convention(c) () -> Void).self)
    let path = NSTemporaryDirectory() + "malloc-stats-\(getpid())"
    let file = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
    guard file >= 0 else { return 0 }
    let saved = dup(2)
    dup2(file, 2)
    stats()
    dup2(saved, 2)
    close(saved)
    close(file)
    defer { unlink(path) }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
          let total = text.range(of: "Total (incl. mmap):") else { return 0 }
    let tail = text[total.upperBound...]
    guard let inUse = tail.range(of: "in use bytes"), let equals = tail[inUse.upperBound...].firstIndex(of: "=") else { return 0 }
    return Int(tail[tail.index(after: equals)...].prefix { $0 != "\n" }.trimmingCharacters(in: .whitespaces)) ?? 0
    #else
    return 0
    #endif
}

/// Resident set size in bytes (Linux `/proc/self/statm`).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
}

let hours = CommandLine.arguments.count > 1 ? Int64(CommandLine.arguments[1]) ?? 6 : 6
// Optional: how long the engine keeps ended ladders (hours; default the engine's 8 days), so a run of two days can
// show where the memory stops growing without replaying eight.
let retainHours = CommandLine.arguments.count > 2 ? Int64(CommandLine.arguments[2]) : nil
// Optional: closed orders the simulated venue remembers per symbol (default 10,000), likewise.
let closedOrders = CommandLine.arguments.count > 3 ? Int(CommandLine.arguments[3]) : nil
let directory = NSTemporaryDirectory() + "paper-memory-\(getpid())"
try FileManager.default.createDirectory(atPath: directory + "/recording", withIntermediateDirectories: true)
defer { if ProcessInfo.processInfo.environment["PAPER_MEMORY_KEEP"] == nil { try? FileManager.default.removeItem(atPath: directory) } }
var logger = Logger(label: "paper-memory")
logger.logLevel = .warning
var configuration = BacktestConfiguration()
configuration.deposit = USDT(units: Int64(1_000_000_000_000))
configuration.features.detector.minimumHistoryMinutes = 30
configuration.features.detector.baselineMinutes = 120
if let retainHours { configuration.engine.retainEndedMilliseconds = retainHours * 3_600_000 }
if let closedOrders { configuration.venue.closedOrdersRemembered = closedOrders }
print("engine keeps ended ladders \(configuration.engine.retainEndedMilliseconds / 3_600_000) h; the venue remembers \(configuration.venue.closedOrdersRemembered) closed orders per symbol")
var topics = Set<String>()
for s in ThreeSymbolFeed.symbols { topics.formUnion(["orderbook.50.\(s)", "publicTrade.\(s)", "allLiquidation.\(s)", "tickers.\(s)"]) }
let trader = try PaperTrader(configuration: configuration, topics: topics, journal: try SQLiteOrderJournal(path: directory + "/journal.sqlite"),
                             directory: directory, recordingDirectory: directory + "/recording", logger: logger)
let recorder = try Recorder(directory: directory + "/recording", filePrefix: "bybit", createdBy: "cascade paper (PaperMemory benchmark)")
recorder.keepsClosedManifests = false   // as RecordingSink sets it for the node
recorder.onFrame = { at, bytes in trader.recorded(Array(bytes), at: at) }
var feed = ThreeSymbolFeed()
let receive: Int64 = 20
try recorder.record(localTime: LocalTime(nanoseconds: (feed.start + receive) * 1_000_000), json: Array(feed.instruments.utf8))
print("hour  frames      RSS MiB  heap MiB")
let started = ContinuousClock.now
var frames = 0
for k in 0..<(hours * 3_600) {
    for (ts, json) in feed.second(k) {
        try recorder.record(localTime: LocalTime(nanoseconds: (ts + receive) * 1_000_000), json: Array(json.utf8))
        frames += 1
    }
    trader.idle(until: LocalTime(nanoseconds: (feed.start + k * 1_000 + 999) * 1_000_000))
    if k % 1_800 == 1_799 {
        print(String(format: "%4.1f  %9d  %7.1f  %8.2f", Double(k + 1) / 3_600, frames, Double(residentBytes()) / 1_048_576,
                     Double(heapInUseBytes()) / 1_048_576))
    }
}
try recorder.close()
let engine = trader.engine
print("engine holds \(engine.ladders.count) ladders (\(engine.laddersRetired) retired), \(engine.tracker.orders.count) orders, \(engine.legOrigins.count) legs, \(engine.alarms.count) alarms, \(engine.postOnlyResolved.count) resolved entries")
try trader.finish()
print("\(frames) frames of \(hours) h in \(ContinuousClock.now - started); failure: \(trader.failure.map { "\($0)" } ?? "none")")
// What the engine did meanwhile (the backtest's summary of the session).
let summary = (try? String(contentsOfFile: directory + "/summary.txt", encoding: .utf8)) ?? ""
for line in summary.split(separator: "\n") where line.hasPrefix("episodes") || line.hasPrefix("fills") { print(line) }
if ProcessInfo.processInfo.environment["PAPER_MEMORY_FILES"] != nil {
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory))?.sorted() ?? [] {
        let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)[.size] as? Int) ?? 0
        print(name, size)
    }
}
