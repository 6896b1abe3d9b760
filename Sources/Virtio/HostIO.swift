#if canImport(Glibc)
    import Glibc
#endif

/// The outcome of one non-blocking transfer to or from a host file descriptor.
enum HostTransfer: Equatable {
    /// This many bytes moved (more than zero).
    case transferred(Int)
    /// Nothing to read, or no room to write, right now (EAGAIN).
    case wouldBlock
    /// The peer will send nothing more (a read returned 0).
    case endOfFile
    /// The call failed with this errno; the descriptor is no longer usable.
    case failed(Int32)
}

/// The only place the vsock and console devices issue system calls: Unix sockets, poll(2), eventfd and
/// plain reads. Every call retries EINTR and reads errno at once; nothing here blocks except `poll`.
/// Socket writes use MSG_NOSIGNAL so a host peer that went away is an EPIPE, not a SIGPIPE that kills the VMM.
enum HostIO {
    /// sockaddr_un.sun_path holds 108 bytes including the terminating NUL (linux/un.h UNIX_PATH_MAX).
    static let socketPathLimit = 107
    /// eventfd(2) flags EFD_CLOEXEC and EFD_NONBLOCK (equal to O_CLOEXEC and O_NONBLOCK on x86-64).
    private static let eventCloseOnExec: Int32 = 0o2_000_000
    private static let eventNonBlocking: Int32 = 0o4000
    /// eventfd(2)'s C signature. Glibc's module does not export sys/eventfd.h, so the function is looked
    /// up by name once (dlsym with RTLD_DEFAULT, a null handle), as RawFileBackend does for fallocate.
    private typealias EventFD = @convention(c) (UInt32, Int32) -> Int32
    private static let eventFDAddress = Int(bitPattern: dlsym(nil, "eventfd"))

    // MARK: - Wakeups

    /// A non-blocking eventfd a device thread polls to learn that its state changed.
    static func makeEventFD() throws(HostIOError) -> Int32 {
        guard let address = UnsafeRawPointer(bitPattern: eventFDAddress) else {
            throw .systemCall(name: "eventfd", errno: ENOSYS)
        }
        let create = unsafeBitCast(address, to: EventFD.self)
        let descriptor = create(0, eventCloseOnExec | eventNonBlocking)
        guard descriptor >= 0 else { throw .systemCall(name: "eventfd", errno: errno) }
        return descriptor
    }

    /// Adds 1 to the eventfd's counter, waking a poll on it. A full counter (EAGAIN) is already a wakeup.
    static func signal(eventFD descriptor: Int32) {
        var one: UInt64 = 1
        while Glibc.write(descriptor, &one, MemoryLayout<UInt64>.size) < 0, errno == EINTR {}
    }

    /// Resets the eventfd's counter so the next poll waits again.
    static func drain(eventFD descriptor: Int32) {
        var value: UInt64 = 0
        while Glibc.read(descriptor, &value, MemoryLayout<UInt64>.size) < 0, errno == EINTR {}
    }

    /// poll(2) over `descriptors`; returns the number ready, 0 on timeout or a signal.
    static func poll(_ descriptors: inout [pollfd], timeoutMilliseconds: Int32) -> Int {
        let ready = descriptors.withUnsafeMutableBufferPointer { buffer in
            Glibc.poll(buffer.baseAddress, nfds_t(buffer.count), timeoutMilliseconds)
        }
        return max(Int(ready), 0)
    }

    // MARK: - Unix sockets

    /// A non-blocking Unix stream socket bound to `path` and listening.
    static func listenUnix(path: String, backlog: Int32) throws(HostIOError) -> Int32 {
        var address = try socketAddress(path)
        let descriptor = try makeSocket()
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw code == EADDRINUSE ? .socketPathInUse(path: path) : .socket(name: "bind", path: path, errno: code)
        }
        guard Glibc.listen(descriptor, backlog) == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw .socket(name: "listen", path: path, errno: code)
        }
        return descriptor
    }

    /// Connects a non-blocking Unix stream socket to `path`. A Unix connect either completes at once or
    /// fails (EAGAIN when the listener's backlog is full), so this never waits.
    static func connectUnix(path: String) throws(HostIOError) -> Int32 {
        var address = try socketAddress(path)
        let descriptor = try makeSocket()
        while true {
            let result = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if result == 0 { return descriptor }
            let code = errno
            if code == EINTR { continue }
            Glibc.close(descriptor)
            throw .socket(name: "connect", path: path, errno: code)
        }
    }

    /// Accepts one pending connection on a non-blocking listener and makes it non-blocking and
    /// close-on-exec. `.wouldBlock` when none is pending.
    static func accept(listener: Int32) -> Result<Int32, HostTransferFailure> {
        while true {
            let descriptor = Glibc.accept(listener, nil, nil)
            if descriptor >= 0 {
                guard fcntl(descriptor, F_SETFL, O_NONBLOCK) == 0, fcntl(descriptor, F_SETFD, FD_CLOEXEC) == 0 else {
                    let code = errno
                    Glibc.close(descriptor)
                    return .failure(.failed(code))
                }
                return .success(descriptor)
            }
            let code = errno
            if code == EINTR { continue }
            return .failure(code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(code))
        }
    }

    /// recv(2) without waiting.
    static func receive(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> HostTransfer {
        guard buffer.count > 0 else { return .transferred(0) }
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT))
            if let transfer = outcome(count) { return transfer }
        }
    }

    /// send(2) without waiting and without SIGPIPE.
    static func send(_ descriptor: Int32, from buffer: UnsafeRawBufferPointer) -> HostTransfer {
        guard buffer.count > 0 else { return .transferred(0) }
        while true {
            let count = Glibc.send(descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            if count == 0 { return .wouldBlock }
            if let transfer = outcome(count) { return transfer }
        }
    }

    /// read(2) of any descriptor (a terminal, pipe or socket) that poll reported readable.
    static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> HostTransfer {
        guard buffer.count > 0 else { return .transferred(0) }
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            if let transfer = outcome(count) { return transfer }
        }
    }

    /// Tells the peer no more bytes will come (its reads return end of file); reads stay possible.
    static func shutdownWrite(_ descriptor: Int32) {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_WR))
    }

    static func close(_ descriptor: Int32) {
        // Linux releases the descriptor even when close fails with EINTR: never retry.
        _ = Glibc.close(descriptor)
    }

    static func unlink(path: String) {
        _ = Glibc.unlink(path)
    }

    // MARK: - Helpers

    /// Maps a transfer call's return value; nil means EINTR, retry.
    private static func outcome(_ count: Int) -> HostTransfer? {
        if count > 0 { return .transferred(count) }
        if count == 0 { return .endOfFile }
        let code = errno
        if code == EINTR { return nil }
        return code == EAGAIN || code == EWOULDBLOCK ? .wouldBlock : .failed(code)
    }

    private static func makeSocket() throws(HostIOError) -> Int32 {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let descriptor = socket(AF_UNIX, type, 0)
        guard descriptor >= 0 else { throw .systemCall(name: "socket(AF_UNIX)", errno: errno) }
        return descriptor
    }

    private static func socketAddress(_ path: String) throws(HostIOError) -> sockaddr_un {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= socketPathLimit, !bytes.contains(0) else {
            throw .invalidSocketPath(path: path, limit: socketPathLimit)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        return address
    }
}

/// Why `HostIO.accept` returned no connection.
enum HostTransferFailure: Error, Equatable {
    case wouldBlock
    case failed(Int32)
}
