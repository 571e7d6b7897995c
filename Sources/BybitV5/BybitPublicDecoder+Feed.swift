public import CascadeCore
import Foundation

/// Bybit frames as feed inputs (``CascadeCore/FeedInput``): the one mapping the auditor, the recorder's book monitor
/// and the simulator's replay share, so they agree on what a lost frame or a session boundary restarts.
extension BybitPublicDecoder {
    /// The venue-neutral stream a topic carries, registering its symbol; nil for the recorder's local pseudo-topics.
    public mutating func stream(of topic: BybitTopic) -> FeedStream? {
        switch topic {
        case let .orderBook(depth, symbol): .book(instruments.id(for: symbol), depth: depth)
        case let .publicTrade(symbol): .trades(instruments.id(for: symbol))
        case let .allLiquidation(symbol), let .legacyLiquidation(symbol): .liquidations(instruments.id(for: symbol))
        case let .tickers(symbol): .ticker(instruments.id(for: symbol))
        case let .kline(interval, symbol): .klines(instruments.id(for: symbol), interval: interval)
        case .local: nil
        }
    }

    /// Decodes one frame into a feed input. Instruments snapshots (`_cascade.instruments`) are installed in
    /// ``instruments`` and, like control frames, give nil.
    public mutating func feedInput(_ frame: UnsafeBufferPointer<UInt8>, localTime: LocalTime) -> FeedInput? {
        do throws(BybitFrameError) {
            return feedInput(for: try decode(frame, localTime: localTime), localTime: localTime)
        } catch {
            return feedInput(forError: error, frame: frame)
        }
    }

    /// ``feedInput(_:localTime:)`` for a byte array.
    public mutating func feedInput(_ frame: [UInt8], localTime: LocalTime) -> FeedInput? {
        frame.withUnsafeBufferPointer { feedInput($0, localTime: localTime) }
    }

    /// The feed input of a decoded message (for consumers that decode themselves).
    public mutating func feedInput(for message: BybitPublicMessage, localTime: LocalTime) -> FeedInput? {
        if let event = message.marketEvent { return .event(event) }
        guard case let .local(name, data) = message else { return nil }
        switch name {
        case "instruments":
            _ = installInstruments(data)
            return nil
        case "session":
            return sessionInput(data, localTime: localTime)
        default:
            return nil
        }
    }

    /// The feed input of a frame that failed to decode: the stream it belonged to missed a message. Frames of unknown
    /// topics are not lost data (nothing subscribed them): nil.
    public mutating func feedInput(forError error: BybitFrameError, frame: UnsafeBufferPointer<UInt8>) -> FeedInput? {
        if case .unknownTopic = error { return nil }
        var lostStream: FeedStream?
        if let name = BybitTopic.name(in: frame), let topic = BybitTopic(name) { lostStream = stream(of: topic) }
        return .lost(lostStream, reason: error.counterName)
    }

    /// Installs an instruments-info document (the recorder's snapshot or a file); false when it does not decode
    /// (the table is then unchanged).
    public mutating func installInstruments(_ data: [UInt8]) -> Bool {
        var table = instruments
        guard (try? BybitInstrumentsInfo.decode(data, table: &table)) != nil else { return false }
        instruments = table
        return true
    }

    /// A `_cascade.session` entry: `connect`/`disconnect` (or `gap`: frames the recorder dropped, which interrupts
    /// like a disconnect) with the connection's `topics` (absent: every stream), or `resync` of one `topic`. Other events (`subscribed`, `subscribe_failed`) restart nothing.
    mutating func sessionInput(_ data: [UInt8], localTime: LocalTime) -> FeedInput? {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(data))) as? [String: Any],
              let event = object["event"] as? String else { return nil }
        func streams(_ names: [String]) -> [FeedStream] {
            var out: [FeedStream] = []
            for name in names { if let topic = BybitTopic(name), let s = stream(of: topic) { out.append(s) } }
            return out
        }
        switch event {
        case "connect", "disconnect", "gap":
            let listed = (object["topics"] as? [String]).map(streams)
            return .session(event == "connect" ? .connect : .disconnect, streams: listed, at: localTime)
        case "resync":
            guard let topic = object["topic"] as? String else { return nil }
            return .session(.resync, streams: streams([topic]), at: localTime)
        default:
            return nil
        }
    }
}
