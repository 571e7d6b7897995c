import CascadeCore
import Execution
import Foundation
import Testing

/// An intent is journaled: its bytes are the journal's format, and what is read back must be the same order.
@Suite struct OrderIntentCodingTests {
    let id = try! OrderLinkID(node: "bt", run: 3, episode: 12, role: .entry, layer: 1, attempt: 0)
    let spec = OrderSpec(side: .buy, type: .limit, timeInForce: .postOnly, price: Price(units: 5_970_000_000_000), qty: Quantity(units: 16_000),
                         protection: Protection(stopLoss: ProtectionLeg(trigger: Price(units: 5_910_300_000_000)), mode: .full))
    /// As the SQLite journal encodes (sorted keys).
    func encoded(_ intent: OrderIntent) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(intent), as: UTF8.self)
    }

    @Test func anIntentIsJournaledInItsFormatAndReadsBackEqual() throws {
        let intent = OrderIntent(id: id, symbol: "BTCUSDT", spec: spec, ladder: 12)
        let text = try encoded(intent)
        // The format the journal has always written (an intent's fields, sorted): a journal written before any change
        // to how intents are held must read back, and a new one must be readable by the same code.
        #expect(text == #"{"ladder":12,"linkID":"c1bt_3_c_E1_0","spec":{"closeOnTrigger":false,"price":{"units":5970000000000},"#
            + #""protection":{"mode":{"full":{}},"stopLoss":{"source":{"lastPrice":{}},"trigger":{"units":5910300000000}}},"#
            + #""qty":{"units":16000},"reduceOnly":false,"side":0,"timeInForce":{"postOnly":{}},"type":{"limit":{}}},"symbol":"BTCUSDT"}"#)
        let read = try JSONDecoder().decode(OrderIntent.self, from: Data(text.utf8))
        #expect(read == intent && read.hashValue == intent.hashValue)
        #expect(read.id == id && read.clientID == id.clientOrderID && read.linkID == "c1bt_3_c_E1_0" && read.symbol == "BTCUSDT"
                && read.spec == spec && read.ladder == 12)
        // Another ladder, symbol or spec is another intent.
        #expect(read != OrderIntent(id: id, symbol: "ETHUSDT", spec: spec, ladder: 12))
        #expect(read != OrderIntent(id: id, symbol: "BTCUSDT", spec: spec, ladder: 13))
    }

    /// Journal entries as stored: the format journals were written in before the entry became an indirect enum (how
    /// it is held in memory; the shapes match a journal the previous build's `cascade paper` wrote), so a journal of an
    /// earlier build reads back and re-encodes to the same bytes.
    @Test func journalEntriesAreStoredInTheirFormat() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var decision = Decision(time: ExchangeTime(milliseconds: 1_748_826_000_000))
        decision.log = [DecisionLogEntry(time: decision.time, symbol: "BTCUSDT", episode: "BTCUSDT-all-long-1", action: "enter",
                                         reason: "episodeStarted", detail: "ladder 12 Buy 1 layers")]
        decision.intents = [OrderIntent(id: id, symbol: "BTCUSDT", spec: spec, ladder: 12)]
        let entries: [JournalEntry] = [
            .started(run: 3, node: "bt", startingBalance: USDT(units: Int64(10_000_000_000_000)), at: decision.time),
            .decision(decision),
        ]
        let stored = [
            #"{"started":{"at":{"milliseconds":1748826000000},"node":"bt","run":3,"startingBalance":{"units":10000000000000}}}"#,
            #"{"decision":{"_0":{"alarms":[],"commands":[],"instruments":{},"intents":[{"ladder":12,"linkID":""#
                + #"c1bt_3_c_E1_0","spec":{"closeOnTrigger":false,"price":{"units":5970000000000},"protection":{"mod"#
                + #"e":{"full":{}},"stopLoss":{"source":{"lastPrice":{}},"trigger":{"units":5910300000000}}},"qty":{"#
                + #""units":16000},"reduceOnly":false,"side":0,"timeInForce":{"postOnly":{}},"type":{"limit":{}}},"s"#
                + #"ymbol":"BTCUSDT"}],"ladders":[],"log":[{"action":"enter","detail":"ladder 12 Buy 1 layers","epis"#
                + #"ode":"BTCUSDT-all-long-1","reason":"episodeStarted","symbol":"BTCUSDT","time":{"milliseconds":17"#
                + #"48826000000}}],"time":{"milliseconds":1748826000000}}}}"#,
        ]
        #expect(entries.count == stored.count)
        for (entry, text) in zip(entries, stored) {
            #expect(String(decoding: try encoder.encode(entry), as: UTF8.self) == text)
            let read = try JSONDecoder().decode(JournalEntry.self, from: Data(text.utf8))
            #expect(read == entry)
            #expect(try encoder.encode(read) == Data(text.utf8))
        }
    }

    @Test func recordsOfEqualOrdersBuiltApartAreEqualAndHashAlike() {
        let a = ManagedOrder(id: id, spec: spec), b = ManagedOrder(id: id, spec: spec)
        #expect(a == b && a.hashValue == b.hashValue)
        var other = spec
        other.qty = Quantity(units: 17_000)
        #expect(a != ManagedOrder(id: id, spec: other))
    }

    @Test func anIntentWhoseLinkIdIsNotOursIsRefused() throws {
        let text = try encoded(OrderIntent(id: id, symbol: "BTCUSDT", spec: spec, ladder: 12))
        // A leading zero (not the canonical spelling of the same id) and another program's id.
        for foreign in ["c1bt_03_c_E1_0", "manual-1"] {
            let changed = text.replacingOccurrences(of: "c1bt_3_c_E1_0", with: foreign)
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(OrderIntent.self, from: Data(changed.utf8)) }
        }
    }
}
