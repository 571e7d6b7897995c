/// Settings shared by tests that talk to a server on the loopback interface.
public enum LoopbackTest {
    /// recv_window for signed requests in loopback tests. On a loaded 2-core CI machine a request stamped by the
    /// client can wait seconds before the server reads it (seen: 5.1 s), and Bybit's default 5 s window then refuses
    /// it with 10002, which the client never re-stamps for orders. Tests of the window itself set their own.
    public static let recvWindow = 60_000
}
