import BybitV5
import BybitV5Client
import CascadeCore
import Foundation
import Logging
import Recording

/// The single owner of the `Recorder` inside ``RecordService``: turns inputs into frames and pseudo-frames.
struct RecordingSink {
    let configuration: RecordConfiguration
    let logger: Logger
    var recorder: Recorder?
    /// Shared with the recorder's new-file hook, which writes the latest instruments snapshot first.
    final class InstrumentsBox {
        /// Latest instruments-info answer per symbol.
        var json: [String: (bytes: [UInt8], time: LocalTime)] = [:]
        /// Receive time of the frame being written: a new file's snapshot is stamped with it, so receive
        /// times never step back inside a file.
        var now = LocalTime(nanoseconds: 0)
    }
    let instruments = InstrumentsBox()
    var framesDropped = 0
    var diskFullSince: LocalTime?
    var lastHealth: LocalTime?
    var lastRetry: LocalTime?
    var framesSinceHealth = 0
    var disconnects = 0
    var lastDisconnect: String?
    var lastFrame: LocalTime?

    /// Gets every recorded frame (the paper node).
    let consumer: (any RecordedFrameConsumer)?

    init(configuration: RecordConfiguration, consumer: (any RecordedFrameConsumer)? = nil, logger: Logger) {
        self.configuration = configuration
        self.consumer = consumer
        self.logger = logger
        recorder = openRecorder()
    }

    mutating func handle(_ input: RecordService.Input, now: LocalTime) {
        switch input {
        case let .stream(event, connection):
            handle(event, connection: connection)
        case let .rest(kind, endpoint, query, answer):
            handleREST(kind: kind, endpoint: endpoint, query: query, answer: answer, now: now)
        case .tick:
            if let recorder { attempt(now) { () throws(RecordingError) in try recorder.tick(now: now) } }
            consumer?.idle(until: now)
            health(now)
        }
    }

    private mutating func handle(_ event: PublicStreamEvent, connection: Int) {
        switch event {
        case let .frame(bytes, at):
            lastFrame = at
            framesSinceHealth += 1
            write(at) { (r: Recorder) throws(RecordingError) in try r.record(localTime: at, json: bytes) }
        case let .connected(attempt, at):
            session(["event": "connect", "connection": connection, "attempt": attempt, "url": configuration.endpoint,
                     "topics": configuration.connections[connection]], at)
        case let .subscribed(topics, at):
            session(["event": "subscribed", "connection": connection, "topics": topics], at)
        case let .subscriptionFailed(topics, message, at):
            logger.error("subscription refused", metadata: ["topics": "\(topics)", "message": "\(message)"])
            session(["event": "subscribe_failed", "connection": connection, "topics": topics, "message": message], at)
        case let .resync(topic, reason, at):
            session(["event": "resync", "connection": connection, "topic": topic, "reason": reason.description], at)
        case let .gap(dropped, at):
            // Frames were dropped before they reached us: the recording says so, and replays treat the
            // connection's books as interrupted until their next snapshot (the client resyncs them).
            framesDropped += dropped
            session(["event": "gap", "connection": connection, "dropped": dropped, "topics": configuration.connections[connection]], at)
        case let .disconnected(reason, at, retryIn):
            disconnects += 1
            lastDisconnect = reason.description
            session(["event": "disconnect", "connection": connection, "reason": reason.description,
                     "topics": configuration.connections[connection],
                     "retryInMs": Int(retryIn.components.seconds * 1000 + retryIn.components.attoseconds / 1_000_000_000_000_000)], at)
        }
    }

    private mutating func handleREST(kind: String, endpoint: String, query: [(String, String)],
                                     answer: Result<BybitPublicREST.Answer, BybitPublicREST.Failure>, now: LocalTime) {
        let queryText = query.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        switch answer {
        case let .failure(error):
            logger.warning("REST poll failed", metadata: ["endpoint": "\(endpoint)", "error": "\(error)"])
            pseudo(.rest, ["endpoint": endpoint, "query": queryText, "error": error.description], now)
        case let .success(a):
            let isJSON = (try? JSONSerialization.jsonObject(with: Data(a.body))) != nil
            if kind == "instruments", a.status == 200, Self.retCodeIsZero(a.body) {
                let symbol = query.first { $0.0 == "symbol" }?.1 ?? ""
                instruments.json[symbol] = (a.body, a.receivedAt)
                // With no file open yet, the first frame opens one and the new-file hook writes the snapshot.
                if recorder?.currentFilePath != nil {
                    write(a.receivedAt) { (r: Recorder) throws(RecordingError) in try r.recordCascade(topic: .instruments, localTime: a.receivedAt, dataJSON: a.body) }
                }
                return
            }
            if kind == "clock", a.status == 200, isJSON {
                // Offset estimate = server time − midpoint of send and receive (recorded raw; computed later).
                var data = Array(#"{"sentNs":\#(a.sentAt.nanoseconds),"receivedNs":\#(a.receivedAt.nanoseconds),"response":"#.utf8)
                data += a.body
                data += Array("}".utf8)
                write(a.receivedAt) { (r: Recorder) throws(RecordingError) in try r.recordCascade(topic: .clock, localTime: a.receivedAt, dataJSON: data) }
                return
            }
            var data = Array(#"{"endpoint":"\#(endpoint)","query":"\#(BybitStreamRequest.escape(queryText))","status":\#(a.status),"sentNs":\#(a.sentAt.nanoseconds),"body":"#.utf8)
            data += isJSON ? a.body : Array("\"\(BybitStreamRequest.escape(String(decoding: a.body, as: UTF8.self)))\"".utf8)
            data += Array("}".utf8)
            write(a.receivedAt) { (r: Recorder) throws(RecordingError) in try r.recordCascade(topic: .rest, localTime: a.receivedAt, dataJSON: data) }
        }
    }

    /// True when a V5 REST body says `"retCode":0`.
    static func retCodeIsZero(_ body: [UInt8]) -> Bool {
        ((try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any])?["retCode"] as? Int == 0
    }

    private mutating func session(_ fields: [String: Any], _ at: LocalTime) {
        pseudo(.session, fields, at)
    }

    private mutating func pseudo(_ topic: CascadePseudoTopic, _ fields: [String: Any], _ at: LocalTime) {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        write(at) { (r: Recorder) throws(RecordingError) in try r.recordCascade(topic: topic, localTime: at, dataJSON: Array(data)) }
    }

    /// Writes through the recorder; a full disk stops writing (counted, alerted) until a retry succeeds.
    private mutating func write(_ at: LocalTime, _ body: (Recorder) throws(RecordingError) -> Void) {
        instruments.now = at
        guard let recorder else {
            framesDropped += 1
            return
        }
        attempt(at) { () throws(RecordingError) in try body(recorder) }
    }

    private mutating func attempt(_ at: LocalTime, _ body: () throws(RecordingError) -> Void) {
        do throws(RecordingError) {
            try body()
        } catch {
            framesDropped += 1
            recorder = nil
            if error.isDiskFull {
                diskFullSince = diskFullSince ?? at
                logger.critical("ALERT: disk full, recording stopped; retrying", metadata: ["error": "\(error)"])
            } else {
                logger.critical("ALERT: recording failed; retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    private mutating func health(_ now: LocalTime) {
        if recorder == nil, now.nanoseconds - (lastRetry?.nanoseconds ?? 0) >= Int64(configuration.diskRetryInterval.components.seconds) * 1_000_000_000 {
            lastRetry = now
            recorder = openRecorder()
            if recorder != nil { diskFullSince = nil }
        }
        guard now.nanoseconds - (lastHealth?.nanoseconds ?? 0) >= Int64(configuration.healthInterval.components.seconds) * 1_000_000_000 else {
            return
        }
        let stats = recorder?.stats
        let age = lastFrame.map { "\((now.nanoseconds - $0.nanoseconds) / 1_000_000) ms" } ?? "none yet"
        logger.info("health: frames \(framesSinceHealth) since last, files \(stats?.filesOpened ?? 0), bytes \(stats?.bytesWritten ?? 0), last frame \(age) ago, disconnects \(disconnects)\(lastDisconnect.map { " (last: \($0))" } ?? ""), dropped \(framesDropped)\(diskFullSince == nil ? "" : ", DISK FULL")")
        framesSinceHealth = 0
        lastHealth = now
    }

    private func openRecorder() -> Recorder? {
        do {
            let recorder = try Recorder(directory: configuration.outputDirectory, filePrefix: configuration.filePrefix,
                                        rotation: configuration.rotation, flushPolicy: configuration.flush,
                                        createdBy: configuration.createdBy)
            // The recorder runs for months: its manifests stay on disk, not in memory.
            recorder.keepsClosedManifests = false
            if let consumer { recorder.onFrame = { at, bytes in consumer.recorded(Array(bytes), at: at) } }
            let box = instruments
            recorder.onNewFile = { r throws(RecordingError) in
                for symbol in box.json.keys.sorted() {
                    let entry = box.json[symbol]!
                    try r.recordCascade(topic: .instruments, localTime: max(entry.time, box.now), dataJSON: entry.bytes)
                }
            }
            return recorder
        } catch {
            logger.critical("ALERT: cannot open the recording directory", metadata: ["error": "\(error)"])
            return nil
        }
    }

    mutating func close() {
        do { try recorder?.close() } catch { logger.error("closing the recording failed", metadata: ["error": "\(error)"]) }
        recorder = nil
    }
}
