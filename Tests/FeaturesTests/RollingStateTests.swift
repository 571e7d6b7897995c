import CascadeCore
import Features
import Foundation
import Testing

/// The rolling structures against naive recomputation from their definitions, on seeded random streams.
@Suite struct RollingStateTests {
    /// `tracked`: the bins keep a copy of that percentile's neighbourhood (as the detector's do) and answer from it
    /// when it reaches the rank; every percentile must still be exact.
    @Test(arguments: [1, 7, 42] as [UInt64], [nil, 99, 50] as [Int?])
    func minuteBinsMatchTheirDefinition(seed: UInt64, tracked: Int?) {
        var random = SeededRandom(seed: seed)
        let minute = MinuteBins.minute
        var bins = MinuteBins(capacity: 50, lag: 1)
        if let tracked { bins.track(percentile: tracked) }
        // The same bins with every boundary moved in at once, as before the values were staged.
        var eager = MinuteBins(capacity: 50, lag: 1)
        let m0: Int64 = 28_000_000
        bins.observe(since: m0 * minute)
        eager.observe(since: m0 * minute)
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
            bins.advance(to: t, observedUntil: gap ? (lastMinute + 1) * minute : nil, staging: true)
            bins.add(v, at: t)
            eager.advance(to: t, observedUntil: gap ? (lastMinute + 1) * minute : nil)
            eager.add(v, at: t)
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
            // Read with its boundary's values still staged, the bins answer as the ones that moved them in at once, at
            // every percentile, and save the same bytes.
            #expect(bins.count == eager.count)
            for p in 1...100 where bins.percentile(p) != eager.percentile(p) { Issue.record("percentile \(p) differs from the settled bins") }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            #expect(try! encoder.encode(bins) == encoder.encode(eager))
        }
    }

    /// A long window (its blocks split, merge and empty as minutes come and go): every order statistic equals the
    /// sorted window's, duplicates and zeros included.
    @Test(arguments: [5, 23] as [UInt64], [nil, 99] as [Int?])
    func aLongWindowKeepsExactOrderStatistics(seed: UInt64, tracked: Int?) {
        var random = SeededRandom(seed: seed)
        let minute = MinuteBins.minute, capacity = 3_000
        var bins = MinuteBins(capacity: capacity, lag: 0)
        if let tracked { bins.track(percentile: tracked) }
        let m0: Int64 = 28_000_000
        bins.observe(since: m0 * minute)
        var window: [Int64] = [], sorted: [Int64] = [], previous: Int64?
        func lowerBound(_ v: Int64) -> Int { sorted.firstIndex { $0 >= v } ?? sorted.count }
        for k in 0..<12_000 {
            let m = m0 + Int64(k)
            // A level drifting up, then down (blocks at one end drain, merge and go while the other end splits), then
            // small values (many duplicates), then mostly zeros with a few wide values.
            let v: Int64 = switch k / 3_000 {
            case 0: Int64(k) * 1_000 + Int64(random.next(upperBound: UInt64(200_000)))
            case 1: Int64(6_000 - k) * 1_000 + Int64(random.next(upperBound: UInt64(200_000)))
            case 2: Int64(random.next(upperBound: UInt64(20)))
            default: random.next(upperBound: UInt64(4)) == 0 ? Int64(random.next(upperBound: UInt64(1_000_000_000))) : 0
            }
            // Staged: every statistic below is read with the boundary's values not yet moved in.
            bins.advance(to: m * minute + 1, staging: true)
            bins.add(v, at: m * minute + 1)
            // Counted: the completed minutes m − capacity … m − 1 (minute m − 1 completed just now).
            if let previous { window.append(previous); sorted.insert(previous, at: lowerBound(previous)) }
            if window.count > capacity { sorted.remove(at: lowerBound(window.removeFirst())) }
            previous = v
            #expect(bins.count == sorted.count)
            guard !sorted.isEmpty else { continue }
            for p in [1, 50, 99] { #expect(bins.percentile(p) == sorted[max(0, (p * sorted.count + 99) / 100 - 1)]) }
            if k % 97 == 0 {
                for p in 1...100 where bins.percentile(p) != sorted[max(0, (p * sorted.count + 99) / 100 - 1)] {
                    Issue.record("minute \(k): percentile \(p) differs")
                }
            }
        }
        #expect(bins.count == capacity)
    }

    /// Tracked bins over more values than their copy holds, with few distinct values (duplicates at the copy's edges)
    /// and boundaries that count and drop several values at once (lag 2: the insert when the staged values are full):
    /// every percentile equals that of bins that move each boundary in at once, settled or not.
    @Test(arguments: [3, 11] as [UInt64], [0, 2])
    func trackedBinsWithDuplicatesAnswerAsSettledOnes(seed: UInt64, lag: Int) {
        for tracked in [99, 50, 1] {
            var random = SeededRandom(seed: seed)
            let minute = MinuteBins.minute, m0: Int64 = 28_000_000
            var bins = MinuteBins(capacity: 40, lag: lag), eager = MinuteBins(capacity: 40, lag: lag)
            bins.track(percentile: tracked)
            bins.observe(since: m0 * minute)
            eager.observe(since: m0 * minute)
            var m = m0
            for step in 0..<4_000 {
                m += [0, 1, 1, 1, 2, 3][Int(random.next(upperBound: UInt64(6)))]
                let t = m * minute + 1
                let v: Int64 = random.next(upperBound: UInt64(4)) == 0 ? 0 : 1 + Int64(random.next(upperBound: UInt64(6)))
                bins.advance(to: t, staging: true)
                bins.add(v, at: t)
                eager.advance(to: t)
                eager.add(v, at: t)
                for p in 1...100 where bins.percentile(p) != eager.percentile(p) {
                    Issue.record("tracked \(tracked), lag \(lag), step \(step): percentile \(p) differs")
                    break
                }
                if random.next(upperBound: UInt64(3)) == 0 { bins.settle() }
            }
        }
    }

    /// One staged boundary drops both copies of the copy's first value, one inside the copy and one below it: the
    /// copy cannot answer (it holds one), so the blocks do, and every percentile is still exact.
    @Test func twoDropsOfTheCopysFirstValueAtOneStagedBoundary() {
        let minute = MinuteBins.minute
        var bins = MinuteBins(capacity: 20, lag: 0), eager = MinuteBins(capacity: 20, lag: 0)
        bins.track(percentile: 99)
        bins.observe(since: 0)
        eager.observe(since: 0)
        // Minutes 0…19: 5 5 1 2 3 10…24 (sorted 1 2 3 5 | 5 10 … 24: the copy starts at the second 5); minute 20: 30.
        let values: [Int64] = [5, 5, 1, 2, 3] + (10...24).map { Int64($0) } + [30]
        for (k, v) in values.enumerated() {
            let t = Int64(k) * minute + 1
            bins.advance(to: t, staging: true)
            bins.add(v, at: t)
            eager.advance(to: t)
            eager.add(v, at: t)
        }
        bins.settle()
        // Minute 22: 30 and a zero are counted; minutes 0 and 1 (both 5s) are dropped, all staged.
        bins.advance(to: 22 * minute + 1, staging: true)
        eager.advance(to: 22 * minute + 1)
        for p in 1...100 { #expect(bins.percentile(p) == eager.percentile(p), "percentile \(p)") }
    }

    /// A percentile outside 1...100 keeps no copy and answers as it always did (a detector rule is not validated
    /// everywhere it is built).
    @Test func anOutOfRangeTrackedPercentileKeepsNoCopy() {
        var bins = MinuteBins(capacity: 10), plain = MinuteBins(capacity: 10)
        bins.track(percentile: 0)
        bins.observe(since: 0)
        plain.observe(since: 0)
        for k in 0..<12 {
            bins.add(Int64(k % 4), at: Int64(k) * MinuteBins.minute)
            plain.add(Int64(k % 4), at: Int64(k) * MinuteBins.minute)
        }
        #expect(bins.percentile(0) == plain.percentile(0) && bins.percentile(99) == plain.percentile(99))
    }

    /// Saved as one ascending array, as before the values were kept in blocks: a saved state restores, and the
    /// restored bins go on exactly as the original.
    @Test func savedBinsRestoreAndContinueAsTheOriginal() throws {
        var random = SeededRandom(seed: 9)
        let minute = MinuteBins.minute
        var bins = MinuteBins(capacity: 1_000, lag: 1)
        bins.observe(since: 0)
        for k in 0..<1_500 { bins.add(Int64(random.next(upperBound: UInt64(5_000))), at: Int64(k) * minute + 7) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let saved = try encoder.encode(bins)
        let object = try #require(try JSONSerialization.jsonObject(with: saved) as? [String: Any])
        let values = try #require(object["sortedValues"] as? [Int64])
        #expect(values.count > 900 && values == values.sorted())
        var restored = try JSONDecoder().decode(MinuteBins.self, from: saved)
        #expect(restored == bins)
        #expect(try encoder.encode(restored) == saved)
        for k in 1_500..<2_500 {
            let v = Int64(random.next(upperBound: UInt64(5_000)))
            bins.add(v, at: Int64(k) * minute + 7)
            restored.add(v, at: Int64(k) * minute + 7)
            #expect(restored.percentile(99) == bins.percentile(99))
        }
        #expect(restored == bins)
        #expect(try encoder.encode(restored) == encoder.encode(bins))
        // A saved state whose values are not ascending is refused, not used.
        let broken = String(decoding: saved, as: UTF8.self).replacingOccurrences(of: #""sortedValues":["#, with: #""sortedValues":[999999999,"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MinuteBins.self, from: Data(broken.utf8)) }
    }

    /// Bins saved before the values were kept in blocks (the synthesized form, written out here) restore, read the
    /// same statistics, and are saved again byte for byte.
    @Test func binsSavedBeforeTheBlocksRestore() throws {
        let saved = #"{"capacity":3,"current":5,"currentValue":7,"lag":0,"observedSince":0,"pending":[],"ring":[{"counted":true,"minute":2,"value":4},{"counted":true,"minute":3,"value":0},{"counted":true,"minute":4,"value":9}],"ringHead":0,"sortedValues":[4,9],"total":13,"zeros":1}"#
        var bins = try JSONDecoder().decode(MinuteBins.self, from: Data(saved.utf8))
        #expect(bins.count == 3 && bins.percentile(1) == 0 && bins.percentile(50) == 4 && bins.percentile(100) == 9)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(bins), as: UTF8.self) == saved)
        // Minute 6 begins: minute 5 (7) counts, minute 2 (4) leaves the 3-minute window.
        bins.add(1, at: 6 * MinuteBins.minute)
        #expect(bins.count == 3 && bins.percentile(50) == 7 && bins.percentile(100) == 9)
        // The bins waiting for their lag are kept inline: a saved state holding more of them than its lag leaves waiting
        // (these bins never save one) is refused at restore, not cut; so are a lag over four and a ring start past its end.
        let lagged = saved.replacingOccurrences(of: #""lag":0"#, with: #""lag":1"#)
        #expect(try JSONDecoder().decode(MinuteBins.self, from: Data(lagged.utf8)).count == 3)
        let overfull = lagged.replacingOccurrences(of: #""pending":[]"#,
                                                   with: #""pending":[{"counted":true,"minute":4,"value":1},{"counted":true,"minute":5,"value":1}]"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MinuteBins.self, from: Data(overfull.utf8)) }
        let longLag = saved.replacingOccurrences(of: #""lag":0"#, with: #""lag":5"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MinuteBins.self, from: Data(longLag.utf8)) }
        let pastTheEnd = saved.replacingOccurrences(of: #""ringHead":0"#, with: #""ringHead":4"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MinuteBins.self, from: Data(pastTheEnd.utf8)) }
    }

    /// A staged boundary reads what it drops from a copy of the ring's four oldest bins and keeps what it counts
    /// inline, up to four: at each edge of that (more drops than the copy holds, every bin dropped, the bins it counts
    /// dropped at once, four counted, four waiting for a lag of four) it answers and saves as bins that move each
    /// boundary in at once.
    @Test func stagedBoundariesAtTheEdgesOfTheirInlineCopies() throws {
        let minute = MinuteBins.minute
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        /// Values added at `minutes` (one each), then a boundary to `to` observed until `until`, staged on one and eager
        /// on the other; both compared after every step, and `count` checked against its definition at the end.
        func check(lag: Int, minutes: [Int64], to: Int64, until: Int64?, count: Int, _ note: String) throws {
            var staged = MinuteBins(capacity: 10, lag: lag), eager = MinuteBins(capacity: 10, lag: lag)
            staged.track(percentile: 99)
            staged.observe(since: 0)
            eager.observe(since: 0)
            func compare(_ step: String) throws {
                #expect(staged.count == eager.count, "\(note), \(step): count")
                for p in 1...100 where staged.percentile(p) != eager.percentile(p) { Issue.record("\(note), \(step): percentile \(p)") }
                #expect(try encoder.encode(staged) == encoder.encode(eager), "\(note), \(step): saved bytes")
            }
            for m in minutes {
                staged.advance(to: m * minute + 1, staging: true)
                staged.add(m + 1, at: m * minute + 1)
                eager.add(m + 1, at: m * minute + 1)
                try compare("minute \(m)")
            }
            staged.advance(to: to * minute + 1, observedUntil: until.map { $0 * minute }, staging: true)
            eager.advance(to: to * minute + 1, observedUntil: until.map { $0 * minute })
            try compare("the last boundary")
            #expect(staged.count == count, "\(note): count")
        }
        // Minutes 0…5 counted, the copy holds 0…3; minute 15 drops 0…4 (five: more than the copy) and counts minute 6.
        try check(lag: 0, minutes: Array(0...6), to: 15, until: 7, count: 2, "more drops than the copy holds")
        // Minutes 0, 1 counted; minute 13 drops both and minute 2, which it counts.
        try check(lag: 0, minutes: [0, 1, 2], to: 13, until: 3, count: 0, "a counted bin dropped at once")
        // Minute 12 drops both and keeps minute 2.
        try check(lag: 0, minutes: [0, 1, 2], to: 12, until: 3, count: 1, "every bin of the ring dropped")
        // Four bins counted at one boundary (the minute and three skipped), then five (more than fit inline).
        try check(lag: 0, minutes: [0, 4, 9], to: 13, until: nil, count: 10, "four and five counted")
        // A lag of four: four bins waiting, each step counting some of them.
        try check(lag: 4, minutes: [0, 1, 2, 3, 4, 5, 6, 9, 10, 14, 15, 16, 17, 18, 19, 20], to: 22, until: nil, count: 10, "a lag of four")
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

    /// Sums saved in their form (seven parallel arrays, written out here) restore, go on as sums built in memory, and
    /// are saved again byte for byte; arrays of unequal lengths are refused at restore.
    @Test func windowedSumsSavedAsParallelArraysRestore() throws {
        let second: Int64 = 1_000_000_000
        let saved = #"{"now":12000000000,"starts":[2,0],"times":[4000000000,9000000000,12000000000],"valueSums":[5,23],"values":[7,11,5],"weightSums":[1,5],"weights":[1,3,1],"windows":[3000000000,10000000000]}"#
        var restored = try JSONDecoder().decode(WindowedSums.self, from: Data(saved.utf8))
        var built = WindowedSums(windows: [.seconds(10), .seconds(3)])
        built.add(7, at: 4 * second)
        built.add(11, weight: 3, at: 9 * second)
        built.add(5, at: 12 * second)
        #expect(restored == built)
        #expect(restored.sum(0) == 5 && restored.sum(1) == 23 && restored.weight(1) == 5 && restored.entries(1) == 3)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(restored), as: UTF8.self) == saved)
        restored.advance(to: 15 * second)
        built.advance(to: 15 * second)
        #expect(restored == built && restored.sum(0) == 0 && restored.sum(1) == 16 && restored.lastEntryTime == 12 * second)
        let broken = saved.replacingOccurrences(of: #""weights":[1,3,1]"#, with: #""weights":[1,3]"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(WindowedSums.self, from: Data(broken.utf8)) }
    }

    /// A saved form whose dead entries are due for the bulk drop (a form neither type writes: each drops them at the
    /// advance that makes them due) drops them at its first advance as ``WindowedSums`` does, also when no entry leaves
    /// at that advance: the window's cached first time must not skip it.
    @Test(arguments: [false, true])
    func aRestoredWindowDueForItsBulkDropDropsAtItsFirstAdvance(live: Bool) throws {
        let dead = Array(0..<5_000).map { Int64($0) }
        let times = dead + (live ? [5_900] : [])
        func list(_ values: [Int64]) -> String { values.map(String.init).joined(separator: ",") }
        let saved = #"{"now":6000,"starts":[5000],"times":[\#(list(times))],"valueSums":[\#(live ? 7 : 0)],"values":[\#(list(dead.map { _ in 1 } + (live ? [7] : [])))],"weightSums":[\#(live ? 1 : 0)],"weights":[\#(list(times.map { _ in 1 }))],"windows":[1000]}"#
        var sums = try JSONDecoder().decode(WindowedSums.self, from: Data(saved.utf8))
        var window = try JSONDecoder().decode(WindowSum.self, from: Data(saved.utf8))
        sums.advance(to: 6_001)
        window.advance(to: 6_001)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let after = try encoder.encode(sums)
        #expect(try encoder.encode(window) == after)
        #expect(!String(decoding: after, as: UTF8.self).contains("4999"), "the dead entries were dropped")
        #expect(window.sum == (live ? 7 : 0) && window.count == (live ? 1 : 0))
    }

    /// The detector's one-window sum against ``WindowedSums`` with that window, on seeded streams of three shapes:
    /// `0` bursts between gaps longer than the window, with times that repeat and step back; `1` a 20 ms window sliding
    /// over whole milliseconds (entries leave one by one, some exactly at its edge); `2` dense microseconds (over 4,096
    /// dead entries while more are live, so the bulk drop waits for its second condition). The same sum and count
    /// after every input, the same saved bytes at every 500th (each restores into the other and goes on alike), dead
    /// entries dropped in bulk in every shape, and a saved form with two windows or another weight refused.
    @Test(arguments: [4, 9] as [UInt64], [0, 1, 2])
    func windowSumIsWindowedSumsWithOneWindow(seed: UInt64, shape: Int) throws {
        var random = SeededRandom(seed: seed)
        let length: Duration = [.seconds(5), .milliseconds(20), .milliseconds(10)][shape]
        var sums = WindowedSums(windows: [length])
        var window = WindowSum(length: length)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var t: Int64 = 1_000_000_000_000
        var dropped = false
        for n in 0..<(shape == 2 ? 24_000 : 12_000) {
            switch (shape, random.next(upperBound: UInt64(20))) {
            case (0, 0): t -= 300_000_000
            case (0, 1): break
            case (0, 2): t += 7_000_000_000
            case (0, _): t += Int64(random.next(upperBound: UInt64(2_000_000)))
            case (1, _): t += Int64(random.next(upperBound: UInt64(4))) * 1_000_000
            default: t += 1_000
            }
            let v = Int64(random.next(upperBound: UInt64(1_000_000)))
            if random.next(upperBound: UInt64(4)) == 0 {
                sums.advance(to: t)
                window.advance(to: t)
            } else {
                sums.add(v, at: t)
                window.add(v, at: t)
            }
            #expect(window.sum == sums.sum(0) && window.count == sums.weight(0) && Int(window.count) == sums.entries(0) && window.now == sums.now,
                    "input \(n)")
            if n % 500 == 499 {
                let savedSums = try encoder.encode(sums), savedWindow = try encoder.encode(window)
                #expect(savedWindow == savedSums, "saved form at input \(n)")
                #expect(try JSONDecoder().decode(WindowSum.self, from: savedSums) == window)
                #expect(try JSONDecoder().decode(WindowedSums.self, from: savedWindow) == sums)
                // The restored sum goes on as the one built in memory (a restored buffer grows from its reserve).
                window = try JSONDecoder().decode(WindowSum.self, from: savedSums)
                // The dead entries were dropped in bulk at least once (the saved arrays are shorter than the stream).
                let kept = try JSONDecoder().decode([String: AnyCodableCount].self, from: savedSums)["times"]?.count
                if let kept, kept < n / 2 { dropped = true }
            }
        }
        #expect(dropped, "the stream never dropped dead entries in bulk")
        let two = try encoder.encode(WindowedSums(windows: [.seconds(1), .seconds(5)]))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(WindowSum.self, from: two) }
        var weighted = WindowedSums(windows: [length])
        weighted.add(3, weight: 2, at: t)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(WindowSum.self, from: try encoder.encode(weighted)) }
    }

    @Test func rollingRankIsTheMidRankOverItsHorizonOnHalfPercentBuckets() throws {
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
        // Saved as a Fenwick tree (node i counts the values whose bucket + 1 lies in (i − lowbit(i), i]): the form saved
        // states hold, checked against its definition; restored, it ranks as the original.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let saved = try encoder.encode(rank)
        let tree = try #require((try JSONSerialization.jsonObject(with: saved) as? [String: Any])?["tree"] as? [Int])
        #expect(tree.count == RollingRank.bucket(.max) + 2)
        let heldBuckets = held.map { RollingRank.bucket($0.1) + 1 }
        for i in 1..<tree.count where tree[i] != heldBuckets.filter({ $0 > i - (i & -i) && $0 <= i }).count {
            Issue.record("Fenwick node \(i) holds \(tree[i])")
        }
        var restored = try JSONDecoder().decode(RollingRank.self, from: saved)
        #expect(restored == rank)
        t += 1_000_000_000
        restored.add(12_345, at: t)
        rank.add(12_345, at: t)
        #expect(restored == rank && restored.rank(of: 99_999) == rank.rank(of: 99_999))
    }
}

/// The length of a saved array, whatever its elements (any other value reads as no count).
struct AnyCodableCount: Decodable {
    var count: Int?
    init(from decoder: any Decoder) throws {
        guard var array = try? decoder.unkeyedContainer() else { count = nil; return }
        var n = 0
        while !array.isAtEnd { _ = try array.decode(Int64.self); n += 1 }
        count = n
    }
}
