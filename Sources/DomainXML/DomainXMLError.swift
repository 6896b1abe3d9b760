import LibvirtProtocol

/// Why a domain description was refused. Each case maps to the libvirt error code (virterror.h) and
/// message text a libvirt client expects for the same mistake.
public enum DomainXMLError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Not well-formed XML (VIR_ERR_XML_DETAIL, as libxml2's errors are reported by libvirt).
    case malformed(line: Int, reason: String)
    /// Well-formed but not a valid domain description (VIR_ERR_XML_ERROR).
    case invalid(String)
    /// No `<name>` (VIR_ERR_NO_NAME).
    case missingName
    /// A `<uuid>` that is not a UUID (VIR_ERR_INTERNAL_ERROR, as libvirt reports it).
    case malformedUUID(String)
    /// A size unit libvirt does not know (VIR_ERR_INVALID_ARG).
    case unknownUnit(String)
    /// A size that does not fit in 64 bits of bytes (VIR_ERR_OVERFLOW).
    case overflow(String)
    /// Valid libvirt XML that SwiftVirt cannot run (VIR_ERR_CONFIG_UNSUPPORTED).
    case unsupported(String)

    public var libvirtError: LibvirtError {
        switch self {
        case .malformed(let line, let reason):
            return LibvirtError(code: .xmlDetail, domain: .domain, message: "(domain_definition):\(line): \(reason)")
        case .invalid(let detail):
            return LibvirtError(code: .xmlError, domain: .domain, message: "XML error: \(detail)")
        case .missingName:
            return LibvirtError(code: .noName, domain: .domain, message: "missing name information")
        case .malformedUUID:
            return LibvirtError(
                code: .internalError, domain: .domain, message: "internal error: malformed uuid element")
        case .unknownUnit(let unit):
            return LibvirtError(
                code: .invalidArgument, domain: .domain, message: "invalid argument: unknown suffix '\(unit)'")
        case .overflow(let detail):
            return LibvirtError(code: .overflow, domain: .domain, message: "numerical overflow: \(detail)")
        case .unsupported(let detail):
            return LibvirtError(
                code: .configUnsupported, domain: .domain, message: "unsupported configuration: \(detail)")
        }
    }

    public var description: String { libvirtError.message }
}
