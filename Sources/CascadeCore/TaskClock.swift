import Synchronization

/// A point on a ``TaskClock``: nanoseconds from the clock's own origin. Only comparable with instants of the
/// same clock; never a wall time (deadlines must not jump when NTP steps the wall clock).
public struct ClockInstant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    @inlinable public static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }

    /// Saturating: a deadline "forever from now" stays at the end of time instead of trapping.
    public static func + (a: Self, d: Duration) -> Self {
        let (s, overflow) = a.nanoseconds.addingReportingOverflow(d.wholeNanoseconds)
        return Self(nanoseconds: overflow ? (d > .zero ? .max : .min) : s)
    }
    public static func - (a: Self, b: Self) -> Duration { .nanoseconds(a.nanoseconds &- b.nanoseconds) }
    public var description: String { "\(nanoseconds) ns" }
}

/// The scheduling seam: everything that waits — timeouts, backoff, ping and pong deadlines, rate-limit waits,
/// pacing, exits — waits on one of these, so a replay can run on event time and a test on a clock it moves by
/// hand, with no real sleep. Live code uses ``ContinuousTaskClock``.
///
/// Timestamps are a separate concern (``WallClock``: receive times since the epoch).
public protocol TaskClock: Sendable {
    /// Now, on this clock.
    func instant() -> ClockInstant
    /// Returns at or after `deadline`; throws `CancellationError` when the task is cancelled first.
    func sleep(until deadline: ClockInstant) async throws
}

extension TaskClock {
    /// Sleeps `duration` from now on this clock.
    public func sleep(for duration: Duration) async throws { try await sleep(until: instant() + duration) }
}

/// `ContinuousClock` (monotonic, keeps counting while the machine sleeps) as a ``TaskClock``.
public struct ContinuousTaskClock: TaskClock {
    private static let origin = ContinuousClock.now
    public init() {}
    public func instant() -> ClockInstant { ClockInstant(nanoseconds: (ContinuousClock.now - Self.origin).wholeNanoseconds) }
    public func sleep(until deadline: ClockInstant) async throws {
        try await Task.sleep(until: Self.origin + .nanoseconds(deadline.nanoseconds), clock: .continuous)
    }
}

/// A clock that moves only when told: event time in replays (the driver advances it to each event's time)
/// and the manual clock of timing tests. Sleepers due at or before the new time resume in deadline order.
///
/// It is also a ``WallClock``, reading its time as nanoseconds since the epoch, so one object can drive both
/// the timestamps and the waits of a component under test.
public final class EventClock: TaskClock, WallClock {
    private struct Sleeper {
        let deadline: ClockInstant
        let continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Int64
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        /// Sleeps cancelled before they registered (the handler can run first): they resume at once.
        var cancelledEarly: Set<Int> = []
        /// Tasks waiting for a number of sleepers (tests: "advance only once the subject is asleep").
        var watchers: [(count: Int, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state: Mutex<State>

    public init(startingAt nanoseconds: Int64 = 0) { state = Mutex(State(now: nanoseconds)) }

    public func instant() -> ClockInstant { ClockInstant(nanoseconds: state.withLock { $0.now }) }
    public func now() -> LocalTime { LocalTime(nanoseconds: state.withLock { $0.now }) }

    /// Tasks currently asleep on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }
    /// Cancellations remembered for sleeps not yet registered (0 once every sleep is over).
    public var leftoverCancellations: Int { state.withLock { $0.cancelledEarly.count } }
    /// The earliest deadline anyone sleeps until, if any.
    public var nextDeadline: ClockInstant? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }
    /// Every deadline someone sleeps until, earliest first (tests: "advance once this subject sleeps until then").
    public var deadlines: [ClockInstant] { state.withLock { $0.sleepers.values.map(\.deadline).sorted() } }

    public func sleep(until deadline: ClockInstant) async throws {
        try Task.checkCancellation()
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        // A cancellation racing a normal wake-up may leave this id behind: it is forgotten once the sleep is over.
        defer { _ = state.withLock { $0.cancelledEarly.remove(id) } }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let (resumeNow, watchers) = state.withLock { s -> (Bool, [CheckedContinuation<Void, Never>]) in
                    if s.cancelledEarly.remove(id) != nil || deadline.nanoseconds <= s.now { return (true, []) }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return (false, Self.satisfiedWatchers(&s))
                }
                if resumeNow { continuation.resume() }
                for w in watchers { w.resume() }
            }
        } onCancel: {
            // Before registration the id is remembered so registering resumes at once; after it, the
            // registered sleeper resumes now. Either way the check below throws.
            let sleeper = state.withLock { s -> Sleeper? in
                if let sleeper = s.sleepers.removeValue(forKey: id) { return sleeper }
                s.cancelledEarly.insert(id)
                return nil
            }
            sleeper?.continuation.resume()
        }
        try Task.checkCancellation()
    }

    /// Moves the clock to `time` (never backwards) and wakes every sleeper due by then, earliest first.
    public func advance(to time: ClockInstant) {
        let due = state.withLock { s -> [Sleeper] in
            guard time.nanoseconds > s.now else { return [] }
            s.now = time.nanoseconds
            let ids = s.sleepers.filter { $0.value.deadline.nanoseconds <= s.now }
                .sorted { ($0.value.deadline, $0.key) < ($1.value.deadline, $1.key) }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0) }
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    public func advance(by duration: Duration) { advance(to: instant() + duration) }

    /// Returns once at least `count` tasks sleep on this clock (a test advances only after its subject is waiting).
    public func waitForSleepers(_ count: Int = 1) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { s -> Bool in
                if s.sleepers.count >= count { return true }
                s.watchers.append((count, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private static func satisfiedWatchers(_ s: inout State) -> [CheckedContinuation<Void, Never>] {
        let n = s.sleepers.count
        let ready = s.watchers.filter { $0.count <= n }.map(\.continuation)
        s.watchers.removeAll { $0.count <= n }
        return ready
    }
}

/// Suspends until the calling task is cancelled (a service with nothing left to do but stay up), without
/// a parking sleep.
public func awaitCancellation() async {
    let (stream, continuation) = AsyncStream<Never>.makeStream()
    await withTaskCancellationHandler {
        for await _ in stream {}
    } onCancel: {
        continuation.finish()
    }
}

extension Duration {
    /// Whole nanoseconds, saturating at the bounds of `Int64`.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        let (sum, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        return overflow2 ? (seconds > 0 ? .max : .min) : sum
    }
}
