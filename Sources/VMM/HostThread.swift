import CKVM

#if canImport(Glibc)
    import Glibc
#endif

/// A joinable POSIX thread running one closure. vCPUs need real threads (not tasks): each blocks in
/// KVM_RUN and is kicked out of it with a signal aimed at that thread.
final class HostThread: @unchecked Sendable {
    private var handle = pthread_t()
    private let body: @Sendable () -> Void
    private let name: String

    /// The signal that interrupts a blocked KVM_RUN. Its handler does nothing; delivery alone makes the
    /// ioctl return EINTR.
    static let kickSignal = SIGUSR1

    init(name: String, _ body: @escaping @Sendable () -> Void) throws {
        self.body = body
        self.name = String(name.prefix(15))
        Self.installKickHandler()
        let box = Unmanaged.passRetained(self)
        let result = pthread_create(
            &handle, nil,
            { raw in
                let thread = Unmanaged<HostThread>.fromOpaque(raw!).takeRetainedValue()
                thread.name.withCString { ckvm_set_thread_name($0) }
                // Threads inherit their creator's signal mask, and dispatch worker threads block most
                // signals: without this the kick would stay pending and never interrupt KVM_RUN.
                var kickOnly = sigset_t()
                sigemptyset(&kickOnly)
                sigaddset(&kickOnly, HostThread.kickSignal)
                pthread_sigmask(SIG_UNBLOCK, &kickOnly, nil)
                thread.body()
                return nil
            }, box.toOpaque())
        guard result == 0 else {
            box.release()
            throw VMMError.threadCreation(name: name, errno: result)
        }
    }

    /// Interrupts a blocking system call (KVM_RUN, read) on this thread.
    func kick() { pthread_kill(handle, Self.kickSignal) }

    func join() { pthread_join(handle, nil) }

    private static let installOnce: Void = {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: the blocked call must return EINTR
        sigaction(HostThread.kickSignal, &action, nil)
    }()

    static func installKickHandler() { _ = installOnce }
}
