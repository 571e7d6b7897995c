import CascadeCore

/// One-minute bars of a symbol's replayed trades, for `/v5/market/kline`: built as trades are replayed (on the
/// clients' clock), so a bar never contains a trade the replay has not reached. Bounded: the oldest bars go first.
struct MinuteBars {
    struct Bar {
        var start: Int64
        var open: Price
        var high: Price
        var low: Price
        var close: Price
        var volume: Quantity
        var turnover: USDT

        /// Extends this bar by a later one (or a print, as a one-print bar) of the same span.
        mutating func absorb(_ later: Bar) {
            high = max(high, later.high)
            low = min(low, later.low)
            close = later.close
            volume = volume + later.volume
            turnover = turnover + later.turnover
        }
    }

    static let capacity = 200_000   // ~139 days of minutes
    private(set) var bars: [Bar] = []
    private var head = 0

    /// Adds a trade at `time` (ms, clients' clock).
    mutating func add(price: Price, qty: Quantity, value: USDT, at time: Int64) {
        let start = time - ((time % 60_000) + 60_000) % 60_000
        let print = Bar(start: start, open: price, high: price, low: price, close: price, volume: qty, turnover: value)
        if let last = bars.last, last.start == start {
            bars[bars.count - 1].absorb(print)
        } else if let last = bars.last, start < last.start {
            // A print stamped before the current bar (merge order) belongs to an earlier bar: counted there, without
            // moving that bar's close (later prints already set it).
            if let i = bars.lastIndex(where: { $0.start == start }) {
                let close = bars[i].close
                bars[i].absorb(print)
                bars[i].close = close
            }
        } else {
            bars.append(print)
            if bars.count - head > Self.capacity { head += 1 }
            if head > Self.capacity / 4 {
                bars.removeFirst(head)
                head = 0
            }
        }
    }

    /// Bars of `minutes` (1…720, 1440 for a day, 10080 for a week starting Monday 00:00 UTC) or calendar months
    /// (`months` true), newest first, limited to `limit`, with start times in `start…end`. Minutes without a trade
    /// inside the covered span are flat bars at the previous close, as Bybit shows them.
    func aggregated(minutes: Int64, months: Bool, start: Int64?, end: Int64?, limit: Int) -> [Bar] {
        let live = bars[head...]
        guard let first = live.first else { return [] }
        func bucket(_ t: Int64) -> Int64 {
            if months {
                let f = UTCFormat.fields(milliseconds: t)
                return UTCFormat.milliseconds(year: f.year, month: f.month)
            }
            let size = minutes * 60_000
            // Weeks start on Monday: the epoch (1970-01-01) was a Thursday, 3 days after a Monday.
            let shift: Int64 = minutes == 10_080 ? 3 * 86_400_000 : 0
            let t2 = t + shift
            return t2 - ((t2 % size) + size) % size - shift
        }
        var out: [Bar] = []
        var previousClose = first.open
        var expected = first.start
        func append(_ b: Bar) {
            let k = bucket(b.start)
            if let last = out.last, last.start == k {
                out[out.count - 1].absorb(b)
            } else {
                var n = b
                n.start = k
                out.append(n)
            }
        }
        for b in live {
            while expected < b.start {   // quiet minutes
                append(Bar(start: expected, open: previousClose, high: previousClose, low: previousClose, close: previousClose,
                           volume: .zero, turnover: .zero))
                expected += 60_000
            }
            append(b)
            previousClose = b.close
            expected = b.start + 60_000
        }
        let selected = out.filter { bar in (start.map { bar.start >= $0 } ?? true) && (end.map { bar.start <= $0 } ?? true) }
        return Array(selected.suffix(limit).reversed())
    }
}
