public import BybitV5Client

/// Everything a public-stream client reported, in order, for tests to wait on and read.
public typealias EventLog = ObservedLog<PublicStreamEvent>

extension ObservedLog where Event == PublicStreamEvent {
    /// Runs `client` and records its events; call the returned closure to stop both.
    public static func running(_ client: PublicStreamClient) -> (EventLog, @Sendable () -> Void) {
        let log = EventLog()
        let consumer = Task { for await e in client.events { log.append(e) } }
        let running = Task { await client.run() }
        return (log, { running.cancel(); consumer.cancel() })
    }

}

extension PublicStreamEvent {
    public var frameText: String? {
        if case let .frame(bytes, _) = self { return String(decoding: bytes, as: UTF8.self) }
        return nil
    }
    public var isConnected: Bool { if case .connected = self { true } else { false } }
    public var disconnectReason: PublicStreamDisconnect? { if case let .disconnected(r, _, _) = self { r } else { nil } }
}
