import Synchronization

/// "Wake me when this happens, or at a deadline": one waiter at a time, no lost wake-ups.
///
/// A `signal()` before the wait is kept (the next wait returns at once); a wait returns on a signal, at its deadline
/// on the task clock, or when its task is cancelled — whichever comes first, each checked under one lock so no
/// signal falls between a check and the suspension.
public final class WakeupSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let w = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return w
        }
        waiter?.resume()
    }

    /// Returns on the next signal (or one already pending), or on cancellation.
    public func wait() async {
        if state.withLock({ s in defer { s.pending = false }; return s.pending }) { return }
        await waitForSignal()
    }

    /// Returns on the next signal (or one already pending), at `deadline` on `timer`, or on cancellation.
    public func wait(until deadline: ClockInstant, timer: any TaskClock) async {
        if state.withLock({ s in defer { s.pending = false }; return s.pending }) { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForSignal() }
            group.addTask { try? await timer.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForSignal() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.pending || Task.isCancelled {
                        s.pending = false
                        return true
                    }
                    s.waiter?.resume()   // one waiter at a time: a stale one is let go
                    s.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { s -> CheckedContinuation<Void, Never>? in
                defer { s.waiter = nil }
                return s.waiter
            }?.resume()
        }
    }
}
