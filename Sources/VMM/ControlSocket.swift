import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The machine's control socket, for the management daemon: a Unix socket taking newline-terminated
/// commands, one reply line each.
///
/// - `status` → `running` or `paused`
/// - `pause` → `ok` once no vCPU runs guest code; `resume` → `ok`
/// - `quit` → `ok`, then the machine stops (the VMM exits 0); `reboot` → `ok`, the VMM exits 3 (reset)
/// - `powerbutton` → `ok`: the ACPI power button is pressed; the guest decides what to do
/// - anything else → `error <why>`
///
/// Clients are served one at a time; a line longer than 256 bytes closes that client.
public final class ControlSocket: Sendable {
    private let listener: Int32
    private let stopPipe: (read: Int32, write: Int32)
    private let thread = Mutex<HostThread?>(nil)
    private let machine: Machine
    public let path: String

    static let maximumLineLength = 256

    public init(path: String, machine: Machine) throws {
        self.path = path
        self.machine = machine
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw VMMError.invalidConfiguration("--control-socket: pipe: \(SystemCallError(errno))")
        }
        stopPipe = (ends[0], ends[1])
        do {
            listener = try UnixListener.listen(path: path, what: "--control-socket")
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
    }

    deinit {
        stop()
        for fd in [listener, stopPipe.read, stopPipe.write] { close(fd) }
        unlink(path)
    }

    public func start() throws {
        let server = self
        let started = try HostThread(name: "control") { server.run() }
        thread.withLock { $0 = started }
    }

    public func stop() {
        guard
            let running = thread.withLock({ state -> HostThread? in
                defer { state = nil }
                return state
            })
        else {
            return
        }
        var byte: UInt8 = 0
        _ = write(stopPipe.write, &byte, 1)
        running.join()
    }

    /// The reply to one command line.
    func execute(_ command: String) -> String {
        switch command.trimmingWhitespace() {
        case "status": return machine.isPaused ? "paused" : "running"
        case "pause":
            machine.pause()
            return "ok"
        case "resume":
            machine.resume()
            return "ok"
        case "quit":
            machine.stop(.stopped)
            return "ok"
        case "reboot":
            // The VMM exits with the reset status (3); whoever supervises it starts it again.
            machine.stop(.reset)
            return "ok"
        case "powerbutton":
            // As on hardware (and QEMU's system_powerdown), a press the guest does not act on is not
            // an error; the status says whether its button driver listens.
            machine.pressPowerButton()
            return "ok"

        case "": return "error empty command"
        case let other: return "error unknown command '\(other)' (status, pause, resume, quit, reboot, powerbutton)"
        }
    }

    private func run() {
        while let client = waitForClient() {
            serve(client)
            close(client)
        }
    }

    /// Waits for a connection; nil when asked to stop.
    private func waitForClient() -> Int32? {
        while true {
            var fds = [
                pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0),
                pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if fds[0].revents != 0 { return nil }
            if fds[1].revents != 0 {
                let client = accept(listener, nil, nil)
                if client >= 0 { return client }
            }
        }
    }

    private func serve(_ client: Int32) {
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            var fds = [
                pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0),
                pollfd(fd: client, events: Int16(POLLIN), revents: 0),
            ]
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { return }
            let count = read(client, &buffer, buffer.count)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                return
            }
            for byte in buffer[0..<count] {
                if byte == UInt8(ascii: "\n") {
                    let reply = execute(String(decoding: line, as: UTF8.self)) + "\n"
                    line.removeAll()
                    let sent = reply.utf8CString.withUnsafeBytes {
                        Glibc.send(client, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL))
                    }
                    if sent < 0 { return }
                } else {
                    line.append(byte)
                    if line.count > Self.maximumLineLength { return }
                }
            }
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        let bytes = Array(utf8)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
            let last = bytes.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
