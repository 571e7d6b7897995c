import CascadeCore
import Foundation

/// The simulator's delivery channels, each with its own fault settings and random stream.
public enum SimChannel: String, Sendable, CaseIterable, Hashable {
    /// Data frames on `/v5/public/linear` (not acks or pongs: those stay reliable so a test can set up).
    case publicStream = "public"
    /// Data messages on `/v5/private`.
    case privateStream = "private"
    /// Answers of the signed REST endpoints.
    case rest
}

/// What happens to one message on a channel.
public enum SimFaultAction: Sendable, Hashable {
    case deliver
    /// Streams: never sent. REST: the request is processed but the answer is lost (HTTP 504, empty body), so the
    /// client cannot know the outcome.
    case drop
    /// Streams: sent twice. REST: the request is processed twice; the client sees the second answer.
    case duplicate
    /// Streams: held back and sent after the next message of the same connection. REST: treated as `deliver`.
    case reorder
    /// Streams: the connection stalls this long before the message (later ones wait too, as on TCP).
    /// REST: the answer is sent this late.
    case delay(milliseconds: Int64)
}

/// The interface the reliability tests drive: one decision per message and channel.
public protocol SimFaultHook: Sendable {
    mutating func action(on channel: SimChannel) -> SimFaultAction
    /// The answer to a signed REST request on `path` (a path of its own in the plan, or the `rest` channel's).
    mutating func action(onREST path: String) -> SimFaultAction
}

/// Per-channel fault probabilities and one seed: same plan and traffic → same faults.
public struct SimFaultPlan: Sendable, Hashable {
    public struct Rates: Sendable, Hashable {
        public var drop: Double
        public var duplicate: Double
        public var reorder: Double
        public var delay: Double
        public var delayMilliseconds: ClosedRange<Int64>
        public init(drop: Double = 0, duplicate: Double = 0, reorder: Double = 0, delay: Double = 0,
                    delayMilliseconds: ClosedRange<Int64> = 0...0) {
            self.drop = drop
            self.duplicate = duplicate
            self.reorder = reorder
            self.delay = delay
            self.delayMilliseconds = delayMilliseconds
        }
        public var isNone: Bool { drop == 0 && duplicate == 0 && reorder == 0 && delay == 0 }
    }
    public var channels: [SimChannel: Rates]
    /// REST answers of one path (`/v5/order/create`) with rates of their own, in place of the `rest` channel's: a
    /// test can hold the answers of one endpoint while the others answer at once.
    public var restPaths: [String: Rates]
    public var seed: UInt64

    public init(channels: [SimChannel: Rates] = [:], restPaths: [String: Rates] = [:], seed: UInt64 = 1) {
        self.channels = channels
        self.restPaths = restPaths
        self.seed = seed
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses `{"seed":7,"public":{"drop":0.01,"duplicate":0,"reorder":0.01,"delay":0.05,"delayMs":[5,50]},"private":{…},"rest":{…},
    /// "restPaths":{"/v5/order/create":{…}}}`. Rates are probabilities in [0, 1] whose sum per channel or path is at most 1.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> SimFaultPlan {
        guard let root = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw ParseError(description: "fault plan: expected a JSON object")
        }
        var plan = SimFaultPlan(seed: (root["seed"] as? NSNumber)?.uint64Value ?? 1)
        for channel in SimChannel.allCases {
            guard let spec = root[channel.rawValue] else { continue }
            plan.channels[channel] = try rates(spec, name: channel.rawValue)
        }
        if let paths = root["restPaths"] {
            guard let object = paths as? [String: Any] else { throw ParseError(description: "fault plan: restPaths must be an object") }
            for (path, spec) in object {
                guard path.hasPrefix("/v5/") else { throw ParseError(description: "fault plan: restPaths key \(path) is not a /v5/ path") }
                plan.restPaths[path] = try rates(spec, name: "restPaths.\(path)")
            }
        }
        return plan
    }

    private static func rates(_ spec: Any, name: String) throws(ParseError) -> Rates {
        guard let object = spec as? [String: Any] else { throw ParseError(description: "fault plan: \(name) must be an object") }
        func rate(_ key: String) throws(ParseError) -> Double {
            guard let value = object[key] else { return 0 }
            guard let n = value as? NSNumber, (0...1).contains(n.doubleValue) else {
                throw ParseError(description: "fault plan: \(name).\(key) must be a probability in [0, 1]")
            }
            return n.doubleValue
        }
        var rates = Rates(drop: try rate("drop"), duplicate: try rate("duplicate"), reorder: try rate("reorder"),
                          delay: try rate("delay"))
        if let range = object["delayMs"] {
            guard let pair = range as? [NSNumber], pair.count == 2, pair[0].int64Value >= 0, pair[0].int64Value <= pair[1].int64Value else {
                throw ParseError(description: "fault plan: \(name).delayMs must be [min, max] milliseconds")
            }
            rates.delayMilliseconds = pair[0].int64Value...pair[1].int64Value
        }
        guard rates.drop + rates.duplicate + rates.reorder + rates.delay <= 1 else {
            throw ParseError(description: "fault plan: \(name) rates add up to more than 1")
        }
        return rates
    }
}

/// The seeded implementation of ``SimFaultHook``: one SeededRandom stream per channel and per REST path of the plan,
/// so traffic on one never changes the faults drawn on another.
public struct SimFaultInjector: SimFaultHook {
    public let plan: SimFaultPlan
    private var streams: [SimChannel: SeededRandom] = [:]
    private var pathStreams: [String: SeededRandom] = [:]

    public init(plan: SimFaultPlan) {
        self.plan = plan
        for (index, channel) in SimChannel.allCases.enumerated() {
            streams[channel] = SeededRandom(seed: plan.seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        }
        for path in plan.restPaths.keys {
            // FNV-1a of the path: stable across runs (Swift's hasher is seeded per process).
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            pathStreams[path] = SeededRandom(seed: plan.seed ^ hash)
        }
    }

    public var isActive: Bool { plan.channels.values.contains { !$0.isNone } || plan.restPaths.values.contains { !$0.isNone } }

    public mutating func action(on channel: SimChannel) -> SimFaultAction {
        guard let rates = plan.channels[channel], !rates.isNone else { return .deliver }
        return Self.draw(rates, &streams[channel]!)
    }

    public mutating func action(onREST path: String) -> SimFaultAction {
        guard let rates = plan.restPaths[path] else { return action(on: .rest) }
        return rates.isNone ? .deliver : Self.draw(rates, &pathStreams[path]!)
    }

    private static func draw(_ rates: SimFaultPlan.Rates, _ random: inout SeededRandom) -> SimFaultAction {
        let u = random.nextUnit()
        var edge = rates.drop
        if u < edge { return .drop }
        edge += rates.duplicate
        if u < edge { return .duplicate }
        edge += rates.reorder
        if u < edge { return .reorder }
        edge += rates.delay
        if u < edge {
            let span = UInt64(rates.delayMilliseconds.upperBound - rates.delayMilliseconds.lowerBound) + 1
            return .delay(milliseconds: rates.delayMilliseconds.lowerBound + Int64(random.next() % span))
        }
        return .deliver
    }
}
