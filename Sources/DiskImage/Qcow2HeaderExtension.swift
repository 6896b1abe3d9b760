/// A header extension kept verbatim: ones this library does not interpret are preserved when the header
/// is rewritten (qcow2 spec "Header extensions").
struct Qcow2HeaderExtension: Sendable, Equatable {
    /// End of the header extension area.
    static let end: UInt32 = 0
    static let backingFormat: UInt32 = 0xE279_2ACA
    static let featureNameTable: UInt32 = 0x6803_F857
    static let bitmaps: UInt32 = 0x2385_2875
    static let fullDiskEncryption: UInt32 = 0x0537_BE77
    static let externalDataFile: UInt32 = 0x4441_5441

    let type: UInt32
    let data: [UInt8]

    /// Type, length, data and zero padding to a multiple of 8.
    var encoded: [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 8)
        bytes.storeBigEndian32(type, at: 0)
        bytes.storeBigEndian32(UInt32(data.count), at: 4)
        bytes += data
        bytes += [UInt8](repeating: 0, count: (8 - data.count % 8) % 8)
        return bytes
    }
}
