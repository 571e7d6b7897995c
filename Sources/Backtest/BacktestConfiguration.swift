public import CascadeCore
public import Execution
public import Features
public import Simulation
import Foundation

/// What `cascade backtest` runs with: the engine's configuration, the simulated venue, the deposit and the detector.
/// Read from a JSON file whose keys carry their units; unknown keys and bad values are refused, each problem one line.
public struct BacktestConfiguration: Sendable {
    public var engine = EngineConfiguration()
    public var venue = VenueSettings()
    public var features = FeatureConfiguration()
    /// Refuse data without tickers: funding (and marks) could not be simulated, and would silently be zero.
    public var requireFundingData = true
    /// The paper balance the simulated account starts with.
    public var deposit = USDT(units: Int64(1_000_000_000_000))        // 10,000 USDT
    /// How the report's placebo pass samples.
    public var placebos = PlaceboSettings()
    /// Reruns at these multiples of the layer size (1 is the backtest itself).
    public var capacityMultipliers = [1, 3, 10]
    /// One-layer ladders at each of these δ for the sensitivity table (never the result).
    public var sweepOffsetsBps = [10, 20, 40, 70, 100]
    /// What `cascade live` reads; the backtest and the paper node read only its send deadline (``sender``).
    public var live = LiveSettings()
    /// How the node's commands leave for the venue in the backtest and the paper node.
    public var sender = CommandSender.sequential
    /// Calls per order endpoint per second that the sequential sender may make (``OrderRateBudget``): Bybit's default
    /// for linear order endpoints, 10, applied to every endpoint (VIP tiers raise the order endpoints' limits, not the
    /// trading stop's or leverage's). 0 sends without a limit: optimistic.
    public var orderRateLimitPerSecond = 10
    public init() {}

    /// How a node puts its commands on the wire.
    public enum CommandSender: String, Sendable, Hashable {
        /// One call at a time, each after the previous call's answer, in the order decided; a create or amend that
        /// cannot leave within `live.sendDeadlineMs` of its decision is refused unsent. What the live node does (its
        /// REST sender awaits every answer): the default, because a ladder's later layers then reach the book one
        /// round trip after the first, later than a model that sends them together would place them.
        case sequential
        /// Every command of a step leaves at its decision, none waiting for another's answer. Optimistic: no node
        /// sends this way; for comparison only.
        case concurrent
    }

    /// The configuration file's text, canonical (sorted keys, every key with its effective value): what the summary
    /// echoes and what the configuration hash covers.
    public var canonicalJSON: String {
        let e = engine
        func money(_ v: USDT) -> String { "\"\(v)\"" }
        func limit(_ l: RiskLimit) -> String {
            "{\"absoluteUsdt\":\(l.absolute.map { money(USDT(units: $0)) } ?? "null"),\"equityBps\":\(l.equityBps.map(String.init) ?? "null")}"
        }
        let latency: (LatencyModel) -> String = { model in
            switch model {
            case let .constant(ms): "\(ms)"
            case let .sampled(samples, seed): "{\"samplesMs\":[\(samples.map(String.init).joined(separator: ","))],\"seed\":\(seed)}"
            }
        }
        let d = features.detector
        return """
        {"breakers":{"fundingNoTradeMs":\(e.breakers.fundingNoTradeMilliseconds),"maxAdlRank":\(e.breakers.maxAdlRank),\
        "maxBookAgeMs":\(e.breakers.maxBookAgeMilliseconds),"maxLiquidationLagMs":\(e.breakers.maxLiquidationLagMilliseconds),\
        "maxMarkLastDivergenceBps":\(e.breakers.maxMarkLastDivergenceBps.map(String.init) ?? "null"),\
        "maxPostOnlyRejectBps":\(e.breakers.maxPostOnlyRejectBps),"postOnlyWindow":\(e.breakers.postOnlyWindow)},\
        "depositUsdt":\(money(deposit)),\
        "detector":{"baselineMinutes":\(d.baselineMinutes),"dominanceDenominator":\(d.dominanceDenominator),\
        "dominanceNumerator":\(d.dominanceNumerator),"maxDurationMs":\(d.maxDurationNanoseconds / 1_000_000),\
        "maxSilenceMs":\(d.maxSilenceNanoseconds / 1_000_000),"minimumHistoryMinutes":\(d.minimumHistoryMinutes),\
        "percentile":\(d.percentile),"quietMs":\(d.quietNanoseconds / 1_000_000),"windowMs":\(d.windowNanoseconds / 1_000_000)},\
        "exits":{"exitRetryMs":\(e.exitRetryMilliseconds),"maxHoldMs":\(e.maxHoldMilliseconds),\
        "protectionConfirmMs":\(e.protectionConfirmMilliseconds),"stopBps":\(e.stopBps),"stopTrigger":"\(Self.triggerNames[e.stopTrigger]!)",\
        "takeProfitBps":\(e.takeProfitBps),"timeExitMaxAttempts":\(e.timeExitMaxAttempts),"timeExitSlippageBps":\(e.timeExitSlippageBps)},\
        "ladder":{"cancelEntriesAtEpisodeEnd":\(e.cancelEntriesAtEpisodeEnd),"entryTtlMs":\(e.entryTTLMilliseconds),\
        "layerNotionalUsdt":\(money(e.layerNotional)),"maxDecisionsPerEpisode":\(e.maxDecisionsPerEpisode),\
        "offsetsBps":[\(e.offsetsBps.map(String.init).joined(separator: ","))],"reevaluateMoveBps":\(e.reevaluateMoveBps)},\
        "liquidationSource":"\(e.liquidationSource.rawValue)",\
        "live":{"batchEntries":\(live.batchEntries),"deadManMs":\(live.deadManMilliseconds),"environment":"\(live.environment.rawValue)",\
        "executionsLookbackMs":\(live.executionsLookbackMilliseconds),"leverage":"\(live.leverage)","marginMode":"\(live.marginMode.rawValue)",\
        "openOrdersReconcileMs":\(live.openOrdersReconcileMilliseconds),"positionsReconcileMs":\(live.positionsReconcileMilliseconds),\
        "sendDeadlineMs":\(live.sendDeadlineMilliseconds),"shutdownPositions":"\(live.shutdownPositions.rawValue)"},"node":"\(e.node)",\
        "report":{"bootstrapResamples":\(placebos.bootstrapResamples),"capacityMultipliers":[\(capacityMultipliers.map(String.init).joined(separator: ","))],\
        "exclusionMs":\(placebos.exclusionMilliseconds),"gridMs":\(placebos.gridMilliseconds),"matchNeighbours":\(placebos.neighbours),\
        "placeboDraws":\(placebos.draws),"seed":\(placebos.seed),"significanceBps":\(placebos.significanceBps),\
        "sweepOffsetsBps":[\(sweepOffsetsBps.map(String.init).joined(separator: ","))],"volatilitySeconds":\(placebos.volatilitySeconds)},\
        "risk":{"cooldownAfterStopMs":\(e.limits.cooldownAfterStop / 1_000_000),"dailyLoss":\(limit(e.dailyLoss)),\
        "episodeNotional":\(limit(e.limits.episodeNotional)),"maxConcurrentLayers":\(e.limits.maxConcurrentLayers),\
        "maxDrawdown":\(limit(e.maxDrawdown)),"maxEpisodesPerHour":\(e.limits.maxEpisodesPerHour),\
        "orderNotional":\(limit(e.limits.orderNotional)),"portfolioExposure":\(limit(e.limits.portfolioExposure)),\
        "positionPerSymbol":\(limit(e.limits.positionPerSymbol))},\
        "symbols":\(e.symbols.map { "[" + $0.sorted().map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? "null"),\
        "venue":{"ackLatencyMs":\(latency(venue.acknowledgementLatency)),"entryLatencyMs":\(latency(venue.entryLatency)),\
        "fill":"\(venue.fill == .strictCross ? "strictCross" : "printsOnly")","makerFeeRate":"\(venue.fees.maker)",\
        "orderRateLimitPerSecond":\(orderRateLimitPerSecond),"queue":"\(venue.queue == .tradesOnly ? "tradesOnly" : "proportionalCancels")","requireFundingData":\(requireFundingData),\
        "sender":"\(sender.rawValue)","takerFeeRate":"\(venue.fees.taker)"}}
        """
    }

    /// ``canonicalJSON`` indented for people (`cascade config check`, the nodes' `config.json`); same keys and values.
    public var prettyJSON: String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(canonicalJSON.utf8)),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        else { return canonicalJSON }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    static let triggerNames: [TriggerSource: String] = [.lastPrice: "LastPrice", .markPrice: "MarkPrice", .indexPrice: "IndexPrice"]

    /// Reads a configuration file (JSON); absent keys keep their defaults.
    /// - Throws: ``BacktestConfigurationError`` listing every problem, one per line.
    public static func load(path: String) throws(BacktestConfigurationError) -> BacktestConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else { throw BacktestConfigurationError(["\(path): cannot be read"]) }
        return try parse(Array(data), name: path)
    }

    public static func parse(_ bytes: [UInt8], name: String) throws(BacktestConfigurationError) -> BacktestConfiguration {
        let object: [String: JSONValue]
        do {
            guard case let .object(o) = try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
                throw BacktestConfigurationError(["\(name): not a JSON object"])
            }
            object = o
        } catch let error as BacktestConfigurationError {
            throw error
        } catch {
            throw BacktestConfigurationError(["\(name): not valid JSON (\(error))"])
        }
        var reader = ConfigReader(object: object, path: "")
        var c = BacktestConfiguration()
        if let v = reader.string("node") {
            if (1...4).contains(v.utf8.count), v.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }) {
                c.engine.node = v
            } else { reader.problem("node", "1 to 4 letters or digits") }
        }
        if let v = reader.usdt("depositUsdt") { c.deposit = v }
        if let v = reader.string("liquidationSource") {
            if let source = LiquidationSource(rawValue: v) { c.engine.liquidationSource = source } else { reader.problem("liquidationSource", "all or throttled") }
        }
        if let v = reader.strings("symbols") { c.engine.symbols = Set(v) }
        if var r = reader.section("ladder") {
            if let v = r.ints("offsetsBps") {
                if v.isEmpty || v.contains(where: { $0 < 0 || $0 >= 10_000 }) { r.problem("offsetsBps", "one or more offsets in 0..<10000") } else { c.engine.offsetsBps = v }
            }
            if let v = r.usdt("layerNotionalUsdt") { c.engine.layerNotional = v }
            if let v = r.int("entryTtlMs", min: 1) { c.engine.entryTTLMilliseconds = Int64(v) }
            if let v = r.bool("cancelEntriesAtEpisodeEnd") { c.engine.cancelEntriesAtEpisodeEnd = v }
            if let v = r.int("maxDecisionsPerEpisode", min: 1) { c.engine.maxDecisionsPerEpisode = v }
            if let v = r.int("reevaluateMoveBps", min: 0) { c.engine.reevaluateMoveBps = v }
            reader.merge(r)
        }
        if var r = reader.section("exits") {
            if let v = r.int("stopBps", min: 1, max: 9_999) { c.engine.stopBps = v }
            if let v = r.string("stopTrigger") {
                if let t = triggerNames.first(where: { $0.value == v })?.key { c.engine.stopTrigger = t } else { r.problem("stopTrigger", "LastPrice, MarkPrice or IndexPrice") }
            }
            if let v = r.int("takeProfitBps", min: 1, max: 9_999) { c.engine.takeProfitBps = v }
            if let v = r.int("maxHoldMs", min: 1) { c.engine.maxHoldMilliseconds = Int64(v) }
            if let v = r.int("timeExitSlippageBps", min: 0, max: 9_999) { c.engine.timeExitSlippageBps = v }
            if let v = r.int("timeExitMaxAttempts", min: 1) { c.engine.timeExitMaxAttempts = v }
            if let v = r.int("exitRetryMs", min: 1) { c.engine.exitRetryMilliseconds = Int64(v) }
            if let v = r.int("protectionConfirmMs", min: 1) { c.engine.protectionConfirmMilliseconds = Int64(v) }
            reader.merge(r)
        }
        if var r = reader.section("risk") {
            for (key, path) in [("orderNotional", \RiskLimits.orderNotional), ("positionPerSymbol", \.positionPerSymbol),
                                ("portfolioExposure", \.portfolioExposure), ("episodeNotional", \.episodeNotional)] {
                if let v = r.limit(key) { c.engine.limits[keyPath: path] = v }
            }
            if let v = r.limit("dailyLoss") { c.engine.dailyLoss = v }
            if let v = r.limit("maxDrawdown") { c.engine.maxDrawdown = v }
            if let v = r.int("maxConcurrentLayers", min: 1) { c.engine.limits.maxConcurrentLayers = v }
            if let v = r.int("maxEpisodesPerHour", min: 1) { c.engine.limits.maxEpisodesPerHour = v }
            if let v = r.int("cooldownAfterStopMs", min: 0) { c.engine.limits.cooldownAfterStop = Int64(v) * 1_000_000 }
            reader.merge(r)
        }
        if var r = reader.section("breakers") {
            if let v = r.int("maxBookAgeMs", min: 1) { c.engine.breakers.maxBookAgeMilliseconds = Int64(v) }
            if r.isNull("maxMarkLastDivergenceBps") { c.engine.breakers.maxMarkLastDivergenceBps = nil }
            else if let v = r.int("maxMarkLastDivergenceBps", min: 1) { c.engine.breakers.maxMarkLastDivergenceBps = v }
            if let v = r.int("maxLiquidationLagMs", min: 0) { c.engine.breakers.maxLiquidationLagMilliseconds = Int64(v) }
            if let v = r.int("postOnlyWindow", min: 1) { c.engine.breakers.postOnlyWindow = v }
            if let v = r.int("maxPostOnlyRejectBps", min: 0, max: 10_000) { c.engine.breakers.maxPostOnlyRejectBps = v }
            if let v = r.int("maxAdlRank", min: 1, max: 5) { c.engine.breakers.maxAdlRank = v }
            if let v = r.int("fundingNoTradeMs", min: 0) { c.engine.breakers.fundingNoTradeMilliseconds = Int64(v) }
            reader.merge(r)
        }
        if var r = reader.section("venue") {
            if let v = r.int("entryLatencyMs", min: 1) { c.venue.entryLatency = .constant(milliseconds: Int64(v)) }
            if let v = r.int("ackLatencyMs", min: 0) { c.venue.acknowledgementLatency = .constant(milliseconds: Int64(v)) }
            if let v = r.rate("makerFeeRate") { c.venue.fees.maker = v }
            if let v = r.rate("takerFeeRate") { c.venue.fees.taker = v }
            if let v = r.string("queue") {
                switch v {
                case "tradesOnly": c.venue.queue = .tradesOnly
                case "proportionalCancels": c.venue.queue = .proportionalCancels
                default: r.problem("queue", "tradesOnly or proportionalCancels")
                }
            }
            if let v = r.bool("requireFundingData") { c.requireFundingData = v }
            if let v = r.string("fill") {
                switch v {
                case "strictCross": c.venue.fill = .strictCross
                case "printsOnly": c.venue.fill = .printsOnly
                default: r.problem("fill", "strictCross or printsOnly")
                }
            }
            if let v = r.string("sender") {
                if let sender = CommandSender(rawValue: v) { c.sender = sender } else { r.problem("sender", "sequential or concurrent") }
            }
            if let v = r.int("orderRateLimitPerSecond", min: 0, max: 10_000) { c.orderRateLimitPerSecond = v }
            reader.merge(r)
        }
        if var r = reader.section("report") {
            if let v = r.int("placeboDraws", min: 200, max: 100_000) { c.placebos.draws = v }
            if let v = r.int("seed", min: 0) { c.placebos.seed = UInt64(v) }
            if let v = r.int("gridMs", min: 0) { c.placebos.gridMilliseconds = Int64(v) }
            if let v = r.int("exclusionMs", min: 60_000) { c.placebos.exclusionMilliseconds = Int64(v) }
            if let v = r.int("volatilitySeconds", min: 1) { c.placebos.volatilitySeconds = v }
            if let v = r.int("matchNeighbours", min: 1) { c.placebos.neighbours = v }
            if let v = r.int("bootstrapResamples", min: 100, max: 1_000_000) { c.placebos.bootstrapResamples = v }
            if let v = r.int("significanceBps", min: 1, max: 1_000) { c.placebos.significanceBps = v }
            if let v = r.ints("capacityMultipliers") {
                if v.isEmpty || v.contains(where: { $0 < 1 || $0 > 1_000 }) { r.problem("capacityMultipliers", "one or more multiples in 1...1000") } else { c.capacityMultipliers = v }
            }
            if let v = r.ints("sweepOffsetsBps") {
                if v.contains(where: { $0 < 0 || $0 >= 10_000 }) { r.problem("sweepOffsetsBps", "offsets in 0..<10000") } else { c.sweepOffsetsBps = v }
            }
            reader.merge(r)
        }
        if var r = reader.section("detector") {
            var d = c.features.detector
            if let v = r.int("windowMs", min: 1) { d.windowNanoseconds = Int64(v) * 1_000_000 }
            if let v = r.int("baselineMinutes", min: 1) { d.baselineMinutes = v }
            if let v = r.int("minimumHistoryMinutes", min: 1) { d.minimumHistoryMinutes = v }
            if let v = r.int("percentile", min: 1, max: 100) { d.percentile = v }
            if let v = r.int("dominanceNumerator", min: 1) { d.dominanceNumerator = Int64(v) }
            if let v = r.int("dominanceDenominator", min: 1) { d.dominanceDenominator = Int64(v) }
            if let v = r.int("quietMs", min: 1) { d.quietNanoseconds = Int64(v) * 1_000_000 }
            if let v = r.int("maxDurationMs", min: 1) { d.maxDurationNanoseconds = Int64(v) * 1_000_000 }
            if let v = r.int("maxSilenceMs", min: 1) { d.maxSilenceNanoseconds = Int64(v) * 1_000_000 }
            c.features.detector = d
            reader.merge(r)
        }
        if var r = reader.section("live") {
            if let v = r.string("environment") {
                if let e = LiveSettings.Environment(rawValue: v) { c.live.environment = e } else { r.problem("environment", "mainnet, testnet or demo") }
            }
            if let v = r.string("leverage") {
                if let l = LiveSettings.leverage(v) { c.live.leverage = l } else { r.problem("leverage", LiveSettings.leverageExpected) }
            }
            if let v = r.string("marginMode") {
                if let m = LiveSettings.MarginMode(rawValue: v) { c.live.marginMode = m } else { r.problem("marginMode", "REGULAR_MARGIN, ISOLATED_MARGIN or PORTFOLIO_MARGIN") }
            }
            if let v = r.string("shutdownPositions") {
                if let p = LiveSettings.ShutdownPositions(rawValue: v) { c.live.shutdownPositions = p } else { r.problem("shutdownPositions", "keepProtected or flatten") }
            }
            if let v = r.int("deadManMs", min: 1_000) { c.live.deadManMilliseconds = Int64(v) }
            if let v = r.int("sendDeadlineMs", min: 100, max: 10_000) { c.live.sendDeadlineMilliseconds = Int64(v) }
            if let v = r.bool("batchEntries") { c.live.batchEntries = v }
            if let v = r.int("openOrdersReconcileMs", min: 1_000) { c.live.openOrdersReconcileMilliseconds = Int64(v) }
            if let v = r.int("positionsReconcileMs", min: 5_000) { c.live.positionsReconcileMilliseconds = Int64(v) }
            // Bybit's /v5/execution/list answers at most 7 days per query.
            if let v = r.int("executionsLookbackMs", min: 60_000, max: 7 * 86_400_000) { c.live.executionsLookbackMilliseconds = Int64(v) }
            // Each pass must overlap the one before, or a fill the stream missed between two passes is never found.
            if c.live.executionsLookbackMilliseconds < 2 * c.live.positionsReconcileMilliseconds {
                r.problems.append("\(r.name("executionsLookbackMs")): expected at least twice positionsReconcileMs (\(2 * c.live.positionsReconcileMilliseconds))")
            }
            reader.merge(r)
        }
        reader.finish()
        if !reader.problems.isEmpty { throw BacktestConfigurationError(reader.problems.map { "\(name): \($0)" }) }
        return c
    }
}

/// The live node's settings: which Bybit, the account settings it checks and sets, and its reconciliation timing.
public struct LiveSettings: Sendable, Hashable {
    public enum Environment: String, Sendable, Hashable { case mainnet, testnet, demo }
    /// Bybit's `marginMode` values (`/v5/account/info`); the live node checks it and never switches it.
    public enum MarginMode: String, Sendable, Hashable {
        case regular = "REGULAR_MARGIN", isolated = "ISOLATED_MARGIN", portfolio = "PORTFOLIO_MARGIN"
    }
    /// What SIGINT/SIGTERM does with open positions (resting entries are always cancelled by id): `keepProtected`
    /// keeps a position whose exchange-side stop the latest position report shows and closes the others; `flatten`
    /// closes every one.
    public enum ShutdownPositions: String, Sendable, Hashable { case keepProtected, flatten }
    public var environment = Environment.mainnet
    public var shutdownPositions = ShutdownPositions.keepProtected
    /// Set on every symbol at start (Bybit's 110043, already set, is success).
    public var leverage = Rate(units: 5 * 10_000_000_000)
    public var marginMode = MarginMode.regular
    /// The private stream down this long: resting entries are cancelled by id (the local dead-man switch).
    public var deadManMilliseconds: Int64 = 10_000
    /// How long after its decision a create or amend may still leave; later it is refused unsent (the backtest's
    /// sequential sender applies the same deadline).
    public var sendDeadlineMilliseconds: Int64 = 1_000
    /// A step's entry creates of one symbol go in one `create-batch` call (``CascadeCore/SenderBatch``): a ladder's
    /// layers reach Bybit in one round trip. Off by default: the one-create-per-call sender is the one tested against
    /// Bybit's documented single-order answers longest (the backtest and the paper node model either).
    public var batchEntries = false
    /// Open orders compared with Bybit's list this often.
    public var openOrdersReconcileMilliseconds: Int64 = 7_000
    /// Positions and recent executions compared this often, over the last `executionsLookbackMs`.
    public var positionsReconcileMilliseconds: Int64 = 45_000
    public var executionsLookbackMilliseconds: Int64 = 600_000
    public init() {}

    /// Bybit's leverage for USDT perpetuals: at least 1, in steps of 0.01 (the symbol's own maximum is checked at start).
    public static func leverage(_ text: String) -> Rate? {
        guard let l = try? Rate(text), l.units >= 10_000_000_000, l.units <= 200 * 10_000_000_000, l.units % 100_000_000 == 0 else { return nil }
        return l
    }
    public static let leverageExpected = "a decimal from 1 to 200 in steps of 0.01 as text, e.g. \"5\""
}

/// Every problem of a configuration file, one per line.
public struct BacktestConfigurationError: Error, Sendable, CustomStringConvertible {
    public var problems: [String]
    public init(_ problems: [String]) { self.problems = problems }
    public var description: String { problems.joined(separator: "\n") }
}

/// A JSON value as written (numbers kept apart from booleans, so `1` is never read as `true`).
enum JSONValue: Decodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}

/// Reads one JSON object, remembering which keys were read, so that unknown ones are refused.
struct ConfigReader {
    let object: [String: JSONValue]
    let path: String
    var read: Set<String> = []
    var problems: [String] = []

    init(object: [String: JSONValue], path: String) {
        self.object = object
        self.path = path
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    mutating func problem(_ key: String, _ expected: String) { problems.append("\(name(key)): expected \(expected)") }

    mutating func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let v = object[key] else { return nil }
        if case .null = v { return nil }
        return v
    }

    mutating func isNull(_ key: String) -> Bool {
        guard case .null? = object[key] else { return false }
        read.insert(key)
        return true
    }

    mutating func string(_ key: String) -> String? {
        guard let v = value(key) else { return nil }
        guard case let .string(s) = v else { problem(key, "a string"); return nil }
        return s
    }

    mutating func strings(_ key: String) -> [String]? {
        guard let v = value(key) else { return nil }
        guard case let .array(a) = v else { problem(key, "an array of strings"); return nil }
        let strings = a.compactMap { if case let .string(s) = $0 { s } else { nil } }
        guard strings.count == a.count else { problem(key, "an array of strings"); return nil }
        return strings
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case let .bool(b) = v else { problem(key, "true or false"); return nil }
        return b
    }

    static func whole(_ v: JSONValue) -> Int? {
        if case let .integer(i) = v { return Int(exactly: i) }
        return nil
    }

    mutating func int(_ key: String, min: Int = .min, max: Int = .max) -> Int? {
        guard let v = value(key) else { return nil }
        guard let i = Self.whole(v), i >= min, i <= max else {
            problem(key, min == .min ? "a whole number" : max == .max ? "a whole number ≥ \(min)" : "a whole number in \(min)...\(max)")
            return nil
        }
        return i
    }

    mutating func ints(_ key: String) -> [Int]? {
        guard let v = value(key) else { return nil }
        guard case let .array(a) = v else { problem(key, "an array of whole numbers"); return nil }
        let ints = a.compactMap(Self.whole)
        guard ints.count == a.count else { problem(key, "an array of whole numbers"); return nil }
        return ints
    }

    /// Money as decimal text ("100.5"): never a binary float.
    mutating func usdt(_ key: String) -> USDT? {
        guard let v = value(key) else { return nil }
        guard case let .string(s) = v, let amount = try? USDT(s), amount.units > 0 else {
            problem(key, "a positive amount as decimal text, e.g. \"100\"")
            return nil
        }
        return amount
    }

    mutating func rate(_ key: String) -> Rate? {
        guard let v = value(key) else { return nil }
        guard case let .string(s) = v, let r = try? Rate(s) else { problem(key, "a rate as decimal text, e.g. \"0.0002\""); return nil }
        return r
    }

    /// `{"absoluteUsdt": "1000" | null, "equityBps": 500 | null}`.
    mutating func limit(_ key: String) -> RiskLimit? {
        guard var r = section(key) else { return nil }
        var limit = RiskLimit()
        if !r.isNull("absoluteUsdt"), let v = r.usdt("absoluteUsdt") { limit.absolute = Int64(v.units) }
        if !r.isNull("equityBps"), let v = r.int("equityBps", min: 1) { limit.equityBps = Int64(v) }
        merge(r)
        return limit
    }

    mutating func section(_ key: String) -> ConfigReader? {
        guard let v = value(key) else { return nil }
        guard case let .object(o) = v else { problem(key, "an object"); return nil }
        return ConfigReader(object: o, path: name(key))
    }

    /// Takes a finished section's problems (its unknown keys included).
    mutating func merge(_ section: ConfigReader) {
        var s = section
        s.finish()
        problems.append(contentsOf: s.problems)
    }

    mutating func finish() {
        for key in object.keys.sorted() where !read.contains(key) { problems.append("\(name(key)): unknown key") }
        read.formUnion(object.keys)
    }
}
