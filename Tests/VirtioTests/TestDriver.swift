import GuestMemory

@testable import Virtio

/// Descriptor flags as a driver writes them (virtio 1.2 §2.7.5).
enum DescriptorFlag {
    static let next: UInt16 = 1
    static let write: UInt16 = 2
    static let indirect: UInt16 = 4
}

/// One buffer a test driver puts in a chain.
struct TestBuffer {
    var address: GuestAddress
    var length: UInt32
    var writable: Bool
}

/// A minimal virtio driver: lays out one split queue in guest memory (descriptor table, avail ring, used
/// ring at fixed addresses), writes descriptors and buffers, and publishes heads, as Linux's
/// virtio_ring.c would.
final class TestDriver {
    let memory: GuestMemory
    let size: UInt16
    let descriptorTable = GuestAddress(0x10000)
    let driverRing = GuestAddress(0x20000)
    let deviceRing = GuestAddress(0x30000)
    private(set) var availableIndex: UInt16 = 0
    private var nextBuffer: UInt64 = 0x40000

    init(memory: GuestMemory, size: UInt16 = 16) {
        self.memory = memory
        self.size = size
    }

    /// A device-side queue pointing at this driver's rings.
    func queue(eventIndex: Bool = false) -> SplitVirtqueue {
        SplitVirtqueue(
            size: size, isReady: true, descriptorTable: descriptorTable, driverRing: driverRing,
            deviceRing: deviceRing, eventIndexEnabled: eventIndex)
    }

    /// Reserves `length` bytes of guest RAM for a buffer or an indirect table (16-byte aligned).
    func allocate(_ length: Int) -> GuestAddress {
        let address = GuestAddress(nextBuffer)
        nextBuffer += UInt64((length + 15) & ~15)
        return address
    }

    /// Allocates a buffer holding `bytes`.
    func buffer(_ bytes: [UInt8]) throws -> GuestAddress {
        let address = allocate(bytes.count)
        try memory.write(bytes, at: address)
        return address
    }

    func setDescriptor(
        _ index: UInt16, address: UInt64, length: UInt32, flags: UInt16 = 0, next: UInt16 = 0,
        table: GuestAddress? = nil
    ) throws {
        let entry = GuestAddress((table ?? descriptorTable).rawValue + 16 * UInt64(index))
        try memory.store(address, at: entry)
        try memory.store(length, at: GuestAddress(entry.rawValue + 8))
        try memory.store(flags, at: GuestAddress(entry.rawValue + 12))
        try memory.store(next, at: GuestAddress(entry.rawValue + 14))
    }

    /// Writes `buffers` as a chain of descriptors first, first+1, ... in `table` (the descriptor table
    /// by default).
    func writeChain(_ buffers: [TestBuffer], first: UInt16 = 0, table: GuestAddress? = nil) throws {
        for (offset, buffer) in buffers.enumerated() {
            let index = first + UInt16(offset)
            let last = offset == buffers.count - 1
            var flags: UInt16 = buffer.writable ? DescriptorFlag.write : 0
            if !last { flags |= DescriptorFlag.next }
            try setDescriptor(
                index, address: buffer.address.rawValue, length: buffer.length, flags: flags,
                next: last ? 0 : index + 1, table: table)
        }
    }

    /// Puts `head` in the next avail ring slot, then publishes avail->idx.
    func makeAvailable(_ head: UInt16) throws {
        let slot = GuestAddress(driverRing.rawValue + 4 + 2 * UInt64(availableIndex % size))
        try memory.store(head, at: slot)
        availableIndex &+= 1
        try memory.store(availableIndex, at: GuestAddress(driverRing.rawValue + 2))
    }

    /// Sets avail->idx directly (to start near a wrap, or to lie).
    func setAvailableIndex(_ index: UInt16) throws {
        availableIndex = index
        try memory.store(index, at: GuestAddress(driverRing.rawValue + 2))
    }

    func setAvailableFlags(_ flags: UInt16) throws {
        try memory.store(flags, at: driverRing)
    }

    /// used_event, after the avail ring (§2.7.6).
    func setUsedEvent(_ index: UInt16) throws {
        try memory.store(index, at: GuestAddress(driverRing.rawValue + 4 + 2 * UInt64(size)))
    }

    func usedIndex() throws -> UInt16 {
        try memory.load(at: GuestAddress(deviceRing.rawValue + 2))
    }

    func usedFlags() throws -> UInt16 {
        try memory.load(at: deviceRing)
    }

    /// avail_event, after the used ring (§2.7.8).
    func availableEvent() throws -> UInt16 {
        try memory.load(at: GuestAddress(deviceRing.rawValue + 4 + 8 * UInt64(size)))
    }

    func usedElement(_ slot: UInt16) throws -> (id: UInt32, length: UInt32) {
        let entry = deviceRing.rawValue + 4 + 8 * UInt64(slot % size)
        return (try memory.load(at: GuestAddress(entry)), try memory.load(at: GuestAddress(entry + 4)))
    }
}
