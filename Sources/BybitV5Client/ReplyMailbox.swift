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
        var waiter: CheckedContinuation<Item?, Never>?
        var dropped = 0
    }
    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int = 64) { self.capacity = capacity }

    var dropped: Int { state.withLock { $0.dropped } }

    func add(_ item: Item) {
        let waiter = state.withLock { s -> CheckedContinuation<Item?, Never>? in
            if let w = s.waiter {
                s.waiter = nil
                return w
            }
            if s.queue.count >= capacity {
                s.queue.removeFirst()
                s.dropped += 1
            }
            s.queue.append(item)
            return nil
        }
        waiter?.resume(returning: item)
    }

    /// The next reply, or nil when `timeout` passes on `timer` first (or the task is cancelled).
    func next(timeout: Duration, timer: any TaskClock) async -> Item? {
        if let item = state.withLock({ $0.queue.isEmpty ? nil : $0.queue.removeFirst() }) { return item }
        let deadline = timer.instant() + timeout
        return await withTaskGroup(of: Item?.self) { group in
            group.addTask { await self.receive() }
            group.addTask {
                try? await timer.sleep(until: deadline)
                return nil
            }
            // The first child to finish ends the wait; a reply that raced the deadline is still returned.
            var reply: Item?
            for await result in group {
                group.cancelAll()
                if reply == nil { reply = result }
            }
            return reply
        }
    }

    /// Waits for one item; cancellation resumes it with nil.
    private func receive() async -> Item? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Item?, Never>) in
                let ready = state.withLock { s -> Item?? in
                    if !s.queue.isEmpty { return .some(s.queue.removeFirst()) }
                    if Task.isCancelled { return .some(nil) }
                    s.waiter = continuation
                    return .none
                }
                if case let .some(item) = ready { continuation.resume(returning: item) }
            }
        } onCancel: {
            state.withLock { s -> CheckedContinuation<Item?, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }?.resume(returning: nil)
        }
    }
}
