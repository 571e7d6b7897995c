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
