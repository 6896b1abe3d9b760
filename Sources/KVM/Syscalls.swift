import CKVM
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The single place that issues ioctls on KVM file descriptors. errno is read at once and thrown
/// with the call's name.
@inline(__always)
@discardableResult
func kvmIoctl(_ fd: Int32, _ request: UInt, _ name: @autoclosure () -> String, _ argument: UnsafeMutableRawPointer?)
    throws -> Int32
{
    while true {
        let result = ckvm_ioctl(fd, request, argument)
        if result >= 0 { return result }
        let code = Errno(rawValue: errno)
        if code == .interrupted && request != CKVM_KVM_RUN() { continue }
        throw KVMError.ioctl(name: name(), errno: code)
    }
}

@inline(__always)
@discardableResult
func kvmIoctl(_ fd: Int32, _ request: UInt, _ name: @autoclosure () -> String, value: UInt) throws -> Int32 {
    while true {
        let result = ckvm_ioctl_value(fd, request, value)
        if result >= 0 { return result }
        let code = Errno(rawValue: errno)
        if code == .interrupted { continue }
        throw KVMError.ioctl(name: name(), errno: code)
    }
}

/// ioctl with a typed in/out argument.
@inline(__always)
@discardableResult
func kvmIoctl<T>(_ fd: Int32, _ request: UInt, _ name: @autoclosure () -> String, _ argument: inout T) throws
    -> Int32
{
    try withUnsafeMutableBytes(of: &argument) { buffer in
        try kvmIoctl(fd, request, name(), buffer.baseAddress)
    }
}
