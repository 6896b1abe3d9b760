import SystemPackage

/// A failure of the KVM API, naming the call and the kernel's errno.
public enum KVMError: Error, Equatable, CustomStringConvertible {
    /// /dev/kvm could not be opened.
    case deviceUnavailable(path: String, errno: Errno)
    /// An ioctl failed.
    case ioctl(name: String, errno: Errno)
    /// mmap of a vCPU's kvm_run page failed.
    case mmap(errno: Errno)
    /// KVM speaks an API version other than the stable 12.
    case unsupportedAPIVersion(Int32)
    /// A capability the caller needs is missing.
    case missingCapability(String)
    /// A system call KVM work depends on failed (eventfd, ...).
    case system(call: String, errno: Errno)

    public var description: String {
        switch self {
        case .deviceUnavailable(let path, let errno):
            switch errno {
            case .noSuchFileOrDirectory:
                return "\(path) does not exist: load the kvm_intel or kvm_amd module (modprobe kvm_intel)"
                    + " and check that virtualization is enabled in the firmware"
            case .permissionDenied, .notPermitted:
                return "\(path) is not accessible: run as root or add your user to the 'kvm' group"
            default:
                return "cannot open \(path): \(errno)"
            }
        case .ioctl(let name, let errno):
            return "\(name) failed: \(errno) (errno \(errno.rawValue))"
        case .mmap(let errno):
            return "mmap of the vCPU run page failed: \(errno)"
        case .unsupportedAPIVersion(let version):
            return "KVM API version \(version) is not supported (need 12)"
        case .missingCapability(let name):
            return "KVM lacks the capability \(name)"
        case .system(let call, let errno):
            return "\(call) failed: \(errno) (errno \(errno.rawValue))"
        }
    }
}
