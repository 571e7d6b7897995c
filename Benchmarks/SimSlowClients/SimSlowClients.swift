// `cascade sim` with clients that never read: memory, the time to close them, and the lag of a client that reads
// (issue 9 acceptance). The simulator and all clients run in this process over loopback.
//
//   CASCADE_BENCHMARKS=1 swift package --scratch-path .build-bench benchmark --target SimSlowClients
//   (SIM_SLOW_CLIENTS_SECONDS=600 by default: 10 minutes at --speed 10; the first 60 s are warm-up)
//
// Market: a seeded synthetic BTCUSDT (`SyntheticBookFrames`, seed 20261204: 50-level book deltas, a trade in every
// tenth frame, a ticker in every tenth, 20 ms apart) long enough for the run. The shared real captures last a few
// minutes, a few tens of seconds at 10×, so they cannot fill ten minutes.
import Benchmark
import BybitSimulator
import BybitV5Client
import CascadeCore
import CascadeTesting
import Foundation
import HummingbirdWSClient
import Logging
import Recording
import Simulation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

let rssGrowth = BenchmarkMetric.custom("RSS growth after warm-up (KiB)", polarity: .prefersSmaller, useScalingFactor: false)
let closeAfterStall = BenchmarkMetric.custom("slowest close after a stalled write (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let closed = BenchmarkMetric.custom("stuck clients closed", polarity: .prefersLarger, useScalingFactor: false)
let lagP50 = BenchmarkMetric.custom("reader lag p50 (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let lagP99 = BenchmarkMetric.custom("reader lag p99 (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let lagMax = BenchmarkMetric.custom("reader lag max (ms)", polarity: .prefersSmaller, useScalingFactor: false)
let readerFrames = BenchmarkMetric.custom("reader frames", polarity: .prefersLarger, useScalingFactor: false)

/// Resident set size of this process, in KiB.
func residentKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return fields.count > 1 ? (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024 : 0
}

/// A raw WebSocket client that subscribes and never reads again (its socket buffers fill, then the server's writes stall).
func stuckClient(port: Int) -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    let upgrade = "GET /v5/public/linear HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    let payload = Array(#"{"op":"subscribe","req_id":"s","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]}"#.utf8)
    let mask: [UInt8] = [7, 3, 1, 9]
    var frame: [UInt8] = [0x81, 0x80 | UInt8(payload.count)] + mask
    for (i, b) in payload.enumerated() { frame.append(b ^ mask[i % 4]) }
    for bytes in [Array(upgrade.utf8), frame] { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) } }
    return fd
}

/// The `ts` of a data frame (a byte scan).
func exchangeTime(_ text: Substring.UTF8View) -> Int64? {
    let key = Array(#""ts":"#.utf8)
    var i = text.startIndex
    while i != text.endIndex {
        if text[i] == key[0], text[i...].starts(with: key) {
            var j = text.index(i, offsetBy: key.count)
            var v: Int64 = 0
            while j != text.endIndex, text[j] >= 48, text[j] <= 57 { v = v * 10 + Int64(text[j] - 48); j = text.index(after: j) }
            return v
        }
        i = text.index(after: i)
    }
    return nil
}

final class ReaderStats: Sendable {
    let lags = Mutex<[Int64]>([])   // microseconds
    let frames = Atomic<Int>(0)
    init(capacity: Int) { lags.withLock { $0.reserveCapacity(capacity) } }
}

let benchmarks: @Sendable () -> Void = {
    let seconds = Int(ProcessInfo.processInfo.environment["SIM_SLOW_CLIENTS_SECONDS"] ?? "600") ?? 600
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .peakMemoryResident, rssGrowth, closeAfterStall, closed, lagP50, lagP99, lagMax, readerFrames],
        maxDuration: .seconds(seconds + 120), maxIterations: 1)
    Benchmark("3 clients that never read + 1 reader, --speed 10, \(seconds) s") { benchmark in
        let speed = 10.0
        let frames = Int(Double(seconds) * speed * 50) + 5_000
        let directory = try! TemporaryDirectory("sim-slow")
        defer { directory.remove() }
        let path = directory.file("synthetic.frames.gz")
        let writer = try! FrameFileWriter(path: path)
        var book = SyntheticBookFrames(symbol: "BTCUSDT", depth: 50, seed: 20_261_204)
        var t: Int64 = 1_721_347_021_000
        for i in 0..<frames {
            t += 20
            let line: String
            switch i % 10 {
            case 3 where i > 0:
                line = #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(t),"data":[{"T":\#(t),"s":"BTCUSDT","S":"Buy","v":"0.010","p":"64000.00","L":"PlusTick","i":"t-\#(i)","BT":false}]}"#
            case 7:
                line = #"{"topic":"tickers.BTCUSDT","type":"\#(i == 7 ? "snapshot" : "delta")","data":{"symbol":"BTCUSDT","lastPrice":"64000.0"},"cs":\#(i),"ts":\#(t)}"#
            default:
                line = i == 0 ? book.snapshot(ts: t) : book.delta(ts: t)
            }
            try! writer.append(localTime: LocalTime(nanoseconds: t * 1_000_000), json: Array(line.utf8))
        }
        try! writer.close()
        let replay = MarketReplay(paths: [path], speed: .accelerated(speed), wallClock: SystemWallClock())
        let sim = try! await SimulatorHarness.serve(replay)
        defer { sim.stop() }
        benchmark.startMeasurement()
        // The reader first (the replay starts with it), then three clients that never read.
        let stats = ReaderStats(capacity: frames)
        var logger = Logger(label: "reader")
        logger.logLevel = .critical
        let reader = Task {
            let client = WebSocketClient(url: "ws://127.0.0.1:\(sim.port)/v5/public/linear", configuration: .init(maxFrameSize: 1 << 24),
                                         logger: logger) { inbound, outbound, _ in
                try await outbound.write(.text(#"{"op":"subscribe","req_id":"r","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT"]}"#))
                var first: (wall: Int64, ts: Int64)?
                for try await message in inbound.messages(maxSize: 1 << 24) {
                    guard case let .text(text) = message, let ts = exchangeTime(text.utf8[...]) else { continue }
                    let wall = Int64(Date().timeIntervalSince1970 * 1_000_000)
                    stats.frames.add(1, ordering: .relaxed)
                    guard let f = first else { first = (wall, ts); continue }
                    // Lag: how much later than its paced time (relative to the first frame) the frame arrived.
                    let due = f.wall + Int64(Double(ts - f.ts) * 1_000 / speed)
                    stats.lags.withLock { $0.append(wall - due) }
                }
            }
            try? await client.run()
        }
        defer { reader.cancel() }
        while stats.frames.load(ordering: .relaxed) == 0 { try? await Task.sleep(for: .milliseconds(10)) }
        let stuck = (0..<3).map { _ in stuckClient(port: sim.port) }
        defer { for fd in stuck { close(fd) } }
        // Warm-up, then RSS sampled every 5 s to the end.
        try? await Task.sleep(for: .seconds(60))
        let warm = residentKiB()
        var peak = warm
        for _ in 0..<((seconds - 60) / 5) {
            try? await Task.sleep(for: .seconds(5))
            peak = max(peak, residentKiB())
        }
        benchmark.stopMeasurement()
        let lags = stats.lags.withLock { $0 }.sorted()
        benchmark.measurement(rssGrowth, peak - warm)
        benchmark.measurement(closed, await replay.slowConsumersDisconnected)
        benchmark.measurement(closeAfterStall, Int((await replay.slowestCloseAfterStall).wholeNanoseconds / 1_000_000))
        benchmark.measurement(readerFrames, stats.frames.load(ordering: .relaxed))
        if !lags.isEmpty {
            benchmark.measurement(lagP50, Int(lags[lags.count / 2] / 1_000))
            benchmark.measurement(lagP99, Int(lags[lags.count * 99 / 100] / 1_000))
            benchmark.measurement(lagMax, Int(lags[lags.count - 1] / 1_000))
        }
    }
}
