import Backtest
import CascadeCore
import CascadeTesting
import Execution
import Foundation
import Testing

/// `cascade config check` and `defaults`, as a user runs them.
@Suite struct ConfigCommandTests {
    @Test func checkPrintsEveryProblemOneLineEachAndFails() throws {
        let dir = try TemporaryDirectory("config-bad")
        defer { dir.remove() }
        let path = dir.file("bad.json")
        try writeBytes(Array(#"{"exits": {"stopbps": 100}, "live": {"marginMode": "CROSS"}, "ladder": {"entryTtlMs": 0}}"#.utf8), to: path)
        let result = try ChildProcess.run(["config", "check", path], timeout: 60)
        #expect(!result.succeeded)
        #expect(result.standardOutput.isEmpty)
        for line in ["\(path): ladder.entryTtlMs: expected a whole number ≥ 1",
                     "\(path): exits.stopbps: unknown key",
                     "\(path): live.marginMode: expected REGULAR_MARGIN, ISOLATED_MARGIN or PORTFOLIO_MARGIN"] {
            #expect(result.errorLines.contains { $0.hasSuffix(line) }, "\(result.errorLines)")
        }
    }

    @Test func checkPrintsTheEffectiveConfigurationAndItsHash() throws {
        let dir = try TemporaryDirectory("config-good")
        defer { dir.remove() }
        let path = dir.file("good.json")
        try writeBytes(Array(#"{"ladder": {"offsetsBps": [15]}, "live": {"leverage": "3"}}"#.utf8), to: path)
        let result = try ChildProcess.run(["config", "check", path], timeout: 60)
        #expect(result.succeeded, "\(result.standardError)")
        var expected = BacktestConfiguration()
        expected.engine.offsetsBps = [15]
        expected.live.leverage = try .init("3")
        #expect(result.standardOutput.contains("\(path): ok, sha256 \(BacktestOutput.configurationHash(expected))"))
        // The printed configuration is the effective one, defaults filled in, and reads back to the same.
        let body = try #require(result.standardOutput.range(of: "filled in):\n"))
        let printed = try BacktestConfiguration.parse(Array(result.standardOutput[body.upperBound...].utf8), name: "printed")
        #expect(printed.canonicalJSON == expected.canonicalJSON)
        let defaults = try ChildProcess.run(["config", "defaults"], timeout: 60)
        #expect(try BacktestConfiguration.parse(Array(defaults.standardOutput.utf8), name: "defaults").canonicalJSON == BacktestConfiguration().canonicalJSON)
    }
}
