import CascadeCore
import Execution
import Foundation

/// `status.json` of a node (what `cascade status` prints), written atomically by rename and never read back by the
/// node.
enum NodeStatusFile {
    /// The file's values, read from the engine where it is held (the live trader reads them under its lock and writes
    /// the file after releasing it: formatting and writing are system calls the sender should not wait for).
    struct Snapshot: Sendable {
        var object: [String: any Sendable]

        init(node: String, engine: TradingEngine, balance: USDT, frames: Int, lastExchangeTime: ExchangeTime?,
             fills: Int, episodes: Int, at now: LocalTime) {
            var positions: [String: String] = [:]
            for (symbol, report) in engine.positions where report.size.units != 0 { positions[symbol] = "\(report.size)" }
            object = [
                "node": node,
                "pid": Int(ProcessInfo.processInfo.processIdentifier),
                "updatedAtMs": now.nanoseconds / 1_000_000,
                "depositUsdt": "\(balance)",
                "walletUsdt": "\(engine.portfolio.wallet)",
                "positions": positions,
                "openOrders": engine.tracker.open.count,
                "riskMode": engine.risk.memory.mode.rawValue,
                "alarms": engine.alarms,
                "frames": frames,
                "lastExchangeTimeMs": lastExchangeTime?.milliseconds ?? 0,
                "fills": fills,
                "episodesDetected": episodes,
            ]
        }

        func write(to directory: String) throws {
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            let path = (directory as NSString).appendingPathComponent("status.json")
            try data.write(to: URL(fileURLWithPath: path + ".tmp"))
            guard rename(path + ".tmp", path) == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    static func write(node: String, engine: TradingEngine, balance: USDT, frames: Int, lastExchangeTime: ExchangeTime?,
                      fills: Int, episodes: Int, at now: LocalTime, to directory: String) throws {
        try Snapshot(node: node, engine: engine, balance: balance, frames: frames, lastExchangeTime: lastExchangeTime,
                     fills: fills, episodes: episodes, at: now).write(to: directory)
    }
}
