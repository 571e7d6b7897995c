// The decision path of Benchmarks/DecisionPath as a plain executable, for perf (not a benchmark: no statistics).
// Samples only the decisions when run under `perf record --control=fifo:FIFO -D -1` with PERF_CTL=FIFO:
//   CASCADE_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product DecisionProfile
//   mkfifo /tmp/ctl; PERF_CTL=/tmp/ctl perf record -D -1 --control=fifo:/tmp/ctl --call-graph dwarf -o /tmp/p.data \
//     taskset -c 0 .build-bench/release/DecisionProfile
import DecisionPathSupport
import Execution
import Foundation

let journal = InMemoryJournal()
var total = 0
var samples: [Int] = []
let prepStart = ContinuousClock.now
var states = (0..<3_000).map { _ in prepare(journal) }
print("prepared in", ContinuousClock.now - prepStart)
func perfControl(_ command: String) {
    guard let path = ProcessInfo.processInfo.environment["PERF_CTL"], let fd = Optional(open(path, O_WRONLY)), fd >= 0 else { return }
    _ = command.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
for _ in 0..<3 {
    perfControl("enable\n")
    defer { perfControl("disable\n") }
    for i in 0..<states.count {
        let start = ContinuousClock.now
        total &+= decide(&states[i], journal)
        let e = ContinuousClock.now - start
        samples.append(Int(e.components.attoseconds / 1_000_000_000))
    }
    break
}
states = []
samples.sort()
print("p50", samples[samples.count / 2], "p99", samples[samples.count * 99 / 100], total)
