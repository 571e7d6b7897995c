import BybitV5
public import BybitV5Client
public import CascadeCore
import Foundation
public import Logging
import Recording
public import ServiceLifecycle
import Synchronization

/// `cascade record`: the 24/7 recorder of Bybit public data into the recording contract.
///
/// One task owns the `Recorder`; the stream client, REST pollers and a 1 s timer feed it through one
/// ordered channel. Stream frames are written byte for byte; connection events become `_cascade.session`
/// entries, REST polls `_cascade.rest`, clock samples `_cascade.clock`, and every new file starts with the
/// latest `_cascade.instruments` snapshot. A full disk stops writing (frames are counted as dropped and an
/// alert is logged) and writing is retried; nothing crashes. Graceful shutdown flushes and writes the manifest.
public final class RecordService: Service {
    public let configuration: RecordConfiguration
    let clock: any WallClock
    let timer: any TaskClock
    let logger: Logger
    /// Inputs the writer may leave unread before stream events are dropped (and recorded as a gap).
    static let inputBuffer = 65_536

    enum Input: Sendable {
        /// An event of connection `connection` (index into `configuration.connections`).
        case stream(PublicStreamEvent, connection: Int)
        case rest(kind: String, endpoint: String, query: [(String, String)], answer: Result<BybitPublicREST.Answer, BybitPublicREST.Failure>)
        case tick
    }

    /// Gets every frame as recorded, and the 1 s ticks (the paper node); its failure stops the service.
    let consumer: (any RecordedFrameConsumer)?

    public init(configuration: RecordConfiguration, consumer: (any RecordedFrameConsumer)? = nil, clock: any WallClock = SystemWallClock(),
                timer: any TaskClock = ContinuousTaskClock(), logger: Logger) {
        self.configuration = configuration
        self.consumer = consumer
        self.clock = clock
        self.timer = timer
        self.logger = logger
    }

    public func run() async throws {
        let streamClients = configuration.connections.map { topics in
            PublicStreamClient(configuration: PublicStreamConfiguration(url: configuration.endpoint, topics: topics),
                               clock: clock, timer: timer, logger: logger)
        }
        var clientOfTopic: [String: PublicStreamClient] = [:]
        for (client, topics) in zip(streamClients, configuration.connections) {
            for topic in topics { clientOfTopic[topic] = client }
        }
        let rest = BybitPublicREST(baseURL: configuration.rest)
        // Bounded: a writer that falls behind (a slow disk) loses stream events visibly — never memory without
        // limit. Each forwarder puts a `gap` (how many it dropped, since when) in the channel where the hole is, before
        // its next event; the writer records it and resyncs that connection's books and tickers once.
        let (inputs, feed) = AsyncStream.makeStream(of: Input.self, bufferingPolicy: .bufferingOldest(Self.inputBuffer))
        await withTaskGroup(of: Void.self) { group in
            for (index, client) in streamClients.enumerated() {
                group.addTask { await client.run() }
                group.addTask {
                    var lost = 0
                    var since: LocalTime?
                    for await event in client.events {
                        if lost > 0 {
                            guard case .enqueued = feed.yield(.stream(.gap(dropped: lost, at: since!), connection: index)) else {
                                lost += 1
                                continue
                            }
                            lost = 0
                        }
                        if case .dropped = feed.yield(.stream(event, connection: index)) {
                            if lost == 0 { since = self.clock.now() }
                            lost += 1
                        }
                    }
                }
            }
            group.addTask { await self.poll(rest, into: feed) }
            group.addTask {
                while !Task.isCancelled {
                    do { try await self.timer.sleep(for: .seconds(1)) } catch { break }
                    feed.yield(.tick)
                }
            }
            var sink = RecordingSink(configuration: configuration, consumer: consumer, logger: logger)
            var integrity = BookIntegrityMonitor()
            for await input in inputs.cancelOnGracefulShutdown() {
                let now = clock.now()
                sink.handle(input, now: now)
                // Frames this connection dropped: its books and tickers start again from snapshots.
                if case let .stream(.gap, connection) = input {
                    for topic in configuration.connections[connection] where topic.hasPrefix("orderbook.") || topic.hasPrefix("tickers.") {
                        await streamClients[connection].resync(topic: topic, reason: .overflow)
                    }
                }
                // A book that fails its checks (gap, regression, crossed, lost frame) is resynced at once by
                // unsubscribe/subscribe, so the recording gets a fresh snapshot instead of a drifting stream.
                if case let .stream(event, connection) = input, let (topic, reason) = integrity.check(event, connection: connection) {
                    await clientOfTopic[topic]?.resync(topic: topic, reason: .requested(reason))
                }
                // A consumer that cannot go on (its journal failed) stops the node.
                if consumer?.failure != nil { break }
            }
            // Stop the producers, then write what they had already queued before closing the file.
            group.cancelAll()
            feed.finish()
            for await input in inputs { sink.handle(input, now: clock.now()) }
            sink.close()
        }
        if let failure = consumer?.failure { throw failure }
        try consumer?.finish()
    }

    /// When a poll is due again: after its period when it was answered, after `retry` (if shorter) when it was not,
    /// or answered with an error (an instruments-info refused at start would otherwise leave the node without
    /// instrument rules for an hour).
    static func pollDelay(after answer: Result<BybitPublicREST.Answer, BybitPublicREST.Failure>, every: Duration,
                          retry: Duration) -> Duration {
        if case let .success(a) = answer, a.status == 200, RecordingSink.retCodeIsZero(a.body) { return every }
        return min(every, retry)
    }

    /// REST polls: instruments first (so the first file starts with them), then the periodic ones.
    private func poll(_ rest: BybitPublicREST, into feed: AsyncStream<Input>.Continuation) async {
        struct Poll {
            var kind: String
            var endpoint: String
            var query: [(String, String)]
            var every: Duration
            var due: ClockInstant
        }
        let now = timer.instant()
        // One instruments-info request per symbol: the unfiltered list has 500+ linear symbols over pages.
        var polls: [Poll] = configuration.symbols.map { symbol in
            Poll(kind: "instruments", endpoint: "/v5/market/instruments-info", query: [("category", "linear"), ("symbol", symbol)],
                 every: configuration.instrumentsInterval, due: now)
        }
        polls.append(Poll(kind: "clock", endpoint: "/v5/market/time", query: [], every: configuration.clockInterval, due: now))
        for symbol in configuration.symbols {
            polls.append(Poll(kind: "rest", endpoint: "/v5/market/open-interest",
                              query: [("category", "linear"), ("symbol", symbol), ("intervalTime", "5min"), ("limit", "1")],
                              every: configuration.openInterestInterval, due: now))
            polls.append(Poll(kind: "rest", endpoint: "/v5/market/funding/history",
                              query: [("category", "linear"), ("symbol", symbol), ("limit", "1")],
                              every: configuration.fundingHistoryInterval, due: now))
        }
        while !Task.isCancelled {
            for i in polls.indices where polls[i].due <= timer.instant() {
                let p = polls[i]
                let answer: Result<BybitPublicREST.Answer, BybitPublicREST.Failure>
                do { answer = .success(try await rest.get(p.endpoint, query: p.query, clock: clock)) } catch { answer = .failure(error) }
                if case .dropped = feed.yield(.rest(kind: p.kind, endpoint: p.endpoint, query: p.query, answer: answer)) {
                    logger.warning("REST poll answer dropped: the writer is behind", metadata: ["endpoint": "\(p.endpoint)"])
                }
                polls[i].due = timer.instant() + Self.pollDelay(after: answer, every: p.every, retry: configuration.pollRetryInterval)
                if case let .success(a) = answer, a.status == 403 {
                    // IP ban: every poll pauses for 10 minutes (the stream is unaffected).
                    logger.critical("ALERT: Bybit REST answered HTTP 403 (IP ban): polls paused for 10 minutes")
                    let resume = timer.instant() + .seconds(600)
                    for k in polls.indices { polls[k].due = max(polls[k].due, resume) }
                    break
                }
            }
            // Sleeps until the next poll is due (cancellation ends the sleep).
            let next = polls.map(\.due).min() ?? timer.instant() + .seconds(1)
            do { try await timer.sleep(until: next) } catch { break }
        }
    }
}
