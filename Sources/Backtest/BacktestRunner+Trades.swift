import CascadeCore
import Execution
import FeatureReplay
import Features
import MarketData
import Recording
import Simulation
import BybitV5

// The runner's trade list: fills and exits attributed to their ladders and layers, and the lane's result at its end.
extension BacktestRunner {
    // MARK: - Trade list

    func noteTrades(_ step: EngineStep, _ lane: inout Lane) {
        for case let .decision(decision) in step.entries {
            for ladder in decision.ladders {
                // A ladder reopened after its row was handed out (a fill after it closed) gets no second row.
                if lane.trades[ladder.number] == nil, ladder.number > lane.settledThrough {
                    lane.trades[ladder.number] = BacktestTrade(ladder: ladder.number, episode: ladder.episodeID, symbol: ladder.symbol,
                                                               side: ladder.side, opened: ladder.opened, layersPlaced: 0, layersFilled: 0)
                }
                lane.trades[ladder.number]?.layersPlaced = ladder.entries.count
            }
            for intent in decision.intents where intent.id.role == .entry {
                guard let ladder = decision.ladders.first(where: { $0.number == intent.ladder }), let price = intent.spec.price,
                      ladder.lastDecisionMid2 > 0 else { continue }
                let mid2 = Int128(ladder.lastDecisionMid2)
                let offset = Int((abs(2 * Int128(price.units) - mid2) * 10_000 * 2 + mid2) / (2 * mid2))
                lane.layers[intent.linkID] = BacktestLayer(linkID: intent.linkID, ladder: intent.ladder, symbol: intent.symbol,
                                                           side: intent.spec.side, price: price, offsetBps: offset, decidedAt: decision.time)
            }
        }
    }

    /// Attributes a report's money to its ladder (before the engine applies it: the ladder is still the active one).
    func record(_ report: ExecutionReport, _ lane: inout Lane, _ market: Market) {
        guard let id = report.symbol else { return }
        let instruments = market.instruments
        let symbol = instruments[id].symbol
        let ladderNumber = lane.engine.activeLadder[symbol]
        switch report.event {
        case let .filled(fill):
            // Counted once, as the engine counts it (it applies the report next).
            guard !lane.engine.tracker.hasExecution(fill.executionID) else { return }
            let linkID = fill.clientID.flatMap { try? OrderLinkID(parsing: $0.rawValue) }
            let number = linkID.map(\.episode) ?? ladderNumber
            let fillRole = role(of: fill, lane)
            var ledger = lane.engine.portfolio.ledgers[id] ?? PositionLedger(instrument: instruments[id])
            let outcome = ledger.apply(side: fill.side, price: fill.price, qty: fill.qty, fee: fill.fee ?? .zero, at: report.time)
            lane.result.fills.append(BacktestFill(time: report.time, symbol: symbol, ladder: number,
                                                  episode: number.flatMap { lane.trades[$0]?.episode }, role: fillRole, side: fill.side,
                                                  price: fill.price, qty: fill.qty, liquidity: fill.liquidity, fee: fill.fee ?? .zero,
                                                  closedPnl: outcome.closedPnl))
            if linkID?.role == .entry {
                lane.result.fills[lane.result.fills.count - 1].markouts = Array(repeating: nil, count: Self.markoutSeconds.count)
                for (h, seconds) in Self.markoutSeconds.enumerated() {
                    lane.markoutsDue[h].append((report.time.milliseconds + seconds * 1_000, lane.fillsDropped + lane.result.fills.count - 1))
                }
                if let key = fill.clientID?.rawValue, var layer = lane.layers[key] {
                    layer.firstFill = layer.firstFill ?? report.time
                    layer.filledQty = layer.filledQty + fill.qty
                    layer.outcome = "filled"
                    lane.layers[key] = layer
                }
            }
            guard let number, var trade = lane.trades[number] else { return }
            let value = instruments[id].notional(price: fill.price, qty: fill.qty) ?? .zero
            if fill.side == trade.side {
                trade.entryQty = trade.entryQty + fill.qty
                trade.entryValue = trade.entryValue + value
                if linkID?.role == .entry {
                    // Layers are counted by price (one layer, one price), without rescanning the fills.
                    lane.filledLayerPrices[number, default: []].insert(fill.price)
                    trade.layersFilled = lane.filledLayerPrices[number]!.count
                }
            } else {
                trade.exitQty = trade.exitQty + fill.qty
                trade.exitValue = trade.exitValue + value
                trade.exitReason = fillRole
            }
            trade.firstFill = trade.firstFill ?? report.time
            trade.lastFill = report.time
            trade.pricePnl = trade.pricePnl + outcome.closedPnl
            trade.fees = trade.fees + (fill.fee ?? .zero)
            lane.trades[number] = trade
        case let .accepted(accepted):
            if let key = accepted.clientID?.rawValue, lane.layers[key] != nil {
                lane.layers[key]!.acceptedAt = lane.layers[key]!.acceptedAt ?? report.time
                lane.layers[key]!.queueAhead = lane.layers[key]!.queueAhead ?? accepted.queueAhead
            }
        case let .cancelled(cancelled):
            if let key = cancelled.clientID?.rawValue, var layer = lane.layers[key] {
                if cancelled.cancellation.reason == .postOnlyWouldTakeLiquidity { layer.outcome = "postOnlyRejected" }
                else { layer.outcome = layer.filledQty.units > 0 ? "partial" : "cancelled" }
                lane.layers[key] = layer
            }
        case let .rejected(rejected):
            if let key = rejected.clientID?.rawValue, lane.layers[key] != nil { lane.layers[key]!.outcome = "rejected" }
        case let .position(p):
            // How long the venue held a position without a stop (measured on the venue's own reports).
            if p.size.units != 0 && p.stopLoss == nil {
                lane.unprotectedSince[id] = lane.unprotectedSince[id] ?? report.time.milliseconds
            } else if let since = lane.unprotectedSince.removeValue(forKey: id) {
                lane.result.longestUnprotectedMs = max(lane.result.longestUnprotectedMs, report.time.milliseconds - since)
            }
        case let .funding(payment):
            guard let number = ladderNumber else { return }
            if var trade = lane.trades[number] {
                trade.funding = trade.funding + payment.amount
                lane.trades[number] = trade
            } else if number <= lane.settledThrough {
                // Its row is already out: the totals still pay it (net must never leave a cost out).
                lane.result.settled.funding = lane.result.settled.funding + payment.amount
            }
        default:
            break
        }
    }

    func role(of fill: Fill, _ lane: Lane) -> String {
        if let id = fill.clientID, let link = try? OrderLinkID(parsing: id.rawValue) { return Self.roleName(link.role) }
        if let origin = lane.engine.legOrigins[fill.venueID] { return "\(origin)" }
        return "venue"
    }

    /// The name of an order's role in the outputs (the orderLinkId carries one letter).
    static func roleName(_ role: OrderRole) -> String {
        switch role {
        case .entry: "entry"
        case .takeProfit: "takeProfit"
        case .timeExit: "timeExit"
        case .protect: "protect"
        }
    }

    /// Marks from the latest tickers (equity needs them).
    static func marks(_ feed: FeedState) -> [SymbolID: Price] {
        var marks: [SymbolID: Price] = [:]
        for (id, ticker) in feed.tickers { if let mark = ticker.fields.markPrice { marks[id] = mark } }
        return marks
    }

    func finish(_ lane: inout Lane, _ replay: FeatureReplay) {
        let instruments = replay.decoder.instruments
        lane.result.trades = lane.trades.keys.sorted().map { lane.trades[$0]! }
        lane.result.layers = lane.layers.values.sorted { ($0.decidedAt.milliseconds, $0.linkID) < ($1.decidedAt.milliseconds, $1.linkID) }
        lane.result.engine = lane.engine.snapshot
        lane.result.engineWallet = lane.engine.portfolio.wallet
        var venueWallet = lane.exchange.deposit
        for id in lane.exchange.symbols.keys.sorted() {
            let ledger = lane.exchange.symbols[venue: id].ledger
            venueWallet = venueWallet + ledger.walletContribution
            if ledger.size != 0 { lane.result.venuePositions[instruments[id].symbol] = ledger.size }
        }
        lane.result.venueWallet = venueWallet
        for (id, ledger) in lane.engine.portfolio.ledgers where ledger.size != 0 {
            lane.result.enginePositions[instruments[id].symbol] = ledger.size
        }
        lane.result.finalEquity = lane.engine.portfolio.equity(marks: Self.marks(replay.feed))
        lane.result.decodeErrors = replay.decodeErrors
        lane.result.mode = lane.engine.risk.memory.mode.rawValue
        lane.result.alarms = lane.engine.alarms
        lane.result.alarmsRaised = lane.engine.alarmsRaised
        lane.result.instruments = instruments
    }
}
