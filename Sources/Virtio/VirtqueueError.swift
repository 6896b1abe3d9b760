import GuestMemory

/// Why a virtqueue could not be used. Each is a driver bug or a hostile guest; the device answers by
/// setting DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2) and stops using the queue until the driver resets it.
public enum VirtqueueError: Error, Equatable, CustomStringConvertible {
    /// Queue Size is 0, above 32768 or not a power of two (§2.7).
    case invalidQueueSize(UInt16)
    /// A ring or the descriptor table is misaligned or not inside guest RAM (§2.7, Table 2.4).
    case invalidRingAddress(part: String, address: GuestAddress)
    /// avail->idx ran more than Queue Size entries ahead of what the device consumed (§2.7.6).
    case availableIndexTooFar(availableIndex: UInt16, nextAvailable: UInt16, size: UInt16)
    /// A head or `next` index is not below the size of the table it indexes (§2.7.5).
    case descriptorIndexOutOfRange(index: UInt16, tableSize: UInt32)
    /// More descriptors were followed than the table holds: the chain loops (§2.7.5.2).
    case chainTooLong(limit: UInt32)
    /// An indirect table's length is zero, not a multiple of 16 or above 32768 entries (§2.7.5.3.1).
    case invalidIndirectTableLength(UInt32)
    /// VIRTQ_DESC_F_INDIRECT inside an indirect table (§2.7.5.3.1).
    case nestedIndirectTable
    /// VIRTQ_DESC_F_INDIRECT together with VIRTQ_DESC_F_NEXT (§2.7.5.3.1).
    case indirectWithNext
    /// A buffer [address, address+length) is not inside guest RAM, or its end overflows.
    case bufferOutOfRange(address: GuestAddress, length: UInt32)
    /// The buffers of one chain add up to more than 2^32 bytes (§2.7.5.2).
    case chainLengthTooLarge
    /// A device-readable descriptor follows a device-writable one (§2.7.4.2).
    case readableAfterWritable
    /// The device tried to return a head index the queue cannot hold.
    case usedHeadOutOfRange(head: UInt16, size: UInt16)
    /// A ring access failed inside guest memory.
    case memory(GuestMemoryError)

    public var description: String {
        switch self {
        case .invalidQueueSize(let size):
            return "virtqueue size \(size) is not a power of two in 1...32768"
        case .invalidRingAddress(let part, let address):
            return "virtqueue \(part) at \(address) is misaligned or outside guest RAM"
        case .availableIndexTooFar(let available, let next, let size):
            return "avail->idx \(available) is more than \(size) entries past the device's \(next)"
        case .descriptorIndexOutOfRange(let index, let tableSize):
            return "descriptor index \(index) is outside a table of \(tableSize) entries"
        case .chainTooLong(let limit):
            return "descriptor chain visits more than \(limit) descriptors (a loop)"
        case .invalidIndirectTableLength(let length):
            return "indirect descriptor table length \(length) is not a non-zero multiple of 16 up to 32768 entries"
        case .nestedIndirectTable:
            return "indirect descriptor inside an indirect table"
        case .indirectWithNext:
            return "descriptor has both INDIRECT and NEXT set"
        case .bufferOutOfRange(let address, let length):
            return "descriptor buffer [\(address), +\(length)) is outside guest RAM"
        case .chainLengthTooLarge:
            return "descriptor chain is longer than 4 GiB in total"
        case .readableAfterWritable:
            return "device-readable descriptor after a device-writable one"
        case .usedHeadOutOfRange(let head, let size):
            return "used head \(head) is outside a queue of \(size) entries"
        case .memory(let error):
            return "virtqueue ring access failed: \(error)"
        }
    }
}
