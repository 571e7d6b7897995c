// The decision path of Benchmarks/DecisionPath as a plain executable, for perf (not a benchmark: no statistics).
// Samples only the decisions when run under `perf record --control=fifo:CTL,ACK -D -1` with PERF_CTL=CTL PERF_ACK=ACK:
//   CASCADE_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product DecisionProfile
//   mkfifo /tmp/ctl /tmp/ack; PERF_CTL=/tmp/ctl PERF_ACK=/tmp/ack perf record -D -1 --control=fifo:/tmp/ctl,/tmp/ack -g -o /tmp/p.data \
//     taskset -c 0 .build-bench/release/DecisionProfile [engine | requests | heap | week | weekab | weekperf | phaseperf | sizes | grind]
// Without an argument (or `heap`: the heap pre-grown first, see `preGrowHeap`): the decision's p50/p99 on cold states
// (to the first signed create, as the live sender sends it), its phase split cold and warm, the warm lower bound, the
// engine with earlier ladders, and what parsing a create body with JSONSerialization costs (BENCHMARKS.md reads these
// lines).
import DecisionPathSupport
import BybitV5
import CascadeCore
import Execution
import FeatureReplay
import Features
import MarketData
import Foundation

let journal = InMemoryJournal()
var total = 0
func ns(_ d: Duration) -> Int { Int(d.components.seconds) * 1_000_000_000 + Int(d.components.attoseconds / 1_000_000_000) }
/// "p50 X p99 Y" of `values` (ns).
func percentiles(_ values: [Int]) -> String {
    let sorted = values.sorted()
    return "p50 \(sorted[sorted.count / 2]) p99 \(sorted[sorted.count * 99 / 100])"
}
/// Enables or disables perf's sampling. perf reads its control fifo in its own loop, so without an ack fifo
/// (`--control=fifo:CTL,ACK` and PERF_ACK=ACK) the switch takes effect some time after this returns; with one, this
/// waits for perf's "ack". Opening a fifo waits for its other end: with PERF_CTL (or PERF_ACK) set, run this under a
/// perf that has those fifos (`--control`), or it waits forever.
func perfControl(_ command: String) {
    let environment = ProcessInfo.processInfo.environment
    guard let path = environment["PERF_CTL"], let fd = Optional(open(path, O_WRONLY)), fd >= 0 else { return }
    _ = command.withCString { write(fd, $0, strlen($0)) }
    close(fd)
    guard let ackPath = environment["PERF_ACK"], let ack = Optional(open(ackPath, O_RDONLY)), ack >= 0 else { return }
    var buffer = [UInt8](repeating: 0, count: 8)
    _ = read(ack, &buffer, buffer.count)
    close(ack)
}

// `DecisionProfile engine` and `DecisionProfile requests` repeat one part of the path in a loop, for perf (perf samples
// only the loop): the engine's episode decision on copies of one fresh engine (the copies share its empty tables until
// the decision writes them; each copy is destroyed after its decision, which the loop's time includes and a decision's
// does not), and the two create-order bodies with their signatures. A loop runs with its code, branches and memory
// hot; its time per round is an upper bound on that work done hot, and about what the phase split reads warm.
// `DecisionProfile weekperf`: only cold decisions on production baselines (a week of history), perf enabled around
// them alone, in rounds of freshly prepared states.
if CommandLine.arguments.dropFirst().first == "weekperf" {
    var samples: [Int] = []
    for _ in 0..<4 {
        var states = (0..<300).map { _ in prepare(journal, week: true) }
        perfControl("enable\n")
        for i in states.indices {
            let start = ContinuousClock.now
            let decision = decide(&states[i], journal)
            samples.append(ns(ContinuousClock.now - start))
            total &+= decision.bytes + afterSend(decision, &states[i])
        }
        perfControl("disable\n")
    }
    print("production baselines, a week of history:", percentiles(samples), total)
    exit(0)
}

// `DecisionProfile grind [n]`: n (default 40) cold decisions on short baselines and nothing else timed, for callgrind,
// whose counts do not depend on this VM's noise (instructions, and misses of its simulated caches):
//   valgrind --tool=callgrind --cache-sim=yes --toggle-collect='$s19DecisionPathSupport6decide*' \
//     .build-bench/release/DecisionProfile grind
// A change too small to see in the timed rows (tenths of a µs) shows in these counts; they are a proxy, not a time.
if CommandLine.arguments.dropFirst().first == "grind" {
    let n = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 40
    var states = (0..<n).map { _ in prepare(journal) }
    for i in states.indices {
        let decision = decide(&states[i], journal)
        checkTwoCreates(decision, wholeLadder: false)
        total &+= decision.bytes + afterSend(decision, &states[i])
    }
    print("decided", n, total)
    exit(0)
}

// `DecisionProfile sizes`: the sizes of the values the decision moves (MemoryLayout, bytes).
if CommandLine.arguments.dropFirst().first == "sizes" {
    print("TradingEngine", MemoryLayout<TradingEngine>.size, "Ladder", MemoryLayout<Ladder>.size, "ManagedOrder", MemoryLayout<ManagedOrder>.size,
          "OrderSpec", MemoryLayout<OrderSpec>.size, "VenueCommand", MemoryLayout<VenueCommand>.size, "JournalEntry", MemoryLayout<JournalEntry>.size,
          "EngineStep", MemoryLayout<EngineStep>.size, "OrderIntent", MemoryLayout<OrderIntent>.size, "RiskState", MemoryLayout<RiskState>.size,
          "InstrumentRules", MemoryLayout<InstrumentRules>.size, "Instrument", MemoryLayout<Instrument>.size, "FeedState", MemoryLayout<FeedState>.size,
          "EngineConfiguration", MemoryLayout<EngineConfiguration>.size, "OrderLinkID", MemoryLayout<OrderLinkID>.size,
          "DecisionLogEntry", MemoryLayout<DecisionLogEntry>.size, "EngineInput", MemoryLayout<EngineInput>.size,
          "Decision", MemoryLayout<Execution.Decision>.size, "ExecutionReport", MemoryLayout<ExecutionReport>.size,
          "DetectorChange", MemoryLayout<DetectorChange>.size, "Liquidation", MemoryLayout<Liquidation>.size,
          "OrderPhase", MemoryLayout<OrderPhase>.size, "Rejection", MemoryLayout<Rejection>.size, "Protection", MemoryLayout<Protection>.size,
          "ClientOrderID", MemoryLayout<ClientOrderID>.size, "VenueOrderID?", MemoryLayout<VenueOrderID?>.size)
    exit(0)
}

// `DecisionProfile phaseperf engine|ingest [week] [heap]`: perf enabled around one phase alone (use the ack fifo, see
// `perfControl`), over rounds of freshly prepared cold states, so its profile has enough samples to read; prints that
// phase's p50/p99. `heap`: the heap pre-grown once, before the first round (each round's states then reuse the memory
// the previous round's freed). Each phase runs over all the round's states before the next phase starts, so the
// engine's state is colder here than in the phase split (where it decides right after its own ingest).
// `TOUCH=parts DecisionProfile phaseperf engine …`: the touch experiment. Before its timed engine phase, every other
// state has the named parts read (`book`, `bookhdr`, `tickers`, `sets`, `instr`, `config`, `engine`, comma-separated;
// `none`: the call alone), and the line after the p50 prints the touched and untouched states' p50s: how much of the
// phase's cold cost those parts' cache misses are. Compare with `TOUCH=none`, not with the untouched half: passing a
// state to the call already retains its top-level buffers (their headers come into cache), which alone read 0.5 µs
// faster on 2026-12-07. `ROUNDS=n` sets the number of rounds of prepared states (a week's rounds take ~25 s each).
nonisolated(unsafe) var touchTotal = 0
func touch(_ p: Prepared, _ parts: String) -> Int {
    var t = 0
    if parts == "none" { return 0 }
    let feed = p.replay.feed
    for part in parts.split(separator: ",") {
        switch part {
        case "book":
            for b in feed.books {
                let bid: Int64 = b.bestBid?.price.units ?? 0, ask: Int64 = b.bestAsk?.price.units ?? 0
                t &+= Int(bid &+ ask) &+ b.depth
                t &+= b.isSynced ? 1 : 0
            }
        case "bookhdr":
            for b in feed.books {
                let ms: Int64 = b.lastExchangeTime?.milliseconds ?? 0
                t &+= b.depth &+ Int(ms)
                t &+= b.isSynced ? 1 : 0
            }
        case "tickers":
            for (_, v) in feed.tickers {
                let m: Int64 = v.fields.markPrice?.units ?? 0, l: Int64 = v.fields.lastPrice?.units ?? 0
                t &+= Int(m &+ l)
            }
        case "sets":
            t &+= feed.interruptedTrades.count &+ feed.tradesAwaitingBook.count
            t &+= feed.interruptedTrades.contains(SymbolID(index: 0)) ? 1 : 0
        case "instr":
            let ins = p.replay.decoder.instruments
            if let id = ins.lookup("BTCUSDT") { t &+= Int(ins[id].rules?.tickSize.units ?? 0) }
        case "config":
            let c = p.engine.configuration
            t &+= c.offsetsBps.count &+ (c.symbols?.count ?? 0) &+ c.node.utf8.count &+ c.breakers.postOnlyWindow
        case "engine":
            let e = p.engine
            t &+= e.activeLadder.count &+ e.positions.count
            t &+= e.knownRules.count &+ e.postOnlyOutcomes.count
            t &+= e.tracker.orders.count &+ e.portfolio.ledgers.count
            t &+= e.ladders.count &+ (e.risk.peakEquity == nil ? 0 : 1)
        default: fatalError("unknown touch part \(part)")
        }
    }
    return t
}

if CommandLine.arguments.dropFirst().first == "phaseperf" {
    let options = CommandLine.arguments.dropFirst(2)
    guard let phase = options.first, ["engine", "ingest"].contains(phase),
          options.dropFirst().allSatisfy({ ["week", "heap"].contains($0) }) else {
        fatalError("usage: [TOUCH=parts] [ROUNDS=n] DecisionProfile phaseperf engine|ingest [week] [heap]")
    }
    let week = options.contains("week")
    let rounds = ProcessInfo.processInfo.environment["ROUNDS"].flatMap { Int($0) } ?? (week ? 20 : 8)
    guard rounds > 0 else { fatalError("ROUNDS must be at least 1") }
    // Read once: the environment is rebuilt (allocated) on every read, which between samples would move the heap.
    let touchParts = phase == "engine" ? ProcessInfo.processInfo.environment["TOUCH"] : nil
    var n = 0
    var times: [Int] = []
    var touched: [Int] = [], untouched: [Int] = []
    if options.contains("heap") { preGrowHeap(megabytes: 2_048) }
    for _ in 0..<rounds {
        var states = (0..<(week ? 300 : 2_000)).map { _ in prepare(journal, week: week) }
        let frame = frames[cascadeIndex]
        var ingested: [FeatureReplay.Ingested] = []
        ingested.reserveCapacity(states.count)
        times.reserveCapacity(times.count + states.count)
        if phase == "ingest" { perfControl("enable\n") }
        for i in states.indices {
            let start = ContinuousClock.now
            ingested.append(states[i].replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0), detectorsFirst: true))
            if phase == "ingest" { times.append(ns(ContinuousClock.now - start)) }
        }
        perfControl(phase == "ingest" ? "disable\n" : "enable\n")
        for i in states.indices {
            guard case let .event(event)? = ingested[i].input, let time = event.exchangeTime else { continue }
            let touches = touchParts != nil && i % 2 == 0
            if touches, let touchParts { touchTotal &+= touch(states[i], touchParts) }
            let start = ContinuousClock.now
            let steps = engineSteps(&states[i], event: event, changes: ingested[i].detector, at: time)
            if phase == "engine" {
                let elapsed = ns(ContinuousClock.now - start)
                times.append(elapsed)
                if touches { touched.append(elapsed) } else { untouched.append(elapsed) }
            }
            n &+= steps.reduce(0) { $0 + $1.commands.count }
        }
        if phase == "engine" { perfControl("disable\n") }
    }
    precondition(!times.isEmpty && n == 2 * times.count, "a decision did not place two entries")
    print(phase == "engine" ? "engine (liquidation and episode):" : "ingest (decode, feed, detector):", percentiles(times))
    if touchParts != nil { print("touched:", percentiles(touched), "untouched:", percentiles(untouched), touchTotal) }
    exit(0)
}

// `DecisionProfile weekab`: cold decisions on production baselines, alternately with the feature update deferred
// (as the lanes run it) and whole inside the timing, in one process: the paired comparison.
if CommandLine.arguments.dropFirst().first == "weekab" {
    var deferred: [Int] = [], whole: [Int] = []
    for _ in 0..<3 {
        var states = (0..<200).map { _ in prepare(journal, week: true) }
        for i in states.indices {
            let first = i % 2 == 0
            let start = ContinuousClock.now
            let decision = decide(&states[i], journal, detectorsFirst: first)
            if first { deferred.append(ns(ContinuousClock.now - start)) } else { whole.append(ns(ContinuousClock.now - start)) }
            checkTwoCreates(decision, wholeLadder: false)
            total &+= decision.bytes + afterSend(decision, &states[i])
        }
    }
    print("production baselines, features' symbol half after the send:", percentiles(deferred))
    print("production baselines, whole feature update in the timing:", percentiles(whole), total)
    exit(0)
}

if CommandLine.arguments.count > 1, CommandLine.arguments[1] != "heap", CommandLine.arguments[1] != "week" {
    var base = prepare(journal)
    let frame = frames[cascadeIndex]
    let ingested = base.replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0))
    guard case let .event(event)? = ingested.input, let time = event.exchangeTime, let change = ingested.detector.first else {
        fatalError("the cascade frame did not start an episode")
    }
    let feed = base.replay.feed, instruments = base.replay.decoder.instruments
    var scratch = base.engine
    let step = scratch.handle(.detector(change), feed: feed, instruments: instruments, now: time)
    precondition(step.commands.count == 2, "the decision did not place two entries")
    let rounds = 300_000
    var n = 0
    let start = ContinuousClock.now
    perfControl("enable\n")
    switch CommandLine.arguments[1] {
    case "engine":
        for _ in 0..<rounds {
            var engine = base.engine
            // As the live trader decides: the decision applied after the send, outside the loop's profile.
            n &+= engine.handle(.detector(change), feed: feed, instruments: instruments, now: time, applyingLater: true).commands.count
        }
        precondition(n == 2 * rounds, "a looped decision did not place two entries")
    case "requests":
        for _ in 0..<rounds {
            for command in step.commands {
                guard let request = createOrderRequest(command, instruments: instruments) else { continue }
                n &+= request.bodyBytes.count + sign(request, at: time).utf8.count
            }
        }
    default:
        fatalError("usage: DecisionProfile [engine | requests | heap | week | weekab | weekperf | phaseperf | sizes | grind]")
    }
    perfControl("disable\n")
    print(CommandLine.arguments[1], "loop:", ns(ContinuousClock.now - start) / rounds, "ns per round", n)
    exit(0)
}

var samples: [Int] = []
let prepStart = ContinuousClock.now
var states = (0..<3_000).map { _ in prepare(journal) }
print("prepared in", ContinuousClock.now - prepStart)
// `DecisionProfile heap`: the heap pre-grown once the states are prepared (see `preGrowHeap`).
let heapPreGrown = CommandLine.arguments.dropFirst().first == "heap"
if heapPreGrown { preGrowHeap() }
for _ in 0..<3 {
    perfControl("enable\n")
    defer { perfControl("disable\n") }
    for i in 0..<states.count {
        let start = ContinuousClock.now
        let decision = decide(&states[i], journal)
        samples.append(ns(ContinuousClock.now - start))
        checkTwoCreates(decision, wholeLadder: false)
        total &+= decision.bytes + afterSend(decision, &states[i])
    }
    break
}
states = []
print("to the first request\(heapPreGrown ? " (heap pre-grown)" : ""):", percentiles(samples), total)

// Phase split of the same decision (ns, p50 over fresh states): where the time goes. `warm`: a scratch copy of each
// state decides first (untimed, as for the lower bound below), so the split shows the path's own work without the
// cache misses and page faults of a state last touched long ago; the difference between the two splits is what
// being cold costs in each phase.
@MainActor func phaseSplit(warm: Bool, week: Bool = false) {
    var phases: [[Int]] = Array(repeating: [], count: 8)
    var fresh = (0..<(week ? 300 : 1_000)).map { _ in prepare(journal, week: week) }
    for i in 0..<fresh.count {
        if warm {
            var scratch = fresh[i]
            total &+= decide(&scratch, journal).bytes
        }
        let frame = frames[cascadeIndex]
        var t0 = ContinuousClock.now
        let ingested = fresh[i].replay.ingest(frame.1, at: LocalTime(nanoseconds: frame.0), detectorsFirst: true)
        phases[0].append(ns(ContinuousClock.now - t0))
        guard case let .event(event)? = ingested.input, let time = event.exchangeTime else { continue }
        t0 = ContinuousClock.now
        var steps: [EngineStep] = []
        if case let .liquidations(list) = event {
            for l in list { steps.append(fresh[i].engine.handle(.liquidation(l), feed: fresh[i].replay.feed, instruments: fresh[i].replay.decoder.instruments, now: time, applyingLater: true)) }
        }
        phases[1].append(ns(ContinuousClock.now - t0))
        t0 = ContinuousClock.now
        for change in ingested.detector {
            steps.append(fresh[i].engine.handle(.detector(change), feed: fresh[i].replay.feed, instruments: fresh[i].replay.decoder.instruments, now: time, applyingLater: true))
        }
        phases[2].append(ns(ContinuousClock.now - t0))
        t0 = ContinuousClock.now
        for step in steps where !step.entries.isEmpty { try! journal.commit(step.entries) }
        phases[3].append(ns(ContinuousClock.now - t0))
        // The first create only: the sender builds the next after the first call's answer.
        guard let command = steps.lazy.flatMap(\.commands).first(where: { if case .submit = $0.action { true } else { false } }) else {
            preconditionFailure("the decision placed no entry")
        }
        t0 = ContinuousClock.now
        let request = createOrderRequest(command, instruments: fresh[i].replay.decoder.instruments)!
        phases[4].append(ns(ContinuousClock.now - t0))
        t0 = ContinuousClock.now
        let bytes = sign(request, at: time).utf8.count
        phases[5].append(ns(ContinuousClock.now - t0))
        precondition(bytes > 0 && request.bodyBytes.count > 0)
        t0 = ContinuousClock.now
        fresh[i].replay.completeDeferred()
        phases[6].append(ns(ContinuousClock.now - t0))
        t0 = ContinuousClock.now
        fresh[i].engine.completePending()
        phases[7].append(ns(ContinuousClock.now - t0))
    }
    fresh = []
    print(warm ? "phases, state in cache\(week ? ", a week of history" : ""):" : "phases, state cold\(week ? ", a week of history" : ""):")
    for (name, values) in zip(["ingest (decode, feed, detector)", "engine: liquidation", "engine: episode → ladder", "journal commit", "first request body", "first signature", "after the send: the features' deferred half", "after the send: the decision applied"], phases) {
        let sorted = values.sorted()
        print(" ", name, "p50", sorted[sorted.count / 2], "ns")
    }
}
phaseSplit(warm: false)
phaseSplit(warm: true)
if CommandLine.arguments.dropFirst().first == "week" {
    phaseSplit(warm: false, week: true)
    phaseSplit(warm: true, week: true)
    exit(0)
}

// The same decision on a state fully in cache, as a lower bound: a scratch copy of the state decides first (untimed),
// which reads every buffer the decision reads (its copy-on-write copies read the originals) and runs the same code;
// the scratch copy is gone before the timed decision, so that one writes its own, unshared state.
do {
    var states = (0..<1_000).map { _ in prepare(journal) }
    var hot: [Int] = []
    for i in 0..<states.count {
        do {
            var scratch = states[i]
            total &+= decide(&scratch, journal).bytes
        }
        let start = ContinuousClock.now
        total &+= decide(&states[i], journal).bytes
        hot.append(ns(ContinuousClock.now - start))
    }
    print("state in cache (lower bound):", percentiles(hot))
}

/// Each state's decision timed once (ns), each checked to open a two-layer ladder.
@MainActor func timedDecisions(_ states: inout [Prepared]) -> [Int] {
    states.indices.map { i in
        let start = ContinuousClock.now
        let decision = decide(&states[i], journal)
        let elapsed = ns(ContinuousClock.now - start)
        checkTwoCreates(decision, wholeLadder: false)
        return elapsed
    }
}

// The decision with the feature engine's production baselines full (a week of history; see `weekOfHistory`): the
// detector's 10,080-minute baselines are what a running node's decision reads and updates.
do {
    let start = ContinuousClock.now
    _ = weekOfHistory.count
    var states = (0..<500).map { _ in prepare(journal, week: true) }
    print("a week of history prepared in", ContinuousClock.now - start)
    print("production baselines, a week of history:", percentiles(timedDecisions(&states)))
}

// The decision of an engine that has traded 4 ladders before (tables, rules and risk memory as a running node's).
do {
    var states = (0..<1_000).map { _ in prepare(journal, history: 4) }
    print("engine with 4 earlier ladders:", percentiles(timedDecisions(&states)))
}

// What the REST client's orderLinkId check cost on every create until 2026-12-06: the body parsed with
// JSONSerialization (now the typed request carries the count; only a body given as text is parsed).
do {
    var state = prepare(journal)
    let decision = decide(&state, journal)
    let command = decision.queued[0]
    let body = Data(createOrderRequest(command, instruments: state.replay.decoder.instruments)!.body.utf8)
    var parse: [Int] = []
    for _ in 0..<1_000 {
        let start = ContinuousClock.now
        let object = try? JSONSerialization.jsonObject(with: body)
        parse.append(ns(ContinuousClock.now - start))
        precondition((object as? [String: Any])?["orderLinkId"] is String, "the body did not parse")
    }
    print("a create body parsed by JSONSerialization:", percentiles(parse))
}
