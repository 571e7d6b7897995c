// The quoting workload of Benchmarks/Quoting as a plain executable, for perf (not a benchmark: no statistics).
//   CASCADE_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product QuotingProfile
//   perf record -g taskset -c 0 .build-bench/release/QuotingProfile [btcusdt|ethusdt] [rounds]
// Loads the capture, then runs the decoded-events loop `rounds` times (default 50) and prints the p50 per run.
import CascadeTesting
import QuotingSupport

let symbol = CommandLine.arguments.dropFirst().first ?? "btcusdt"
let rounds = max(1, CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) } ?? 50)
guard SharedData.isAvailable else { fatalError("../shared/data is absent") }
let capture = load("\(symbol)_2024-07-18T2357.frames.gz")
var times: [Duration] = []
var counts = fromEvents(capture)
for _ in 0..<rounds {
    let start = ContinuousClock.now
    counts = fromEvents(capture)
    times.append(ContinuousClock.now - start)
}
times.sort()
print(symbol, counts)
print("decoded events, p50 per run:", times[times.count / 2], "min:", times[0])
