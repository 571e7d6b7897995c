import BybitV5
public import BybitV5Client
public import CascadeCore
public import Execution
public import Logging
import Synchronization

/// What the Bybit gateway tells the live driver, in order.
public enum GatewayEvent: Sendable {
    /// Venue reports, in the order Bybit sent them (from the private stream, its backfill, or a query that resolved
    /// an order whose call had no clear answer).
    case reports([ExecutionReport])
    /// The private stream's trust: false from a gap until its backfill is delivered (the engine's breaker); new
    /// entries wait while it is false.
    case privateStream(trusted: Bool)
    /// A private row could not be read: its symbol is not trusted (reduce-only) until reconciled; alert.
    case quarantined(symbol: String?, detail: String)
    /// Something the operator must see (an optional topic refused, an order not found after its queries…).
    case alert(String)
    /// A reconciliation read the venue's positions of the traded symbols (signed sizes): the driver compares them
    /// with the journal's.
    case positionsReconciled([SymbolID: Quantity])
}

/// The live venue: ``Execution/TradingEngine`` commands → signed Bybit REST, Bybit's private stream and backfill →
/// ``CascadeCore/ExecutionReport``s (``BybitV5/BybitReportMapper``: funding never a fill, unknown execution types
/// unclassified).
///
/// A call's answer becomes the engine's ``Execution/CallResult`` from the client's typed outcome (client review
/// row 6): `notApplied` → `refused`; a clear success → `sent`; anything that may have happened (no answer, 5xx,
/// an unreadable 200, 110072, 10016) → `transportError`, the order *unknown*, and then resolved by queries, never
/// by a resend: `GET /v5/order/realtime` by `orderLinkId` (which also finds recently closed orders), then
/// `/v5/order/history`, at `resolveAfter` and again at `confirmAfter`. What they find reaches the engine as
/// ordinary reports; an order found by neither is reported rejected (`unknownOrder`, venue code
/// `notFoundAfterQueries`) and alerted, the documented way a lost create ends.
public actor BybitGateway {
    public nonisolated let events: AsyncStream<GatewayEvent>
    let continuation: AsyncStream<GatewayEvent>.Continuation
    /// Unknown outcomes to resolve: each runs as a child of ``run()`` (none outlives the gateway's run).
    /// Orders to look up, each with how long it must stay unfound before it is concluded absent.
    let resolutions: AsyncStream<(Instrument, BybitOrderReference, Duration)>
    let resolutionQueue: AsyncStream<(Instrument, BybitOrderReference, Duration)>.Continuation
    let rest: BybitRESTClient
    let stream: PrivateStreamClient
    let cursor: any ExecutionCursorStore
    let timer: any TaskClock
    let logger: Logger
    var mapper = BybitReportMapper()
    /// Symbols as the engine numbers them (queries decode with it, so a found order keeps its symbol's id).
    var instruments: InstrumentTable
    /// The engine's symbols: a row of any other symbol (the decoders register it under a new id) is reported to the
    /// operator, never to the engine, whose table has no such id.
    let traded: Set<SymbolID>
    var foreignSymbolsAlerted: Set<String> = []
    /// Executions delivered and not yet persisted by the driver, by id (committed to the cursor once persisted).
    var unpersisted: [String: BybitExecution] = [:]
    /// While running (NautilusTrader's defaults are of the same order): the open-order list every `openOrdersInterval`
    /// (an order the stream left open and the list no longer has is queried, never assumed gone), positions and
    /// the executions of the last `executionsLookback` every `positionsInterval` (a fill the stream never delivered
    /// while its heartbeats went on is found here). Skipped while the stream is untrusted: its backfill does it.
    public var openOrdersInterval: Duration = .seconds(7)
    public var positionsInterval: Duration = .seconds(45)
    public var executionsLookback: Duration = .seconds(600)
    /// No execution before this time is reconciled (``BybitV5Client/PrivateStreamConfiguration/historyFloor``: the
    /// account's trading before the journal's first run is not the node's).
    public var historyFloor: ExchangeTime?
    public func setHistoryFloor(_ floor: ExchangeTime?) { historyFloor = floor }
    /// The reconciliation timing of the configuration's `live` section (set before `run`).
    public func setReconciliation(openOrders: Duration, positions: Duration, executionsLookback: Duration) {
        openOrdersInterval = openOrders
        positionsInterval = positions
        self.executionsLookback = executionsLookback
    }
    /// Keep-warm of the REST connections (off until ``setKeepWarm(connections:every:)``): at start and then every
    /// `keepWarmInterval`, `keepWarmConnections` public calls at once (``BybitV5Client/BybitRESTClient/warmConnections(_:timeout:)``).
    /// Over HTTP/1.1 each takes a connection of its own (over HTTP/2, if Bybit's edge negotiates it, all calls share
    /// one, and the keep-warm keeps that one open); an order sent while a round is out (a round trip every 20 s) may
    /// still open a new one.
    /// AsyncHTTPClient closes a connection idle for 60 s and hands out the most recently used idle one first, so without
    /// it a node between cascades holds one connection, the one its reconciliation's calls keep in use: the entry
    /// create sent while a reconciliation call holds it, or the protective order sent while the entry lane does, first opened a TCP and TLS connection to
    /// Bybit (round trips before the order leaves), and a connection left idle for minutes could have been dropped
    /// silently by a NAT on the way. AsyncHTTPClient's own pre-warmed connections were tried and not kept: they are
    /// never used when idle, and after a network outage new calls waited on their reconnect back-off (up to 60 s).
    public private(set) var keepWarmConnections = 0
    public private(set) var keepWarmInterval: Duration = .seconds(20)
    /// What `cascade live` keeps warm: a connection for each sender lane and one for the reconciliation's calls, used
    /// every 20 s (within AsyncHTTPClient's 60 s idle close and common NAT idle timeouts).
    public static let liveKeepWarmConnections = 3
    public static let liveKeepWarmInterval: Duration = .seconds(20)
    /// Keep-warm rounds sent.
    public private(set) var keepWarmRounds = 0
    /// Sets the keep-warm (before `run`; 0 connections: off).
    public func setKeepWarm(connections: Int, every interval: Duration) {
        keepWarmConnections = connections
        keepWarmInterval = interval
    }
    var trusted = false
    /// Executions already reported (by id, with their time), so a reconciliation reports only what the stream missed.
    var seenExecutions: [String: ExchangeTime] = [:]
    /// The driver's journal, asked whether an execution is already persisted (from an earlier run: this process
    /// never saw it, and the cursor lists only the last few). Without it a reconciliation after a restart reports
    /// the previous run's fills again (harmless to the engine, which counts a fill once, but a false alarm).
    var isPersisted: (@Sendable (String) -> Bool)?
    public func setPersistedCheck(_ check: @escaping @Sendable (String) -> Bool) { isPersisted = check }
    public private(set) var reconciliations = 0
    /// Orders a restarted node's engine holds open (working or waiting for a trigger) by `orderLinkId`: the stream has
    /// said nothing of them in this process. After the first backfill, those that none of its lists has are queried
    /// (Bybit may have ended them while the node was away: disconnect-cancel, a fired stop, an order older than the
    /// history window), so the engine hears how they ended instead of holding them open for good.
    var expectedOpen: [String: Instrument] = [:]
    /// Sets ``expectedOpen`` (before `run`).
    public func expectOpen(_ orders: [(clientID: ClientOrderID, instrument: Instrument)]) {
        for order in orders { expectedOpen[order.clientID.rawValue] = order.instrument }
    }
    /// Orders whose unknown outcome a query settled (found), and those reported rejected after both queries.
    public private(set) var foundByQuery = 0
    public private(set) var notFoundAfterQueries = 0
    /// Unknown orders that only their executions showed (no order list had them yet).
    public private(set) var foundByExecutions = 0
    /// First query of an unknown outcome, and the confirming one.
    public var resolveAfter: Duration = .seconds(2)
    public var confirmAfter: Duration = .seconds(5)
    /// An order no list knows is concluded absent only once this long has passed since its outcome became unknown,
    /// asked again at doubling intervals after the confirming query: Bybit processes a create asynchronously, and under
    /// the load a cascade brings, later than a few seconds. (One that appears after even this is cancelled by the
    /// engine: ``Execution/TradingEngine``.)
    public var concludeAbsentAfter: Duration = .seconds(60)
    /// A cancel or amend answered 110079 (the order still processing) is asked again this much later, once.
    public var processingRetryAfter: Duration = .milliseconds(300)

    /// - Parameter instruments: the engine's table (the private stream must be made with the same one).
    public init(rest: BybitRESTClient, stream: PrivateStreamClient, cursor: any ExecutionCursorStore, instruments: InstrumentTable,
                timer: any TaskClock = ContinuousTaskClock(), logger: Logger) {
        self.instruments = instruments
        self.traded = Set(instruments.instruments.map(\.id))
        self.rest = rest
        self.stream = stream
        self.cursor = cursor
        self.timer = timer
        self.logger = logger
        // Unbounded by design, bounded upstream: an event is a report the engine must hear (dropping one would lose a
        // fill until a reconciliation found it), and they come from the private stream, whose own buffer is bounded
        // (an overflow there is a gap: untrusted, then backfilled). A resolution is one per unknown-outcome call.
        (events, continuation) = AsyncStream.makeStream(of: GatewayEvent.self, bufferingPolicy: .unbounded)
        (resolutions, resolutionQueue) = AsyncStream.makeStream(of: (Instrument, BybitOrderReference, Duration).self, bufferingPolicy: .unbounded)
    }

    // MARK: - Commands

    /// Sends `command` (on `instrument`) and returns what the engine should hear. `notAfter`: a create or amend that
    /// cannot leave by then (a rate-limit wait) is refused unsent (`rateLimited`), so the engine decides again.
    public func send(_ command: VenueCommand, instrument: Instrument, notAfter: LocalTime? = nil) async -> CallResult {
        let request: BybitRequest
        do {
            request = try BybitCommandEncoder.request(command, instrument: instrument)
        } catch {
            return .refused(Self.localRefusal(error))
        }
        do {
            switch command.action {
            case .submit, .amend, .cancel:
                // 110079 on a cancel or amend ("the order is processing and can not be operated, please try again
                // later"): asked once more after `processingRetryAfter`, as Bybit says; refused only if it still is (a
                // cancel dropped here would leave the entry resting).
                let answer: BybitResponse<BybitOrderIDResult>
                let asksAgain = if case .submit = command.action { false } else { true }
                do {
                    answer = try await rest.send(request, as: BybitOrderIDResult.self, notAfter: notAfter)
                } catch let processing where processing.isStillProcessing && asksAgain {
                    logger.info("order still processing at Bybit: asking again", metadata: ["command": "\(command.action)"])
                    do { try await timer.sleep(for: processingRetryAfter) } catch { return failed(command, instrument: instrument, processing) }
                    answer = try await rest.send(request, as: BybitOrderIDResult.self, notAfter: notAfter)
                }
                return .sent(answer.result.flatMap { $0.orderId.isEmpty ? nil : VenueOrderID($0.orderId) })
            case .cancelAll:
                _ = try await rest.send(request, as: BybitCancelAllResult.self)
                return .sent(nil)
            case .setTradingStop, .setLeverage:
                _ = try await rest.send(request, as: BybitEmptyResult.self)
                return .sent(nil)
            }
        } catch {
            return failed(command, instrument: instrument, error)
        }
    }

    /// Sends entry creates of `instrument` in one `POST /v5/order/create-batch` (``CascadeCore/SenderBatch``) and returns
    /// each one's answer, in order. Bybit answers each order on its own (`retExtInfo.list[i]`): an item it refused is
    /// heard as that refusal, an item whose code leaves its state unknown (10000, 10016, 110072) is resolved by query,
    /// exactly as a single create's would be. An order that cannot be encoded is refused alone (as the simulated venue
    /// refuses one order of a batch) and the others go. A call that fails as a whole fails each create as a single call
    /// would; an answer that does not match the request item by item leaves every create unknown (queried, never assumed).
    public func sendBatch(_ commands: [VenueCommand], instrument: Instrument, notAfter: LocalTime? = nil) async -> [CallResult] {
        var results = [CallResult?](repeating: nil, count: commands.count)
        var sending: [(index: Int, parameters: BybitOrderParameters)] = []
        for (i, command) in commands.enumerated() {
            do throws(BybitRequestError) {
                // Only creates with a client id go in a batch (``CascadeCore/SenderBatch``): one without would make the
                // REST client refuse the whole call.
                guard SenderBatch.isBatchable(command), let parameters = BybitCommandEncoder.orderParameters(command, instrument: instrument)
                else { throw .outOfRange(parameter: "request", value: i, allowed: 0...0) }
                try parameters.validate()
                sending.append((i, parameters))
            } catch {
                results[i] = .refused(Self.localRefusal(error))
            }
        }
        if sending.count == 1 {
            results[sending[0].index] = await send(commands[sending[0].index], instrument: instrument, notAfter: notAfter)
        } else if sending.count > 1 {
            let batch = sending.map { commands[$0.index] }
            for (k, result) in await sendOneBatch(batch, sending.map(\.parameters), instrument: instrument, notAfter: notAfter).enumerated() {
                results[sending[k].index] = result
            }
        }
        return results.map { $0! }
    }

    func sendOneBatch(_ commands: [VenueCommand], _ parameters: [BybitOrderParameters], instrument: Instrument,
                      notAfter: LocalTime?) async -> [CallResult] {
        let request: BybitRequest
        do {
            request = try .createBatch(parameters)
        } catch {
            return commands.map { _ in .refused(Self.localRefusal(error)) }
        }
        let answer: BybitResponse<BybitBatchOrderResult>
        do {
            answer = try await rest.send(request, as: BybitBatchOrderResult.self, notAfter: notAfter)
        } catch {
            return commands.map { failed($0, instrument: instrument, error) }
        }
        let links = parameters.map { $0.orderLinkId ?? "" }
        guard let items = Self.batchItems(answer, links: links, endpoint: request.path) else {
            logger.warning("create-batch answer does not match the request: every create is resolved by query")
            let mismatch = BybitDecodeError.countMismatch(field: "result.list", expected: commands.count, got: answer.result?.list.count ?? 0)
            return commands.map { failed($0, instrument: instrument, .rest(.decode(endpoint: request.path, mismatch))) }
        }
        return zip(items, commands).map { item, command in
            switch item {
            case let .success(venueID): .sent(venueID)
            case let .failure(error): failed(command, instrument: instrument, error)
            }
        }
    }

    /// Each order's answer in a create-batch response, in request order: its venue id, or its error as a single create's
    /// would be. Nil when the answer does not match the request item by item: the lists differ in length, or an item
    /// names another `orderLinkId` than its order's (an accepted item must name it; a refused one may leave it empty).
    static func batchItems(_ answer: BybitResponse<BybitBatchOrderResult>, links: [String],
                           endpoint: String) -> [Result<VenueOrderID?, BybitClientError>]? {
        guard let outcomes = try? answer.outcomes(for: .create), outcomes.count == links.count else { return nil }
        var items: [Result<VenueOrderID?, BybitClientError>] = []
        for (outcome, link) in zip(outcomes, links) {
            if outcome.retCode == .ok {
                guard outcome.item.orderLinkId == link else { return nil }
                items.append(.success(outcome.item.orderId.isEmpty ? nil : VenueOrderID(outcome.item.orderId)))
            } else {
                // A refused item may leave its orderLinkId empty: it is then matched by position, which Bybit documents
                // (both lists in request order).
                guard outcome.item.orderLinkId.isEmpty || outcome.item.orderLinkId == link else { return nil }
                items.append(.failure(.rest(.api(BybitAPIError(retCode: outcome.retCode, meaning: outcome.meaning, retMsg: outcome.retMsg,
                                                                httpStatus: 200, endpoint: endpoint, operation: .create,
                                                                rateLimitResetTime: nil, serverTime: answer.time)))))
            }
        }
        return items
    }

    func failed(_ command: VenueCommand, instrument: Instrument, _ error: BybitClientError) -> CallResult {
        // Leverage already at the asked value (110043) is the asked state.
        if case .setLeverage = command.action, case let .rest(.api(e)) = error, e.retCode == .leverageNotModified { return .sent(nil) }
        switch error.outcome {
        case .notApplied:
            return .refused(Self.rejection(error))
        case .unknown:
            logger.warning("call outcome unknown: resolving by query", metadata: ["command": "\(command.action)", "error": "\(error)"])
            switch command.action {
            case let .submit(clientID?, spec):
                // A reduce-only order that cannot rest (IOC, FOK, market: the engine's exits) is done or gone within
                // moments wherever it is, and can only reduce: two clean answers settle it, and the next exit attempt
                // need not wait a minute.
                scheduleResolution(instrument, reference: .orderLinkId(clientID.rawValue),
                                   concludeAfter: !spec.canRest && spec.onlyReduces ? confirmAfter : concludeAbsentAfter)
                return .transportError
            case let .cancel(reference), let .amend(reference, _):
                // "Already gone" (110001, 110008, 110010) is a refusal of the command; the order's end comes from the
                // query. Anything else (10000, 10016, no answer) may have been applied: unknown.
                scheduleResolution(instrument, reference: BybitCommandEncoder.reference(reference))
                if case let .rest(.api(e)) = error, [.orderDoesNotExist, .orderCompletedOrCancelled, .orderCancelled].contains(e.retCode) {
                    return .refused(BybitCodes.rejection(retCode: e.retCode, message: e.retMsg))
                }
                return .transportError
            case .cancelAll, .setTradingStop, .setLeverage, .submit(nil, _):
                return .transportError
            }
        }
    }

    /// A command that could not be encoded: refused before anything was sent.
    static func localRefusal(_ error: BybitRequestError) -> Rejection { Rejection(.invalidParameter("\(error)"), venueCode: "local") }

    static func rejection(_ error: BybitClientError) -> Rejection {
        switch error {
        case let .rest(.api(e)): BybitCodes.rejection(retCode: e.retCode, message: e.retMsg)
        case let .rest(.http(status, _, _)) where status == 429: Rejection(.rateLimited, venueCode: "HTTP 429")
        case let .rest(.http(status, _, _)): Rejection(.other("HTTP \(status)"), venueCode: "HTTP \(status)")
        case .stale: .staleUnsent
        case .ipBanned: Rejection(.rateLimited, venueCode: "ipBanned")
        default: Rejection(.other("\(error)"), venueCode: "local")
        }
    }

    // MARK: - Resolving unknown outcomes

    /// Orders a restarted node's journal left in flight (journaled, maybe sent before the crash): each is looked
    /// up by its `orderLinkId` like an unknown outcome (found: its reports; absent twice: rejected), never resent.
    public func resolveInFlight(_ orders: [(clientID: ClientOrderID, instrument: Instrument)]) {
        for order in orders { scheduleResolution(order.instrument, reference: .orderLinkId(order.clientID.rawValue)) }
    }

    func scheduleResolution(_ instrument: Instrument, reference: BybitOrderReference, concludeAfter: Duration? = nil) {
        if case .terminated = resolutionQueue.yield((instrument, reference, concludeAfter ?? concludeAbsentAfter)) {
            // The gateway's run has ended: a restarted node looks the order up from its journal.
            logger.warning("order query not scheduled: the gateway has stopped", metadata: ["order": "\(reference)"])
        }
    }

    /// Queries the order at `resolveAfter`, again at `confirmAfter`, then at doubling intervals; it is concluded gone
    /// only once `concludeAfter` (default `concludeAbsentAfter`) has passed with the last answer, and at least two,
    /// clean: neither realtime list (open, and recent closed with `openOnly=1`), nor the history, nor the execution
    /// list has it, and the stream never reported it. An order only its executions show is reported by them and asked
    /// after again until a list has it. A query that fails concludes nothing: the order stays unknown and is asked
    /// again with a growing wait (a network error never becomes a rejection).
    func resolve(_ instrument: Instrument, reference: BybitOrderReference, concludeAfter: Duration? = nil) async {
        let limit = concludeAfter ?? concludeAbsentAfter
        var cleanNotFound = 0
        var wait = resolveAfter
        var failures = 0
        var elapsed = Duration.zero
        // Concluded on a clean answer only: a failed query last concludes nothing.
        var lastClean = false
        while !(lastClean && cleanNotFound >= 2 && elapsed >= limit) {
            do { try await timer.sleep(for: wait) } catch { return }
            elapsed += wait
            switch await query(symbol: instrument.symbol, reference: reference) {
            case let .found(order):
                foundByQuery += 1
                emit(.reports(engineReports(mapper.reports(order: order, listed: true))))
                return
            case let .traded(executions):
                // It reached Bybit: never "rejected". Its fills are reported (once: the engine counts an execution
                // once, and the ones already seen are skipped here), and the order lists are asked again later.
                let fresh = unseen(executions)
                for execution in fresh { note(execution) }
                if !fresh.isEmpty { emit(.reports(engineReports(fresh.map { mapper.report(execution: $0) }))) }
                foundByExecutions += 1
                cleanNotFound = 0
                lastClean = false
                failures += 1
                wait = .seconds(min(60, 2 << min(failures, 5)))
            case .notFound:
                cleanNotFound += 1
                lastClean = true
                // The confirming query, then doubling waits, the last one landing on `limit`.
                wait = cleanNotFound == 1 ? confirmAfter - resolveAfter : max(.seconds(1), min(elapsed, limit - elapsed))
            case let .failed(why):
                failures += 1
                lastClean = false
                logger.warning("order query failed; the order stays unknown", metadata: ["order": "\(reference)", "error": "\(why)"])
                wait = .seconds(min(60, 2 << min(failures, 5)))
            }
        }
        // The time first: no await between the stream's last word and the verdict (an accept handled meanwhile would
        // come before it).
        let now = await rest.serverNow()
        if case let .orderLinkId(link) = reference, mapper.hasSeen(orderLinkId: link) { return }   // the stream has it
        if case let .orderId(id) = reference {
            let message = "order \(id) left open by the stream is in neither realtime nor history"
            logger.critical("ALERT: \(message)")
            emit(.alert(message))
        }
        if case let .orderLinkId(link) = reference, let clientID = try? ClientOrderID(link) {
            notFoundAfterQueries += 1
            let message = "order \(link) not found at Bybit by realtime or history for \(limit): reported rejected"
            logger.critical("ALERT: \(message)")
            emit(.alert(message))
            emit(.reports([ExecutionReport(symbol: instrument.id, time: now,
                                                         event: .rejected(OrderRejected(venueID: nil, clientID: clientID,
                                                                                        rejection: Rejection(.unknownOrder, venueCode: Rejection.notFoundAfterQueries))))]))
        }
    }

    enum QueryResult {
        case found(BybitOrder)
        /// No order list has it, but it traded: its executions (its final state is still to come).
        case traded([BybitExecution])
        case notFound
        case failed(String)
    }

    func query(symbol: String, reference: BybitOrderReference) async -> QueryResult {
        do {
            // Open orders, then recent closed ones (a fast IOC or a PostOnly cancelled at once), then the history
            // (published with a delay).
            for openOnly in [0, 1] {
                let realtime = try BybitRequest.realtimeOrders(scope: .symbol(symbol), order: reference, openOnly: openOnly, limit: 1)
                if let result = try await rest.send(realtime, as: BybitOrderListResult.self).result,
                   let order = try result.orders(instruments: &instruments).first {
                    return .found(order)
                }
            }
            let history = try BybitRequest.orderHistory(scope: .symbol(symbol), order: reference, limit: 1)
            if let result = try await rest.send(history, as: BybitOrderListResult.self).result,
               let order = try result.orders(instruments: &instruments).first {
                return .found(order)
            }
            // Last, its executions (the last 7 days): an order that traded exists even where no order list shows it
            // (realtime emptied by a restart, the history not yet written).
            var executions: [BybitExecution] = []
            try await BybitPages.walk { cursor in
                let request = try BybitRequest.executionList(symbol: symbol, order: reference, limit: 100, cursor: cursor)
                let result = try await rest.send(request, as: BybitExecutionListResult.self).result
                executions += try result?.executions(instruments: &instruments) ?? []
                return result?.nextPageCursor
            }
            return executions.isEmpty ? .notFound : .traded(executions)
        } catch {
            return .failed("\(error)")
        }
    }

    /// The reports the engine may hear: those of its symbols (and account-wide ones). A report of another symbol
    /// (activity on the account the node does not trade) is alerted once per symbol and kept from the engine.
    func engineReports(_ reports: [ExecutionReport]) -> [ExecutionReport] {
        reports.filter { report in
            guard let id = report.symbol, !traded.contains(id) else { return true }
            let symbol = instruments[id].symbol
            if foreignSymbolsAlerted.insert(symbol).inserted {
                let message = "activity on \(symbol), a symbol this node does not trade: left alone, shown here"
                logger.warning("ALERT: \(message)")
                emit(.alert(message))
            }
            return false
        }
    }

    // MARK: - The private stream

    /// Runs the private stream and turns its events into gateway events until cancelled.
    public func run() async {
        let stream = self.stream
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await stream.run() }
            group.addTask { await self.reconcileLoop() }
            group.addTask { await self.keepWarmLoop() }
            group.addTask {
                await withDiscardingTaskGroup { queries in
                    for await (instrument, reference, concludeAfter) in self.resolutions {
                        queries.addTask { await self.resolve(instrument, reference: reference, concludeAfter: concludeAfter) }
                    }
                }
            }
            for await event in stream.events {
                await handle(event)
                streamEventsHandled += 1
            }
            group.cancelAll()
        }
        continuation.finish()
    }

    /// Keeps ``keepWarmConnections`` REST connections open and recently used, at start and every ``keepWarmInterval``.
    /// After a round that reached nothing, one call a round until Bybit answers again: failed connection attempts
    /// lengthen AsyncHTTPClient's back-off, which a later order's new connection would wait on.
    func keepWarmLoop() async {
        guard keepWarmConnections > 0 else { return }
        var next = timer.instant()
        var reachable = true
        while !Task.isCancelled {
            do { try await timer.sleep(until: next) } catch { return }
            next = timer.instant() + keepWarmInterval
            let calls = reachable ? keepWarmConnections : 1
            let failed = await rest.warmConnections(calls)
            keepWarmRounds += 1
            if (failed < calls) != reachable {
                reachable = failed < calls
                if reachable { logger.info("keep-warm: Bybit answers again") } else { logger.warning("keep-warm: no call reached Bybit") }
            }
        }
    }

    // MARK: - Reconciliation while running

    func reconcileLoop() async {
        var nextOrders = timer.instant() + openOrdersInterval
        var nextPositions = timer.instant() + positionsInterval
        while !Task.isCancelled {
            do { try await timer.sleep(until: min(nextOrders, nextPositions)) } catch { return }
            let now = timer.instant()
            if now >= nextOrders {
                nextOrders = now + openOrdersInterval
                if trusted { await reconcileOrders() }
            }
            if now >= nextPositions {
                nextPositions = now + positionsInterval
                if trusted { await reconcilePositionsAndExecutions() }
            }
        }
    }

    /// The open-order list against what the stream said: changes it missed become reports; an order it left open
    /// that the list lacks is queried (realtime by id, then history) before anything is concluded.
    func reconcileOrders() async {
        do {
            var listed: [BybitOrder] = []
            try await BybitPages.walk { cursor in
                let request = try BybitRequest.realtimeOrders(scope: .settleCoin("USDT"), openOnly: 0, limit: 50, cursor: cursor)
                let result = try await rest.send(request, as: BybitOrderListResult.self).result
                var quarantine: [BybitQuarantinedRow] = []
                listed += result?.orders(instruments: &instruments, quarantine: &quarantine) ?? []
                for row in quarantine { emit(.quarantined(symbol: row.symbol, detail: row.description)) }
                return result?.nextPageCursor
            }
            reconciliations += 1
            let listedIDs = Set(listed.map(\.orderId))
            var reports: [ExecutionReport] = []
            for order in listed.sorted(by: { $0.updatedTime < $1.updatedTime }) { reports += mapper.reports(order: order, listed: true) }
            if !reports.isEmpty { emit(.reports(engineReports(reports))) }
            for (orderId, symbol) in mapper.openOrders where !listedIDs.contains(orderId) {
                let instrument = instruments[instruments.id(for: symbol)]
                scheduleResolution(instrument, reference: .orderId(orderId))
            }
        } catch {
            logger.warning("open-order reconciliation failed; next time", metadata: ["error": "\(error)"])
        }
    }

    /// Positions (the venue's view: the engine re-protects a position without its stop) and the executions of the
    /// lookback the stream never delivered.
    func reconcilePositionsAndExecutions() async {
        do {
            var reports: [ExecutionReport] = []
            var positions: [SymbolID: Quantity] = [:]
            let now = await rest.serverNow()
            for instrument in instruments.instruments where traded.contains(instrument.id) {
                let result = try await rest.send(try BybitRequest.positionList(.symbol(instrument.symbol)), as: BybitPositionListResult.self).result
                var quarantine: [BybitQuarantinedRow] = []
                let list = result?.positions(instruments: &instruments, quarantine: &quarantine) ?? []
                // A position row that cannot be read leaves the symbol's size unknown: no comparison this time.
                guard quarantine.isEmpty else {
                    for row in quarantine { emit(.quarantined(symbol: row.symbol, detail: row.description)) }
                    continue
                }
                positions[instrument.id] = Quantity(units: list.reduce(0) { $0 + $1.signedSize.units })
                for position in list {
                    if let r = mapper.report(position: position, at: position.updatedTime ?? now) { reports.append(r) }
                }
            }
            var start = ExchangeTime(milliseconds: now.milliseconds - executionsLookback.components.seconds * 1_000)
            if let floor = historyFloor { start = max(start, floor) }
            var listed: [BybitExecution] = []
            try await BybitPages.walk { cursor in
                // No endTime: Bybit answers up to 7 days from startTime, so a skewed local clock cannot cut off the newest.
                let request = try BybitRequest.executionList(settleCoin: "USDT", startTime: start, limit: 100, cursor: cursor)
                let result = try await rest.send(request, as: BybitExecutionListResult.self).result
                var quarantine: [BybitQuarantinedRow] = []
                listed += result?.executions(instruments: &instruments, quarantine: &quarantine) ?? []
                // An unreadable execution may be a fill: its symbol's exposure is no longer known.
                for row in quarantine { emit(.quarantined(symbol: row.symbol, detail: row.description)) }
                return result?.nextPageCursor
            }
            for execution in unseen(listed) {
                logger.warning("reconciliation found an execution the stream never delivered", metadata: ["execId": "\(execution.execId)"])
                note(execution)
                reports.append(mapper.report(execution: execution))
            }
            reconciliations += 1
            if !reports.isEmpty { emit(.reports(engineReports(reports))) }
            emit(.positionsReconciled(positions))
            // Ids older than the lookback can no longer come back from a reconciliation.
            seenExecutions = seenExecutions.filter { $0.value.milliseconds >= start.milliseconds - 60_000 }
        } catch {
            logger.warning("position reconciliation failed; next time", metadata: ["error": "\(error)"])
        }
    }

    /// Executions neither this process reported nor the driver's journal holds, oldest first (execId breaks ties).
    func unseen(_ executions: [BybitExecution]) -> [BybitExecution] {
        executions.filter { seenExecutions[$0.execId] == nil && isPersisted?($0.execId) != true }
            .sorted { ($0.execTime, $0.execId) < ($1.execTime, $1.execId) }
    }

    /// An execution reported to the driver: kept until persisted (of a traded symbol: the driver never persists
    /// another's), remembered for reconciliations.
    func note(_ execution: BybitExecution) {
        if traded.contains(execution.symbolID) { unpersisted[execution.execId] = execution }
        seenExecutions[execution.execId] = execution.execTime
    }

    /// The private stream numbers symbols in a table of its own: a symbol neither table held at the start (another
    /// client's activity on the account) can get another number there than here. Its rows are renumbered through this
    /// table by name, so every report's symbol is one of this table's. Before, such a row's number indexed past this
    /// table when the gateway named the symbol in its alert: the node crashed.
    func renumbered(_ message: BybitPrivateMessage) -> BybitPrivateMessage {
        switch message {
        case let .orders(rows, envelope): .orders(renumbered(rows, \.symbol, \.symbolID), envelope)
        case let .executions(rows, envelope): .executions(renumbered(rows, \.symbol, \.symbolID), envelope)
        case let .positions(rows, envelope): .positions(renumbered(rows, \.symbol, \.symbolID), envelope)
        case .wallets, .control: message
        }
    }

    func renumber(_ backfill: inout PrivateBackfill) {
        backfill.openOrders = renumbered(backfill.openOrders, \.symbol, \.symbolID)
        backfill.closedOrders = renumbered(backfill.closedOrders, \.symbol, \.symbolID)
        backfill.executions = renumbered(backfill.executions, \.symbol, \.symbolID)
        backfill.positions = renumbered(backfill.positions, \.symbol, \.symbolID)
    }

    func renumbered<Row>(_ rows: [Row], _ symbol: KeyPath<Row, String>, _ id: WritableKeyPath<Row, SymbolID>) -> [Row] {
        rows.map { row in
            var row = row
            row[keyPath: id] = instruments.id(for: row[keyPath: symbol])
            return row
        }
    }

    func handle(_ event: PrivateStreamEvent) async {
        switch event {
        case .gap, .failed:
            trusted = false
            emit(.privateStream(trusted: false))
        case var .backfill(backfill):
            renumber(&backfill)
            noteUnread((backfill.openOrders + backfill.closedOrders).flatMap(\.unreadFields) + backfill.executions.flatMap(\.unreadFields)
                       + backfill.positions.flatMap(\.unreadFields) + (backfill.wallet?.unreadFields ?? []))
            var reports: [ExecutionReport] = []
            // Orders first (their acceptance before their fills), then the executions as journal history (the engine
            // counts a fill once by its id), then positions and the wallet as the venue's view.
            for order in (backfill.openOrders + backfill.closedOrders).sorted(by: { $0.updatedTime < $1.updatedTime }) {
                reports += mapper.reports(order: order, listed: true)
            }
            for execution in backfill.executions {
                note(execution)
                reports.append(mapper.report(execution: execution))
            }
            let now = await rest.serverNow()
            for position in backfill.positions {
                if let r = mapper.report(position: position, at: position.updatedTime ?? now) { reports.append(r) }
            }
            if let wallet = backfill.wallet, let r = mapper.report(wallet: wallet, at: now) { reports.append(r) }
            emit(.reports(engineReports(reports)))
            // An order the stream left open that neither list has (created before the history window, ended in the
            // gap): queried by id, never assumed gone.
            let listed = Set((backfill.openOrders + backfill.closedOrders).map(\.orderId))
            for (orderId, symbol) in mapper.openOrders where !listed.contains(orderId) {
                scheduleResolution(instruments[instruments.id(for: symbol)], reference: .orderId(orderId))
            }
            // The same for the orders a restarted node's engine holds open (the stream has not seen them yet): by
            // orderLinkId, once.
            let listedLinks = Set((backfill.openOrders + backfill.closedOrders).map(\.orderLinkId))
            for (link, instrument) in expectedOpen.sorted(by: { $0.key < $1.key })
            where !listedLinks.contains(link) && !mapper.hasSeen(orderLinkId: link) {
                scheduleResolution(instrument, reference: .orderLinkId(link))
            }
            expectedOpen = [:]
        case .trusted:
            trusted = true
            emit(.privateStream(trusted: true))
        case let .message(received):
            let message = renumbered(received)
            noteUnread(message)
            if case let .executions(list, _) = message {
                for execution in list { note(execution) }
            }
            let reports = engineReports(mapper.reports(message))
            if !reports.isEmpty { emit(.reports(reports)) }
        case let .quarantined(row, _):
            emit(.quarantined(symbol: row.symbol, detail: row.description))
        case let .optionalTopicRefused(topic, message, _):
            emit(.alert("optional private topic \(topic) refused: \(message)"))
        case .connected, .authenticated:
            break
        }
    }

    /// Informational fields Bybit sent that could not be read (they were `nil` to everything downstream), counted by
    /// name; the first of each name is alerted.
    public private(set) var unreadFields: [String: Int] = [:]

    func noteUnread(_ message: BybitPrivateMessage) {
        var names: [String] = []
        switch message {
        case let .orders(list, _): names = list.flatMap(\.unreadFields)
        case let .executions(list, _): names = list.flatMap(\.unreadFields)
        case let .positions(list, _): names = list.flatMap(\.unreadFields)
        case let .wallets(list, _): names = list.flatMap(\.unreadFields)
        case .control: break
        }
        noteUnread(names)
    }

    func noteUnread(_ names: [String]) {
        for name in names {
            unreadFields[name, default: 0] += 1
            if unreadFields[name] == 1 {
                let message = "Bybit sent a value of \(name) this build cannot read; it is treated as absent"
                logger.warning("ALERT: \(message)")
                emit(.alert(message))
            }
        }
    }

    /// Events handed to the driver, and the private stream's events handled (a test's barrier compares them with
    /// the driver's and the stream's counts).
    public private(set) var eventsYielded = 0
    public private(set) var streamEventsHandled = 0

    func emit(_ event: GatewayEvent) {
        eventsYielded += 1
        continuation.yield(event)
    }

    /// The driver persisted these executions (its journal committed them): they move the cursor.
    public func persisted(_ ids: [ExecutionID]) {
        let executions = ids.compactMap { unpersisted.removeValue(forKey: $0.rawValue) }
        guard !executions.isEmpty else { return }
        do { try cursor.commit(executions) } catch {
            logger.critical("ALERT: execution cursor not written: \(error)")
            emit(.alert("execution cursor not written: \(error)"))
        }
    }
}
