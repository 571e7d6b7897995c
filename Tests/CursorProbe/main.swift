// A separate process for the kill -9 test of the execution cursor: runs our private-stream client against a loopback
// Bybit with a FileExecutionCursor and writes every execution it is handed to a log file (one line, flushed and
// fsynced, before anything else happens). `hold` never commits (the test kills it with SIGKILL after a delivery);
// `commit` commits each execution after logging it.
//
//   CursorProbe PORT CURSOR_PATH LOG_PATH hold|commit
import BybitV5
import BybitV5Client
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 5, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: CursorProbe PORT CURSOR_PATH LOG_PATH hold|commit\n".utf8))
    exit(2)
}
let cursor = FileExecutionCursor(path: arguments[2])
let logPath = arguments[3], commits = arguments[4] == "commit"
guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
    FileHandle.standardError.write(Data("CursorProbe: cannot create \(logPath)\n".utf8))
    exit(2)
}
let log = open(logPath, O_WRONLY | O_APPEND)

func record(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(log, $0.baseAddress, $0.count) }
    fsync(log)
}

var logger = Logger(label: "cursor-probe")
logger.logLevel = .critical
let credentials = BybitCredentials(apiKey: "pk", secret: "ps")
let rest = BybitRESTClient(baseURL: "http://127.0.0.1:\(port)", credentials: credentials, recvWindow: 60_000, logger: logger)
var configuration = PrivateStreamConfiguration(url: "ws://127.0.0.1:\(port)/v5/private")
configuration.backoff = ReconnectBackoff(initial: .milliseconds(50), maximum: .milliseconds(200))
let client = PrivateStreamClient(configuration: configuration, credentials: credentials, rest: rest, cursor: cursor, logger: logger)
let running = Task { await client.run() }
for await event in client.events {
    var executions: [BybitExecution] = []
    switch event {
    case let .backfill(b): executions = b.executions
    case let .message(.executions(list, _)): executions = list
    case .trusted: record("trusted")
    case .message(.orders): record("orders")
    default: break
    }
    for e in executions {
        record("delivered \(e.execId)")
        if commits {
            try cursor.commit([e])
            record("committed \(e.execId)")
        }
    }
}
