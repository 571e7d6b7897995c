public import CascadeCore
public import Synchronization

/// The manual clock of timing tests: time moves only when the test says (`advance(by:)`), and
/// `waitForSleepers(_:)` lets it advance only once the code under test is waiting.
public typealias ManualClock = EventClock

/// Events appended by one task and awaited by another: `wait` suspends until a new event arrives (no polling)
/// and re-checks its condition, up to a real-time limit (the servers under test run on real sockets).
public final class ObservedLog<Event: Sendable>: Sendable {
    public let events = Mutex<[Event]>([])
    /// One wake-up per waiting task: every append signals them all.
    private let waiters = Mutex<[ObjectIdentifier: WakeupSignal]>([:])

    public init() {}

    public var snapshot: [Event] { events.withLock { $0 } }

    public func append(_ event: Event) {
        events.withLock { $0.append(event) }
        for signal in waiters.withLock({ Array($0.values) }) { signal.signal() }
    }

    /// Returns whether `condition` (evaluated outside the lock) held before `timeout` passed.
    public func wait(_ timeout: Duration = .seconds(10), _ condition: ([Event]) -> Bool) async -> Bool {
        let clock = ContinuousTaskClock()
        let deadline = clock.instant() + timeout
        let signal = WakeupSignal()
        waiters.withLock { $0[ObjectIdentifier(signal)] = signal }
        defer { _ = waiters.withLock { $0.removeValue(forKey: ObjectIdentifier(signal)) } }
        // Registered before the first check: an append after it leaves a pending signal, never a lost one.
        while clock.instant() < deadline {
            if condition(snapshot) { return true }
            await signal.wait(until: deadline, timer: clock)
        }
        return condition(snapshot)
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
