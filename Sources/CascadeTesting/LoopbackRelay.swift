public import Foundation     // also re-exports Glibc's `sockaddr_in`, which `loopbackAddress(port:)` returns
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A TCP connection to `127.0.0.1:port` (a blocking socket): the relay's side towards the server.
func connectLoopback(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EMFILE) }
    var address = loopbackAddress(port: port)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        throw POSIXError(.ECONNREFUSED)
    }
    return fd
}

/// `127.0.0.1:port` as a socket address.
public func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

/// A loopback TCP relay to a server's port, on threads of its own (never the task pool): every connection is
/// forwarded byte for byte both ways, and each time a client's bytes contain `marker` (a request line, say) `seen` is
/// signalled and `passed` counts it. For tests that must see a request leave a process whose tasks may all be
/// blocked, without asking anything of that process or of the server.
public final class LoopbackRelay: Sendable {
    public let port: Int
    /// Signalled once for each marker that passes.
    public let seen = DispatchSemaphore(value: 0)
    private let counted = Atomic(0)
    private let listener: Int32
    private let connections = Mutex<(open: [Int32], closed: Bool)>(([], false))

    /// Markers that have passed so far.
    public var passed: Int { counted.load(ordering: .acquiring) }
    /// Client connections accepted so far (each relayed to the server on a connection of its own).
    public var accepted: Int { acceptedCount.load(ordering: .acquiring) }
    private let acceptedCount = Atomic(0)

    public init(to target: Int, marker: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = loopbackAddress(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ready else {
            close(fd)
            throw POSIXError(.EADDRNOTAVAIL)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let marker = Array(marker.utf8)
        Thread { [self] in
            while true {
                let client = accept(listener, nil, nil)
                if client < 0 {
                    let failure = errno
                    // Any failure but the listener shut down (EINTR, ECONNABORTED, a full fd table) is tried again.
                    if connections.withLock({ $0.closed }) { return }
                    if failure != EINTR { usleep(1_000) }   // a lasting failure (EMFILE) must not spin a core
                    continue
                }
                acceptedCount.add(1, ordering: .releasing)
                guard let server = try? connectLoopback(port: target), track(client, server) else {
                    close(client)
                    continue
                }
                // The connection's sockets are closed when both directions have ended (never while a pump may use them).
                let ended = PumpsEnded()
                let finish: @Sendable () -> Void = {
                    if ended.count.add(1, ordering: .acquiringAndReleasing).newValue == 2 { self.untrack(client, server) }
                }
                Thread { self.pump(from: client, to: server, marker: marker); finish() }.start()
                Thread { self.pump(from: server, to: client, marker: nil); finish() }.start()
            }
        }.start()
    }

    /// Ends the relay: no new connection, and every open one shut down (its pumps then close it).
    public func stop() {
        // Under the lock: a socket a finished pair has closed (and whose number the process may reuse) is no longer listed.
        connections.withLock { c in
            c.closed = true
            for fd in c.open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
    }

    deinit { close(listener) }

    private func track(_ client: Int32, _ server: Int32) -> Bool {
        let accepted = connections.withLock { c -> Bool in
            guard !c.closed else { return false }
            c.open += [client, server]
            return true
        }
        if !accepted { close(server) }
        return accepted
    }

    private func untrack(_ client: Int32, _ server: Int32) {
        connections.withLock { c in c.open.removeAll { $0 == client || $0 == server } }
        // Closed after leaving the list, so `stop` never shuts down a number reused since.
        close(client)
        close(server)
    }

    /// Copies `from` to `to` until `from` ends, then ends `to`'s writing side; with a marker, counts and signals it
    /// each time it passes (a marker split across reads is found in the bytes kept from the read before).
    private func pump(from: Int32, to: Int32, marker: [UInt8]?) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var tail: [UInt8] = []
        while true {
            let n = read(from, &buffer, buffer.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            if let marker {
                let window = tail + buffer[0..<n]
                var i = 0
                while i + marker.count <= window.count {
                    if window[i..<(i + marker.count)].elementsEqual(marker) {
                        counted.add(1, ordering: .releasing)
                        seen.signal()
                    }
                    i += 1
                }
                tail = Array(window.suffix(marker.count - 1))
            }
            var written = 0
            while written < n {
                // MSG_NOSIGNAL: a peer gone mid-write is an error here, never a SIGPIPE for the whole test process.
                let w = buffer.withUnsafeBytes { send(to, $0.baseAddress! + written, n - written, Int32(MSG_NOSIGNAL)) }
                if w < 0 && errno == EINTR { continue }
                guard w > 0 else { shutdown(from, Int32(SHUT_RDWR)); return }
                written += w
            }
        }
        shutdown(to, Int32(SHUT_WR))
    }
}

private final class PumpsEnded: Sendable {
    let count = Atomic(0)
}
