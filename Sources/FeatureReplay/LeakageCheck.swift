public import CascadeCore
import BybitV5
public import Features
import Foundation
import Recording

/// Why the leakage check could not run.
public enum LeakageCheckError: Error, CustomStringConvertible {
    case cannotWrite(String)
    public var description: String {
        switch self {
        case let .cannotWrite(path): "cannot write \(path)"
        }
    }
}

/// One frame held in memory for the leakage check.
public struct HeldFrame: Sendable {
    public var time: LocalTime
    public var bytes: [UInt8]
    /// True for liquidation frames (their receive times are cut points).
    public var isLiquidation: Bool
    /// True for the recorder's session marks (connect, disconnect, gap): cut points too.
    public var isSession: Bool
    public init(time: LocalTime, bytes: [UInt8]) {
        self.time = time
        self.bytes = bytes
        let topic = BybitTopic.name(in: bytes)
        isLiquidation = topic.map { $0.hasPrefix("allLiquidation.") || $0.hasPrefix("liquidation.") } ?? false
        isSession = topic == "_cascade.session"
    }
}

/// What a pipeline knows at a cut time: compared between the full stream and the stream cut there.
public struct LeakageObservation: Equatable, Sendable {
    public var vectors: [FeatureVector]
    public var detectors: [DetectorSnapshot]
    /// Anything else a subject exposes (the deliberately peeking test subject puts its peeked value here).
    public var extra: [String]

    public init(vectors: [FeatureVector], detectors: [DetectorSnapshot], extra: [String] = []) {
        self.vectors = vectors
        self.detectors = detectors
        self.extra = extra
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.detectors == b.detectors && a.extra == b.extra && a.vectors.count == b.vectors.count
            && zip(a.vectors, b.vectors).allSatisfy { $0.isIdentical(to: $1) }
    }
}

/// The detector state that matters at a cut: armed, thresholds, windows, the open episode and the episodes so far.
public struct DetectorSnapshot: Equatable, Sendable {
    public var symbol: String
    public var source: LiquidationSource
    public var armed: Bool
    public var thresholds: [Int64?]
    public var windows: [Int64]
    public var open: CascadeEpisode?
    public var episodesSoFar: Int
    public var lastEpisodeID: String?
}

/// A pipeline the leakage check can drive: frames are pushed one at a time with the frames the driver lets it see
/// after them (`lookahead`); a correct pipeline ignores them, a peeking one reads them.
public protocol LeakageSubject {
    mutating func ingest(_ frame: HeldFrame, lookahead: ArraySlice<HeldFrame>)
    mutating func observe(at t: Int64) -> LeakageObservation
}

extension FeatureReplay: LeakageSubject {
    public mutating func ingest(_ frame: HeldFrame, lookahead: ArraySlice<HeldFrame>) {
        ingest(frame.bytes, at: frame.time)
    }

    public mutating func observe(at t: Int64) -> LeakageObservation {
        let vectors = vectors(at: t)
        let closed = episodes.entries
        let snapshots = engine.allDetectors.map { d in
            let mine = closed.filter { $0.episode.symbol == d.symbol && $0.episode.source == d.source }
            return DetectorSnapshot(symbol: d.symbol, source: d.source, armed: d.isArmed,
                                    thresholds: [d.threshold(.long), d.threshold(.short)],
                                    windows: [d.windowNotional(.long), d.windowNotional(.short)], open: d.open,
                                    episodesSoFar: mine.count, lastEpisodeID: mine.last?.episode.id)
        }
        return LeakageObservation(vectors: vectors, detectors: snapshots)
    }
}

/// Truncation invariance: what the pipeline knows at `t` must be identical on the full stream and on the stream cut
/// at `t`.
///
/// Run A is the full stream, queried at every cut (each frame sees the rest of the file as lookahead). Run B never
/// receives a frame after the cut it is answering for and is never queried itself: at each cut, a copy of it is
/// queried (a copy is a fresh run on the stream cut there, because the pipeline is a value). So B also catches a
/// query that changes later answers, and A ≠ B at any cut is look-ahead.
public struct LeakageCheck {
    public struct Mismatch: Sendable {
        public var cut: Int64
        public var detail: String
    }

    public struct Result: Sendable {
        public var cuts = 0
        /// Cuts re-run from scratch on a file truncated there, through the same reader as `cascade features`.
        public var freshRuns = 0
        public var liquidationCuts = 0
        public var vectorsCompared = 0
        public var detectorStatesCompared = 0
        public var mismatches: [Mismatch] = []
        public var passed: Bool { mismatches.isEmpty && cuts > 0 }
    }

    /// Cut times: every liquidation and session-mark receive time − 1 ns, itself and + 1 ns; the next second and
    /// minute boundary after each (± 1 ns: where bars close and baselines take a minute); `extra` times ± 1 ns (episode deadlines);
    /// and `samples` book/trade receive times spread evenly over the other frames (deterministic).
    public static func cuts(_ frames: [HeldFrame], samples: Int, extra: [Int64] = []) -> (all: [Int64], liquidation: Int) {
        var cuts = Set<Int64>()
        let second: Int64 = 1_000_000_000, minute: Int64 = 60_000_000_000
        for f in frames where f.isLiquidation || f.isSession {
            let t = f.time.nanoseconds
            if f.isSession { for d in [-1, 0, 1] as [Int64] { cuts.insert(t + d) } }
            for boundary in [(t / second + 1) * second, (t / minute + 1) * minute] {
                for d in [-1, 0, 1] as [Int64] { cuts.insert(boundary + d) }
            }
        }
        for t in extra { for d in [-1, 0, 1] as [Int64] { cuts.insert(t + d) } }
        var liquidationCuts = Set<Int64>()
        for f in frames where f.isLiquidation {
            for d in [-1, 0, 1] as [Int64] { liquidationCuts.insert(f.time.nanoseconds + d) }
        }
        let others = frames.filter { !$0.isLiquidation }
        if !others.isEmpty && samples > 0 {
            let step = max(1, others.count / samples)
            for i in stride(from: 0, to: others.count, by: step) { cuts.insert(others[i].time.nanoseconds) }
        }
        cuts.formUnion(liquidationCuts)
        return (cuts.sorted(), liquidationCuts.count)
    }

    /// Runs both streams over `frames` (in receive order) and compares at every cut.
    public static func run<S: LeakageSubject>(_ make: () -> S, frames: [HeldFrame], cuts: [Int64],
                                              maxMismatches: Int = 20, keep: Set<Int64> = [],
                                              kept: ((Int64, LeakageObservation) -> Void)? = nil,
                                              progress: ((Int, Int) -> Void)? = nil) -> Result {
        var result = Result()
        result.cuts = cuts.count
        var full = make()
        var truncated = make()
        var next = 0
        for (k, cut) in cuts.enumerated() {
            while next < frames.count && frames[next].time.nanoseconds <= cut {
                full.ingest(frames[next], lookahead: frames[(next + 1)...])
                // B sees only up to the cut it answers next.
                var end = next + 1
                while end < frames.count && frames[end].time.nanoseconds <= cut { end += 1 }
                truncated.ingest(frames[next], lookahead: frames[(next + 1)..<end])
                next += 1
            }
            var copy = truncated
            let a = full.observe(at: cut)
            if keep.contains(cut) { kept?(cut, a) }
            let b = copy.observe(at: cut)
            result.vectorsCompared += a.vectors.count
            result.detectorStatesCompared += a.detectors.count
            if a != b, result.mismatches.count < maxMismatches {
                result.mismatches.append(Mismatch(cut: cut, detail: describe(a, b)))
            }
            progress?(k + 1, cuts.count)
        }
        return result
    }

    /// The strongest form of the check: for each of `cuts`, the frames received up to it are written to a new file
    /// and a fresh pipeline from `make` reads that file through `Replayer` (the reader `cascade features` uses);
    /// its answer must equal run A's at that cut (`expected`). A pipeline that read ahead anywhere between the file
    /// and the engine fails here.
    public static func freshRuns(_ make: () -> FeatureReplay, frames: [HeldFrame], cuts: [Int64],
                                 expected: [Int64: LeakageObservation], directory: String,
                                 into result: inout Result, maxMismatches: Int = 20) throws {
        for cut in cuts {
            guard let want = expected[cut] else { continue }
            let path = directory + "/cut-\(cut).frames"
            var text: [UInt8] = []
            for f in frames where f.time.nanoseconds <= cut {
                text += Array("\(f.time.nanoseconds) ".utf8)
                text += f.bytes
                text.append(UInt8(ascii: "\n"))
            }
            guard FileManager.default.createFile(atPath: path, contents: Data(text)) else {
                throw LeakageCheckError.cannotWrite(path)
            }
            defer { try? FileManager.default.removeItem(atPath: path) }
            var fresh = make()
            var replayer = try Replayer(paths: [path])
            while let frame = try replayer.next() {
                fresh.ingest(frame.json.assumingMemoryBound(to: UInt8.self), at: frame.localTime)
            }
            let got = fresh.observe(at: cut)
            result.freshRuns += 1
            if got != want, result.mismatches.count < maxMismatches {
                result.mismatches.append(Mismatch(cut: cut, detail: "fresh run on the file cut there: " + describe(want, got)))
            }
        }
    }

    static func describe(_ a: LeakageObservation, _ b: LeakageObservation) -> String {
        if a.extra != b.extra { return "extra: full \(a.extra) vs cut \(b.extra)" }
        if a.detectors != b.detectors {
            for (x, y) in zip(a.detectors, b.detectors) where x != y {
                return "detector \(x.symbol)/\(x.source.rawValue): full \(x) vs cut \(y)"
            }
            return "detectors: \(a.detectors.count) vs \(b.detectors.count)"
        }
        for (x, y) in zip(a.vectors, b.vectors) where !x.isIdentical(to: y) {
            if let i = x.values.indices.first(where: { x.values[$0].bitPattern != y.values[$0].bitPattern || x.warm[$0] != y.warm[$0] }) {
                return "\(x.symbol) feature #\(i): full \(x.values[i]) (warm \(x.warm[i])) vs cut \(y.values[i]) (warm \(y.warm[i]))"
            }
        }
        return "vectors: \(a.vectors.count) vs \(b.vectors.count)"
    }
}
