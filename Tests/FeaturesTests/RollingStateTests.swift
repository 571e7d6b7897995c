import CascadeCore
import Features
import Testing

/// The rolling structures against naive recomputation from their definitions, on seeded random streams.
@Suite struct RollingStateTests {
    @Test(arguments: [1, 7, 42] as [UInt64])
    func minuteBinsMatchTheirDefinition(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let minute = MinuteBins.minute
        var bins = MinuteBins(capacity: 50, lag: 1)
        let m0: Int64 = 28_000_000
        bins.observe(since: m0 * minute)
        var values: [Int64: Int64] = [:]
        var missing = Set<Int64>()
        var t = m0 * minute
        var lastMinute = m0
        for _ in 0..<3_000 {
            let jump = Int64(random.next(upperBound: UInt64(10))) == 0 ? Int64((random.next(upperBound: UInt64(200)))) * minute : Int64((random.next(upperBound: UInt64(20_000_000_000))))
            t += jump
            let m = t / minute
            let gap = Int64(random.next(upperBound: UInt64(5))) == 0 && m > lastMinute + 1
            if gap { for k in (lastMinute + 1)..<m { missing.insert(k) } }
            // Half the inputs are zeros: most liquidation minutes are.
            let v = Int64(random.next(upperBound: UInt64(2))) == 0 ? 0 : Int64((random.next(upperBound: UInt64(1_000))))
            // A gap: observed until the end of the last input's minute, as the detector's silence rule.
            bins.advance(to: t, observedUntil: gap ? (lastMinute + 1) * minute : nil)
            bins.add(v, at: t)
            values[m, default: 0] += v
            lastMinute = m
            // Definition: bins k with max(m0, M − 51) ≤ k ≤ M − 2 that are not missing.
            let expected = (max(m0, m - 51)...max(m0, m - 2)).filter { $0 <= m - 2 && !missing.contains($0) }
                .map { values[$0] ?? 0 }.sorted()
            #expect(bins.count == expected.count)
            if !expected.isEmpty {
                let i = (99 * expected.count + 99) / 100 - 1
                #expect(bins.percentile(99) == expected[i])
                #expect(bins.percentile(50) == expected[(50 * expected.count + 99) / 100 - 1])
            }
        }
    }

    @Test(arguments: [3, 11] as [UInt64])
    func windowedSumsMatchTheirDefinition(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        let windows: [Int64] = [1, 5, 60].map { $0 * 1_000_000_000 }
        var sums = WindowedSums(windows: windows.map { .nanoseconds($0) })
        var entries: [(Int64, Int64)] = []
        var t: Int64 = 1_000_000_000_000
        for _ in 0..<5_000 {
            t += Int64((random.next(upperBound: UInt64(800_000_000))))
            let v = Int64((random.next(upperBound: UInt64(1_000))))
            if Int64(random.next(upperBound: UInt64(3))) == 0 { sums.advance(to: t) } else {
                sums.add(v, at: t)
                entries.append((t, v))
            }
            // Only the last minute can be inside any window: keep the naive list short (the suite shares two cores).
            entries.removeAll { $0.0 <= t - windows.last! }
            for (i, w) in windows.enumerated() {
                let inside = entries.filter { $0.0 > t - w && $0.0 <= t }
                #expect(sums.sum(i) == inside.reduce(0) { $0 + $1.1 })
                #expect(sums.entries(i) == inside.count)
            }
        }
    }

    @Test func rollingRankIsTheMidRankOverItsHorizonOnHalfPercentBuckets() {
        var random = SeededRandom(seed: 5)
        var rank = RollingRank(horizon: .seconds(100))
        var held: [(Int64, Int64)] = []
        var t: Int64 = 0
        for _ in 0..<2_000 {
            t += Int64(random.next(upperBound: UInt64(3_000_000_000)))
            let v = Int64(random.next(upperBound: UInt64(1_000_000_000))) + 1
            rank.advance(to: t)
            held.removeAll { $0.0 <= t - 100_000_000_000 }
            #expect(rank.count == held.count)
            if !held.isEmpty {
                // Definition on the grid: values in lower buckets, plus half of those in the same bucket.
                let b = RollingRank.bucket(v)
                let lower = held.filter { RollingRank.bucket($0.1) < b }.count
                let same = held.filter { RollingRank.bucket($0.1) == b }.count
                #expect(rank.rank(of: v) == (Double(lower) + Double(same) / 2) / Double(held.count))
                // The grid is fine: a value 1 % larger than every held one ranks at 1.
                #expect(rank.rank(of: held.map(\.1).max()! * 101 / 100 + 1) == 1)
            }
            rank.add(v, at: t)
            held.append((t, v))
        }
    }
}
