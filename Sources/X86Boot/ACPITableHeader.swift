import GuestMemory

/// The common header every ACPI system description table starts with (ACPI 6.4 §5.2.6, Table 5.4), and
/// the checksum rule: all bytes of the table sum to zero modulo 256.
enum ACPITableHeader {
    static let size = 36
    static let oemID: [UInt8] = Array("SWIFTV".utf8)
    static let oemRevision: UInt32 = 1
    static let creatorID: [UInt8] = Array("SWVT".utf8)
    static let creatorRevision: UInt32 = 1

    // Field offsets (Table 5.4).
    static let signatureOffset = 0
    static let lengthOffset = 4
    static let revisionOffset = 8
    static let checksumOffset = 9
    static let oemIDOffset = 10
    static let oemTableIDOffset = 16
    static let oemRevisionOffset = 24
    static let creatorIDOffset = 28
    static let creatorRevisionOffset = 32

    /// A complete table: header for `signature` (4 ASCII characters) and `revision`, then `body`, with
    /// the length and checksum filled in. `oemTableID` is padded with spaces to 8 bytes.
    static func table(signature: String, revision: UInt8, oemTableID: String, body: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        bytes.put(bytes: Array(signature.utf8.prefix(4)), at: signatureOffset)
        bytes.put(UInt32(size + body.count), at: lengthOffset)
        bytes[revisionOffset] = revision
        bytes.put(bytes: oemID, at: oemIDOffset)
        bytes.put(bytes: padded(oemTableID, to: 8), at: oemTableIDOffset)
        bytes.put(oemRevision, at: oemRevisionOffset)
        bytes.put(bytes: creatorID, at: creatorIDOffset)
        bytes.put(creatorRevision, at: creatorRevisionOffset)
        bytes += body
        bytes[checksumOffset] = checksum(bytes)
        return bytes
    }

    /// The byte that makes `bytes` sum to zero (with the checksum byte itself still zero).
    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt8 {
        0 &- bytes.reduce(0, &+)
    }

    static func padded(_ string: String, to length: Int) -> [UInt8] {
        let bytes = Array(string.utf8.prefix(length))
        return bytes + [UInt8](repeating: 0x20, count: length - bytes.count)
    }
}

/// ACPI Generic Address Structure (ACPI 6.4 §5.2.3.2, Table 5.1), 12 bytes.
struct GenericAddress {
    /// Address space ID 1: system I/O.
    static let systemIO: UInt8 = 1
    /// Access size 1: byte access.
    static let byteAccess: UInt8 = 1

    var addressSpace: UInt8
    var bitWidth: UInt8
    var bitOffset: UInt8 = 0
    var accessSize: UInt8
    var address: UInt64

    /// A register of `bits` (8, 16, 32) in I/O space; the access size is the register's width.
    static func ioPort(_ port: UInt16, bits: UInt8) -> GenericAddress {
        let accessSize: UInt8 =
            switch bits {
            case 16: 2
            case 32: 3
            default: byteAccess
            }
        return GenericAddress(addressSpace: systemIO, bitWidth: bits, accessSize: accessSize, address: UInt64(port))
    }

    var bytes: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes[0] = addressSpace
        bytes[1] = bitWidth
        bytes[2] = bitOffset
        bytes[3] = accessSize
        bytes.put(address, at: 4)
        return bytes
    }
}
