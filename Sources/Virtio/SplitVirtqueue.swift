import GuestMemory
import Synchronization

/// The device side of one split virtqueue (virtio 1.2 §2.7): where the driver put its three parts, and
/// how far the device has consumed the available ring and filled the used ring.
///
/// Layout in guest memory (§2.7, linux/virtio_ring.h), for a queue of `size` entries:
/// - descriptor table: `size` × { addr u64, len u32, flags u16, next u16 }, 16-byte aligned;
/// - driver ("avail") ring: flags u16, idx u16, ring[size] u16, used_event u16; 2-byte aligned;
/// - device ("used") ring: flags u16, idx u16, ring[size] { id u32, len u32 }, avail_event u16; 4-byte aligned.
///
/// Everything read from the rings is hostile: each chain walk is bounded by the size of the table it
/// walks, every buffer is checked to lie inside guest RAM, and any violation is a `VirtqueueError`, after
/// which the device should mark itself DEVICE_NEEDS_RESET rather than use the queue further.
public struct SplitVirtqueue: Equatable, Sendable {
    /// The largest Queue Size a split virtqueue may have (§2.7).
    public static let maximumSize: UInt16 = 32768
    /// The most entries an indirect table may have (§2.7.5.3.1 bounds it by Queue Size; we allow the
    /// largest Queue Size so a driver with a small queue may still use big indirect tables).
    public static let maximumIndirectEntries: UInt32 = 32768
    /// A chain's buffers may add up to at most this many bytes (§2.7.5.2: "longer than 2^32 bytes").
    public static let maximumChainLength: UInt64 = 1 << 32

    /// VIRTQ_DESC_F_NEXT: the `next` field continues the chain.
    static let descriptorNext: UInt16 = 1
    /// VIRTQ_DESC_F_WRITE: the buffer is device-writable.
    static let descriptorWrite: UInt16 = 2
    /// VIRTQ_DESC_F_INDIRECT: the buffer is a table of descriptors.
    static let descriptorIndirect: UInt16 = 4
    /// VIRTQ_AVAIL_F_NO_INTERRUPT in the driver ring's flags (§2.7.7).
    static let availableNoInterrupt: UInt16 = 1
    /// VIRTQ_USED_F_NO_NOTIFY in the device ring's flags (§2.7.10).
    static let usedNoNotify: UInt16 = 1
    static let descriptorSize: UInt64 = 16

    /// Number of entries; a power of two in 1...32768 (the transport's QueueNum).
    public var size: UInt16
    /// QueueReady: the driver finished setting this queue up.
    public var isReady: Bool
    public var descriptorTable: GuestAddress
    /// The driver area ("avail" ring).
    public var driverRing: GuestAddress
    /// The device area ("used" ring).
    public var deviceRing: GuestAddress
    /// VIRTIO_F_EVENT_IDX was negotiated: use used_event / avail_event instead of the ring flags.
    public var eventIndexEnabled: Bool
    /// The next avail->ring slot (free-running, wraps at 2^16) the device will consume.
    public private(set) var nextAvailableIndex: UInt16 = 0
    /// The used->idx the device will publish next (free-running).
    public private(set) var nextUsedIndex: UInt16 = 0
    /// used->idx when the driver was last considered for an interrupt (for vring_need_event).
    private var signalledUsedIndex: UInt16 = 0

    public init(
        size: UInt16 = 0, isReady: Bool = false, descriptorTable: GuestAddress = GuestAddress(0),
        driverRing: GuestAddress = GuestAddress(0), deviceRing: GuestAddress = GuestAddress(0),
        eventIndexEnabled: Bool = false
    ) {
        self.size = size
        self.isReady = isReady
        self.descriptorTable = descriptorTable
        self.driverRing = driverRing
        self.deviceRing = deviceRing
        self.eventIndexEnabled = eventIndexEnabled
    }

    /// Whether `size` is a valid Queue Size: a power of two in 1...32768 (§2.7).
    public static func isValidSize(_ size: UInt16) -> Bool {
        size != 0 && size <= maximumSize && size & (size &- 1) == 0
    }

    /// Checks the size, alignment and that all three parts lie inside guest RAM (§2.7 Table 2.4).
    /// Call it when the driver sets DRIVER_OK; the per-access checks stay in place regardless.
    public func validate(memory: GuestMemory) throws(VirtqueueError) {
        guard Self.isValidSize(size) else { throw .invalidQueueSize(size) }
        let entries = UInt64(size)
        let parts: [(String, GuestAddress, UInt64, UInt64)] = [
            ("descriptor table", descriptorTable, 16 * entries, 16),
            ("driver ring", driverRing, 6 + 2 * entries, 2),
            ("device ring", deviceRing, 6 + 8 * entries, 4),
        ]
        for (name, address, length, alignment) in parts {
            guard address.rawValue % alignment == 0, memory.contains(address, length: length) else {
                throw .invalidRingAddress(part: name, address: address)
            }
        }
    }

    /// Whether the driver has made buffers available that the device has not consumed yet.
    public func hasAvailable(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        try availableIndex(memory: memory) != nextAvailableIndex
    }

    /// Takes the next available chain, or nil when the device has caught up with avail->idx (§2.7.13).
    ///
    /// Work is bounded: at most `size` descriptors in the descriptor table and at most the entry count
    /// of one indirect table are visited.
    public mutating func popAvailable(memory: GuestMemory) throws(VirtqueueError) -> DescriptorChain? {
        guard Self.isValidSize(size) else { throw .invalidQueueSize(size) }
        let available = try availableIndex(memory: memory)
        guard available != nextAvailableIndex else { return nil }
        guard available &- nextAvailableIndex <= size else {
            throw .availableIndexTooFar(availableIndex: available, nextAvailable: nextAvailableIndex, size: size)
        }
        // Read the ring entry only after avail->idx (§2.7.13: the driver writes the entry, then the index).
        atomicMemoryFence(ordering: .acquiring)
        let slot = UInt64(nextAvailableIndex % size)
        let head: UInt16 = try load(at: driverRing, offset: 4 + 2 * slot, memory: memory)
        let chain = try walkChain(head: head, memory: memory)
        nextAvailableIndex &+= 1
        return chain
    }

    /// Returns a chain to the driver: writes the used element, then publishes used->idx (§2.7.8).
    /// `length` is the number of bytes the device wrote into the chain's buffers.
    public mutating func addUsed(head: UInt16, length: UInt32, memory: GuestMemory) throws(VirtqueueError) {
        guard Self.isValidSize(size) else { throw .invalidQueueSize(size) }
        guard head < size else { throw .usedHeadOutOfRange(head: head, size: size) }
        let element = 4 + 8 * UInt64(nextUsedIndex % size)
        try store(UInt32(head), at: deviceRing, offset: element, memory: memory)
        try store(length, at: deviceRing, offset: element + 4, memory: memory)
        // The element must be visible before the index that publishes it (§2.7.8.2).
        atomicMemoryFence(ordering: .releasing)
        nextUsedIndex &+= 1
        try store(nextUsedIndex, at: deviceRing, offset: 2, memory: memory)
    }

    /// Whether the driver wants an interrupt for the used buffers added since the last call (§2.7.7.2):
    /// with EVENT_IDX, when used->idx passed used_event (vring_need_event); otherwise unless the driver
    /// set VIRTQ_AVAIL_F_NO_INTERRUPT.
    public mutating func shouldInterrupt(memory: GuestMemory) throws(VirtqueueError) -> Bool {
        // Our used->idx store must be visible before we read the driver's suppression state, or we could
        // miss a driver that just re-enabled interrupts (store-load ordering needs a full fence).
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        let old = signalledUsedIndex
        let new = nextUsedIndex
        signalledUsedIndex = new
        guard Self.isValidSize(size) else { throw .invalidQueueSize(size) }
        if eventIndexEnabled {
            let usedEvent: UInt16 = try load(at: driverRing, offset: 4 + 2 * UInt64(size), memory: memory)
            return Self.needsEvent(eventIndex: usedEvent, newIndex: new, oldIndex: old)
        }
        guard new != old else { return false }
        let flags: UInt16 = try load(at: driverRing, offset: 0, memory: memory)
        return flags & Self.availableNoInterrupt == 0
    }

    /// Asks the driver to stop (or resume) notifying the device of new buffers (§2.7.10). With EVENT_IDX,
    /// resuming writes avail_event = the next index the device will consume, and suppressing leaves it
    /// behind; otherwise it sets or clears VIRTQ_USED_F_NO_NOTIFY. After resuming, check
    /// `hasAvailable` again: the driver may have added buffers before it saw the change.
    public func setNotificationSuppression(_ suppressed: Bool, memory: GuestMemory) throws(VirtqueueError) {
        guard Self.isValidSize(size) else { throw .invalidQueueSize(size) }
        if eventIndexEnabled {
            if !suppressed {
                try store(nextAvailableIndex, at: deviceRing, offset: 4 + 8 * UInt64(size), memory: memory)
            }
        } else {
            try store(suppressed ? Self.usedNoNotify : 0, at: deviceRing, offset: 0, memory: memory)
        }
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// vring_need_event (linux/virtio_ring.h): whether moving an index from `oldIndex` to `newIndex`
    /// crossed `eventIndex`, in wrapping 16-bit arithmetic.
    public static func needsEvent(eventIndex: UInt16, newIndex: UInt16, oldIndex: UInt16) -> Bool {
        newIndex &- eventIndex &- 1 < newIndex &- oldIndex
    }

    // MARK: - Chain walking (§2.7.5)

    private func availableIndex(memory: GuestMemory) throws(VirtqueueError) -> UInt16 {
        try load(at: driverRing, offset: 2, memory: memory)
    }

    /// Follows the chain starting at `head`, switching once into an indirect table if one is referenced.
    private func walkChain(head: UInt16, memory: GuestMemory) throws(VirtqueueError) -> DescriptorChain {
        var table = descriptorTable
        var tableSize = UInt32(size)
        var index = head
        var visited: UInt32 = 0
        var inIndirectTable = false
        var sawWritable = false
        var total: UInt64 = 0
        var segments: [DescriptorSegment] = []
        segments.reserveCapacity(4)

        guard UInt32(index) < tableSize else {
            throw .descriptorIndexOutOfRange(index: index, tableSize: tableSize)
        }
        while true {
            visited += 1
            guard visited <= tableSize else { throw .chainTooLong(limit: tableSize) }
            let descriptor = try Descriptor.read(table: table, index: index, memory: memory)

            if descriptor.flags & Self.descriptorIndirect != 0 {
                guard !inIndirectTable else { throw .nestedIndirectTable }
                guard descriptor.flags & Self.descriptorNext == 0 else { throw .indirectWithNext }
                let length = descriptor.length
                guard length > 0, UInt64(length) % Self.descriptorSize == 0,
                    UInt64(length) / Self.descriptorSize <= UInt64(Self.maximumIndirectEntries)
                else { throw .invalidIndirectTableLength(length) }
                let address = GuestAddress(descriptor.address)
                guard memory.contains(address, length: UInt64(length)) else {
                    throw .bufferOutOfRange(address: address, length: length)
                }
                table = address
                tableSize = length / UInt32(Self.descriptorSize)
                inIndirectTable = true
                index = 0
                visited = 0
                continue
            }

            let address = GuestAddress(descriptor.address)
            guard address.checkedAdding(UInt64(descriptor.length)) != nil,
                memory.contains(address, length: UInt64(descriptor.length))
            else { throw .bufferOutOfRange(address: address, length: descriptor.length) }
            let isWritable = descriptor.flags & Self.descriptorWrite != 0
            if isWritable {
                sawWritable = true
            } else if sawWritable {
                throw .readableAfterWritable
            }
            let (sum, overflow) = total.addingReportingOverflow(UInt64(descriptor.length))
            guard !overflow, sum <= Self.maximumChainLength else { throw .chainLengthTooLarge }
            total = sum
            segments.append(DescriptorSegment(address: address, length: descriptor.length, isWritable: isWritable))

            guard descriptor.flags & Self.descriptorNext != 0 else { break }
            guard UInt32(descriptor.next) < tableSize else {
                throw .descriptorIndexOutOfRange(index: descriptor.next, tableSize: tableSize)
            }
            index = descriptor.next
        }
        return DescriptorChain(headIndex: head, segments: segments)
    }

    private func load<T: FixedWidthInteger>(at base: GuestAddress, offset: UInt64, memory: GuestMemory)
        throws(VirtqueueError) -> T
    {
        guard let address = base.checkedAdding(offset) else {
            throw .memory(.outOfRange(address: base, length: offset))
        }
        do {
            return try memory.typedLoad(T.self, at: address)
        } catch {
            throw .memory(error)
        }
    }

    private func store<T: FixedWidthInteger>(
        _ value: T, at base: GuestAddress, offset: UInt64, memory: GuestMemory
    ) throws(VirtqueueError) {
        guard let address = base.checkedAdding(offset) else {
            throw .memory(.outOfRange(address: base, length: offset))
        }
        do {
            try memory.typedStore(value, at: address)
        } catch {
            throw .memory(error)
        }
    }
}
