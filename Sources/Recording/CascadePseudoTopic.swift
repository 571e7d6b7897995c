/// Reserved local pseudo-topics the recorder writes between exchange frames.
///
/// They carry what a replay needs but the exchange stream lacks (instrument rules in force,
/// session start/stop, clock-offset measurements, REST responses). The `_cascade.` prefix cannot
/// collide with a Bybit topic, and replay filters keep these frames regardless of symbol.
public enum CascadePseudoTopic: String, Sendable, CaseIterable {
    /// Instrument rules snapshot (written at session start and at every file rotation).
    case instruments = "_cascade.instruments"
    /// Session events: start, stop, reconnects, subscriptions.
    case session = "_cascade.session"
    /// Local-vs-exchange clock measurements.
    case clock = "_cascade.clock"
    /// Raw REST responses (e.g. order-book snapshots fetched to resynchronise).
    case rest = "_cascade.rest"

    /// Prefix shared by every reserved topic.
    public static let prefix = "_cascade."

    /// The frame JSON `{"topic":"<raw>","ts":<ms>,"data":<dataJSON>}`; `ts` is the local receive
    /// time floored to milliseconds, like an exchange envelope's `ts`, so consumers that read `ts`
    /// get a sensible value. `dataJSON` is inserted verbatim and must be compact JSON.
    public func frameJSON(localTimeNanoseconds ns: Int64, dataJSON: [UInt8]) -> [UInt8] {
        // Floor division: a pre-1970 time must not round toward zero into the wrong millisecond.
        let ms = ns >= 0 ? ns / 1_000_000 : -((-ns + 999_999) / 1_000_000)
        var out: [UInt8] = []
        out.reserveCapacity(dataJSON.count + rawValue.utf8.count + 48)
        out.append(contentsOf: #"{"topic":""#.utf8)
        out.append(contentsOf: rawValue.utf8)
        out.append(contentsOf: #"","ts":"#.utf8)
        out.append(contentsOf: String(ms).utf8)
        out.append(contentsOf: #","data":"#.utf8)
        out.append(contentsOf: dataJSON)
        out.append(UInt8(ascii: "}"))
        return out
    }
}
