import LibvirtProtocol

/// One operation at a time per domain, as libvirt's domain jobs: a start that waits for its VMM, or a
/// destroy that waits for it to exit, suspends inside the backend actor, and another request for the
/// same domain must not interleave with it. Requests queue in arrival order; the job passes straight
/// from one holder to the next.
struct DomainJobQueue {
    private var held: Set<DomainUUID> = []
    private var waiting: [DomainUUID: [CheckedContinuation<Void, Never>]] = [:]

    func isHeld(_ uuid: DomainUUID) -> Bool { held.contains(uuid) }

    /// Takes the job if nobody holds it.
    mutating func tryAcquire(_ uuid: DomainUUID) -> Bool {
        held.insert(uuid).inserted
    }

    /// Queues a caller that will hold the job when it is resumed.
    mutating func enqueue(_ uuid: DomainUUID, _ continuation: CheckedContinuation<Void, Never>) {
        waiting[uuid, default: []].append(continuation)
    }

    /// Hands the job to the next waiter (the caller resumes it) or frees it.
    mutating func release(_ uuid: DomainUUID) -> CheckedContinuation<Void, Never>? {
        guard var queue = waiting[uuid], !queue.isEmpty else {
            held.remove(uuid)
            return nil
        }
        let next = queue.removeFirst()
        waiting[uuid] = queue.isEmpty ? nil : queue
        return next
    }
}
