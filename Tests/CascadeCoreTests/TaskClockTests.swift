import CascadeCore
import Synchronization
import Testing

/// The event/manual clock: sleepers wake only when time is moved past their deadline, in deadline order, and
/// cancellation ends a sleep at once.
struct TaskClockTests {
    final class Order: Sendable {
        let woken = Synchronized<[Int]>([])
    }

    @Test func sleepersWakeOnlyWhenTheClockPassesTheirDeadlineInDeadlineOrder() async throws {
        let clock = EventClock()
        let order = Order()
        let late = Task { try await clock.sleep(until: ClockInstant(nanoseconds: 300)); order.woken.mutate { $0.append(300) } }
        let early = Task { try await clock.sleep(until: ClockInstant(nanoseconds: 100)); order.woken.mutate { $0.append(100) } }
        await clock.waitForSleepers(2)
        #expect(clock.nextDeadline == ClockInstant(nanoseconds: 100))
        clock.advance(to: ClockInstant(nanoseconds: 99))
        #expect(clock.sleeperCount == 2)
        clock.advance(to: ClockInstant(nanoseconds: 100))
        try await early.value
        #expect(clock.sleeperCount == 1 && order.woken.value == [100])
        clock.advance(by: .nanoseconds(500))
        try await late.value
        #expect(order.woken.value == [100, 300] && clock.instant() == ClockInstant(nanoseconds: 600))
    }

    @Test func aDeadlineAlreadyPassedReturnsAtOnceAndTimeNeverGoesBack() async throws {
        let clock = EventClock(startingAt: 1_000)
        try await clock.sleep(until: ClockInstant(nanoseconds: 1_000))
        clock.advance(to: ClockInstant(nanoseconds: 10))
        #expect(clock.instant().nanoseconds == 1_000 && clock.now().nanoseconds == 1_000)
    }

    @Test func cancellationEndsASleepWithCancellationError() async throws {
        let clock = EventClock()
        let sleeper = Task { try await clock.sleep(for: .seconds(3600)) }
        await clock.waitForSleepers(1)
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func aTaskCancelledBeforeItSleepsDoesNotSleep() async throws {
        let clock = EventClock()
        let sleeper = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await clock.sleep(for: .seconds(1))
        }
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(clock.sleeperCount == 0)
    }

    @Test func manySleepsCancelledAtRandomLeaveNothingBehind() async throws {
        let clock = EventClock()
        for round in 0..<200 {
            let sleeper = Task { try await clock.sleep(for: .seconds(1)) }
            if round % 2 == 0 {
                // Woken, then cancelled before the woken task has run: the cancellation finds no sleeper.
                await clock.waitForSleepers(1)
                clock.advance(by: .seconds(1))
            }
            sleeper.cancel()
            _ = try? await sleeper.value
        }
        #expect(clock.sleeperCount == 0 && clock.leftoverCancellations == 0)
    }

    @Test func instantArithmeticSaturates() {
        let far = ClockInstant(nanoseconds: .max - 5) + .seconds(10)
        #expect(far.nanoseconds == .max)
        #expect(ClockInstant(nanoseconds: 2_000) - ClockInstant(nanoseconds: 500) == .nanoseconds(1_500))
    }

    @Test func continuousClockSleepsUntilItsDeadline() async throws {
        let clock = ContinuousTaskClock()
        let start = clock.instant()
        try await clock.sleep(for: .milliseconds(5))
        #expect(clock.instant() - start >= .milliseconds(5))
    }
}

/// A value behind a lock, for test tasks to record into.
final class Synchronized<Value: Sendable>: Sendable {
    private let stored: Mutex<Value>
    init(_ value: Value) { stored = Mutex(value) }
    var value: Value { stored.withLock { $0 } }
    func mutate(_ body: (inout Value) -> Void) { stored.withLock { body(&$0) } }
}
