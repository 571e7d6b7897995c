@testable import BybitSimulator
import CascadeCore
import Testing

/// The simulator's settings files: accounts and the seeded fault plan.
@Suite struct SimSettingsTests {
    @Test func accountsFileIsParsedExactlyAndRefusedWithOneReadableLine() throws {
        let ok = #"{"accounts":[{"name":"a","apiKey":"k1","apiSecret":"s1","depositUSDT":"25000.12345678"},{"name":"b","apiKey":"k2","apiSecret":"s2","depositUSDT":"0"}]}"#
        let specs = try SimAccountSpec.parse(Array(ok.utf8), source: "acc.json")
        #expect(specs.map(\.name) == ["a", "b"] && specs[0].deposit.units == 2_500_012_345_678)
        let bad: [(String, String)] = [
            (#"{"accounts":[]}"#, "no accounts"),
            (#"{"accounts":[{"name":"a","apiKey":"k","apiSecret":"s","depositUSDT":"-1"}]}"#, "not a non-negative decimal"),
            (#"{"accounts":[{"name":"a","apiKey":"k","apiSecret":"s","depositUSDT":"1"},{"name":"b","apiKey":"k","apiSecret":"t","depositUSDT":"1"}]}"#, "apiKey repeated"),
            (#"{"accounts":[{"name":"a","apiSecret":"s","depositUSDT":"1"}]}"#, "apiKey must be a non-empty string"),
            ("not json", "expected"),
        ]
        for (text, message) in bad {
            #expect(throws: SimAccountSpec.FileError.self) { try SimAccountSpec.parse(Array(text.utf8), source: "acc.json") }
            do {
                _ = try SimAccountSpec.parse(Array(text.utf8), source: "acc.json")
            } catch {
                #expect(error.description.contains(message) && !error.description.contains("\n") && !error.description.contains("\"s\""))
            }
        }
    }

    @Test func faultPlanParsesAndRefusesImpossibleRates() throws {
        let plan = try SimFaultPlan.parse(Array(#"{"seed":9,"public":{"drop":0.25,"delay":0.5,"delayMs":[5,50]},"rest":{"duplicate":1}}"#.utf8))
        #expect(plan.seed == 9 && plan.channels[.publicStream]?.drop == 0.25 && plan.channels[.publicStream]?.delayMilliseconds == 5...50)
        #expect(plan.channels[.rest]?.duplicate == 1 && plan.channels[.privateStream] == nil)
        for text in [#"{"public":{"drop":1.5}}"#, #"{"public":{"drop":0.6,"reorder":0.6}}"#, #"{"rest":{"delayMs":[9,1]}}"#, "[]"] {
            #expect(throws: SimFaultPlan.ParseError.self) { try SimFaultPlan.parse(Array(text.utf8)) }
        }
    }

    @Test func faultsAreSeededPerChannelAndFollowTheirRates() {
        let rates = SimFaultPlan.Rates(drop: 0.1, duplicate: 0.1, reorder: 0.1, delay: 0.1, delayMilliseconds: 3...7)
        let plan = SimFaultPlan(channels: [.publicStream: rates, .privateStream: rates], seed: 42)
        var a = SimFaultInjector(plan: plan), b = SimFaultInjector(plan: plan)
        let first = (0..<10_000).map { _ in a.action(on: .publicStream) }
        // Traffic on another channel does not change this channel's draws.
        var second: [SimFaultAction] = []
        for _ in 0..<10_000 {
            _ = b.action(on: .privateStream)
            second.append(b.action(on: .publicStream))
        }
        #expect(first == second)
        let drops = first.filter { $0 == .drop }.count
        let delays = first.compactMap { if case let .delay(ms) = $0 { ms } else { nil } }
        #expect((800...1200).contains(drops) && (800...1200).contains(delays.count))
        #expect(delays.allSatisfy { (3...7).contains($0) } && Set(delays) == Set(3...7))
        var c = SimFaultInjector(plan: plan)
        #expect((0..<100).allSatisfy { _ in c.action(on: .rest) == .deliver })
        var other = SimFaultInjector(plan: SimFaultPlan(channels: plan.channels, seed: 43))
        #expect((0..<10_000).map { _ in other.action(on: .publicStream) } != first)
    }

    /// A REST path with rates of its own answers by them; every other path by the `rest` channel's.
    @Test func aRESTPathCanHaveFaultsOfItsOwn() throws {
        let plan = try SimFaultPlan.parse(Array(#"{"seed":3,"rest":{"drop":1},"restPaths":{"/v5/order/create":{"delay":1,"delayMs":[40,40]},"/v5/order/cancel":{}}}"#.utf8))
        #expect(plan.restPaths["/v5/order/create"]?.delay == 1 && plan.restPaths["/v5/order/create"]?.delayMilliseconds == 40...40)
        var injector = SimFaultInjector(plan: plan)
        #expect(injector.action(onREST: "/v5/order/create") == .delay(milliseconds: 40))
        #expect(injector.action(onREST: "/v5/order/cancel") == .deliver, "a path listed without faults is answered at once")
        #expect(injector.action(onREST: "/v5/order/amend") == .drop, "other paths follow the rest channel")
        var only = SimFaultInjector(plan: SimFaultPlan(restPaths: ["/v5/order/create": .init(drop: 1)]))
        #expect(only.isActive && only.action(onREST: "/v5/order/create") == .drop && only.action(onREST: "/v5/order/amend") == .deliver)
        for text in [#"{"restPaths":[]}"#, #"{"restPaths":{"order/create":{}}}"#, #"{"restPaths":{"/v5/order/create":{"drop":2}}}"#] {
            #expect(throws: SimFaultPlan.ParseError.self) { try SimFaultPlan.parse(Array(text.utf8)) }
        }
    }
}
