#if canImport(Glibc)
    import Glibc
#endif

/// Holds vCPU threads between KVM_RUN calls while the machine is paused. vCPUs call `waitWhileClosed`
/// before each entry; `close` then waits until every running vCPU is parked, so "paused" means no vCPU
/// is in the guest.
final class PauseGate: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var closed = false
    private var released = false
    private var parked = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    var isClosed: Bool { locked { closed } }

    /// Closes the gate; the caller then kicks the vCPUs and calls `waitUntilParked`.
    func close() {
        locked { closed = true }
    }

    /// Waits until `count` vCPUs are parked (or the gate is released for good).
    func waitUntilParked(_ count: Int) {
        pthread_mutex_lock(mutex)
        while parked < count && closed && !released { pthread_cond_wait(condition, mutex) }
        pthread_mutex_unlock(mutex)
    }

    func open() {
        locked { closed = false }
        pthread_cond_broadcast(condition)
    }

    /// Opens the gate for good: the machine is stopping.
    func release() {
        locked {
            released = true
            closed = false
        }
        pthread_cond_broadcast(condition)
    }

    /// Called by a vCPU thread between exits: returns at once unless the gate is closed.
    func waitWhileClosed() {
        pthread_mutex_lock(mutex)
        if closed && !released {
            parked += 1
            pthread_cond_broadcast(condition)
            while closed && !released { pthread_cond_wait(condition, mutex) }
            parked -= 1
        }
        pthread_mutex_unlock(mutex)
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
