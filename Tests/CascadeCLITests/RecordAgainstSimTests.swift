#if canImport(Glibc)
import Glibc
#endif
import CascadeCore
import CascadeTesting
import Foundation
import Recording
import RecordingAudit
import Testing

/// `cascade record` against `cascade sim` on loopback: the recording replays with the source's frames per topic.
@Suite(.serialized) struct RecordAgainstSimTests {
    /// Starts `cascade sim` on a free port and returns it with the port it printed.
    static func startSim(_ data: String, speed: String = "max", options: [String] = []) throws -> (ChildProcess, Int) {
        let sim = try ChildProcess(["sim", "--data", data, "--port", "0", "--speed", speed] + options)
        try sim.start()
        var port: Int?
        _ = sim.waitForErrorLines(timeout: 30) { lines in
            port = lines.lazy.compactMap { line -> Int? in
                guard let r = line.range(of: "cascade sim listening on http://127.0.0.1:") else { return nil }
                return Int(line[r.upperBound...].prefix { $0.isNumber })
            }.first
            return port != nil
        }
        guard let port else {
            sim.killNine()
            throw CocoaError(.featureUnsupported, userInfo: [NSLocalizedDescriptionKey: "sim did not report its port: \(sim.errorLines)"])
        }
        return (sim, port)
    }

    /// Market frames on disk so far (the recorder's own `_cascade.*` entries do not count towards the source).
    static func recordedFrames(_ dir: String) -> Int {
        let files = (try? TemporaryDirectory.dataFiles(in: dir)) ?? []
        return files.reduce(0) { total, path in
            total + ((try? readFrames(path))?.frames.filter { FrameTopic.topic(of: $0.bytes)?.hasPrefix("_cascade.") == false }.count ?? 0)
        }
    }

    func roundTrip(source: String, sourceReport: AuditReport, symbols: String, depths: String) throws {
        let out = try TemporaryDirectory("record-sim")
        defer { out.remove() }
        let (sim, port) = try Self.startSim(source)
        defer { sim.killNine(); sim.waitForExit(timeout: 30) }
        let recorder = try ChildProcess(["record", "--symbols", symbols, "--depths", depths,
                                         "--endpoint", "ws://127.0.0.1:\(port)/v5/public/linear",
                                         "--rest", "http://127.0.0.1:\(port)", "--out", out.path])
        try recorder.start()
        let expected = sourceReport.topics.filter { !$0.topic.hasPrefix("_cascade.") }.reduce(0) { $0 + $1.frames }
        let deadline = Date(timeIntervalSinceNow: 60)
        while Self.recordedFrames(out.path) < expected && Date() < deadline { usleep(200_000) }
        #expect(recorder.interrupt(timeout: 30))   // graceful: flush, close, manifest
        #expect(recorder.result.status == 0, "\(recorder.errorLines.suffix(5))")
        let files = try TemporaryDirectory.dataFiles(in: out.path)
        #expect(!files.isEmpty)
        let replay = try decodeReport(try ChildProcess.run(["replay", "--json"] + files))
        let recorded = Dictionary(uniqueKeysWithValues: replay.topics.map { ($0.topic, $0.frames) })
        for topic in sourceReport.topics where !topic.topic.hasPrefix("_cascade.") {
            #expect(recorded[topic.topic] == topic.frames, "\(topic.topic)")
        }
        #expect(replay.decodeErrors.filter { $0.key != "invalid_instruments_snapshot" }.isEmpty)
        #expect(replay.sessionEvents.map(\.event).prefix(2) == ["connect", "subscribed"])
        #expect((recorded["_cascade.session"] ?? 0) >= 2)
        // Closed cleanly: every file has its manifest.
        #expect(try TemporaryDirectory.manifestFiles(in: out.path).count == files.count)
        // Books end where the source's end.
        for book in sourceReport.books {
            let mine = replay.books.first { $0.topic == book.topic }
            #expect(mine?.bestBid.map(canonicalLevel) == book.bestBid.map(canonicalLevel), "\(book.topic)")
            #expect(mine?.bestAsk.map(canonicalLevel) == book.bestAsk.map(canonicalLevel), "\(book.topic)")
        }
    }

    @Test func syntheticRecordingRoundTripsThroughSimAndRecorder() throws {
        let dir = try TemporaryDirectory("record-sim-source")
        defer { dir.remove() }
        var feed = SyntheticFeed(seed: 0x5EED_51)
        let frames = feed.frames(2_000).filter { !String(decoding: $0.bytes.prefix(40), as: UTF8.self).contains("_cascade.") }
        let source = dir.file("source.frames")
        try writeBytes(plainText(frames), to: source)
        let report = try decodeReport(try ChildProcess.run(["replay", "--json", source]))
        try roundTrip(source: source, sourceReport: report, symbols: "BTCUSDT,ETHUSDT", depths: "50,200")
    }

    @Test(.enabled(if: SharedData.isAvailable, "needs ../shared/data (absent: skipped)"))
    func realRecordingRoundTripsThroughSimAndRecorder() throws {
        let source = SharedData.root.appendingPathComponent("data/bybit-v5-frames/binance-derived/btcusdt_2024-07-18T2357.frames.gz").path
        let report = try decodeReport(try ChildProcess.run(["replay", "--json", source]))
        try roundTrip(source: source, sourceReport: report, symbols: "BTCUSDT", depths: "50,200")
    }
}
