import Management
import Synchronization

/// Fans the backend's domain events out to every connection. Each connection subscribes for its
/// lifetime and picks what its own registrations ask for. A connection that does not read its events
/// loses the oldest ones beyond `maxPendingPerConnection` rather than growing the daemon's memory.
final class DomainEventHub: Sendable {
    static let maxPendingPerConnection = 1024

    struct Subscription {
        let id: UInt64
        let events: AsyncStream<DomainEvent>
    }

    private struct State {
        var nextID: UInt64 = 0
        var subscribers: [UInt64: AsyncStream<DomainEvent>.Continuation] = [:]
    }

    private let state = Mutex(State())

    init() {}

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Hands `event` to every subscriber; never blocks.
    func publish(_ event: DomainEvent) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.yield(event) }
    }

    /// Events published from now on, in order, until `unsubscribe`.
    func subscribe() -> Subscription {
        let (events, continuation) = AsyncStream.makeStream(
            of: DomainEvent.self, bufferingPolicy: .bufferingNewest(Self.maxPendingPerConnection))
        let id = state.withLock { state -> UInt64 in
            defer { state.nextID += 1 }
            state.subscribers[state.nextID] = continuation
            return state.nextID
        }
        return Subscription(id: id, events: events)
    }

    func unsubscribe(_ subscription: Subscription) {
        state.withLock { $0.subscribers.removeValue(forKey: subscription.id) }?.finish()
    }
}
