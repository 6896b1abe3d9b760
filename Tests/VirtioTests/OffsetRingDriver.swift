import GuestMemory

@testable import Virtio

/// A driver for one split queue whose descriptor table, rings and buffers sit at a chosen base, so a
/// device with several queues can have them all in one GuestMemory (TestDriver's addresses are fixed).
///
/// Layout from `base`: descriptor table +0x0000, driver ring +0x1000, device ring +0x2000, buffers from
/// +0x4000 up to +0x100000. Queue sizes up to 256 fit.
final class OffsetRingDriver {
    let memory: GuestMemory
    let size: UInt16
    let descriptorTable: GuestAddress
    let driverRing: GuestAddress
    let deviceRing: GuestAddress
    private let bufferLimit: UInt64
    private var nextBuffer: UInt64
    private(set) var availableIndex: UInt16 = 0
    /// used->idx up to which `takeUsed` has returned elements.
    private(set) var consumedUsedIndex: UInt16 = 0

    init(memory: GuestMemory, base: UInt64, size: UInt16 = 64) {
        self.memory = memory
        self.size = size
        descriptorTable = GuestAddress(base)
        driverRing = GuestAddress(base + 0x1000)
        deviceRing = GuestAddress(base + 0x2000)
        nextBuffer = base + 0x4000
        bufferLimit = base + 0x10_0000
    }

    /// Programs queue `index` of a virtio-mmio transport with these rings and marks it ready.
    func setUp(queue index: UInt32, on mmio: MMIODriver) {
        mmio.write(VirtioMMIORegister.queueSelect, index)
        mmio.write(VirtioMMIORegister.queueSize, UInt32(size))
        for (low, address) in [
            (VirtioMMIORegister.queueDescriptorLow, descriptorTable.rawValue),
            (VirtioMMIORegister.queueDriverLow, driverRing.rawValue),
            (VirtioMMIORegister.queueDeviceLow, deviceRing.rawValue),
        ] {
            mmio.write(low, UInt32(truncatingIfNeeded: address))
            mmio.write(low + 4, UInt32(truncatingIfNeeded: address >> 32))
        }
        mmio.write(VirtioMMIORegister.queueReady, 1)
    }

    /// Reserves `length` bytes for a buffer (16-byte aligned).
    func allocate(_ length: Int) -> GuestAddress {
        precondition(nextBuffer + UInt64(length) <= bufferLimit, "test buffer area exhausted")
        let address = GuestAddress(nextBuffer)
        nextBuffer += UInt64((length + 15) & ~15)
        return address
    }

    func setDescriptor(_ index: UInt16, address: GuestAddress, length: UInt32, flags: UInt16 = 0, next: UInt16 = 0)
        throws
    {
        let entry = GuestAddress(descriptorTable.rawValue + 16 * UInt64(index))
        try memory.store(address.rawValue, at: entry)
        try memory.store(length, at: GuestAddress(entry.rawValue + 8))
        try memory.store(flags, at: GuestAddress(entry.rawValue + 12))
        try memory.store(next, at: GuestAddress(entry.rawValue + 14))
    }

    /// Puts `head` in the next avail ring slot, then publishes avail->idx.
    func makeAvailable(_ head: UInt16) throws {
        let slot = GuestAddress(driverRing.rawValue + 4 + 2 * UInt64(availableIndex % size))
        try memory.store(head, at: slot)
        availableIndex &+= 1
        try memory.store(availableIndex, at: GuestAddress(driverRing.rawValue + 2))
    }

    func usedIndex() throws -> UInt16 {
        try memory.load(at: GuestAddress(deviceRing.rawValue + 2))
    }

    /// Used elements published since the last call, in order.
    func takeUsed() throws -> [(id: UInt16, length: UInt32)] {
        let published = try usedIndex()
        var elements: [(id: UInt16, length: UInt32)] = []
        while consumedUsedIndex != published {
            let entry = deviceRing.rawValue + 4 + 8 * UInt64(consumedUsedIndex % size)
            let id: UInt32 = try memory.load(at: GuestAddress(entry))
            let length: UInt32 = try memory.load(at: GuestAddress(entry + 4))
            elements.append((UInt16(truncatingIfNeeded: id), length))
            consumedUsedIndex &+= 1
        }
        return elements
    }
}
