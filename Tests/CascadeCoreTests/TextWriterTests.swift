import CascadeCore
import Testing

/// Text made on the decision path (the engine's log detail, the detector's episode id) is written part by part into a
/// stack buffer (``TextWriter``); numbers are written digit by digit in place, so their order, sign and edges are
/// checked against the standard library's formatting, and each at a buffer it fills exactly.
@Suite struct TextWriterTests {
    @Test func numbersAreWrittenAsTheStandardLibraryWritesThem() {
        let values: [Int64] = [0, 1, 9, 10, 42, 100, 1_234_567_890, -1, -10, -987_654, .max, .min]
        for value in values {
            #expect(TextWriter.text(capacity: 32) { $0.put(value) } == String(value))
            // Exactly its length: the size checks let a part fill the buffer.
            #expect(TextWriter.text(capacity: String(value).utf8.count) { $0.put(value) } == String(value))
        }
        #expect(TextWriter.text(capacity: 20) { $0.put(UInt64.max) } == String(UInt64.max))
        #expect(TextWriter.text(capacity: 4) { $0.put("ab"); $0.put(UInt64(12)) } == "ab12")
        // Base 36, as order ids write their numbers (lower-case letters past 9).
        for value: UInt64 in [0, 9, 10, 35, 36, 1_295, 46_655, .max] {
            #expect(TextWriter.text(capacity: 13) { $0.put(value, radix: 36) } == String(value, radix: 36))
        }
    }

    @Test func literalsStringsAndNumbersFollowEachOther() {
        let text = TextWriter.text(capacity: 64) { w in
            w.put("ladder "); w.put(UInt64(12)); w.put(" "); w.put(string: "Buy"); w.put(" "); w.put(Int64(305))
        }
        #expect(text == "ladder 12 Buy 305")
    }
}
