import BybitV5
import BybitV5Client
import CascadeCore
import MarketData
import Recording

/// Keeps a book per recorded book topic to notice, while recording, when one needs a fresh snapshot.
///
/// The books and the rules for lost frames and session boundaries are ``MarketData/FeedState``'s, the same the
/// auditor and the simulator use, so what the recorder resyncs is exactly what a replay would report as an
/// integrity failure. Connection events restart that connection's books (the resubscribe sends snapshots).
struct BookIntegrityMonitor {
    var decoder = BybitPublicDecoder()
    var feed = FeedState()
    /// Which connection each book arrives on (a reconnect restarts only that connection's books).
    var connectionOfBook: [FeedStream: Int] = [:]

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
        case let .connected(_, at), let .disconnected(_, at, _), let .gap(_, at):
            let books = connectionOfBook.filter { $0.value == connection }.map(\.key)
            if !books.isEmpty { feed.apply(.session(.connect, streams: books, at: at)) }
            return nil
        case let .frame(bytes, at):
            // Only book topics matter here: other frames are not decoded at all.
            guard Self.isBookFrame(bytes) else { return nil }
            guard let input = decoder.feedInput(bytes, localTime: at) else { return nil }
            if case let .event(.book(update)) = input {
                connectionOfBook[.book(update.symbol, depth: update.depth)] = connection
            }
            let change = feed.apply(input)
            guard case let .book(symbol, depth)? = change.interrupted.first else { return nil }
            return ("orderbook.\(depth).\(decoder.instruments[symbol].symbol)", change.reason ?? "book integrity")
        default:
            return nil
        }
    }
}
