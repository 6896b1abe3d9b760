import CKVM

#if canImport(Glibc)
    import Glibc
#endif

/// An eventfd(2) a device thread polls and other threads signal to make it look at its state again.
/// Non-blocking and close-on-exec; the only file calling eventfd in this target.
final class WakeupEvent: Sendable {
    let fileDescriptor: Int32

    init() throws(SystemCallFailure) {
        let descriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard descriptor >= 0 else { throw SystemCallFailure(name: "eventfd", errno: errno) }
        fileDescriptor = descriptor
    }

    deinit {
        close(fileDescriptor)
    }

    /// Adds 1 to the counter, making `fileDescriptor` readable. A saturated counter (EAGAIN) is already
    /// readable, so failure needs no handling.
    func signal() {
        var one: UInt64 = 1
        _ = withUnsafeBytes(of: &one) { write(fileDescriptor, $0.baseAddress, 8) }
    }

    /// Resets the counter to 0 (nothing to do when it already is).
    func consume() {
        var count: UInt64 = 0
        _ = withUnsafeMutableBytes(of: &count) { read(fileDescriptor, $0.baseAddress, 8) }
    }
}
