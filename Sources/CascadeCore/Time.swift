/// A time stamped by the exchange (matching engine or publisher), in milliseconds since the Unix epoch.
///
/// Kept distinct from ``LocalTime`` so the two clocks can never be mixed by accident: the exchange
/// matches on exchange time, the strategy acts on local receive time, and their offset is measured, not assumed.
public struct ExchangeTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z on the exchange's clock.
    public var milliseconds: Int64

    @inlinable public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    @inlinable public static func < (a: Self, b: Self) -> Bool { a.milliseconds < b.milliseconds }

    public var description: String { UTCFormat.milliseconds(milliseconds) }
}

/// A time read from this machine's clock when a frame was received, in nanoseconds since the Unix epoch.
public struct LocalTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z on the local clock.
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    @inlinable public static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }

    public var description: String { UTCFormat.milliseconds(nanoseconds / 1_000_000) }
}

/// ISO-8601 UTC formatting without Foundation (civil-from-days, Howard Hinnant's algorithm).
public enum UTCFormat {
    /// `2024-07-18 23:57:01.295Z` for a millisecond timestamp.
    public static func milliseconds(_ ms: Int64) -> String {
        let days = floorDivide(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(days: days)
        let h = msOfDay / 3_600_000, mi = (msOfDay / 60_000) % 60, s = (msOfDay / 1000) % 60, f = msOfDay % 1000
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2)) \(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(f, 3))Z"
    }

    /// `2024-07-18T23:57:01Z` (ISO 8601, whole seconds) for a millisecond timestamp, as Bybit prints dates.
    public static func iso8601Seconds(_ ms: Int64) -> String {
        let f = fields(milliseconds: ms)
        return "\(pad(f.year, 4))-\(pad(f.month, 2))-\(pad(f.day, 2))T\(pad(f.hour, 2)):\(pad(f.minute, 2)):\(pad(f.second, 2))Z"
    }

    /// Milliseconds at 00:00 UTC on the first day of `month` of `year`.
    public static func milliseconds(year: Int64, month: Int64) -> Int64 {
        // Days from civil (Howard Hinnant's algorithm, the inverse of `civil(days:)`).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return (era * 146_097 + doe - 719_468) * 86_400_000
    }

    /// UTC calendar fields of a millisecond timestamp: (year, month, day, hour, minute, second, millisecond).
    public static func fields(milliseconds ms: Int64) -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64,
                                                          second: Int64, millisecond: Int64) {
        let days = floorDivide(ms, 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = civil(days: days)
        return (y, m, d, msOfDay / 3_600_000, (msOfDay / 60_000) % 60, (msOfDay / 1000) % 60, msOfDay % 1000)
    }

    static func civil(days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func pad(_ v: Int64, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension UTCFormat {
    /// Parses `YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]][Z]` (UTC, years 1970–2999) or a bare integer of nanoseconds
    /// since the epoch (at least 1e17, i.e. after 1973: a smaller integer is almost surely milliseconds or
    /// seconds and is refused rather than silently read as 1970). Returns nanoseconds, or `nil`.
    public static func parseNanoseconds(_ text: String) -> Int64? {
        if let ns = Int64(text) { return ns >= 100_000_000_000_000_000 ? ns : nil }
        var s = Substring(text)
        if s.hasSuffix("Z") { s = s.dropLast() }
        let parts = s.split(whereSeparator: { $0 == "T" || $0 == " " })
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let date = parts[0].split(separator: "-")
        guard date.count == 3, let y = Int64(date[0]), let m = Int64(date[1]), let d = Int64(date[2]),
              (1970...2999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        var ns = daysFromCivil(y, m, d) * 86_400 * 1_000_000_000
        if parts.count == 2 {
            let clock = parts[1].split(separator: ":")
            guard clock.count >= 2, clock.count <= 3, let h = Int64(clock[0]), let mi = Int64(clock[1]),
                  (0...23).contains(h), (0...59).contains(mi) else { return nil }
            ns += (h * 3600 + mi * 60) * 1_000_000_000
            if clock.count == 3 {
                let sec = clock[2].split(separator: ".", omittingEmptySubsequences: false)
                guard let whole = Int64(sec[0]), (0...60).contains(whole), sec.count <= 2 else { return nil }
                ns += whole * 1_000_000_000
                if sec.count == 2 {
                    let digits = sec[1]
                    guard !digits.isEmpty, digits.count <= 9, let frac = Int64(digits) else { return nil }
                    var scaled = frac
                    for _ in digits.count..<9 { scaled *= 10 }
                    ns += scaled
                }
            }
        }
        return ns
    }

    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
