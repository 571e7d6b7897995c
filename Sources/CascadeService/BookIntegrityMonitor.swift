import BybitV5
import BybitV5Client
import CascadeCore
import MarketData
import Recording

/// Keeps a book per recorded book topic to notice, while recording, when one needs a fresh snapshot.
///
/// Uses the same decoder and book as replay, so what the recorder resyncs is exactly what a replay would
/// report as an integrity failure. Connection events restart every book (the resubscribe sends snapshots).
struct BookIntegrityMonitor {
    var decoder = BybitPublicDecoder()
    var books: [Int: OrderBook] = [:]
    /// Which connection each book's topic arrives on (a reconnect restarts only that connection's books).
    var connectionOfBook: [Int: Int] = [:]

    static let bookPrefix = Array("orderbook.".utf8)

    /// True when the frame's top-level topic starts with `orderbook.` (a byte scan, nothing decoded).
    static func isBookFrame(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { json in
            guard let range = FrameTopic.topicRange(in: json), range.count > bookPrefix.count else { return false }
            return json[range.lowerBound..<(range.lowerBound + bookPrefix.count)].elementsEqual(bookPrefix)
        }
    }

    /// Feeds one stream event of connection `connection`; returns `(topic, reason)` when a book just became invalid.
    mutating func check(_ event: PublicStreamEvent, connection: Int = 0) -> (String, String)? {
        switch event {
        case .connected, .disconnected:
            for (key, c) in connectionOfBook where c == connection { books[key]?.awaitSnapshot() }
            return nil
        case let .frame(bytes, at):
            // Only book topics matter here: other frames are not decoded at all.
            guard Self.isBookFrame(bytes) else { return nil }
            let message: BybitPublicMessage
            do {
                message = try decoder.decode(bytes, localTime: at)
            } catch {
                if case .unknownTopic = error { return nil }
                // A lost book message: the book cannot be trusted until a new snapshot.
                guard let name = BybitTopic.name(in: bytes), name.hasPrefix("orderbook."),
                      let index = decoder.topicIndex(named: name) else { return nil }
                // A book already waiting for its snapshot has its resync under way: no second request.
                if books[index]?.isSynced == false { return nil }
                books[index]?.awaitSnapshot()
                return (name, "undecodable book message (\(error.counterName))")
            }
            guard case let .book(update) = message else { return nil }
            let index = decoder.lastTopicIndex
            connectionOfBook[index] = connection
            if books[index] == nil {
                books[index] = OrderBook(symbol: update.symbol, depth: update.depth)
            }
            // Applied in place: a copy out of the dictionary would duplicate both sides' storage per message.
            let outcome = books[index]!.apply(update)
            if case let .invalidated(error) = outcome {
                return (decoder.topic(at: index).name, "book integrity: \(error)")
            }
            return nil
        default:
            return nil
        }
    }
}
