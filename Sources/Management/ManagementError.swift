import LibvirtProtocol

/// Why the management layer could not do what was asked, beyond the plain lifecycle refusals it
/// reports as `LibvirtError` directly. `libvirtError` is what a libvirt client sees.
public enum ManagementError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A domain or storage pool name (`kind`) that cannot be a file name here, and why.
    case unsupportedName(kind: String, String, String)
    /// Valid libvirt XML that SwiftVirt's VMM cannot run (an interface type, a comma in a path...).
    case unsupportedConfiguration(String)
    /// A kernel, initrd or disk image that is not there or not readable.
    case inaccessibleFile(path: String, errno: Int32)
    /// The VMM process could not be started, or exited or hung before answering on its control socket.
    case startFailed(domain: String, detail: String)
    /// The running VMM did not do what it was told.
    case control(domain: String, VMMControlError)
    /// The VMM does not offer the operation (yet).
    case operationUnsupported(String)
    /// Reading or writing the daemon's own files failed.
    case system(SystemCallError)
    /// Setting up a domain's host network (a tap, its bridge) failed.
    case hostNetwork(HostNetworkError)
    /// A virtual network's host side (its firewall table, its dnsmasq) could not be set up.
    case networkSetup(network: String, detail: String)

    public var libvirtError: LibvirtError {
        switch self {
        case .unsupportedName(let kind, let name, let reason):
            return .configUnsupported("\(kind) name '\(name)' is not supported: \(reason)")
        case .unsupportedConfiguration(let detail):
            return .configUnsupported(detail)
        case .inaccessibleFile(let path, let errno):
            return LibvirtError(
                code: .systemError, domain: .qemu,
                message: "Cannot access storage file '\(path)': \(SystemCallError("access", path, errno: errno).reason)"
            )
        case .startFailed(let domain, let detail):
            return .operationFailed("domain '\(domain)' did not start: \(detail)")
        case .control(let domain, let error):
            return .operationFailed("domain '\(domain)': \(error)")
        case .operationUnsupported(let detail):
            return LibvirtError(
                code: .operationUnsupported, domain: .qemu, message: "Operation not supported: \(detail)")
        case .system(let error):
            return .internalError("\(error)")
        case .hostNetwork(let error):
            // virnetdev.c reports these with virReportSystemError, from no particular driver.
            return LibvirtError(code: .systemError, domain: .none, message: error.description)
        case .networkSetup(let network, let detail):
            return LibvirtError(
                code: .operationFailed, domain: .network,
                message: "operation failed: network '\(network)' could not be started: \(detail)")
        }
    }

    public var description: String { libvirtError.message }
}

extension LibvirtErrorCode {
    /// VIR_ERR_OPERATION_UNSUPPORTED: valid request the driver cannot do.
    static let operationUnsupported = LibvirtErrorCode(rawValue: 84)
}

extension LibvirtError {
    /// Refuses flag bits outside `allowed`, in libvirt's words (virCheckFlags); `function` is the API.
    static func checkFlags(_ flags: UInt32, allowed: UInt32, function: String) throws(LibvirtError) {
        let unknown = flags & ~allowed
        guard unknown == 0 else {
            throw .invalidArgument("unsupported flags (0x\(String(unknown, radix: 16))) in function \(function)")
        }
    }
}
