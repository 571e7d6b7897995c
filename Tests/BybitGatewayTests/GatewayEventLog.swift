@testable import BybitGateway
import CascadeCore
import Synchronization

/// What a gateway told its consumer, in order (the gateway tests read it from another task).
final class GatewayEventLog: Sendable {
    let list = Mutex<[GatewayEvent]>([])
    func append(_ event: GatewayEvent) { list.withLock { $0.append(event) } }
    var reports: [ExecutionReport] {
        list.withLock { $0.flatMap { e -> [ExecutionReport] in if case let .reports(r) = e { r } else { [] } } }
    }
    var trusted: Bool {
        list.withLock { $0.contains { if case .privateStream(trusted: true) = $0 { true } else { false } } }
    }
    var alerts: [String] { list.withLock { $0.compactMap { if case let .alert(text) = $0 { text } else { nil } } } }
    var fills: [Fill] { reports.compactMap { if case let .filled(f) = $0.event { f } else { nil } } }
    var lastPosition: PositionReport? { reports.compactMap { if case let .position(p) = $0.event { p } else { nil } }.last }
    var anyRejected: Bool { reports.contains { if case .rejected = $0.event { true } else { false } } }
    func accepted(_ id: ClientOrderID) -> Bool {
        reports.contains { if case let .accepted(a) = $0.event { a.clientID == id } else { false } }
    }
}
