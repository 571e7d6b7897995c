public import CascadeCore
public import Synchronization

/// The manual clock of timing tests: time moves only when the test says (`advance(by:)`), and
/// `waitForSleepers(_:)` lets it advance only once the code under test is waiting.
public typealias ManualClock = EventClock

/// Events appended by one task and awaited by another: `wait` suspends until a new event arrives (no polling)
/// and re-checks its condition, up to a real-time limit (the servers under test run on real sockets).
public final class ObservedLog<Event: Sendable>: Sendable {
    public let events = Mutex<[Event]>([])
    private let waiters = Mutex<(next: Int, list: [Int: CheckedContinuation<Void, Never>])>((0, [:]))

    public init() {}

    public var snapshot: [Event] { events.withLock { $0 } }

    public func append(_ event: Event) {
        events.withLock { $0.append(event) }
        let list = waiters.withLock { w in
            defer { w.list = [:] }
            return w.list
        }
        for c in list.values { c.resume() }
    }

    /// Returns whether `condition` (evaluated outside the lock) held before `timeout` passed.
    public func wait(_ timeout: Duration = .seconds(10), _ condition: ([Event]) -> Bool) async -> Bool {
        let clock = ContinuousTaskClock()
        let deadline = clock.instant() + timeout
        while clock.instant() < deadline {
            if condition(snapshot) { return true }
            await nextChange(until: deadline, clock: clock)
        }
        return condition(snapshot)
    }

    /// Returns at the next append, or at `deadline`.
    private func nextChange(until deadline: ClockInstant, clock: ContinuousTaskClock) async {
        let id = waiters.withLock { w -> Int in
            w.next += 1
            return w.next
        }
        let count = events.withLock { $0.count }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    // An append between reading `count` and registering would be missed: check again first.
                    let changed = self.events.withLock { $0.count } != count
                    if changed { c.resume() } else { self.waiters.withLock { $0.list[id] = c } }
                }
            }
            group.addTask { try? await clock.sleep(until: deadline) }
            await group.next()
            group.cancelAll()
            self.waiters.withLock { $0.list.removeValue(forKey: id) }?.resume()
        }
    }
}

/// Re-checks `condition` every 10 ms until it holds or `timeout` passes: for state that no event announces
/// (a fake server's hit count). Test support only; runtime code awaits what it waits for.
public func eventually(_ timeout: Duration = .seconds(10), _ condition: () async -> Bool) async -> Bool {
    let clock = ContinuousTaskClock()
    let deadline = clock.instant() + timeout
    while clock.instant() < deadline {
        if await condition() { return true }
        try? await clock.sleep(for: .milliseconds(10))
    }
    return await condition()
}
