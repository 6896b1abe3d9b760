#if canImport(Glibc)
    import Glibc
#endif

/// Puts a terminal into raw mode (every key, Ctrl-C included, goes to the guest) and restores it.
public final class TerminalMode: @unchecked Sendable {
    private let fd: Int32
    private var saved = termios()
    private var active = false

    /// Returns nil when `fd` is not a terminal (pipes in tests and scripts stay untouched).
    public init?(fd: Int32 = STDIN_FILENO) {
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        self.fd = fd
        var raw = saved
        cfmakeraw(&raw)
        // Keep output post-processing so the guest's "\n" still returns the carriage on the host side.
        raw.c_oflag = saved.c_oflag
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else { return nil }
        active = true
    }

    public func restore() {
        guard active else { return }
        tcsetattr(fd, TCSANOW, &saved)
        active = false
    }

    deinit { restore() }
}
