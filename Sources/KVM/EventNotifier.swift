import CKVM
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// An eventfd(2) counter: what KVM signals when the guest writes a registered address (ioeventfd) and
/// what user space signals to inject an interrupt (irqfd). Non-blocking, close-on-exec.
public final class EventNotifier: Sendable {
    public let fd: Int32

    public init() throws(KVMError) {
        let fd = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard fd >= 0 else { throw KVMError.system(call: "eventfd", errno: Errno(rawValue: errno)) }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Adds 1 to the counter, waking whoever polls `fd`.
    public func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(fd, $0.baseAddress, 8) }
    }

    /// Reads and clears the counter; 0 when nothing was signalled since the last call.
    @discardableResult
    public func consume() -> UInt64 {
        var count: UInt64 = 0
        let result = withUnsafeMutableBytes(of: &count) { read(fd, $0.baseAddress, 8) }
        return result == 8 ? count : 0
    }
}
