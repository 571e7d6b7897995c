public import CascadeCore

/// What a replayed journal holds, as text (`cascade journal`): one fact per line, stable order.
public enum JournalSummary {
    public static func text(_ engine: TradingEngine, entries: [JournalEntry], transactions: Int, cursor: ExchangeTime??) -> String {
        var out = "entries \(entries.count), transactions \(transactions), last run \(engine.run)\n"
        var phases: [String: Int] = [:]
        for order in engine.tracker.orders.values {
            let name: String = switch order.phase {
            case .intent: "intent"
            case .sent: "sent"
            case .unknown: "unknown"
            case .untriggered: "untriggered"
            case .working: "working"
            case .filled: "filled"
            case .cancelled: "cancelled"
            case .deactivated: "deactivated"
            case .rejected: "rejected"
            }
            phases[name, default: 0] += 1
        }
        out += "orders \(engine.tracker.orders.count): " + phases.keys.sorted().map { "\($0) \(phases[$0]!)" }.joined(separator: ", ") + "\n"
        out += "fills applied \(engine.fillsApplied)\n"
        for (_, ledger) in engine.portfolio.ledgers.sorted(by: { $0.value.instrument.symbol < $1.value.instrument.symbol }) {
            out += "position \(ledger.instrument.symbol) \(ledger.instrument.format(Quantity(units: abs(ledger.size))))"
            out += ledger.size > 0 ? " long" : ledger.size < 0 ? " short" : " flat"
            out += ", realised \(ledger.cumulativeRealisedPnl) USDT (fees \(ledger.feesPaid), funding \(ledger.fundingPaid))\n"
        }
        out += "wallet \(engine.portfolio.wallet) USDT\n"
        let open = engine.activeLadder.keys.sorted().map { "\($0) ladder \(engine.activeLadder[$0]!)" }
        out += "ladders \(engine.ladderCount) (\(engine.ladders.count) in memory), open: \(open.isEmpty ? "none" : open.joined(separator: ", "))\n"
        out += "risk mode \(engine.risk.memory.mode.rawValue)\(engine.risk.reason.map { " (\($0))" } ?? "")\n"
        if case let .some(.some(t)) = cursor { out += "execution cursor \(t)\n" } else { out += "execution cursor none\n" }
        for alarm in engine.alarms { out += "alarm: \(alarm)\n" }
        return out
    }
}
