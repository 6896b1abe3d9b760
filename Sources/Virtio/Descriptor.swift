import GuestMemory

/// One entry of a descriptor table, as the driver wrote it (§2.7.5 struct virtq_desc).
struct Descriptor {
    var address: UInt64
    var length: UInt32
    var flags: UInt16
    var next: UInt16

    /// Reads entry `index` of the table at `table` (16 bytes, little-endian).
    static func read(table: GuestAddress, index: UInt16, memory: GuestMemory) throws(VirtqueueError) -> Descriptor {
        guard let address = table.checkedAdding(UInt64(index) * SplitVirtqueue.descriptorSize) else {
            throw .memory(.outOfRange(address: table, length: SplitVirtqueue.descriptorSize))
        }
        do {
            return try memory.typedWithBytes(at: address, length: 16) { bytes in
                Descriptor(
                    address: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                    length: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                    flags: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self)),
                    next: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 14, as: UInt16.self)))
            }
        } catch {
            throw .memory(error)
        }
    }
}
