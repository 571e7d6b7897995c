import CascadeCore
import Execution
import Testing

@Suite struct OrderLinkIDTests {
    @Test func theLongestIdFitsBybitsThirtySixCharacters() throws {
        let longest = try OrderLinkID(node: "ZZZZ", run: OrderLinkID.maxRun, episode: OrderLinkID.maxEpisode, role: .protect,
                                      layer: OrderLinkID.maxLayer, attempt: OrderLinkID.maxAttempt)
        #expect(longest.description == "c1ZZZZ_zzzzzz_zzzzzzz_Pzz_zzz")
        #expect(longest.description.count == 29)
        #expect(longest.clientOrderID.rawValue.count <= ClientOrderID.maxLength)
    }

    @Test func everyIdIsValidAndReadsBackOverSeededValues() throws {
        var random = SeededRandom(seed: 36)
        var seen = Set<String>()
        for _ in 0..<20_000 {
            func draw(_ max: UInt64) -> UInt64 { random.next() % (max + 1) }
            let node = String((0..<Int(draw(3) + 1)).map { _ in Array("abcXYZ019")[Int(draw(8))] })
            let id = try OrderLinkID(node: node, run: draw(OrderLinkID.maxRun), episode: draw(OrderLinkID.maxEpisode),
                                     role: OrderRole.allCases[Int(draw(3))], layer: draw(OrderLinkID.maxLayer),
                                     attempt: draw(OrderLinkID.maxAttempt))
            let text = id.description
            _ = try ClientOrderID(text)                         // length and characters
            #expect(try OrderLinkID(parsing: text) == id)       // readable back
            seen.insert(text)
        }
        #expect(seen.count > 19_990)                            // distinct values give distinct ids
    }

    @Test func eachRoleIsWrittenAsItsCharacter() throws {
        for role in OrderRole.allCases {
            let id = try OrderLinkID(node: "n1", run: 1, episode: 2, role: role, layer: 3, attempt: 0)
            #expect(id.description == "c1n1_1_2_\(role.rawValue)3_0")
        }
    }

    @Test func distinctFieldsNeverCollide() throws {
        // Adjacent values whose digits could run together if the separators were missing.
        let a = try OrderLinkID(node: "n1", run: 1, episode: 11, role: .entry, layer: 1, attempt: 0)
        let b = try OrderLinkID(node: "n1", run: 11, episode: 1, role: .entry, layer: 1, attempt: 0)
        let c = try OrderLinkID(node: "n11", run: 1, episode: 1, role: .entry, layer: 1, attempt: 0)
        #expect(Set([a.description, b.description, c.description]).count == 3)
    }

    /// Each field refuses one past its maximum with its own name, and takes its maximum.
    @Test(arguments: ["run", "episode", "layer", "attempt"])
    func eachFieldIsBoundedByItsOwnMaximum(_ field: String) throws {
        let max = ["run": OrderLinkID.maxRun, "episode": OrderLinkID.maxEpisode, "layer": OrderLinkID.maxLayer,
                   "attempt": OrderLinkID.maxAttempt][field]!
        func id(_ value: UInt64) throws(OrderLinkID.Error) -> OrderLinkID {
            try OrderLinkID(node: "n1", run: field == "run" ? value : 0, episode: field == "episode" ? value : 0, role: .entry,
                            layer: field == "layer" ? value : 0, attempt: field == "attempt" ? value : 0)
        }
        #expect(throws: OrderLinkID.Error.outOfRange(field: field, value: max + 1, max: max)) { try id(max + 1) }
        #expect(try id(max).description.utf8.count <= 36)
    }

    @Test func outOfRangeValuesAndForeignIdsAreRefused() {
        #expect(throws: OrderLinkID.Error.outOfRange(field: "attempt", value: OrderLinkID.maxAttempt + 1, max: OrderLinkID.maxAttempt)) {
            try OrderLinkID(node: "n1", run: 0, episode: 0, role: .entry, layer: 0, attempt: OrderLinkID.maxAttempt + 1)
        }
        #expect(throws: OrderLinkID.Error.invalidNode("node5")) {
            try OrderLinkID(node: "node5", run: 0, episode: 0, role: .entry, layer: 0, attempt: 0)
        }
        for foreign in ["", "manual-order-1", "c2n1_1_1_E1_0", "c1n1_1_1_Q1_0", "c1n1_01_1_E1_0", "c1n1_1_1_E1", "c1n1_A_1_E1_0"] {
            #expect(throws: OrderLinkID.Error.self) { try OrderLinkID(parsing: foreign) }
        }
    }
}
