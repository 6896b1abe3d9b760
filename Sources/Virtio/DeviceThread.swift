import CKVM

#if canImport(Glibc)
    import Glibc
#endif

/// A POSIX thread running one closure, for a device's own I/O (the network receive thread). A real
/// thread rather than a task because it blocks in poll(2). It inherits its creator's signal mask; the
/// closure must cope with EINTR.
final class DeviceThread: @unchecked Sendable {
    /// Written once by pthread_create, before the object is shared.
    private var handle = pthread_t()

    /// What the new thread needs, handed over as one retained object.
    private final class Start {
        let name: String
        let body: @Sendable () -> Void

        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread named `name` (at most 15 bytes show in ps/top).
    init(name: String, _ body: @escaping @Sendable () -> Void) throws(SystemCallFailure) {
        let start = Unmanaged.passRetained(Start(name: String(name.utf8.prefix(15)) ?? "", body: body))
        let result = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                let start = Unmanaged<Start>.fromOpaque(raw).takeRetainedValue()
                start.name.withCString { ckvm_set_thread_name($0) }
                start.body()
                return nil
            }, start.toOpaque())
        guard result == 0 else {
            start.release()
            throw SystemCallFailure(name: "pthread_create", errno: result)
        }
    }

    /// Waits for the thread to finish. Call once, and not from the thread itself.
    func join() {
        pthread_join(handle, nil)
    }

    /// Lets the thread finish on its own; its resources are freed when it does. Call once, instead of `join`.
    func detach() {
        pthread_detach(handle)
    }
}
