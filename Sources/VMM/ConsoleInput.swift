import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the host console (a file descriptor, normally stdin) on its own thread and feeds the guest's
/// UART, applying the Ctrl-A escape. Polls with a timeout so it can stop without a signal.
final class ConsoleInput: @unchecked Sendable {
    private let fd: Int32
    private let deliver: @Sendable ([UInt8]) -> Int
    private let onQuit: @Sendable () -> Void
    private let echo: @Sendable ([UInt8]) -> Void
    private let running = Atomic<Bool>(true)
    /// Ctrl-A escapes apply (a terminal); false passes every byte through (a socket client).
    private let escapes: Bool
    private var thread: HostThread?

    /// `deliver` offers bytes to the guest and returns how many it took (the UART FIFO can be full).
    init(
        fd: Int32, deliver: @escaping @Sendable ([UInt8]) -> Int, echo: @escaping @Sendable ([UInt8]) -> Void,
        onQuit: @escaping @Sendable () -> Void, escapes: Bool = true
    ) {
        self.fd = fd
        self.escapes = escapes
        self.deliver = deliver
        self.echo = echo
        self.onQuit = onQuit
    }

    func start() throws {
        thread = try HostThread(name: "console-in") { [self] in loop() }
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
    }

    private func loop() {
        var escape = ConsoleEscape()
        var buffer = [UInt8](repeating: 0, count: 256)
        while running.load(ordering: .relaxed) {
            var pollFD = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollFD, 1, 100)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return }  // EOF: the guest keeps running without console input
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return
            }
            guard escapes else {
                send(Array(buffer[0..<count]))
                continue
            }
            let (forward, action) = escape.filter(buffer[0..<count])
            send(forward)
            switch action {
            case .quit?:
                onQuit()
                return
            case .help?:
                echo(Array(ConsoleEscape.helpText.utf8))
            case nil: break
            }
        }
    }

    /// Offers bytes until the guest has taken them all, waiting while its FIFO is full.
    private func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count && running.load(ordering: .relaxed) {
            let taken = deliver(Array(bytes[offset...]))
            offset += taken
            if taken == 0 { usleep(1000) }
        }
    }
}
