import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Host-side Unix sockets for tests, with timeouts everywhere so a device bug fails a test instead of
/// hanging it.
struct HostTestSocket {
    let descriptor: Int32

    enum Failure: Error {
        case call(String, Int32)
        case timeout(String)
    }

    /// A short temporary directory (sun_path holds 107 bytes), removed by `removeDirectory`.
    static func makeDirectory() throws -> String {
        let path = "/tmp/vsk-\(UUID().uuidString.prefix(8))"
        guard mkdir(path, 0o700) == 0 else { throw Failure.call("mkdir", errno) }
        return path
    }

    static func removeDirectory(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func listen(path: String) throws -> HostTestSocket {
        let socket = try make()
        var address = try Self.address(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(socket.descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, Glibc.listen(socket.descriptor, 8) == 0 else { throw Failure.call("bind/listen", errno) }
        return socket
    }

    static func connect(path: String) throws -> HostTestSocket {
        let socket = try make()
        var address = try Self.address(path)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(socket.descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw Failure.call("connect", errno) }
        return socket
    }

    /// Both ends of a connected stream socket pair.
    static func pair() throws -> (HostTestSocket, HostTestSocket) {
        var descriptors: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &descriptors) == 0 else {
            throw Failure.call("socketpair", errno)
        }
        return (HostTestSocket(descriptor: descriptors[0]), HostTestSocket(descriptor: descriptors[1]))
    }

    func accept(timeout: Int32 = 5000) throws -> HostTestSocket {
        try wait(POLLIN, timeout: timeout, what: "accept")
        let descriptor = Glibc.accept(self.descriptor, nil, nil)
        guard descriptor >= 0 else { throw Failure.call("accept", errno) }
        return HostTestSocket(descriptor: descriptor)
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes {
                send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw Failure.call("send", errno) }
            offset += count
        }
    }

    func write(_ text: String) throws { try write(Array(text.utf8)) }

    /// Reads exactly `count` bytes, failing after `timeout` ms without progress or at end of file.
    func read(count: Int, timeout: Int32 = 5000) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while bytes.count < count {
            try wait(POLLIN, timeout: timeout, what: "read \(count) bytes (have \(bytes.count))")
            var buffer = [UInt8](repeating: 0, count: count - bytes.count)
            let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard got > 0 else { throw Failure.call("recv (end of file after \(bytes))", errno) }
            bytes += buffer[0..<got]
        }
        return bytes
    }

    /// Reads up to and including "\n".
    func readLine(timeout: Int32 = 5000) throws -> String {
        var bytes: [UInt8] = []
        while bytes.last != UInt8(ascii: "\n") {
            bytes += try read(count: 1, timeout: timeout)
            guard bytes.count < 100 else { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Waits for end of file (the device closed its end), discarding data; false on timeout.
    func waitForEndOfFile(timeout: Int32 = 5000) -> Bool {
        readToEndOfFile(timeout: timeout) != nil
    }

    /// The bytes that arrive before end of file; nil on timeout.
    func readToEndOfFile(timeout: Int32 = 5000) -> [UInt8]? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while (try? wait(POLLIN, timeout: timeout, what: "end of file")) != nil {
            let got = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if got <= 0 { return data }
            data += buffer[0..<got]
        }
        return nil
    }

    /// Whether bytes (or end of file) arrive within `timeout` ms.
    func hasInput(timeout: Int32) -> Bool {
        (try? wait(POLLIN, timeout: timeout, what: "input")) != nil
    }

    /// Ends both directions (the peer reads end of file) but keeps the descriptor for `close`.
    func shutdown() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }

    func close() {
        _ = Glibc.close(descriptor)
    }

    private func wait(_ events: Int32, timeout: Int32, what: String) throws {
        var entry = pollfd(fd: descriptor, events: Int16(events), revents: 0)
        guard poll(&entry, 1, timeout) == 1 else { throw Failure.timeout(what) }
    }

    private static func make() throws -> HostTestSocket {
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.call("socket", errno) }
        return HostTestSocket(descriptor: descriptor)
    }

    private static func address(_ path: String) throws -> sockaddr_un {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure.call("path", ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        return address
    }
}

/// Waiting with deadlines, so a device that hangs fails its test.
enum TestWait {
    /// Polls `condition` every millisecond until it holds or `seconds` pass.
    static func until(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(1000)
        }
        return try condition()
    }

    /// Runs `body` on another thread; false when it did not finish within `seconds` (a hang).
    static func finishes(within seconds: Double = 5, _ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            body()
            done.signal()
        }
        return done.wait(timeout: .now() + seconds) == .success
    }
}
