/// A 48-bit IEEE 802 MAC address, such as the one a virtio-net device reports in its `mac` field.
public struct MACAddress: Hashable, Sendable, CustomStringConvertible {
    /// The six octets in transmission order.
    public let octets: [UInt8]

    /// Exactly six octets, or nil.
    public init?(octets: [UInt8]) {
        guard octets.count == 6 else { return nil }
        self.octets = octets
    }

    /// Parses the usual form, six two-digit hex octets separated by colons ("52:54:00:12:34:56").
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var octets: [UInt8] = []
        for part in parts {
            guard part.count == 2, let octet = UInt8(part, radix: 16) else { return nil }
            octets.append(octet)
        }
        self.octets = octets
    }

    /// The I/G bit (IEEE 802 §8.2): set for group addresses, which no interface may use as its own.
    public var isMulticast: Bool { octets[0] & 1 != 0 }

    public var description: String {
        octets.map { octet in
            let digits = String(octet, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}
