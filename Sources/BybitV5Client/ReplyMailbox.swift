import CascadeCore
import Synchronization

/// Replies a connection waits for (auth answers, subscribe acks), handed from the reader to one waiting task.
///
/// Bounded: replies answer our own requests, so more than `capacity` unread means a misbehaving server; the
/// oldest are dropped and counted. The waiter suspends (no polling) until a reply arrives or its deadline on the
/// task clock passes.
final class ReplyMailbox<Item: Sendable>: Sendable {
    private struct State {
        var queue: [Item] = []
        var dropped = 0
    }
    private let state = Mutex(State())
    private let arrived = WakeupSignal()
    let capacity: Int

    init(capacity: Int = 64) { self.capacity = capacity }

    var dropped: Int { state.withLock { $0.dropped } }

    func add(_ item: Item) {
        state.withLock { s in
            if s.queue.count >= capacity {
                s.queue.removeFirst()
                s.dropped += 1
            }
            s.queue.append(item)
        }
        arrived.signal()
    }

    /// The next reply, or nil when `timeout` passes on `timer` first (or the task is cancelled).
    func next(timeout: Duration, timer: any TaskClock) async -> Item? {
        let deadline = timer.instant() + timeout
        while true {
            if let item = state.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) { return item }
            guard timer.instant() < deadline, !Task.isCancelled else { return nil }
            await arrived.wait(until: deadline, timer: timer)
        }
    }
}
