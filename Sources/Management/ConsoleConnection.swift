import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A connected stream socket to a domain's serial console (the VMM's `--serial socket=` listener).
/// Whoever bridges it to a client takes the descriptor; one never taken is closed with this object,
/// so a failed hand-over cannot leak it.
public final class ConsoleConnection: Sendable {
    /// The domain whose console this is.
    public let domainName: String
    private let descriptor: Mutex<Int32?>

    init(domainName: String, descriptor: Int32) {
        self.domainName = domainName
        self.descriptor = Mutex(descriptor)
    }

    /// The socket, once: the caller owns it from here on and must close it.
    public func takeDescriptor() -> Int32? {
        descriptor.withLock { value in
            defer { value = nil }
            return value
        }
    }

    deinit {
        if let descriptor = takeDescriptor() { close(descriptor) }
    }
}
