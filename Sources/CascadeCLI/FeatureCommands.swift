#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ArgumentParser
import CascadeCore
import FeatureReplay
import Features
import Foundation
import Recording

/// Options `cascade features` and `cascade detect` share: the data, instruments, engine parameters and state.
struct FeatureDataOptions: ParsableArguments {
    @Option(name: .customLong("data"), parsing: .upToNextOption,
            help: "Frames files (.frames.gz), merged in receive-time order.")
    var data: [String] = []

    @Option(name: .customLong("instruments"), help: "Instruments-info JSON (REST response) for exact notionals of every symbol.")
    var instrumentsFile: String?

    @Option(name: .customLong("baseline-warmup-minutes"),
            help: "Fully observed minutes a symbol's baselines need before ratio features are warm.")
    var baselineWarmupMinutes = FeatureConfiguration().baselineWarmupMinutes

    @Option(name: .customLong("state"), help: "Start from engine state saved by --save-state (same schema and options).")
    var state: String?

    @Option(name: .customLong("save-state"), help: "Write the engine state here at the end (bootstraps a later run).")
    var saveState: String?

    func validate() throws {
        if data.isEmpty { throw ValidationError("give the recordings with --data FILE…") }
        if baselineWarmupMinutes < 1 { throw ValidationError("--baseline-warmup-minutes must be ≥ 1") }
    }

    var configuration: FeatureConfiguration {
        var c = FeatureConfiguration()
        c.baselineWarmupMinutes = baselineWarmupMinutes
        return c
    }

    func makeReplay() throws -> FeatureReplay {
        let table = try instrumentsFile.map(loadInstruments)?.1 ?? InstrumentTable()
        guard let state else { return FeatureReplay(configuration: configuration, instruments: table) }
        do {
            return try FeatureReplay(restoring: try readOptionFile(state, option: "--state"), configuration: configuration,
                                     instruments: table)
        } catch let error as FeatureStateError {
            throw CLIError("--state \(state): \(error)")
        }
    }

    func openReplayer() throws -> Replayer {
        do { return try Replayer(paths: data) } catch { throw CLIError("\(error)") }
    }

    func save(_ replay: FeatureReplay) throws {
        guard let saveState else { return }
        do { try Data(try replay.engine.savedState()).write(to: URL(fileURLWithPath: saveState)) } catch {
            throw CLIError("--save-state \(saveState): \(error.localizedDescription)")
        }
    }

    /// Frames in the data according to the manifests (nil when a file has none).
    var framesExpected: Int? {
        var total = 0
        for path in data {
            guard let manifest = try? FrameManifest.read(forDataFile: path) else { return nil }
            total += manifest.frames
        }
        return total
    }
}

/// A progress line on stderr for long inputs: a bar on a terminal, a line per 10 % otherwise.
struct ProgressLine {
    let total: Int?
    let label: String
    private let terminal = isatty(2) != 0
    private var lastShown = -1
    private var shown = false

    init(total: Int?, label: String) {
        self.total = total
        self.label = label
    }

    mutating func update(_ done: Int) {
        if let total, total > 0 {
            let percent = min(100, done * 100 / total)
            guard percent != lastShown, terminal || percent % 10 == 0 else { return }
            lastShown = percent
            let bar = String(repeating: "#", count: percent / 5) + String(repeating: ".", count: 20 - percent / 5)
            write(terminal ? "\r\(label) [\(bar)] \(percent)%" : "\(label) \(percent)%\n")
        } else if done % 1_000_000 == 0 {
            write(terminal ? "\r\(label) \(done) frames" : "\(label) \(done) frames\n")
        }
        shown = true
    }

    func finish() {
        if shown && terminal { write("\n") }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// `cascade detect`: liquidation cascades in recordings, with statistics and an episodes file.
struct DetectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Detect liquidation cascades in recordings: episode statistics and a JSON-lines episodes file.",
        discussion: """
            The rule is docs/detector.md: one side's liquidated notional over 60 s above the 99th percentile of the \
            previous 7 days' one-minute bins, armed after 24 h of history, per symbol and liquidation source. Times \
            are receive times. With a book in the data, mid moves during and 1/5/30/60 s after each episode are added.
            """)

    @OptionGroup var options: FeatureDataOptions

    @Option(help: "Write the episodes here, one JSON object per line.")
    var out: String?

    func run() throws {
        var replay = try options.makeReplay()
        var replayer = try options.openReplayer()
        var progress = ProgressLine(total: options.framesExpected, label: "detect")
        var n = 0
        while let frame = try replayer.next() {
            replay.ingest(frame.json.assumingMemoryBound(to: UInt8.self), at: frame.localTime)
            n += 1
            progress.update(n)
        }
        progress.finish()
        if let last = replay.lastTime { replay.advance(to: last) }
        if replay.framesBeforeState > 0 {
            print("skipped \(replay.framesBeforeState) frames received at or before the saved state's clock (already in it)")
        }
        let entries = replay.episodes.sorted
        if let out {
            var text = ""
            for entry in entries { text += EpisodeJSON.line(entry, withBook: replay.episodes.sawBook) + "\n" }
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: out)) } catch {
                throw CLIError("--out \(out): \(error.localizedDescription)")
            }
        }
        print(EpisodeJSON.summary(entries, replay: replay))
        try options.save(replay)
    }
}

/// `cascade features`: the feature stream at decision times as CSV, or the leakage check.
struct FeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Write the feature stream at decision times as CSV (schema beside it), or check it for look-ahead.",
        discussion: """
            --at every:DUR samples every DUR of receive time (e.g. every:1s, every:250ms, every:1m); --at episodes \
            writes one row per symbol at each detector episode start. Missing inputs are NaN; `ready` is 1 when \
            every feature is warm. --check-leakage replays the data twice and proves that what the engine knows at t \
            is the same on the full stream and on the stream cut at t (every liquidation receive time ± 1 ns and \
            sampled book/trade times); it holds the data in memory.
            """)

    @OptionGroup var options: FeatureDataOptions

    @Option(help: "Output CSV (the schema goes to FILE.schema.json).")
    var out: String?

    @Option(help: "Decision times: every:DUR or episodes.")
    var at = "every:1s"

    @Flag(name: .customLong("check-leakage"), help: "Check truncation invariance instead of writing features.")
    var checkLeakage = false

    @Option(name: .customLong("leakage-samples"), help: "Book/trade receive times sampled as extra cut points.")
    var leakageSamples = 2_000

    @Option(name: .customLong("leakage-fresh-runs"), help: "Cuts re-run from scratch on the file truncated there.")
    var freshRuns = 12

    @Flag(name: .customLong("inject-peeking-feature"), help: .hidden)
    var injectPeekingFeature = false

    func validate() throws {
        if !checkLeakage && out == nil { throw ValidationError("give --out FILE (or --check-leakage)") }
        _ = try decisionTimes()
    }

    enum DecisionTimes {
        case every(Int64)
        case episodes
    }

    func decisionTimes() throws -> DecisionTimes {
        if at == "episodes" { return .episodes }
        guard at.hasPrefix("every:"), let ns = Self.parseDuration(String(at.dropFirst(6))), ns > 0 else {
            throw ValidationError("--at: every:DUR (e.g. every:1s, every:250ms) or episodes, not \(at)")
        }
        return .every(ns)
    }

    static func parseDuration(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1_000_000), ("us", 1_000), ("ns", 1), ("s", 1_000_000_000),
                                         ("m", 60_000_000_000), ("h", 3_600_000_000_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Int64(text.dropLast(suffix.count)) else { return nil }
            return value * scale
        }
        return nil
    }

    func run() throws {
        if checkLeakage { return try runLeakageCheck() }
        var replay = try options.makeReplay()
        var replayer = try options.openReplayer()
        let schema = replay.engine.schema
        guard let out else { return }
        do { try Data(try schema.json()).write(to: URL(fileURLWithPath: out + ".schema.json")) } catch {
            throw CLIError("--out \(out).schema.json: \(error.localizedDescription)")
        }
        guard FileManager.default.createFile(atPath: out, contents: nil), let handle = FileHandle(forWritingAtPath: out) else {
            throw CLIError("--out \(out): cannot create the file")
        }
        defer { try? handle.close() }
        var buffer = "time_ns,time_utc,symbol,ready," + schema.features.map(\.name).joined(separator: ",") + "\n"
        var rows = 0
        var skippedRows = 0
        func emit(_ vectors: [FeatureVector]) {
            for v in vectors {
                // No row where the symbol was not being recorded: an answer there would describe a gap as quiet.
                guard replay.engine.isRecording(v.symbol, at: v.time) else {
                    skippedRows += 1
                    continue
                }
                buffer += "\(v.time),\(UTCFormat.milliseconds(v.time / 1_000_000)),\(v.symbol),\(v.isReady ? 1 : 0)"
                // A value that is not warm is written as NaN: its window or baseline has not seen enough.
                for (value, warm) in zip(v.values, v.warm) { buffer += value.isNaN || !warm ? ",NaN" : ",\(value)" }
                buffer += "\n"
                rows += 1
            }
            if buffer.utf8.count > 1 << 20 {
                handle.write(Data(buffer.utf8))
                buffer = ""
            }
        }
        let times = try decisionTimes()
        var progress = ProgressLine(total: options.framesExpected, label: "features")
        var n = 0
        var nextDecision: Int64?
        var seenEpisodes = 0
        while let frame = try replayer.next() {
            let t = frame.localTime.nanoseconds
            // Frames the restored state already holds: skipped by the replay, and no decision falls among them.
            if let restored = replay.restoredAt, t <= restored {
                replay.ingest(frame.json.assumingMemoryBound(to: UInt8.self), at: frame.localTime)
                continue
            }
            if case let .every(step) = times {
                // Decisions strictly before this frame see only what came before it.
                if nextDecision == nil { nextDecision = (t / step + 1) * step }
                while let d = nextDecision, d < t {
                    emit(replay.vectors(at: d))
                    nextDecision = d + step
                }
            }
            replay.ingest(frame.json.assumingMemoryBound(to: UInt8.self), at: frame.localTime)
            if case .episodes = times {
                let entries = replay.episodes.entries
                if entries.count > seenEpisodes {
                    let starts = entries[seenEpisodes...].map(\.episode)
                    seenEpisodes = entries.count
                    for episode in starts {
                        emit(replay.vectors(at: episode.start).filter { $0.symbol == episode.symbol })
                    }
                }
            }
            n += 1
            progress.update(n)
        }
        // Decisions at the last frame's time see it too.
        if case let .every(step) = times, let last = replay.lastTime {
            while let d = nextDecision, d <= last {
                emit(replay.vectors(at: d))
                nextDecision = d + step
            }
        }
        progress.finish()
        handle.write(Data(buffer.utf8))
        try options.save(replay)
        print("wrote \(rows) rows × \(schema.features.count) features to \(out) (schema \(schema.hash.prefix(12)), \(out).schema.json)")
        if skippedRows > 0 { print("no row at \(skippedRows) decision times where the symbol sent nothing for longer than the silence limit") }
        if replay.framesBeforeState > 0 {
            print("skipped \(replay.framesBeforeState) frames received at or before the saved state's clock (already in it)")
        }
        if !replay.decodeErrors.isEmpty { print("frames that did not decode: \(replay.decodeErrors.sorted { $0.key < $1.key })") }
    }

    private func runLeakageCheck() throws {
        var replayer = try options.openReplayer()
        var frames: [HeldFrame] = []
        while let frame = try replayer.next() { frames.append(HeldFrame(time: frame.localTime, bytes: frame.bytes)) }
        let base = try options.makeReplay()
        // A first pass finds the episodes: their deadlines are cut points too (an end must not be known early).
        var probe = base
        for f in frames { probe.ingest(f.bytes, at: f.time) }
        if let last = probe.lastTime { probe.advance(to: last) }
        let rule = base.engine.configuration.detector
        let deadlines = probe.episodes.entries.flatMap { e -> [Int64] in
            [e.episode.start, e.episode.lastEvent + rule.quietNanoseconds, e.episode.start + rule.maxDurationNanoseconds]
                + (e.episode.end.map { [$0] } ?? [])
        }
        let (cuts, liquidationCuts) = LeakageCheck.cuts(frames, samples: leakageSamples, extra: deadlines)
        // Cuts re-run from scratch on a truncated file: spread over the data.
        let freshCount = min(freshRuns, cuts.count)
        let fresh = freshCount == 0 ? [] : (0..<freshCount).map { cuts[($0 * (cuts.count - 1)) / max(1, freshCount - 1)] }
        var kept: [Int64: LeakageObservation] = [:]
        var progress = ProgressLine(total: cuts.count, label: "leakage")
        var result: LeakageCheck.Result
        if injectPeekingFeature {
            result = LeakageCheck.run({ PeekingReplay(inner: base) }, frames: frames, cuts: cuts,
                                      progress: { done, _ in progress.update(done) })
        } else {
            result = LeakageCheck.run({ base }, frames: frames, cuts: cuts, keep: Set(fresh), kept: { kept[$0] = $1 },
                                      progress: { done, _ in progress.update(done) })
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cascade-leakage-\(getpid())").path
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            try LeakageCheck.freshRuns({ base }, frames: frames, cuts: fresh, expected: kept, directory: directory, into: &result)
        }
        progress.finish()
        print("leakage check: \(frames.count) frames, \(result.cuts) cuts (\(liquidationCuts) at liquidation receive times ± 1 ns, "
            + "the rest at second/minute boundaries after them, episode deadlines and sampled book/trade times), "
            + "\(result.vectorsCompared) vectors and \(result.detectorStatesCompared) detector states compared; "
            + "\(result.freshRuns) cuts re-run from scratch on the file truncated there")
        if result.passed {
            print("PASS: every feature, warm flag and detector state at each cut is identical on the full and the cut stream")
        } else {
            for m in result.mismatches { print("  at \(m.cut) (\(UTCFormat.milliseconds(m.cut / 1_000_000))): \(m.detail)") }
            throw CLIError(result.cuts == 0 ? "leakage check: no cut points in the data" : "leakage check FAILED: \(result.mismatches.count)+ cuts differ")
        }
    }
}

/// A deliberately broken pipeline for demonstrating the leakage check: it reads the next frame's receive time from
/// the frames ahead of it, as a simulator that preloads a whole file could.
struct PeekingReplay: LeakageSubject {
    var inner: FeatureReplay
    var peeked: Int64?

    mutating func ingest(_ frame: HeldFrame, lookahead: ArraySlice<HeldFrame>) {
        inner.ingest(frame, lookahead: lookahead)
        peeked = lookahead.first?.time.nanoseconds
    }

    mutating func observe(at t: Int64) -> LeakageObservation {
        var o = inner.observe(at: t)
        o.extra = ["next frame in \(peeked.map { String($0 - t) } ?? "none") ns"]
        return o
    }
}
