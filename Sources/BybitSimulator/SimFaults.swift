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
    public var seed: UInt64

    public init(channels: [SimChannel: Rates] = [:], seed: UInt64 = 1) {
        self.channels = channels
        self.seed = seed
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses `{"seed":7,"public":{"drop":0.01,"duplicate":0,"reorder":0.01,"delay":0.05,"delayMs":[5,50]},"private":{…},"rest":{…}}`.
    /// Rates are probabilities in [0, 1] whose sum per channel is at most 1.
    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> SimFaultPlan {
        guard let root = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw ParseError(description: "fault plan: expected a JSON object")
        }
        var plan = SimFaultPlan(seed: (root["seed"] as? NSNumber)?.uint64Value ?? 1)
        for channel in SimChannel.allCases {
            guard let spec = root[channel.rawValue] else { continue }
            guard let object = spec as? [String: Any] else { throw ParseError(description: "fault plan: \(channel.rawValue) must be an object") }
            func rate(_ key: String) throws(ParseError) -> Double {
                guard let value = object[key] else { return 0 }
                guard let n = value as? NSNumber, (0...1).contains(n.doubleValue) else {
                    throw ParseError(description: "fault plan: \(channel.rawValue).\(key) must be a probability in [0, 1]")
                }
                return n.doubleValue
            }
            var rates = Rates(drop: try rate("drop"), duplicate: try rate("duplicate"), reorder: try rate("reorder"),
                              delay: try rate("delay"))
            if let range = object["delayMs"] {
                guard let pair = range as? [NSNumber], pair.count == 2, pair[0].int64Value >= 0, pair[0].int64Value <= pair[1].int64Value else {
                    throw ParseError(description: "fault plan: \(channel.rawValue).delayMs must be [min, max] milliseconds")
                }
                rates.delayMilliseconds = pair[0].int64Value...pair[1].int64Value
            }
            guard rates.drop + rates.duplicate + rates.reorder + rates.delay <= 1 else {
                throw ParseError(description: "fault plan: \(channel.rawValue) rates add up to more than 1")
            }
            plan.channels[channel] = rates
        }
        return plan
    }
}

/// The seeded implementation of ``SimFaultHook``: one SeededRandom stream per channel, so traffic on one channel
/// never changes the faults drawn on another.
public struct SimFaultInjector: SimFaultHook {
    public let plan: SimFaultPlan
    private var streams: [SimChannel: SeededRandom] = [:]

    public init(plan: SimFaultPlan) {
        self.plan = plan
        for (index, channel) in SimChannel.allCases.enumerated() {
            streams[channel] = SeededRandom(seed: plan.seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15)
        }
    }

    public var isActive: Bool { plan.channels.values.contains { !$0.isNone } }

    public mutating func action(on channel: SimChannel) -> SimFaultAction {
        guard let rates = plan.channels[channel], !rates.isNone else { return .deliver }
        let u = streams[channel]!.nextUnit()
        var edge = rates.drop
        if u < edge { return .drop }
        edge += rates.duplicate
        if u < edge { return .duplicate }
        edge += rates.reorder
        if u < edge { return .reorder }
        edge += rates.delay
        if u < edge {
            let span = UInt64(rates.delayMilliseconds.upperBound - rates.delayMilliseconds.lowerBound) + 1
            return .delay(milliseconds: rates.delayMilliseconds.lowerBound + Int64(streams[channel]!.next() % span))
        }
        return .deliver
    }
}
