import GuestMemory

/// The few ACPI Machine Language encodings the DSDT needs (ACPI 6.4 §20.2 "AML Grammar Definition"
/// and §6.4 "Resource Data Types"), as byte builders. Everything here is static data; nothing is
/// evaluated.
enum AML {
    static let zeroOp: UInt8 = 0x00
    static let oneOp: UInt8 = 0x01
    static let nameOp: UInt8 = 0x08
    static let bytePrefix: UInt8 = 0x0A
    static let dwordPrefix: UInt8 = 0x0C
    static let scopeOp: UInt8 = 0x10
    static let bufferOp: UInt8 = 0x11
    static let extOpPrefix: UInt8 = 0x5B
    static let deviceOp: UInt8 = 0x82
    static let rootChar: UInt8 = 0x5C

    /// PkgLength (§20.2.4) for `contentLength` bytes that follow it: the encoded length counts the
    /// PkgLength bytes themselves. One byte up to 63, else 2–4 bytes with the low nibble first.
    static func packageLength(_ contentLength: Int) -> [UInt8] {
        if contentLength + 1 < 0x40 { return [UInt8(contentLength + 1)] }
        for extra in 1...3 {
            let total = contentLength + 1 + extra
            guard total < 1 << (4 + 8 * extra) else { continue }
            var bytes = [UInt8(extra << 6) | UInt8(total & 0x0F)]
            for index in 0..<extra { bytes.append(UInt8(truncatingIfNeeded: total >> (4 + 8 * index))) }
            return bytes
        }
        preconditionFailure("AML package of \(contentLength) bytes: the tables built here are a few hundred")
    }

    /// A 4-character NameSeg ("_HID", "PCI0"); shorter names are padded with `_`.
    static func nameSegment(_ name: String) -> [UInt8] {
        let bytes = Array(name.utf8.prefix(4))
        return bytes + [UInt8](repeating: UInt8(ascii: "_"), count: 4 - bytes.count)
    }

    /// `Name (NAME, value)`.
    static func name(_ name: String, _ value: [UInt8]) -> [UInt8] {
        [nameOp] + nameSegment(name) + value
    }

    /// The smallest integer encoding of `value` (Zero, One, BytePrefix or DWordPrefix).
    static func integer(_ value: UInt32) -> [UInt8] {
        switch value {
        case 0: return [zeroOp]
        case 1: return [oneOp]
        case 2...0xFF: return [bytePrefix, UInt8(value)]
        default: return [dwordPrefix] + littleEndian(value)
        }
    }

    /// `EisaId ("PNP0A03")`: three letters compressed into 15 bits, then four hex digits (§19.6.35).
    static func eisaID(_ id: String) -> [UInt8] {
        let characters = Array(id.utf8)
        precondition(characters.count == 7, "EISA IDs are three letters and four hex digits")
        let letters = characters[0..<3].map { UInt16($0 - 0x40) & 0x1F }
        let compressed = letters[0] << 10 | letters[1] << 5 | letters[2]
        let product = UInt16(String(decoding: characters[3..<7], as: UTF8.self), radix: 16) ?? 0
        return [
            dwordPrefix, UInt8(compressed >> 8), UInt8(compressed & 0xFF), UInt8(product >> 8), UInt8(product & 0xFF),
        ]
    }

    /// `Scope (\NAME) { body }` for a root-level name such as `_SB_`.
    static func rootScope(_ name: String, _ body: [UInt8]) -> [UInt8] {
        let content = [rootChar] + nameSegment(name) + body
        return [scopeOp] + packageLength(content.count) + content
    }

    /// `Device (NAME) { body }`.
    static func device(_ name: String, _ body: [UInt8]) -> [UInt8] {
        let content = nameSegment(name) + body
        return [extOpPrefix, deviceOp] + packageLength(content.count) + content
    }

    /// `Buffer () { bytes }`.
    static func buffer(_ bytes: [UInt8]) -> [UInt8] {
        let content = integer(UInt32(bytes.count)) + bytes
        return [bufferOp] + packageLength(content.count) + content
    }

    static func littleEndian(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
    static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

/// Resource descriptors for `_CRS` (ACPI 6.4 §6.4.2 small and §6.4.3 large resource data types).
enum ACPIResource {
    /// Address space descriptors' resource types (Table 6.44).
    enum AddressSpace: UInt8 {
        case memory = 0
        case io = 1
        case busNumber = 2
    }

    /// General flags: MIF and MAF (the range's minimum and maximum are fixed), producer.
    static let fixedRange: UInt8 = 0x0C

    /// Word Address Space Descriptor (§6.4.3.5.3): a 16-bit range this bridge decodes for its children.
    static func wordAddress(_ space: AddressSpace, typeFlags: UInt8, minimum: UInt16, maximum: UInt16) -> [UInt8] {
        let length = UInt16(truncatingIfNeeded: UInt32(maximum) - UInt32(minimum) + 1)
        return [0x88] + AML.littleEndian(UInt16(13)) + [space.rawValue, fixedRange, typeFlags]
            + AML.littleEndian(UInt16(0)) + AML.littleEndian(minimum) + AML.littleEndian(maximum)
            + AML.littleEndian(UInt16(0)) + AML.littleEndian(length)
    }

    /// DWord Address Space Descriptor (§6.4.3.5.2) for a non-cacheable, read-write memory window.
    static func dwordMemory(minimum: UInt32, maximum: UInt32) -> [UInt8] {
        let readWrite: UInt8 = 0x01
        return [0x87] + AML.littleEndian(UInt16(23)) + [AddressSpace.memory.rawValue, fixedRange, readWrite]
            + AML.littleEndian(UInt32(0)) + AML.littleEndian(minimum) + AML.littleEndian(maximum)
            + AML.littleEndian(UInt32(0)) + AML.littleEndian(maximum - minimum + 1)
    }

    /// I/O Port Descriptor (§6.4.2.5), 16-bit decode: ports the bridge itself consumes.
    static func ioPorts(base: UInt16, length: UInt8) -> [UInt8] {
        [0x47, 0x01] + AML.littleEndian(base) + AML.littleEndian(base) + [0x01, length]
    }

    /// End Tag (§6.4.2.9) with a zero checksum ("treated as if the checksum operation succeeded").
    static let endTag: [UInt8] = [0x79, 0x00]
}
