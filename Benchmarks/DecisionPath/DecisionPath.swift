// The decision path: one allLiquidation frame's bytes in → decoder → FeedState → features and detector → trading
// engine → journal commit → the first signed Bybit create-order request's bytes out (release build, one core:
// `taskset -c 0`). The first request is the one the live node sends first: its sender (`LiveTrader.sendLoop`) makes
// one call at a time and builds each request when its turn comes, so the ladder's second create is built and signed
// after the first call's answer (untimed here, one round trip later live). A comparison row signs both inside the
// timing, as every row did before the sender model was made sequential. The decision's application to the engine's
// state (its orders' and ladder's records) and the features' deferred half run after the first request, untimed
// (`afterSend`), as the live trader runs them in its frame's second lock section.
//
//   CASCADE_BENCHMARKS=1 taskset -c 0 swift package --scratch-path .build-bench benchmark --target DecisionPath
//
// The market is the named synthetic cascade (CascadeTesting's SyntheticCascade, seed 7): the real data has no
// book during a cascade, so no real figure exists. Each sample is one decision that opens a two-layer ladder, timed
// alone on a state rebuilt from the frames before the cascade (never a copy-on-write copy of a shared one). Measured
// once with the in-memory journal and once with the SQLite journal (WAL, synchronous=FULL) in the working directory:
// the difference is the cost of durability on this disk. Another row times the in-memory decision right after its
// state ingested the frame before the cascade frame (untimed), as a running node's market and feature state is in
// cache (the engine's own state is not touched by a market frame); the first row (state last touched 100 samples
// earlier) stays the one held against the target. Another decides on an engine that has traded 4 ladders to
// their end first, as a running node's has (a fresh engine's first ladder creates and grows every table and journals
// its instrument's rules). Another decides with the heap pre-grown: the benchmark holds its states, so its heap only
// grows and each sample faults in fresh pages, which a node allocating from memory it freed before mostly does not.
// The last decides with the feature engine a node runs by default (the detector's baselines span a week, the feature
// baselines a day; the other rows shorten them to the cascade's 6 minutes of data), full after a week of synthetic
// history: the cascade frame opens a minute, so the minute's bins are settled into week-long order statistics. The
// two "create-batch" rows sign both creates in one request, as the live sender sends a ladder with `live.batchEntries`:
// the time from the frame to the whole ladder's request.
import Benchmark
import DecisionPathSupport
import Execution
import Foundation
import Storage

let decisionNanoseconds = BenchmarkMetric.custom("decision path (ns)", polarity: .prefersSmaller, useScalingFactor: false)

/// `afterFrameBefore`: each state is one frame short and ingests that frame (untimed) just before its decision, so
/// the decision runs on market and feature state in cache, as a running node's is; otherwise the state was last touched 100 samples
/// earlier (the conservative row).
/// `history`: the engine has traded that many ladders to their end first (a running node's tables, rules and risk
/// memory; see `prepare(_:history:)`).
/// `wholeLadder`: both creates are signed inside the timing (the comparison row).
/// `heapPreGrown`: the heap is grown and kept once the states are prepared (`preGrowHeap`: process-wide; the benchmark
/// tool runs each benchmark in a process of its own).
/// `week`: the feature engine has the production baselines, full after a week of history (`weekOfHistory`).
/// `batch`: both creates in one signed `create-batch` request (`live.batchEntries`: the whole ladder out in one call).
func register(_ name: String, afterFrameBefore: Bool = false, history: Int = 0, wholeLadder: Bool = false, heapPreGrown: Bool = false,
              week: Bool = false, batch: Bool = false, journal makeJournal: @escaping @Sendable () -> any OrderJournal) {
    Benchmark(name) { benchmark in
        let journal = makeJournal()
        var states = (0..<100).map { _ in
            history > 0 ? prepare(journal, history: history)
                : prepare(journal, framesBefore: afterFrameBefore ? cascadeIndex - 1 : cascadeIndex, week: week)
        }
        if afterFrameBefore { ingestFrameBefore(&states[0]) }
        if heapPreGrown { preGrowHeap(megabytes: 64) }
        // Every sample must be a real decision: a ladder of two creates, the first signed (both when `wholeLadder`).
        let first = decide(&states[0], journal, wholeLadder: wholeLadder, batch: batch)
        checkTwoCreates(first, wholeLadder: wholeLadder || batch)
        blackHole(afterSend(first, &states[0]))
        benchmark.startMeasurement()
        for i in 1..<states.count {
            if afterFrameBefore { ingestFrameBefore(&states[i]) }
            let start = ContinuousClock.now
            let decision = decide(&states[i], journal, wholeLadder: wholeLadder, batch: batch)
            let elapsed = ContinuousClock.now - start
            // Untimed: the sample checked, and the work after the first order left (the queued create signed, the
            // feature state the cascade frame's ingest left for after the send; see `afterSend`).
            checkTwoCreates(decision, wholeLadder: wholeLadder || batch)
            blackHole(decision.bytes + afterSend(decision, &states[i]))
            benchmark.measurement(decisionNanoseconds, Int(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000))
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [decisionNanoseconds], maxDuration: .seconds(30), maxIterations: 20)
    register("decision path, in-memory journal (synthetic cascade)") { InMemoryJournal() }
    register("decision path, in-memory journal, both creates signed (synthetic cascade)", wholeLadder: true) { InMemoryJournal() }
    register("decision path, in-memory journal, state just touched by the frame before (synthetic cascade)", afterFrameBefore: true) {
        InMemoryJournal()
    }
    register("decision path, in-memory journal, engine with 4 earlier ladders (synthetic cascade)", history: 4) { InMemoryJournal() }
    register("decision path, SQLite journal WAL synchronous=FULL on this disk (synthetic cascade)") {
        let path = FileManager.default.currentDirectoryPath + "/.build-bench/decision-path-journal-\(UUID().uuidString).sqlite"
        return try! SQLiteOrderJournal(path: path)
    }
    register("decision path, in-memory journal, heap pre-grown (synthetic cascade)", heapPreGrown: true) { InMemoryJournal() }
    register("decision path, in-memory journal, production baselines after a week of history (synthetic cascade)", week: true) {
        InMemoryJournal()
    }
    register("decision path, in-memory journal, both creates in one create-batch request (synthetic cascade)", batch: true) {
        InMemoryJournal()
    }
    register("decision path, in-memory journal, production baselines, both creates in one create-batch request (synthetic cascade)",
             week: true, batch: true) { InMemoryJournal() }
}
