#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM, SIGINT and SIGHUP stop the machine cleanly (the VMM then exits as after `quit`).
///
/// They are blocked in every thread (threads inherit the mask, and the runtime's threads block most
/// signals anyway, so a plain handler might never run) and taken by one thread in `sigwait`.
public enum TerminationSignals {
    static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]

    /// Call before starting any thread; `onSignal` runs on the waiting thread with the signal number.
    public static func handle(_ onSignal: @escaping @Sendable (Int32) -> Void) throws {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let waited = set
        _ = try HostThread(name: "signals") {
            var set = waited
            while true {
                var received: Int32 = 0
                if sigwait(&set, &received) == 0 { onSignal(received) }
            }
        }
    }
}
