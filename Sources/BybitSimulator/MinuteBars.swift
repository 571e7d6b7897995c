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
    }

    static let capacity = 200_000   // ~139 days of minutes
    private(set) var bars: [Bar] = []
    private var head = 0

    /// Adds a trade at `time` (ms, clients' clock).
    mutating func add(price: Price, qty: Quantity, value: USDT, at time: Int64) {
        let start = time - ((time % 60_000) + 60_000) % 60_000
        if let last = bars.last, last.start == start {
            var b = last
            b.high = max(b.high, price)
            b.low = min(b.low, price)
            b.close = price
            b.volume = b.volume + qty
            b.turnover = b.turnover + value
            bars[bars.count - 1] = b
        } else if let last = bars.last, start < last.start {
            // A print stamped before the current bar (merge order): it belongs to an earlier bar; counted there.
            if let i = bars.lastIndex(where: { $0.start == start }) {
                bars[i].high = max(bars[i].high, price)
                bars[i].low = min(bars[i].low, price)
                bars[i].volume = bars[i].volume + qty
                bars[i].turnover = bars[i].turnover + value
            }
        } else {
            bars.append(Bar(start: start, open: price, high: price, low: price, close: price, volume: qty, turnover: value))
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
            if var last = out.last, last.start == k {
                last.high = max(last.high, b.high)
                last.low = min(last.low, b.low)
                last.close = b.close
                last.volume = last.volume + b.volume
                last.turnover = last.turnover + b.turnover
                out[out.count - 1] = last
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

extension UTCFormat {
    /// Milliseconds at 00:00 UTC on the first day of `month` of `year`.
    static func milliseconds(year: Int64, month: Int64) -> Int64 {
        // Days from civil (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146_097 + doe - 719_468) * 86_400_000
    }
}
