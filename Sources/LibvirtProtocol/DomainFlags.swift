/// `virDomainXMLFlags` for DOMAIN_GET_XML_DESC.
public struct DomainXMLFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Include security-sensitive data (passwords).
    public static let secure = DomainXMLFlags(rawValue: 1 << 0)
    /// The persistent configuration rather than the running one.
    public static let inactive = DomainXMLFlags(rawValue: 1 << 1)
    public static let updateCPU = DomainXMLFlags(rawValue: 1 << 2)
    public static let migratable = DomainXMLFlags(rawValue: 1 << 3)
}
