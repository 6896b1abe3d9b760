import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A Unix socket a console device is reachable on, as QEMU's `-chardev socket,server=on`: the machine
/// listens at `path`; one client at a time types into the device and receives its output. Output with no
/// client connected is dropped; a new client replaces a gone one.
///
/// The device reads its input from `deviceInput`, one end of a socket pair; a thread accepts clients and
/// copies what they send into the other end.
final class ConsoleSocket: Sendable {
    /// Give this to the console device as its input descriptor.
    let deviceInput: Int32
    private let bridgeEnd: Int32
    private let listener: Int32
    private let stopPipe: (read: Int32, write: Int32)
    private let client = Mutex<Int32>(-1)
    private let thread = Mutex<HostThread?>(nil)
    let path: String

    init(path: String, what: String) throws {
        self.path = path
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw VMMError.invalidConfiguration("\(what): socketpair: \(SystemCallError(errno))")
        }
        var pipeEnds: [Int32] = [-1, -1]
        guard pipe(&pipeEnds) == 0 else {
            close(pair[0])
            close(pair[1])
            throw VMMError.invalidConfiguration("\(what): pipe: \(SystemCallError(errno))")
        }
        deviceInput = pair[0]
        bridgeEnd = pair[1]
        stopPipe = (pipeEnds[0], pipeEnds[1])
        do {
            listener = try UnixListener.listen(path: path, what: what)
        } catch {
            for fd in pair + pipeEnds { close(fd) }
            throw error
        }
    }

    deinit {
        stop()
        client.withLock { fd in
            if fd >= 0 { close(fd) }
        }
        for fd in [deviceInput, bridgeEnd, listener, stopPipe.read, stopPipe.write] { close(fd) }
        unlink(path)
    }

    func start() throws {
        let bridge = self
        let started = try HostThread(name: "console-socket") { bridge.run() }
        thread.withLock { $0 = started }
    }

    func stop() {
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

    /// The device's output: to the connected client, if any (a slow client loses output rather than
    /// stalling the device).
    func send(_ bytes: [UInt8]) {
        client.withLock { fd in
            guard fd >= 0 else { return }
            var offset = 0
            while offset < bytes.count {
                let written = bytes[offset...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
                }
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }

    private func run() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let current = client.withLock { $0 }
            var fds = [
                pollfd(fd: stopPipe.read, events: Int16(POLLIN), revents: 0),
                pollfd(fd: current >= 0 ? current : listener, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[0].revents != 0 { return }
            guard fds[1].revents != 0 else { continue }
            if current < 0 {
                let accepted = accept(listener, nil, nil)
                if accepted >= 0 { client.withLock { $0 = accepted } }
                continue
            }
            let count = read(current, &buffer, buffer.count)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                client.withLock { fd in
                    close(fd)
                    fd = -1
                }
                continue
            }
            var offset = 0
            while offset < count {
                let written = buffer[offset..<count].withUnsafeBytes { write(bridgeEnd, $0.baseAddress, $0.count) }
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    break
                }
            }
        }
    }
}

/// A listening Unix stream socket at a path (a stale socket file from an earlier run is replaced).
enum UnixListener {
    static func listen(path: String, what: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard path.utf8.count < capacity else {
            throw VMMError.invalidConfiguration("\(what): socket path longer than \(capacity - 1) bytes: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw VMMError.invalidConfiguration("\(what): socket: \(SystemCallError(errno))") }
        var status = stat()
        if lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(fd, 4) == 0 else {
            let error = SystemCallError(errno)
            close(fd)
            throw VMMError.invalidConfiguration("\(what): cannot listen on \(path): \(error)")
        }
        return fd
    }
}
