#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CascadeCore
import CascadeTesting
import Foundation
import Recording
import RecordingAudit
import Testing

// End-to-end support: the built `cascade` executable run as a subprocess, with bounded waits so a
// hung child can never hang the test run.

/// Locates the `cascade` executable that `swift build` / `swift test` put next to the test bundle.
enum CascadeExecutable {
    /// Path of the executable, or nil when it cannot be found.
    static let path: String? = locate()

    /// `CASCADE_EXECUTABLE` if set; else the first regular, executable file named `cascade` in the
    /// directory of the test bundle or of `CommandLine.arguments[0]`, or in one of their parents
    /// (on Linux both sit in the products directory, e.g. `.build/debug/`; on macOS the bundle's
    /// binary is three levels below it).
    private static func locate() -> String? {
        if let override = ProcessInfo.processInfo.environment["CASCADE_EXECUTABLE"], !override.isEmpty {
            return override
        }
        var starts = [Bundle.main.bundleURL]
        if let executable = Bundle.main.executableURL { starts.append(executable.deletingLastPathComponent()) }
        if let argument0 = CommandLine.arguments.first {
            starts.append(URL(fileURLWithPath: argument0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        for start in starts {
            var directory = start.standardizedFileURL
            for _ in 0..<5 {
                let candidate = directory.appendingPathComponent("cascade").path
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                   FileManager.default.isExecutableFile(atPath: candidate) {
                    return candidate
                }
                if directory.path == "/" { break }
                directory = directory.deletingLastPathComponent()
            }
        }
        return nil
    }

    /// The path, or a test failure explaining where it was looked for.
    static func require() throws -> String {
        try #require(path, """
            cannot find the `cascade` executable: looked for a file named `cascade` next to \(Bundle.main.bundleURL.path) \
            and \(CommandLine.arguments.first ?? "?") and in their parents; run the tests with `swift test` (which builds \
            it) or set CASCADE_EXECUTABLE
            """)
    }
}

/// What a finished `cascade` run left behind.
struct CommandResult {
    var status: Int32
    var reason: Process.TerminationReason
    var standardOutput: String
    var standardError: String
    /// False when the run was killed for exceeding its time limit.
    var finishedInTime: Bool

    /// Exited (not killed by a signal) with status 0.
    var succeeded: Bool { finishedInTime && reason == .exit && status == 0 }

    /// Standard error split into lines, without empty ones.
    var errorLines: [String] { standardError.split(separator: "\n").map(String.init) }
}

/// A running `cascade` process whose standard output and error are collected by a background thread,
/// and whose standard input is, optionally, a pipe the test writes to.
final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let stdinPipe: Pipe?
    private let stdoutPipe = Pipe()
    private let stderrPipe = Pipe()
    private let exitSignal = DispatchSemaphore(value: 0)
    /// Guards every mutable field below and announces new output.
    private let condition = NSCondition()
    private var output: [UInt8] = []
    private var errors: [UInt8] = []
    private var pumpFinished = false
    private var exited = false
    private var stopWriting = false
    private var finishedInTime = true

    /// A writer to a pipe whose reader died gets EPIPE instead of killing the test runner.
    private static let ignoreBrokenPipes: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    init(_ arguments: [String], standardInputPipe: Bool = false) throws {
        process.executableURL = URL(fileURLWithPath: try CascadeExecutable.require())
        process.arguments = arguments
        stdinPipe = standardInputPipe ? Pipe() : nil
        process.standardInput = stdinPipe ?? FileHandle.nullDevice
        process.standardOutput = stdoutPipe
        process.standardError = stderrPipe
        let exitSignal = self.exitSignal
        process.terminationHandler = { _ in exitSignal.signal() }
    }

    /// Runs `cascade ARGUMENTS` to completion (killed after `timeout` seconds) and returns what it printed.
    static func run(_ arguments: [String], timeout: Double = 120) throws -> CommandResult {
        let child = try ChildProcess(arguments)
        try child.start()
        child.waitForExit(timeout: timeout)
        return child.result
    }

    /// Launches the process and the output collector.
    func start() throws {
        Self.ignoreBrokenPipes
        if let stdinPipe {
            // Non-blocking writes: a child that stops reading can only time a write out, not hang it.
            let fd = stdinPipe.fileHandleForWriting.fileDescriptor
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        }
        try process.run()
        let fds = [stdoutPipe.fileHandleForReading.fileDescriptor, stderrPipe.fileHandleForReading.fileDescriptor]
        Thread { [self] in pump(fds) }.start()
    }

    /// Process id of the child.
    var pid: Int32 { process.processIdentifier }

    /// Standard error so far, as lines.
    var errorLines: [String] {
        condition.lock()
        defer { condition.unlock() }
        return String(decoding: errors, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// Waits until `predicate` holds for the standard-error lines, the child's output ends, or
    /// `timeout` seconds pass. Returns whether the predicate held.
    func waitForErrorLines(timeout: Double, until predicate: ([String]) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: timeout)
        condition.lock()
        defer { condition.unlock() }
        while true {
            let lines = String(decoding: errors, as: UTF8.self).split(separator: "\n").map(String.init)
            if predicate(lines) { return true }
            if pumpFinished || !condition.wait(until: deadline) { return predicate(lines) }
        }
    }

    /// Writes all of `bytes` to the child's standard input. Gives up (returning false) after
    /// `timeout` seconds, when the child closed the pipe (EPIPE), or once ``waitForExit(timeout:)`` began.
    @discardableResult
    func writeToStandardInput(_ bytes: [UInt8], timeout: Double = 60) -> Bool {
        guard let fd = stdinPipe?.fileHandleForWriting.fileDescriptor else { return false }
        let deadline = Date(timeIntervalSinceNow: timeout)
        var offset = 0
        while offset < bytes.count {
            condition.lock()
            let stop = stopWriting
            condition.unlock()
            if stop || Date() > deadline { return false }
            var request = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            if poll(&request, 1, 50) <= 0 { continue }
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, min($0.count - offset, 16 * 1024)) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EINTR || errno == EAGAIN) {
                continue
            } else {
                return false  // EPIPE: the child is gone
            }
        }
        return true
    }

    /// Writes `bytes` from a background thread; the returned semaphore is signalled when it stops.
    func writeToStandardInputInBackground(_ bytes: [UInt8]) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        Thread { [self] in
            writeToStandardInput(bytes, timeout: 120)
            done.signal()
        }.start()
        return done
    }

    /// A graceful stop: SIGINT, then ``waitForExit(timeout:)``. Returns whether it exited in time.
    @discardableResult
    func interrupt(timeout: Double) -> Bool {
        _ = kill(process.processIdentifier, SIGINT)
        return waitForExit(timeout: timeout)
    }

    /// Sends SIGKILL (`kill -9`).
    func killNine() {
        _ = kill(process.processIdentifier, SIGKILL)
    }

    /// Waits for the child to exit; after `timeout` seconds kills it, records a test issue and waits
    /// for that. Then stops writers and collects the remaining output. Returns whether it exited in time.
    @discardableResult
    func waitForExit(timeout: Double) -> Bool {
        var inTime = true
        if exitSignal.wait(timeout: .now() + timeout) == .timedOut {
            inTime = false
            Issue.record("`cascade \(process.arguments?.joined(separator: " ") ?? "")` did not finish within \(timeout) s: killed")
            killNine()
            _ = exitSignal.wait(timeout: .now() + 30)
        }
        condition.lock()
        exited = true
        stopWriting = true
        finishedInTime = inTime
        let deadline = Date(timeIntervalSinceNow: 30)
        while !pumpFinished && condition.wait(until: deadline) {}
        condition.unlock()
        return inTime
    }

    /// Exit status and collected output (call after ``waitForExit(timeout:)``).
    var result: CommandResult {
        condition.lock()
        defer { condition.unlock() }
        return CommandResult(status: process.terminationStatus, reason: process.terminationReason,
                             standardOutput: String(decoding: output, as: UTF8.self),
                             standardError: String(decoding: errors, as: UTF8.self), finishedInTime: finishedInTime)
    }

    /// Reads both output pipes until both end, or until the child has exited and nothing is left
    /// to read (a pipe inherited by another test's child may never report end-of-file).
    private func pump(_ fds: [Int32]) {
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while open[0] || open[1] {
            var requests = fds.indices.map { pollfd(fd: open[$0] ? fds[$0] : -1, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&requests, nfds_t(requests.count), 100)
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            if ready == 0 {
                condition.lock()
                let done = exited
                condition.unlock()
                if done { break }
                continue
            }
            for i in fds.indices where open[i] && requests[i].revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(fds[i], $0.baseAddress!, $0.count) }
                if n > 0 {
                    condition.lock()
                    if i == 0 { output += buffer[0..<n] } else { errors += buffer[0..<n] }
                    condition.broadcast()
                    condition.unlock()
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    open[i] = false
                }
            }
        }
        condition.lock()
        pumpFinished = true
        condition.broadcast()
        condition.unlock()
    }
}

/// The largest `N` of the `flushed N` lines `cascade import` prints after every flush (0 if none).
func largestFlushed(_ lines: [String]) -> Int {
    lines.compactMap { line in line.hasPrefix("flushed ") ? Int(line.dropFirst("flushed ".count)) : nil }.max() ?? 0
}

extension TemporaryDirectory {
    /// `*.frames.gz` files of a directory, in name order (names sort by first-frame time).
    static func dataFiles(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory)
            .filter { $0.hasSuffix(".frames.gz") }.sorted().map { directory + "/" + $0 }
    }

    /// `*.manifest.json` files of a directory.
    static func manifestFiles(in directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".manifest.json") }.sorted()
    }
}

/// A seeded, self-consistent Bybit-shaped feed for end-to-end tests: a `_cascade.session` frame, an
/// `orderbook.50.BTCUSDT` and an `orderbook.200.ETHUSDT` stream from ``SyntheticBookFrames`` and
/// `publicTrade` messages of 1 to 4 trades built here. Receive times advance by 0 (a quarter of the
/// frames share their predecessor's time) to 265 ms, about 100 ms per frame on average.
struct SyntheticFeed {
    private var rng: SeededRandom
    private(set) var btcBook: SyntheticBookFrames
    private(set) var ethBook: SyntheticBookFrames
    private var time: Int64
    private var tradeID: UInt64 = 4_000_000_000
    /// Frames produced per topic.
    private(set) var framesPerTopic: [String: Int] = [:]
    /// Trades produced per symbol: taker buys and sells.
    private(set) var trades: [String: (buys: Int, sells: Int)] = [:]

    init(seed: UInt64, startNanoseconds: Int64 = 1_721_347_021_295_000_000) {
        rng = SeededRandom(seed: seed)
        btcBook = SyntheticBookFrames(symbol: "BTCUSDT", depth: 50, seed: seed &+ 1)
        ethBook = SyntheticBookFrames(symbol: "ETHUSDT", depth: 200, seed: seed &+ 2, midCents: 341_862)
        time = startNanoseconds
    }

    /// The next `count` frames.
    mutating func frames(_ count: Int) -> [FrameRecord] {
        var out: [FrameRecord] = []
        out.reserveCapacity(count)
        for _ in 0..<count { out.append(next()) }
        return out
    }

    private mutating func next() -> FrameRecord {
        let produced = framesPerTopic.values.reduce(0, +)
        if produced > 0 {
            time += rng.next() % 4 == 0 ? 0 : Int64(rng.next() % 266) * 1_000_000 + Int64(rng.next() % 1_000_000)
        }
        let json: String
        let topic: String
        switch produced {
        case 0:
            topic = "_cascade.session"
            json = #"{"topic":"_cascade.session","ts":\#(time / 1_000_000),"data":{"event":"connect"}}"#
        case 1:
            topic = "orderbook.50.BTCUSDT"
            json = btcBook.snapshot()
        case 2:
            topic = "orderbook.200.ETHUSDT"
            json = ethBook.snapshot()
        default:
            let roll = rng.next() % 100
            if roll < 45 {
                topic = "orderbook.50.BTCUSDT"
                json = btcBook.delta(changes: 2 + Int(rng.next() % 10))
            } else if roll < 70 {
                topic = "orderbook.200.ETHUSDT"
                json = ethBook.delta(changes: 2 + Int(rng.next() % 10))
            } else {
                let symbol = roll < 85 ? "BTCUSDT" : "ETHUSDT"
                topic = "publicTrade." + symbol
                json = tradeFrame(symbol: symbol)
            }
        }
        framesPerTopic[topic, default: 0] += 1
        return FrameRecord(localTime: LocalTime(nanoseconds: time), bytes: Array(json.utf8))
    }

    private mutating func tradeFrame(symbol: String) -> String {
        let exchangeMs = time / 1_000_000 + 1
        var items: [String] = []
        for _ in 0..<(1 + Int(rng.next() % 4)) {
            let buy = rng.next() % 2 == 0
            let cents = symbol == "BTCUSDT" ? 6_390_000 + Int64(rng.next() % 20_000) : 341_000 + Int64(rng.next() % 2_000)
            let milli = 1 + Int64(rng.next() % 5_000)
            tradeID += 1
            if buy { trades[symbol, default: (buys: 0, sells: 0)].buys += 1 } else { trades[symbol, default: (buys: 0, sells: 0)].sells += 1 }
            let price = FixedDecimal.format(cents, digits: 2, minimumFractionDigits: 2)
            let size = FixedDecimal.format(milli, digits: 3, minimumFractionDigits: 3)
            items.append(#"{"T":\#(exchangeMs),"s":"\#(symbol)","S":"\#(buy ? "Buy" : "Sell")","v":"\#(size)","p":"\#(price)","L":"PlusTick","i":"\#(tradeID)","BT":false}"#)
        }
        return #"{"topic":"publicTrade.\#(symbol)","type":"snapshot","ts":\#(exchangeMs),"data":[\#(items.joined(separator: ","))]}"#
    }
}

/// `<ns> <json>\n` lines, the plain-text form of frames format v1.
func plainText<C: Collection<FrameRecord>>(_ frames: C) -> [UInt8] {
    var out: [UInt8] = []
    for frame in frames {
        out += Array(String(frame.localTime.nanoseconds).utf8)
        out.append(0x20)
        out += frame.bytes
        out.append(0x0A)
    }
    return out
}

/// Writes raw bytes to a file, replacing it.
func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Everything a reader returns from one file, copied, and its final statistics.
func readFrames(_ path: String) throws -> (frames: [FrameRecord], stats: ReaderStats) {
    var reader = try FrameFileReader(path: path)
    var frames: [FrameRecord] = []
    while let line = try reader.next() { frames.append(line.record) }
    return (frames, reader.stats)
}

/// Nil when `actual` equals `expected`, else where and how they first differ (short enough to print,
/// unlike a failed `==` over thousands of frames).
func firstDifference(_ actual: some Collection<FrameRecord>, _ expected: some Collection<FrameRecord>) -> String? {
    for (i, (a, e)) in zip(actual, expected).enumerated() where a != e {
        return "frame \(i): got \(a.localTime.nanoseconds) \(String(decoding: a.bytes.prefix(120), as: UTF8.self)), "
            + "expected \(e.localTime.nanoseconds) \(String(decoding: e.bytes.prefix(120), as: UTF8.self))"
    }
    return actual.count == expected.count ? nil : "got \(actual.count) frames, expected \(expected.count)"
}

/// The recorder's file-name stamp `yyyyMMddTHHmmss.SSS` (UTC) of a receive time, derived from
/// `LocalTime.description` (`2024-07-18 23:57:01.295Z`).
func fileStamp(_ time: LocalTime) -> String {
    String(time.description.compactMap { c -> Character? in
        switch c {
        case "-", ":", "Z": nil
        case " ": "T"
        default: c
        }
    })
}

/// Decodes `cascade replay --json` output.
func decodeReport(_ result: CommandResult) throws -> AuditReport {
    try JSONDecoder().decode(AuditReport.self, from: Data(result.standardOutput.utf8))
}

/// A decimal string without insignificant trailing zeros (`63867.40` → `63867.4`, `5.000` → `5`), so the
/// README's exchange-formatted prices compare with the report's.
func canonicalDecimal(_ text: String) -> String {
    guard text.contains(".") else { return text }
    var s = Substring(text)
    while s.hasSuffix("0") { s = s.dropLast() }
    if s.hasSuffix(".") { s = s.dropLast() }
    return String(s)
}

/// `[price, size]` with canonical decimals.
func canonicalLevel(_ level: [String]?) -> [String]? { level?.map(canonicalDecimal) }
