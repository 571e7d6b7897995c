import BybitV5
import CascadeTesting
import Foundation
import Testing

@Suite struct CredentialsTests {
    static let secret = "S3cr3tValue-do-not-print"

    @Test func loadsFromAnEnvironmentDictionaryAndTrims() throws {
        let credentials = try BybitCredentials.fromEnvironment(
            ["BYBIT_API_KEY": "key123", "BYBIT_API_SECRET": " \(Self.secret)\n"])
        #expect(credentials == BybitCredentials(apiKey: "key123", secret: Self.secret))
        let custom = try BybitCredentials.fromEnvironment(["K": "a", "S": "b"], apiKeyVariable: "K", secretVariable: "S")
        #expect(custom.apiKey == "a" && custom.secret == "b")
    }

    @Test func missingOrBlankVariablesAreNamed() {
        #expect(throws: BybitCredentials.LoadError.missingEnvironmentVariable("BYBIT_API_KEY")) {
            try BybitCredentials.fromEnvironment(["BYBIT_API_SECRET": "x"])
        }
        #expect(throws: BybitCredentials.LoadError.missingEnvironmentVariable("BYBIT_API_SECRET")) {
            try BybitCredentials.fromEnvironment(["BYBIT_API_KEY": "k", "BYBIT_API_SECRET": "  \n"])
        }
    }

    @Test func parsesKeyValueLinesWithCommentsAndQuotes() throws {
        let text = "# Bybit testnet\n\napiKey = key123\r\napiSecret=\"\(Self.secret)\"\nnote=ignored\n"
        #expect(try BybitCredentials.parse(text, source: "f") == BybitCredentials(apiKey: "key123", secret: Self.secret))
    }

    @Test func parsesJSON() throws {
        let text = #"  {"apiKey": "key123", "apiSecret": "\#(Self.secret)", "comment": 1}"#
        #expect(try BybitCredentials.parse(text, source: "f") == BybitCredentials(apiKey: "key123", secret: Self.secret))
    }

    @Test(arguments: [
        ("apiKey=k\n\(secret)\n", BybitCredentials.LoadError.malformed(path: "f", line: 2, reason: "expected key=value")),
        ("apiKey=k\napiKey=k2\napiSecret=s\n", .malformed(path: "f", line: 2, reason: "duplicate apiKey")),
        ("=\(secret)\n", .malformed(path: "f", line: 1, reason: "empty key")),
        ("apiKey=k\n", .missingField(path: "f", field: "apiSecret")),
        ("apiSecret=\(secret)\n", .missingField(path: "f", field: "apiKey")),
        ("apiKey=\napiSecret=s\n", .missingField(path: "f", field: "apiKey")),
        (#"{"apiKey": "k", "apiSecret": 12345}"#, .malformed(path: "f", line: nil, reason: "apiSecret must be a string")),
        (#"{"apiKey": "k", "apiSecret": "\#(secret)""#, .malformed(path: "f", line: nil, reason: "not a JSON object")),
        (#"{"apiKey": "k"}"#, .missingField(path: "f", field: "apiSecret")),
        ("", .missingField(path: "f", field: "apiKey")),
    ])
    func malformedFilesAreTypedAndNeverEchoTheSecret(text: String, expected: BybitCredentials.LoadError) {
        do {
            _ = try BybitCredentials.parse(text, source: "f")
            Issue.record("expected \(expected)")
        } catch {
            #expect(error == expected)
            #expect(!error.description.contains(Self.secret))
        }
    }

    @Test func loadsFilesAndReportsMissingAndUnreadablePaths() throws {
        let dir = try TemporaryDirectory("credentials")
        defer { dir.remove() }
        let path = dir.file("bybit.env")
        try Data("apiKey=key123\napiSecret=\(Self.secret)\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try BybitCredentials.load(fromFile: path).apiKey == "key123")

        let json = dir.file("bybit.json")
        try Data(#"{"apiKey":"key9","apiSecret":"s9"}"#.utf8).write(to: URL(fileURLWithPath: json))
        #expect(try BybitCredentials.load(fromFile: json) == BybitCredentials(apiKey: "key9", secret: "s9"))

        let missing = dir.file("nope")
        #expect(throws: BybitCredentials.LoadError.fileNotFound(path: missing)) {
            try BybitCredentials.load(fromFile: missing)
        }
        #expect(throws: BybitCredentials.LoadError.unreadable(path: dir.path, reason: "is a directory")) {
            try BybitCredentials.load(fromFile: dir.path)
        }
        let binary = dir.file("binary")
        try Data([0xff, 0xfe, 0x00, 0x41]).write(to: URL(fileURLWithPath: binary))
        #expect(throws: BybitCredentials.LoadError.unreadable(path: binary, reason: "not UTF-8 text")) {
            try BybitCredentials.load(fromFile: binary)
        }
    }

    @Test func descriptionDebugDescriptionAndDumpRedactTheSecret() {
        let credentials = BybitCredentials(apiKey: "key123", secret: Self.secret)
        var dumped = ""
        dump(credentials, to: &dumped)
        let texts = [String(describing: credentials), String(reflecting: credentials), "\(credentials)", dumped,
                     String(describing: [credentials]), String(describing: Optional(credentials))]
        for text in texts {
            #expect(!text.contains(Self.secret), "leaked in: \(text)")
            #expect(text.contains("key123"))
        }
        #expect(credentials.description == #"BybitCredentials(apiKey: "key123", secret: <redacted>)"#)
    }
}
