import CascadeCore
import Features
import MarketData
import Strategy

// Entries: an episode's ladder, its layers within the risk limits, and the re-plans of later liquidations.
extension TradingEngine {
    // MARK: - Entries

    mutating func decideEntry(_ episode: CascadeEpisode, _ b: inout DecisionBuilder, feed: FeedState, instruments: InstrumentTable) {
        let symbol = episode.symbol
        let now = b.decision.time
        func skip(_ reason: String, _ detail: String = "") { b.log(symbol, episode.id, "skip", reason, detail) }
        guard episode.source == configuration.liquidationSource else {
            return skip("source.\(episode.source.rawValue)", "trading \(configuration.liquidationSource.rawValue) episodes")
        }
        if let symbols = configuration.symbols, !symbols.contains(symbol) { return skip("symbolNotTraded") }
        guard let id = instruments.lookup(symbol) else { return skip("noInstrumentRules") }
        let instrument = instruments[id]     // once: each subscript copies the instrument
        guard let rules = instrument.rules else { return skip("noInstrumentRules") }
        let mode = (b.decision.risk ?? risk).memory.mode
        if mode != .normal { return skip("mode.\(mode.rawValue)", (b.decision.risk ?? risk).reason ?? "") }
        if !privateStreamUp { return skip("breaker.privateStreamDown") }
        if activeLadder[symbol] != nil { return skip("ladderActive") }
        if positionSize(symbol) != 0 { return skip("positionOpen") }
        guard let book = feed.deepestBookIndex(id, syncedOnly: true) else { return skip("breaker.noBook") }
        if let denial = breaker(symbol, id, book: book, feed: feed, now: now) { return skip(denial.code, denial.detail) }
        guard let bid = feed.books[book].bestBid, let ask = feed.books[book].bestAsk else { return skip("breaker.noBook") }
        guard let equity = stepEquity(&b, feed: feed) else { return skip("risk.noEquity") }
        let arms = scorer.arms(ArmContext(symbol: symbol, liquidated: episode.side, doubledMid: bid.price.units + ask.price.units,
                                          time: now, configuredOffsets: configuration.offsetsBps))
        let plan = LadderPlanner.plan(liquidated: episode.side, bestBid: bid.price, bestAsk: ask.price, offsets: arms,
                                      notional: configuration.layerNotional, rules: rules)
        for skipped in plan.skipped {
            b.log(symbol, episode.id, "skipLayer", "layer.\(skipped.reason)", "δ=\(arms[skipped.index])bps")
        }
        guard let side = plan.layers.first?.side else { return skip("noLayer") }
        // The stop is set from the layers the risk limits admit, not from the plan: a denied deep layer would leave
        // it further away than `stopBps` allows for what actually rests.
        let admitted = admittedLayers(plan.layers, symbol: symbol, episodeID: episode.id, placedNotional: .zero, id: id,
                                      instrument: instrument, equity: equity, newEpisode: true, &b, feed: feed, instruments: instruments)
        guard !admitted.isEmpty else { return skip("noLayerWithinRisk") }
        let stop: Price
        do { stop = try ProtectionPlanner.stopLoss(side: side, layerPrices: admitted.map(\.layer.price), stopBps: configuration.stopBps, rules: rules) }
        catch { return skip("stopOutOfRange", "\(error)") }
        var ladder = Ladder(number: ladderCount + 1, episodeID: episode.id, symbol: symbol, side: side, stopPrice: stop, opened: now,
                            lastDecisionMid2: bid.price.units + ask.price.units,
                            entryDeadline: ExchangeTime(milliseconds: now.milliseconds + configuration.entryTTLMilliseconds))
        let placed = placeLayers(admitted, in: &ladder, id: id, &b)
        guard placed > 0 else { return skip("noLayerWithinRisk") }
        var state = b.decision.risk ?? risk
        var engine = RiskEngine(limits: configuration.limits)
        engine.memory = state.memory
        engine.recordEpisodeStart(at: now.milliseconds * 1_000_000)
        state.memory = engine.memory
        b.decision.risk = state
        if knownRules[symbol] != rules { b.decision.instruments[symbol] = rules }
        // "ladder \(n) \(side) \(placed) layers, stop \(stop), liquidated \(side)": at most 7 + 20 + 1 + 4 + 1 + 20 + 14 +
        // 21 + 13 + 5 = 106 bytes (two 64-bit counts, a price of at most 19 digits and its point).
        let detail = TextWriter.text(capacity: 128) { w in
            w.put("ladder "); w.put(ladder.number); w.put(" "); w.put(string: side.description); w.put(" "); w.put(Int64(placed))
            w.put(" layers, stop "); w.put(string: instrument.format(stop)); w.put(", liquidated "); w.put(string: episode.side.description)
        }
        b.log(symbol, episode.id, "enter", "episodeStarted", detail)
        b.changed[ladder.number] = ladder
    }

    /// The layers of `layers` the risk limits admit, in order, each admitted one counted as filled for the next, with
    /// the notional checked (placing them reads it, not computes it again); the denials are logged.
    mutating func admittedLayers(_ layers: [LadderLayer], symbol: String, episodeID: String, placedNotional: USDT, id: SymbolID,
                                 instrument: Instrument, equity: USDT, newEpisode: Bool, _ b: inout DecisionBuilder, feed: FeedState,
                                 instruments: InstrumentTable) -> [(layer: LadderLayer, notional: USDT)] {
        var exposure = exposure(feed: feed, instruments: instruments)
        exposure.episodeNotional = placedNotional
        var engine = RiskEngine(limits: configuration.limits)
        engine.memory = (b.decision.risk ?? risk).memory
        var admitted: [(layer: LadderLayer, notional: USDT)] = []
        admitted.reserveCapacity(layers.count)
        for layer in layers {
            let notional = instrument.notional(price: layer.price, qty: layer.qty) ?? .zero
            if let denial = engine.check(symbol: id, side: layer.side, notional: notional, isNewEpisode: newEpisode && admitted.isEmpty,
                                         exposure: exposure, equity: equity, now: b.decision.time.milliseconds * 1_000_000) {
                b.log(symbol, episodeID, "skipLayer", denial.code, "δ=\(layer.offsetBps)bps \(denial)")
                continue
            }
            exposure.episodeNotional = exposure.episodeNotional + notional
            exposure.restingLayers += 1
            if layer.side == .buy { exposure.restingBuys[id, default: .zero] = exposure.restingBuys[id, default: .zero] + notional }
            else { exposure.restingSells[id, default: .zero] = exposure.restingSells[id, default: .zero] + notional }
            admitted.append((layer, notional))
        }
        return admitted
    }

    /// Places `layers` (admitted by ``admittedLayers``) with the ladder's stop, returning how many.
    mutating func placeLayers(_ layers: [(layer: LadderLayer, notional: USDT)], in ladder: inout Ladder, id: SymbolID,
                              _ b: inout DecisionBuilder) -> Int {
        var placed = 0
        // Room for the whole ladder at its first layers (a later reserve of an exact size would reallocate each time).
        if b.decision.intents.isEmpty { b.reserve(orders: layers.count) }
        if ladder.entries.isEmpty { ladder.entries.reserveCapacity(layers.count) }
        for (layer, notional) in layers {
            guard let linkID = try? OrderLinkID(node: configuration.node, run: run, episode: ladder.number, role: .entry,
                                                layer: ladder.nextLayer, attempt: 0) else {
                b.log(ladder.symbol, ladder.episodeID, "skipLayer", "orderLinkIdOutOfRange")
                continue
            }
            ladder.nextLayer += 1
            let protection = Protection(stopLoss: ProtectionLeg(trigger: ladder.stopPrice, source: configuration.stopTrigger), mode: .full)
            let spec = OrderSpec(side: layer.side, type: .limit, timeInForce: .postOnly, price: layer.price, qty: layer.qty,
                                 protection: protection)
            let text = submit(linkID, spec, ladder: ladder, id: id, &b)
            ladder.entries.append(text)
            ladder.placedNotional = ladder.placedNotional + notional
            placed += 1
        }
        return placed
    }

    /// Later liquidations of an episode being entered: re-plan when the mid moved further, under the episode cap.
    mutating func reevaluate(_ symbol: String, _ liquidation: Liquidation, _ b: inout DecisionBuilder, feed: FeedState,
                             instruments: InstrumentTable) {
        guard configuration.maxDecisionsPerEpisode > 1, let n = activeLadder[symbol], var ladder = ladders[n], !ladder.entriesClosed,
              ladder.decisions < configuration.maxDecisionsPerEpisode, (b.decision.risk ?? risk).memory.mode == .normal,
              positionSize(symbol) == 0 || ladder.filled,
              let id = instruments.lookup(symbol), let rules = instruments[id].rules,
              let book = feed.deepestBookIndex(id, syncedOnly: true), let bid = feed.books[book].bestBid, let ask = feed.books[book].bestAsk
        else { return }
        let mid2 = bid.price.units + ask.price.units
        // The cascade must have pushed the mid further in its direction by the configured move.
        let moved = ladder.side == .buy ? ladder.lastDecisionMid2 - mid2 : mid2 - ladder.lastDecisionMid2
        guard Int128(moved) * 10_000 >= Int128(configuration.reevaluateMoveBps) * Int128(ladder.lastDecisionMid2) else { return }
        // The loss limits are not checked on every liquidation (the decision path's hot input), so here, before any
        // exposure is added: a limit crossed since the last heartbeat stops the re-plan (and closes the entries).
        lossLimits(&b, feed: feed, instruments: instruments)
        guard (b.decision.risk ?? risk).memory.mode == .normal else { return }
        if let denial = breaker(symbol, id, book: book, feed: feed, now: b.decision.time) {
            return b.log(symbol, ladder.episodeID, "skip", denial.code, denial.detail)
        }
        guard let equity = stepEquity(&b, feed: feed) else { return b.log(symbol, ladder.episodeID, "skip", "risk.noEquity") }
        let liquidated: PositionSide = ladder.side == .buy ? .long : .short
        let arms = scorer.arms(ArmContext(symbol: symbol, liquidated: liquidated, doubledMid: mid2, time: b.decision.time,
                                          configuredOffsets: configuration.offsetsBps))
        let plan = LadderPlanner.plan(liquidated: liquidated, bestBid: bid.price, bestAsk: ask.price, offsets: arms,
                                      notional: configuration.layerNotional, rules: rules)
        // Only prices the ladder does not rest at already, and never beyond its stop.
        let resting = Set(liveOrders(ladder.entries).compactMap { order($0)?.spec.price })
        let layers = plan.layers.filter { !resting.contains($0.price) && (ladder.side == .buy ? $0.price > ladder.stopPrice : $0.price < ladder.stopPrice) }
        ladder.decisions += 1
        ladder.lastDecisionMid2 = mid2
        let admitted = admittedLayers(layers, symbol: symbol, episodeID: ladder.episodeID, placedNotional: ladder.placedNotional, id: id,
                                      instrument: instruments[id], equity: equity, newEpisode: false, &b, feed: feed, instruments: instruments)
        let placed = placeLayers(admitted, in: &ladder, id: id, &b)
        b.log(symbol, ladder.episodeID, placed > 0 ? "enter" : "skip", placed > 0 ? "reevaluated" : "reevaluatedNoLayer",
              "decision \(ladder.decisions), \(placed) more layers")
        b.changed[ladder.number] = ladder
        _ = liquidation
    }
}
