#if canImport(Glibc)
    import Glibc
#endif

/// Puts a terminal into raw mode (every key, Ctrl-C included, goes to the guest) and restores it.
public final class TerminalMode: @unchecked Sendable {
    private let fd: Int32
    private var saved = termios()
    private var active = false

    /// Returns nil when `fd` is not a terminal (pipes in tests and scripts stay untouched).
    /// `keepOutputProcessing` keeps "\n" returning the carriage, for a guest console written straight
    /// to the terminal; a client relaying a console that already sends "\r\n" (as virsh does) passes
    /// false.
    public init?(fd: Int32 = STDIN_FILENO, keepOutputProcessing: Bool = true) {
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        self.fd = fd
        var raw = saved
        cfmakeraw(&raw)
        if keepOutputProcessing { raw.c_oflag = saved.c_oflag }
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
