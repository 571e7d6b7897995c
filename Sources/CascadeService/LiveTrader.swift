public import BybitGateway
public import BybitV5Client
import BybitV5
public import CascadeCore
public import Execution
import FeatureReplay
public import Features
import Foundation
public import Logging
import MarketData
import Synchronization

/// The live node's trader: the recorded public frames → FeedState → features and detector → ``Execution/TradingEngine``,
/// whose commands go to Bybit through ``BybitGateway/BybitGateway`` and whose reports come back from Bybit's private
/// stream. The same engine as the backtest and the paper node; only the venue and the clock differ.
///
/// Every engine step is committed to the journal before its commands are queued; one sender sends them in order
/// and feeds each call's answer back as a step. While the private stream is untrusted (from a gap until its
/// backfill) the engine's breaker holds new entries. A quarantined private row halts the engine with an alert
/// (reduce-only per symbol is not modelled by the engine yet: halting is the conservative choice).
///
/// Time: the engine's `now` is the local clock moved onto Bybit's by the REST client's measured offset
/// (`/v5/market/time`, half the round trip), never a frame's own timestamp.
public final class LiveTrader: RecordedFrameConsumer {
    struct State: @unchecked Sendable {
        var engine: TradingEngine
        var replay: FeatureReplay
        var journal: any OrderJournal
        var lastSecond: Int64 = .min
        var lastTick: Int64 = .min
        var failure: (any Error)?
        var fills = 0
        var episodes = 0
    }

    let state: Mutex<State>
    let gateway: BybitGateway
    let outbox: AsyncStream<VenueCommand>
    let outboxContinuation: AsyncStream<VenueCommand>.Continuation
    /// Bybit time − local time (ms), from the REST client's measurement.
    let offset: Mutex<Int64>
    let timer: any TaskClock
    let clock: any WallClock
    let logger: Logger
    /// How long after its decision a create or amend may still leave (a rate-limit wait past it refuses it).
    public let sendDeadline: Duration
    /// Where `status.json` is written once a second (nil: nowhere).
    public let statusDirectory: String?
    let startingBalance: USDT

    /// - Parameters:
    ///   - instruments: the table the gateway and its private stream use (``instrumentTable(symbols:)``).
    ///   - startingBalance: the wallet as Bybit reports it at start.
    public init(engineConfiguration: EngineConfiguration, features: FeatureConfiguration, instruments: InstrumentTable,
                journal: any OrderJournal, gateway: BybitGateway, startingBalance: USDT, serverOffsetMilliseconds: Int64,
                sendDeadline: Duration = .seconds(1), statusDirectory: String? = nil, clock: any WallClock = SystemWallClock(),
                timer: any TaskClock = ContinuousTaskClock(), logger: Logger) throws {
        self.gateway = gateway
        self.statusDirectory = statusDirectory
        self.startingBalance = startingBalance
        self.timer = timer
        self.clock = clock
        self.logger = logger
        self.sendDeadline = sendDeadline
        offset = Mutex(serverOffsetMilliseconds)
        (outbox, outboxContinuation) = AsyncStream.makeStream(of: VenueCommand.self, bufferingPolicy: .unbounded)
        // A restart continues the journal: the engine is rebuilt from it, then a new run starts.
        let entries = try journal.entries()
        var engine = TradingEngine.restore(from: entries, configuration: engineConfiguration, instruments: instruments)
        let run = try journal.nextRun()
        let now = ExchangeTime(milliseconds: clock.now().nanoseconds / 1_000_000 + serverOffsetMilliseconds)
        let step = engine.start(run: run, startingBalance: startingBalance, at: now, instruments: instruments)
        try journal.commit(step.entries)
        state = Mutex(State(engine: engine, replay: FeatureReplay(configuration: features, instruments: instruments), journal: journal))
    }

    /// The table every part of the live node numbers symbols with: the traded symbols in name order (as a backtest
    /// registers its books), so the engine, the decoder and the private stream agree on every id.
    public static func instrumentTable(symbols: [String]) -> InstrumentTable {
        var table = InstrumentTable()
        for symbol in symbols.sorted() { _ = table.id(for: symbol) }
        return table
    }

    public var failure: (any Error)? { state.withLock { $0.failure } }

    /// The engine as it stands (status file, tests).
    public var engine: TradingEngine { state.withLock { $0.engine } }

    // MARK: - Inputs

    public func recorded(_ bytes: [UInt8], at: LocalTime) {
        state.withLock { s in
            guard s.failure == nil else { return }
            let ingested = s.replay.ingest(bytes, at: at)
            if case let .event(event)? = ingested.input, case let .liquidations(list) = event {
                for liquidation in list { step(.liquidation(liquidation), &s) }
            }
            for change in ingested.detector {
                if case .started = change { s.episodes += 1 }
                step(.detector(change), &s)
            }
            second(at, &s)
        }
    }

    public func idle(until: LocalTime) {
        state.withLock { s in
            guard s.failure == nil else { return }
            second(until, &s)
        }
    }

    public func finish() throws {
        outboxContinuation.finish()
        if let failure { throw failure }
    }

    /// Once a second of receive time: the detector's deadlines, and loss limits at the marks of the moment.
    private func second(_ at: LocalTime, _ s: inout State) {
        let t = at.nanoseconds / 1_000_000
        guard t / 1_000 != s.lastSecond else { return }
        s.lastSecond = t / 1_000
        for change in s.replay.advance(to: at.nanoseconds) { step(.detector(change), &s) }
        step(.heartbeat, &s)
        wakeIfDue(&s)
        if let statusDirectory {
            do {
                try NodeStatusFile.write(node: "live", engine: s.engine, balance: startingBalance, frames: s.replay.frames,
                                         lastExchangeTime: s.replay.lastTime.map { ExchangeTime(milliseconds: $0 / 1_000_000) },
                                         fills: s.fills, episodes: s.episodes, at: at, to: statusDirectory)
            } catch {
                logger.warning("status file not written: \(error)")
            }
        }
    }

    private func wakeIfDue(_ s: inout State) {
        guard let wake = s.engine.nextWakeup?.milliseconds, wake <= exchangeNow().milliseconds, wake != s.lastTick else { return }
        s.lastTick = wake
        step(.tick, &s)
    }

    func exchangeNow() -> ExchangeTime {
        ExchangeTime(milliseconds: clock.now().nanoseconds / 1_000_000 + offset.withLock { $0 })
    }

    /// One engine input: its entries committed, then its commands queued for the sender, in order.
    private func step(_ input: EngineInput, _ s: inout State) {
        let step = s.engine.handle(input, feed: s.replay.feed, instruments: s.replay.decoder.instruments, now: exchangeNow())
        guard !step.entries.isEmpty || !step.commands.isEmpty else { return }
        do {
            try s.journal.commit(step.entries)
        } catch {
            // Nothing is sent without a committed entry: the node stops.
            s.failure = error
            logger.critical("ALERT: journal write failed; trading stopped: \(error)")
            return
        }
        for entry in step.log { logger.info("decision: \(entry.action) \(entry.reason) \(entry.detail)") }
        for command in step.commands { outboxContinuation.yield(command) }
    }

    // MARK: - Venue

    /// Sends queued commands one by one, feeds venue events to the engine, and wakes the engine at its deadlines,
    /// until cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.gateway.run() }
            group.addTask {
                for await event in self.gateway.events { await self.handle(event) }
            }
            group.addTask {
                for await command in self.outbox {
                    let instrument = self.state.withLock { $0.replay.decoder.instruments[command.symbol] }
                    let deadline = LocalTime(nanoseconds: self.clock.now().nanoseconds + self.sendDeadline.components.seconds * 1_000_000_000
                                             + self.sendDeadline.components.attoseconds / 1_000_000_000)
                    let result = await self.gateway.send(command, instrument: instrument, notAfter: deadline)
                    self.state.withLock { s in
                        guard s.failure == nil else { return }
                        self.step(.call(command, result), &s)
                    }
                }
            }
            group.addTask {
                // Engine deadlines (time exits, entry expiries) between frames, checked every 100 ms.
                while !Task.isCancelled {
                    do { try await self.timer.sleep(for: .milliseconds(100)) } catch { break }
                    self.state.withLock { s in if s.failure == nil { self.wakeIfDue(&s) } }
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    func handle(_ event: GatewayEvent) async {
        var persisted: [ExecutionID] = []
        state.withLock { s in
            guard s.failure == nil else { return }
            switch event {
            case let .reports(reports):
                for report in reports {
                    step(.report(report), &s)
                    if case let .filled(fill) = report.event {
                        s.fills += 1
                        persisted.append(fill.executionID)
                        let symbol = report.symbol.map { s.replay.decoder.instruments[$0].symbol } ?? "?"
                        logger.info("live fill: \(symbol) \(fill.clientID?.rawValue ?? fill.venueID.rawValue) \(fill.side) \(FixedDecimal.format(fill.qty.units, digits: Quantity.digits)) @ \(FixedDecimal.format(fill.price.units, digits: Price.digits)) (\(fill.liquidity)), fee \(fill.fee.map { "\($0)" } ?? "not said yet")")
                    }
                    if case let .funding(payment) = report.event { persisted.append(payment.executionID) }
                }
            case let .privateStream(trusted):
                logger.info("private stream \(trusted ? "trusted" : "untrusted: entries wait")")
                step(.control(.privateStream(up: trusted)), &s)
            case let .quarantined(symbol, detail):
                logger.critical("ALERT: quarantined private row (\(symbol ?? "?")): \(detail); halting")
                step(.control(.halt(reason: "quarantined private row of \(symbol ?? "an unknown symbol")")), &s)
            case let .alert(message):
                logger.critical("ALERT: \(message)")
            }
        }
        // Only once the journal holds them do they move the execution cursor.
        if !persisted.isEmpty { await gateway.persisted(persisted) }
    }
}
