import CascadeCore
import Execution
import Foundation

/// `status.json` of a node (what `cascade status` prints), written atomically by rename and never read back by the
/// node.
enum NodeStatusFile {
    static func write(node: String, engine: TradingEngine, balance: USDT, frames: Int, lastExchangeTime: ExchangeTime?,
                      fills: Int, episodes: Int, at now: LocalTime, to directory: String) throws {
        var positions: [String: String] = [:]
        for (symbol, report) in engine.positions where report.size.units != 0 { positions[symbol] = "\(report.size)" }
        let open = engine.tracker.open.count
        let object: [String: Any] = [
            "node": node,
            "pid": Int(ProcessInfo.processInfo.processIdentifier),
            "updatedAtMs": now.nanoseconds / 1_000_000,
            "depositUsdt": "\(balance)",
            "walletUsdt": "\(engine.portfolio.wallet)",
            "positions": positions,
            "openOrders": open,
            "riskMode": engine.risk.memory.mode.rawValue,
            "alarms": engine.alarms,
            "frames": frames,
            "lastExchangeTimeMs": lastExchangeTime?.milliseconds ?? 0,
            "fills": fills,
            "episodesDetected": episodes,
        ]
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
        let path = (directory as NSString).appendingPathComponent("status.json")
        try data.write(to: URL(fileURLWithPath: path + ".tmp"))
        guard rename(path + ".tmp", path) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}
