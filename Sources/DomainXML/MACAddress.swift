/// A 6-octet Ethernet MAC address as written in `<mac address='52:54:00:12:34:56'/>`.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    public let octets: [UInt8]

    /// nil unless exactly six octets.
    public init?(octets: [UInt8]) {
        guard octets.count == 6 else { return nil }
        self.octets = octets
    }

    /// Six colon-separated groups of one or two hex digits (what libvirt's virMacAddrParse accepts).
    public init?(string: String) {
        let groups = string.split(separator: ":", omittingEmptySubsequences: false)
        guard groups.count == 6 else { return nil }
        var octets: [UInt8] = []
        for group in groups {
            guard (1...2).contains(group.count), group.allSatisfy(\.isHexDigit), let octet = UInt8(group, radix: 16)
            else { return nil }
            octets.append(octet)
        }
        self.octets = octets
    }

    /// 52:54:00 (the prefix QEMU and libvirt use) plus three random octets.
    public static func random(using generator: inout some RandomNumberGenerator) -> MACAddress {
        let suffix = (0..<3).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return MACAddress(validatedOctets: [0x52, 0x54, 0x00] + suffix)
    }

    public static func random() -> MACAddress {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    private init(validatedOctets: [UInt8]) { octets = validatedOctets }

    /// The group bit (least significant bit of the first octet, IEEE 802-2014 §8.2).
    public var isMulticast: Bool { octets[0] & 1 == 1 }

    /// Lowercase, two digits per octet, as libvirt prints it.
    public var description: String {
        octets.map { octet in
            let digits = String(octet, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}
