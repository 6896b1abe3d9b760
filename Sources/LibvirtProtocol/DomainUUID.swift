/// A domain's 16-byte UUID (`remote_uuid`, VIR_UUID_BUFLEN) in wire order.
public struct DomainUUID: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 16
    public let bytes: [UInt8]

    /// nil unless `bytes` has exactly 16 elements.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Parses the canonical 8-4-4-4-12 form, or 32 hex digits without dashes.
    public init?(string: String) {
        var result: [UInt8] = []
        var high: UInt8?
        for scalar in string.unicodeScalars {
            if scalar == "-" { continue }
            guard let nibble = Self.hexValue(scalar), result.count < Self.byteCount else { return nil }
            if let pending = high {
                result.append(pending << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil, result.count == Self.byteCount else { return nil }
        bytes = result
    }

    private static func hexValue(_ scalar: Unicode.Scalar) -> UInt8? {
        switch scalar.value {
        case 0x30...0x39: return UInt8(scalar.value - 0x30)
        case 0x41...0x46: return UInt8(scalar.value - 0x41 + 10)
        case 0x61...0x66: return UInt8(scalar.value - 0x61 + 10)
        default: return nil
        }
    }

    /// A random (version 4, RFC 4122 §4.4) UUID, as libvirt generates for a domain defined without one.
    public static func random(using generator: inout some RandomNumberGenerator) -> DomainUUID {
        var bytes = (0..<byteCount).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return DomainUUID(validatedBytes: bytes)
    }

    public static func random() -> DomainUUID {
        var generator = SystemRandomNumberGenerator()
        return random(using: &generator)
    }

    private init(validatedBytes: [UInt8]) { bytes = validatedBytes }

    /// Lowercase 8-4-4-4-12, as libvirt prints it.
    public var description: String {
        let digits: [Character] = Array("0123456789abcdef")
        var text = ""
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { text.append("-") }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}

extension DomainUUID: XDRCodable {
    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        bytes = try decoder.decodeFixedOpaque(count: Self.byteCount)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeFixedOpaque(bytes, count: Self.byteCount)
    }
}
