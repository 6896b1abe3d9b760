/// `virErrorNumber` (include/libvirt/virterror.h): the stable codes clients branch on.
public struct LibvirtErrorCode: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let internalError = LibvirtErrorCode(rawValue: 1)
    public static let noSupport = LibvirtErrorCode(rawValue: 3)
    public static let noConnect = LibvirtErrorCode(rawValue: 5)
    public static let invalidArgument = LibvirtErrorCode(rawValue: 8)
    public static let operationFailed = LibvirtErrorCode(rawValue: 9)
    public static let noName = LibvirtErrorCode(rawValue: 21)
    public static let xmlError = LibvirtErrorCode(rawValue: 27)
    public static let domainExists = LibvirtErrorCode(rawValue: 28)
    public static let operationDenied = LibvirtErrorCode(rawValue: 29)
    public static let xmlDetail = LibvirtErrorCode(rawValue: 35)
    /// VIR_ERR_SYSTEM_ERROR: a system call failed.
    public static let systemError = LibvirtErrorCode(rawValue: 38)
    public static let rpc = LibvirtErrorCode(rawValue: 39)
    public static let noDomain = LibvirtErrorCode(rawValue: 42)
    /// VIR_ERR_NO_NETWORK.
    public static let noNetwork = LibvirtErrorCode(rawValue: 43)
    public static let noStoragePool = LibvirtErrorCode(rawValue: 49)
    public static let noStorageVolume = LibvirtErrorCode(rawValue: 50)
    public static let invalidMAC = LibvirtErrorCode(rawValue: 44)
    public static let operationInvalid = LibvirtErrorCode(rawValue: 55)
    public static let configUnsupported = LibvirtErrorCode(rawValue: 67)
    /// VIR_ERR_STORAGE_VOL_EXIST: a volume of that name is already in the pool.
    public static let storageVolumeExists = LibvirtErrorCode(rawValue: 90)
    public static let overflow = LibvirtErrorCode(rawValue: 82)
}

/// `virErrorDomain`: which part of libvirt raised the error.
public struct LibvirtErrorDomain: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let none = LibvirtErrorDomain(rawValue: 0)
    public static let rpc = LibvirtErrorDomain(rawValue: 7)
    public static let qemu = LibvirtErrorDomain(rawValue: 10)
    public static let remote = LibvirtErrorDomain(rawValue: 13)
    public static let storage = LibvirtErrorDomain(rawValue: 18)
    /// VIR_FROM_NETWORK.
    public static let network = LibvirtErrorDomain(rawValue: 19)
    public static let domain = LibvirtErrorDomain(rawValue: 20)
}

/// `virErrorLevel`.
public struct LibvirtErrorLevel: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let warning = LibvirtErrorLevel(rawValue: 1)
    public static let error = LibvirtErrorLevel(rawValue: 2)
}

/// An error to report to a libvirt client. `message` is the complete text the client prints; the
/// factories prefix it the way libvirt's virerror.c does for each code, so clients read familiar words.
public struct LibvirtError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: LibvirtErrorCode
    public var domain: LibvirtErrorDomain
    public var message: String

    public init(code: LibvirtErrorCode, domain: LibvirtErrorDomain, message: String) {
        self.code = code
        self.domain = domain
        self.message = message
    }

    public var description: String { message }

    /// The wire form sent in an error reply.
    public var remoteError: RemoteError {
        RemoteError(code: code, domain: domain, level: .error, message: message)
    }

    /// `function` is the libvirt API name ("virDomainGetVcpus") or a procedure number.
    public static func noSupport(_ function: String, domain: LibvirtErrorDomain = .none) -> LibvirtError {
        LibvirtError(
            code: .noSupport, domain: domain,
            message: "this function is not supported by the connection driver: \(function)")
    }

    public static func noDomain(_ detail: String) -> LibvirtError {
        LibvirtError(code: .noDomain, domain: .qemu, message: "Domain not found: \(detail)")
    }

    /// VIR_ERR_NO_NETWORK; `detail` is e.g. "no network with matching name 'default'".
    public static func noNetwork(_ detail: String) -> LibvirtError {
        LibvirtError(code: .noNetwork, domain: .network, message: "Network not found: \(detail)")
    }

    /// VIR_ERR_NO_STORAGE_POOL; `detail` is e.g. "no storage pool with matching name 'x'".
    public static func noStoragePool(_ detail: String) -> LibvirtError {
        LibvirtError(code: .noStoragePool, domain: .storage, message: "Storage pool not found: \(detail)")
    }

    /// VIR_ERR_NO_STORAGE_VOL; `detail` is e.g. "no storage vol with matching path '/a.img'".
    public static func noStorageVolume(_ detail: String) -> LibvirtError {
        LibvirtError(code: .noStorageVolume, domain: .storage, message: "Storage volume not found: \(detail)")
    }

    public static func operationInvalid(_ detail: String, domain: LibvirtErrorDomain = .qemu) -> LibvirtError {
        LibvirtError(code: .operationInvalid, domain: domain, message: "Requested operation is not valid: \(detail)")
    }

    public static func operationFailed(_ detail: String, domain: LibvirtErrorDomain = .qemu) -> LibvirtError {
        LibvirtError(code: .operationFailed, domain: domain, message: "operation failed: \(detail)")
    }

    /// VIR_ERR_XML_ERROR: well-formed XML that does not describe a valid object.
    public static func xmlError(_ detail: String, domain: LibvirtErrorDomain) -> LibvirtError {
        LibvirtError(code: .xmlError, domain: domain, message: "XML error: \(detail)")
    }

    /// VIR_ERR_STORAGE_VOL_EXIST.
    public static func storageVolumeExists(_ name: String) -> LibvirtError {
        LibvirtError(
            code: .storageVolumeExists, domain: .storage,
            message: "storage volume '\(name)' exists already")
    }

    /// A modifying call on a read-only connection; `function` is the libvirt API name.
    public static func readOnly(_ function: String) -> LibvirtError {
        LibvirtError(
            code: .operationDenied, domain: .none,
            message: "operation forbidden: read only access prevents \(function)")
    }

    public static func internalError(_ detail: String) -> LibvirtError {
        LibvirtError(code: .internalError, domain: .none, message: "internal error: \(detail)")
    }

    public static func invalidArgument(_ detail: String) -> LibvirtError {
        LibvirtError(code: .invalidArgument, domain: .none, message: "invalid argument: \(detail)")
    }

    /// libvirt's virCheckFlags refusal of flag bits a function does not know.
    public static func unsupportedFlags(_ flags: UInt32, function: String) -> LibvirtError {
        .invalidArgument("unsupported flags (0x\(String(flags, radix: 16))) in function \(function)")
    }

    public static func configUnsupported(_ detail: String, domain: LibvirtErrorDomain = .domain) -> LibvirtError {
        LibvirtError(code: .configUnsupported, domain: domain, message: "unsupported configuration: \(detail)")
    }

    public static func noConnect(_ uri: String) -> LibvirtError {
        LibvirtError(code: .noConnect, domain: .none, message: "no connection driver available for \(uri)")
    }

    /// Protocol-level failures (bad program, procedure, payload); the message is used as is.
    public static func rpc(_ message: String) -> LibvirtError {
        LibvirtError(code: .rpc, domain: .rpc, message: message)
    }
}
