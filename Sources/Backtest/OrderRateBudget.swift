public import CascadeCore
import BybitV5

/// Bybit's rate limit on the order endpoints as the live node's REST client meets it, for the backtest's and the paper
/// node's sequential sender. Bybit counts calls per endpoint and account in a one-second window (a batch counts one per
/// order: `limit` per second, 10 by default for linear); here a window starts at the first call after the previous one
/// ended. A call that adds risk leaves only while its window keeps the client's reserve (``headroom``) after it; else
/// it waits until one second after the latest answer on the endpoint, as the client waits one second after the answer
/// that reported its budget low (even when the window has ended meanwhile: the client still holds that answer). A call that takes risk off (cancels, reduce-only creates, trading stops, which the
/// client never holds back) waits only once the window is spent, until the window's end: Bybit would refuse it (10006)
/// and the client send it again at the reset (the refused round trip is not modelled). A fresh window admits any call
/// whole, as the client (which waits only on a budget an answer reported low) and `cascade sim` do.
public struct OrderRateBudget: Sendable {
    public static let windowMilliseconds: Int64 = 1_000
    /// The calls of a window the live REST client keeps for taking risk off.
    public static let headroom = BybitRateLimitHeaders.defaultHeadroom
    /// Calls per endpoint per window (0: no limit, the optimistic alternative).
    public let limit: Int
    /// The latest window of each ``Endpoint`` (by its raw value; nil before its first call).
    private var windows = [Window?](repeating: nil, count: Endpoint.allCases.count)

    /// The endpoints that have a budget of their own at Bybit (the live client keeps one per request path).
    enum Endpoint: Int, CaseIterable {
        case create, createBatch, amend, cancel, cancelAll, tradingStop, leverage
    }

    struct Window {
        var start: Int64
        var used: Int
        /// When the latest answer of the window's calls reaches the client.
        var lastAnswer: Int64
        /// Until when a call that adds risk still waits for a low budget an earlier window reported: the client holds
        /// that answer a second, even after a call that takes risk off has opened this window.
        var lowUntil: Int64 = .min

        /// Until when this window's answers keep a call that adds risk waiting once it is replaced.
        func lowUntil(limit: Int) -> Int64 {
            used >= limit - OrderRateBudget.headroom ? max(lowUntil, lastAnswer + OrderRateBudget.windowMilliseconds) : lowUntil
        }
    }

    public init(limit: Int) { self.limit = limit }

    /// When one call of `commands` (a command, or a batch of entry creates) may leave, at `t` or later.
    public func departure(_ commands: [VenueCommand], at t: Int64) -> Int64 {
        guard limit > 0, let call = Self.call(commands), let window = windows[call.endpoint.rawValue] else { return t }
        if call.addsRisk {
            // The client remembers a low budget until a second after the answer that reported it, whatever Bybit's
            // window has done since.
            guard window.used + call.weight > limit - Self.headroom else { return max(t, window.lowUntil) }
            return max(t, window.lowUntil, window.lastAnswer + Self.windowMilliseconds)
        }
        guard t < window.start + Self.windowMilliseconds, window.used + call.weight > limit else { return t }
        return window.start + Self.windowMilliseconds
    }

    /// Counts one call of `commands` leaving at `t`, its answer reaching the client at `answeredAt`.
    public mutating func spend(_ commands: [VenueCommand], at t: Int64, answeredAt: Int64) {
        guard limit > 0, let call = Self.call(commands) else { return }
        let e = call.endpoint.rawValue
        if var window = windows[e], t < window.start + Self.windowMilliseconds {
            window.used += call.weight
            window.lastAnswer = max(window.lastAnswer, answeredAt)
            windows[e] = window
        } else {
            windows[e] = Window(start: t, used: call.weight, lastAnswer: answeredAt, lowUntil: windows[e]?.lowUntil(limit: limit) ?? .min)
        }
    }

    /// The endpoint one call of `commands` goes to, what it spends, and whether the live client holds it for its
    /// reserve (the client's own rule: it reads the request, so every trading stop is exempt).
    static func call(_ commands: [VenueCommand]) -> (endpoint: Endpoint, weight: Int, addsRisk: Bool)? {
        guard let first = commands.first else { return nil }
        if commands.count > 1 { return (.createBatch, commands.count, true) }   // a batch holds entry creates
        switch first.action {
        case let .submit(_, spec): return (.create, 1, !spec.reduceOnly)
        case .amend: return (.amend, 1, true)
        case .cancel: return (.cancel, 1, false)
        case .cancelAll: return (.cancelAll, 1, false)
        case .setTradingStop: return (.tradingStop, 1, false)
        case .setLeverage: return (.leverage, 1, true)
        }
    }
}
