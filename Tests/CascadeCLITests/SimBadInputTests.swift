import CascadeTesting
import Foundation
import Testing

/// `cascade sim` refuses unusable settings with one readable line before it listens.
@Suite("cascade sim on bad settings")
struct SimBadInputTests {
    @Test func unusableSettingsAreRefusedWithOneMessage() throws {
        let dir = try TemporaryDirectory("sim-bad")
        defer { dir.remove() }
        let data = try ReplayBadInputTests.validFile(in: dir)
        let accounts = dir.file("accounts.json")
        try Data(#"{"accounts":[{"name":"a","apiKey":"k","apiSecret":"s","depositUSDT":"lots"}]}"#.utf8).write(to: URL(fileURLWithPath: accounts))
        let faults = dir.file("faults.json")
        try Data(#"{"public":{"drop":2}}"#.utf8).write(to: URL(fileURLWithPath: faults))
        let cases: [([String], [String])] = [
            (["--accounts", accounts], ["depositUSDT", "lots"]),
            (["--faults", faults], ["public.drop"]),
            (["--latency-from-data"], ["_cascade.clock", "--entry-latency-ms"]),
            (["--entry-latency-ms", "0"], ["--entry-latency-ms"]),
            (["--taker-fee", "abc"], ["--taker-fee"]),
            (["--leverage", "0.5"], ["--leverage"]),
            (["--speed", "fast"], ["--speed"]),
        ]
        for (extra, needles) in cases {
            let result = try ChildProcess.run(["sim", "--data", data, "--port", "0"] + extra, timeout: 60)
            #expect(result.finishedInTime && result.status != 0, "\(extra): \(result.reason) \(result.status)")
            let errors = result.errorLines.filter { $0.hasPrefix("Error:") }
            #expect(errors.count == 1, "\(extra): \(result.standardError)")
            for needle in needles { #expect(errors.first?.contains(needle) == true, "\(needle) not in \(result.standardError)") }
            // The secret of an accounts file never appears in a message.
            #expect(!result.standardError.contains("\"s\""))
        }
    }
}
