/// A public topic of Bybit V5 linear, parsed once from its name (`orderbook.50.BTCUSDT`).
public enum BybitTopic: Hashable, Sendable {
    case orderBook(depth: Int, symbol: String)
    case publicTrade(symbol: String)
    case allLiquidation(symbol: String)
    /// The deprecated, throttled `liquidation.{symbol}` topic (data is an object): still decoded for old recordings.
    case legacyLiquidation(symbol: String)
    case tickers(symbol: String)
    case kline(interval: String, symbol: String)
    /// A reserved local pseudo-topic of the recorder (`_cascade.session`, `_cascade.instruments`, …).
    case local(name: String)

    /// Parses a topic name; `nil` for anything not listed above or with an implausible symbol.
    public init?(_ name: String) {
        guard let parsed = Self.parse(name) else { return nil }
        if let symbol = parsed.symbol, !Self.isPlausibleSymbol(symbol) { return nil }
        self = parsed
    }

    /// Symbols are upper-case letters and digits (a few have `-` or `_`), at most 32 characters: a damaged
    /// frame must not register garbage symbols in the instrument table.
    static func isPlausibleSymbol(_ s: String) -> Bool {
        guard (1...32).contains(s.utf8.count) else { return false }
        return s.utf8.allSatisfy { ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F }
    }

    private static func parse(_ name: String) -> BybitTopic? {
        if name.hasPrefix("_cascade.") {
            return .local(name: String(name.dropFirst("_cascade.".count)))
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("orderbook", 3):
            guard let depth = Int(parts[1]), [1, 25, 50, 100, 200, 500, 1000].contains(depth), !parts[2].isEmpty else { return nil }
            return .orderBook(depth: depth, symbol: String(parts[2]))
        case ("publicTrade", 2) where !parts[1].isEmpty: return .publicTrade(symbol: String(parts[1]))
        case ("allLiquidation", 2) where !parts[1].isEmpty: return .allLiquidation(symbol: String(parts[1]))
        case ("liquidation", 2) where !parts[1].isEmpty: return .legacyLiquidation(symbol: String(parts[1]))
        case ("tickers", 2) where !parts[1].isEmpty: return .tickers(symbol: String(parts[1]))
        case ("kline", 3) where !parts[2].isEmpty:
            let intervals: Set<Substring> = ["1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M"]
            guard intervals.contains(parts[1]) else { return nil }
            return .kline(interval: String(parts[1]), symbol: String(parts[2]))
        default: return nil
        }
    }

    /// The topic name as sent on the wire.
    public var name: String {
        switch self {
        case let .orderBook(depth, symbol): "orderbook.\(depth).\(symbol)"
        case let .publicTrade(symbol): "publicTrade.\(symbol)"
        case let .allLiquidation(symbol): "allLiquidation.\(symbol)"
        case let .legacyLiquidation(symbol): "liquidation.\(symbol)"
        case let .tickers(symbol): "tickers.\(symbol)"
        case let .kline(interval, symbol): "kline.\(interval).\(symbol)"
        case let .local(name): "_cascade.\(name)"
        }
    }

    /// The symbol the topic is about (`nil` for local pseudo-topics).
    public var symbol: String? {
        switch self {
        case let .orderBook(_, s), let .publicTrade(s), let .allLiquidation(s), let .legacyLiquidation(s),
             let .tickers(s), let .kline(_, s): s
        case .local: nil
        }
    }
}

extension BybitTopic {
    /// The `topic` string of a frame found by a plain byte search, without decoding the frame: for the paths
    /// that need the topic of a frame that may not decode (error attribution, liveness, resync decisions).
    public static func name(in frame: UnsafeBufferPointer<UInt8>) -> String? {
        let needle: StaticString = "\"topic\":\""
        let n = needle.utf8CodeUnitCount
        guard frame.count > n else { return nil }
        let p = needle.utf8Start
        var i = 0
        while i + n <= frame.count {
            var match = true
            for k in 0..<n where frame[i + k] != p[k] {
                match = false
                break
            }
            if match {
                let start = i + n
                var end = start
                while end < frame.count && frame[end] != UInt8(ascii: "\"") { end += 1 }
                return end < frame.count ? String(decoding: UnsafeBufferPointer(rebasing: frame[start..<end]), as: UTF8.self) : nil
            }
            i += 1
        }
        return nil
    }

    /// ``name(in:)`` for a byte array.
    public static func name(in frame: [UInt8]) -> String? {
        frame.withUnsafeBufferPointer { name(in: $0) }
    }
}
