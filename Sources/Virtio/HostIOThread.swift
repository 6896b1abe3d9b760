#if canImport(Glibc)
    import Glibc
#endif

/// A joinable POSIX thread running one closure: the host-I/O loop of a device (vsock, console). A real
/// thread, not a task, because the loop blocks in poll(2).
final class HostIOThread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: @Sendable () -> Void

    init(_ body: @escaping @Sendable () -> Void) throws(HostIOError) {
        self.body = body
        let box = Unmanaged.passRetained(self)
        let result = pthread_create(
            &handle, nil,
            { raw in
                guard let raw else { return nil }
                let thread = Unmanaged<HostIOThread>.fromOpaque(raw).takeRetainedValue()
                thread.body()
                return nil
            }, box.toOpaque())
        guard result == 0 else {
            box.release()
            throw .threadCreation(errno: result)
        }
    }

    /// Waits for the body to return. Call once, never from the thread itself.
    func join() {
        pthread_join(handle, nil)
    }
}
