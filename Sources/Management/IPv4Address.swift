/// An IPv4 address, parsed strictly: four dot-separated decimal octets, no leading zeros (which
/// inet_aton would read as octal), nothing else. What a network definition says is what is applied.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Host byte order.
    public var value: UInt32

    public init(_ value: UInt32) {
        self.value = value
    }

    public init?(string: String) {
        let parts = string.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.utf8.count), part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                part.count == 1 || !part.hasPrefix("0"), let octet = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(octet)
        }
        self.value = value
    }

    /// Network byte order, as `struct in_addr` holds it.
    public var octets: [UInt8] {
        [
            UInt8(value >> 24), UInt8(truncatingIfNeeded: value >> 16), UInt8(truncatingIfNeeded: value >> 8),
            UInt8(truncatingIfNeeded: value),
        ]
    }

    public var description: String { octets.map(String.init).joined(separator: ".") }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }
}

/// An address with its prefix length: the `<ip address= prefix=>` (or `netmask=`) of a network.
public struct IPv4Interface: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address
    /// 0...32.
    public var prefixLength: Int

    public init?(address: IPv4Address, prefixLength: Int) {
        guard (0...32).contains(prefixLength) else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// The prefix length of a contiguous netmask ("255.255.255.0" → 24); nil for "255.0.255.0".
    public static func prefixLength(ofNetmask netmask: IPv4Address) -> Int? {
        let ones = netmask.value.leadingZeroBitCount == 0 ? (~netmask.value).leadingZeroBitCount : 0
        return mask(ones) == netmask.value ? ones : nil
    }

    private static func mask(_ prefixLength: Int) -> UInt32 {
        prefixLength == 0 ? 0 : UInt32.max << (32 - prefixLength)
    }

    public var netmask: IPv4Address { IPv4Address(Self.mask(prefixLength)) }
    public var network: IPv4Address { IPv4Address(address.value & Self.mask(prefixLength)) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~Self.mask(prefixLength)) }

    public func contains(_ other: IPv4Address) -> Bool {
        other.value & Self.mask(prefixLength) == network.value
    }

    /// "192.168.122.0/24".
    public var subnet: String { "\(network)/\(prefixLength)" }
    /// "192.168.122.1/24".
    public var description: String { "\(address)/\(prefixLength)" }
}
