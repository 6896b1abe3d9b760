/// One cluster of metadata held in memory: an L2 table or a refcount block, with its file offset.
///
/// A class so the cache and the code updating an entry share one copy; `isDirty` means the bytes differ
/// from the file and must be written back (in dependency order, see `Qcow2Image.writeBackMetadata`).
final class Qcow2MetadataTable {
    let offset: UInt64
    private(set) var bytes: [UInt8]
    var isDirty = false
    /// Neighbours in the cache's recency list (older, newer).
    var older: Qcow2MetadataTable?
    weak var newer: Qcow2MetadataTable?

    init(offset: UInt64, bytes: [UInt8]) {
        self.offset = offset
        self.bytes = bytes
    }

    // MARK: L2 tables (qcow2 spec "L2 table entry", "Extended L2 Entries")

    /// L2 entry `index`; 16-byte entries with extended L2 entries.
    func l2Entry(_ index: Int, geometry: Qcow2Geometry) -> Qcow2L2Entry {
        let position = index * geometry.l2EntryBytes
        guard index >= 0, position + geometry.l2EntryBytes <= bytes.count else {
            assert(false, "L2 index \(index) outside the table")
            return .unallocated
        }
        return bytes.withUnsafeBytes { raw in
            let descriptor = UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt64.self))
            let bitmap =
                geometry.extendedL2
                ? UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)) : 0
            return Qcow2L2Entry(descriptor: descriptor, bitmap: bitmap)
        }
    }

    func setL2Entry(_ index: Int, _ entry: Qcow2L2Entry, geometry: Qcow2Geometry) {
        let position = index * geometry.l2EntryBytes
        guard index >= 0, position + geometry.l2EntryBytes <= bytes.count else {
            assert(false, "L2 index \(index) outside the table")
            return
        }
        bytes.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: entry.descriptor.bigEndian, toByteOffset: position, as: UInt64.self)
            if geometry.extendedL2 {
                raw.storeBytes(of: entry.bitmap.bigEndian, toByteOffset: position + 8, as: UInt64.self)
            }
        }
        isDirty = true
    }

    // MARK: Refcount blocks (qcow2 spec "Refcount block entry")

    /// Refcount entry `index` of width 1 << order bits; sub-byte widths count from the least
    /// significant bit.
    func refcount(_ index: Int, order: Int) -> UInt64 {
        let bitIndex = index << order
        guard index >= 0, bitIndex >> 3 < bytes.count else {
            assert(false, "refcount index \(index) outside the block")
            return 0
        }
        switch order {
        case 0, 1, 2:
            let width = 1 << order
            return UInt64(bytes[bitIndex >> 3] >> UInt8(bitIndex & 7)) & ((1 << UInt64(width)) - 1)
        case 3:
            return UInt64(bytes[index])
        case 4:
            return UInt64(bytes.bigEndian16(at: index * 2))
        case 5:
            return UInt64(bytes.bigEndian32(at: index * 4))
        default:
            return bytes.bigEndian64(at: index * 8)
        }
    }

    func setRefcount(_ index: Int, order: Int, _ value: UInt64) {
        let bitIndex = index << order
        guard index >= 0, bitIndex >> 3 < bytes.count else {
            assert(false, "refcount index \(index) outside the block")
            return
        }
        switch order {
        case 0, 1, 2:
            let width = 1 << order
            let mask = UInt8((1 << width) - 1) << UInt8(bitIndex & 7)
            let shifted = UInt8(truncatingIfNeeded: value << UInt64(bitIndex & 7)) & mask
            bytes[bitIndex >> 3] = bytes[bitIndex >> 3] & ~mask | shifted
        case 3:
            bytes[index] = UInt8(truncatingIfNeeded: value)
        case 4:
            bytes.storeBigEndian16(UInt16(truncatingIfNeeded: value), at: index * 2)
        case 5:
            bytes.storeBigEndian32(UInt32(truncatingIfNeeded: value), at: index * 4)
        default:
            bytes.storeBigEndian64(value, at: index * 8)
        }
        isDirty = true
    }

    /// Replaces the contents (used when copying a table on copy-on-write).
    func replaceBytes(_ newBytes: [UInt8]) {
        bytes = newBytes
        isDirty = true
    }
}
