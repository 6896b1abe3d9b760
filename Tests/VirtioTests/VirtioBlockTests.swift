import GuestMemory
import Testing

@testable import Virtio

@Suite("virtio-blk over a raw file (§5.2)")
struct VirtioBlockTests {
    static let ok: UInt8 = 0
    static let ioError: UInt8 = 1
    static let unsupported: UInt8 = 2

    static func pattern(sectors: Int, seed: UInt8) -> [UInt8] {
        (0..<(sectors * 512)).map { UInt8(truncatingIfNeeded: $0 * 7) ^ seed }
    }

    @Test("features and config: capacity in sectors, blk_size, seg_max, discard and write-zeroes limits")
    func configuration() throws {
        let harness = try BlockHarness()
        let device = harness.device
        #expect(device.deviceID == 2)
        let expected: UInt64 =
            VirtioFeature.version1 | VirtioFeature.eventIndex | VirtioFeature.indirectDescriptors
            | 1 << 2 | 1 << 6 | 1 << 9 | 1 << 13 | 1 << 14
        #expect(device.deviceFeatures == expected)
        #expect(harness.mmio.status == 0b1111)
        #expect(harness.transport.read(offset: 0x100, size: 8) == 2048)
        #expect(harness.transport.read(offset: 0x100 + 12, size: 4) == 254)
        #expect(harness.transport.read(offset: 0x100 + 20, size: 4) == 512)
        #expect(harness.transport.read(offset: 0x100 + 36, size: 4) == 1 << 22)
        #expect(harness.transport.read(offset: 0x100 + 40, size: 4) == 16)
        #expect(harness.transport.read(offset: 0x100 + 52, size: 4) == 16)
        #expect(harness.transport.read(offset: 0x100 + 0x400, size: 4) == 0)
    }

    @Test("a read-only disk offers RO and neither discard nor write-zeroes")
    func readOnlyFeatures() throws {
        let harness = try BlockHarness(readOnly: true)
        #expect(harness.device.deviceFeatures & (1 << 5) != 0)
        #expect(harness.device.deviceFeatures & (1 << 13 | 1 << 14) == 0)
    }

    @Test("write then read back a pattern; used lengths count only bytes written into the chain")
    func writeThenRead() throws {
        let harness = try BlockHarness()
        let data = Self.pattern(sectors: 2, seed: 0x5A)
        let write = try harness.request(type: 1, sector: 10, out: data)
        #expect(write.status == Self.ok)
        #expect(write.usedLength == 1)
        #expect(try Array(harness.image.contents()[5120..<6144]) == data)

        let read = try harness.request(type: 0, sector: 10, readLength: 1024)
        #expect(read.status == Self.ok)
        #expect(read.usedLength == 1025)
        #expect(read.data == data)
        #expect(harness.interrupts.level)
    }

    @Test("data split over several segments, status sharing the last data segment")
    func scatteredRead() throws {
        let contents = Self.pattern(sectors: 4, seed: 3)
        let harness = try BlockHarness(contents: contents)
        let completion = try harness.submit(
            readable: [BlockHarness.header(type: 0, sector: 1)], writableLengths: [100, 900, 25])
        #expect(completion.status == Self.ok)
        #expect(completion.usedLength == 1025)
        #expect(completion.data == Array(contents[512..<1536]))
    }

    @Test("several requests made available before one notify are all completed")
    func batch() throws {
        let harness = try BlockHarness()
        let header = try harness.rings.buffer(BlockHarness.header(type: 4, sector: 0))
        let statuses = harness.rings.allocate(3)
        for index in UInt16(0)..<3 {
            try harness.rings.writeChain(
                [
                    TestBuffer(address: header, length: 16, writable: false),
                    TestBuffer(address: GuestAddress(statuses.rawValue + UInt64(index)), length: 1, writable: true),
                ], first: 2 * index)
            try harness.rings.makeAvailable(2 * index)
        }
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(try harness.rings.usedIndex() == 3)
        #expect(try harness.memory.read(at: statuses, length: 3) == [0, 0, 0])
        #expect(try harness.rings.usedElement(2).id == 4)
    }

    @Test("flush succeeds")
    func flush() throws {
        let harness = try BlockHarness()
        let completion = try harness.request(type: 4, sector: 0)
        #expect(completion.status == Self.ok)
        #expect(completion.usedLength == 1)
    }

    @Test("GET_ID returns the 20-byte serial, NUL-padded, or as much as fits")
    func getID() throws {
        let harness = try BlockHarness()
        let completion = try harness.request(type: 8, sector: 0, readLength: 20)
        #expect(completion.status == Self.ok)
        #expect(completion.usedLength == 21)
        #expect(completion.data == Array(BlockHarness.serial.utf8) + [0, 0, 0, 0, 0])
        let short = try harness.request(type: 8, sector: 0, readLength: 4)
        #expect(short.usedLength == 5)
        #expect(short.data == Array("swif".utf8))
    }

    @Test("discard accepts in-range segments and refuses the unmap flag and out-of-range sectors")
    func discard() throws {
        let harness = try BlockHarness(contents: Self.pattern(sectors: 16, seed: 1))
        let ranges = BlockHarness.range(sector: 0, sectors: 8) + BlockHarness.range(sector: 8, sectors: 8)
        #expect(try harness.request(type: 11, sector: 0, out: ranges).status == Self.ok)
        #expect(try harness.image.contents().count == BlockHarness.imageSize)
        let unmap = BlockHarness.range(sector: 0, sectors: 8, flags: 1)
        #expect(try harness.request(type: 11, sector: 0, out: unmap).status == Self.unsupported)
        let outside = BlockHarness.range(sector: 2047, sectors: 2)
        #expect(try harness.request(type: 11, sector: 0, out: outside).status == Self.ioError)
        let ragged = Array(BlockHarness.range(sector: 0, sectors: 1).prefix(12))
        #expect(try harness.request(type: 11, sector: 0, out: ragged).status == Self.ioError)
        let tooMany = [UInt8]((0..<17).flatMap { BlockHarness.range(sector: UInt64($0), sectors: 1) })
        #expect(try harness.request(type: 11, sector: 0, out: tooMany).status == Self.ioError)
    }

    @Test("write-zeroes zeroes the range and leaves its neighbours")
    func writeZeroes() throws {
        let contents = Self.pattern(sectors: 16, seed: 9)
        let harness = try BlockHarness(contents: contents)
        let range = BlockHarness.range(sector: 2, sectors: 3, flags: 1)
        #expect(try harness.request(type: 13, sector: 0, out: range).status == Self.ok)
        let image = try harness.image.contents()
        #expect(Array(image[1024..<2560]) == [UInt8](repeating: 0, count: 1536))
        #expect(Array(image[0..<1024]) == Array(contents[0..<1024]))
        #expect(Array(image[2560..<8192]) == Array(contents[2560..<8192]))
        let badFlags = BlockHarness.range(sector: 2, sectors: 1, flags: 2)
        #expect(try harness.request(type: 13, sector: 0, out: badFlags).status == Self.unsupported)
    }

    @Test("a read-only disk refuses writes, reads normally, and reports discard unsupported")
    func readOnly() throws {
        let contents = Self.pattern(sectors: 1, seed: 4)
        let harness = try BlockHarness(readOnly: true, contents: contents)
        let write = try harness.request(type: 1, sector: 0, out: Self.pattern(sectors: 1, seed: 8))
        #expect(write.status == Self.ioError)
        #expect(Array(try harness.image.contents()[0..<512]) == contents)
        #expect(try harness.request(type: 0, sector: 0, readLength: 512).data == contents)
        let discard = try harness.request(type: 11, sector: 0, out: BlockHarness.range(sector: 0, sectors: 1))
        #expect(discard.status == Self.unsupported)
    }

    @Test(
        "reads and writes outside the disk, or not whole sectors, are I/O errors",
        arguments: [
            (0, 2047, 1024), (0, 2048, 512), (0, UInt64.max, 512), (0, 1 << 55, 512), (0, 0, 100),
            (1, 2047, 1024), (1, UInt64.max, 512), (1, 0, 513),
        ] as [(UInt32, UInt64, Int)])
    func outOfRange(type: UInt32, sector: UInt64, length: Int) throws {
        let harness = try BlockHarness()
        let completion =
            type == 0
            ? try harness.request(type: 0, sector: sector, readLength: length)
            : try harness.request(type: 1, sector: sector, out: [UInt8](repeating: 1, count: length))
        #expect(completion.status == Self.ioError)
        #expect(completion.usedLength == 1)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test("the last sector is readable")
    func lastSector() throws {
        let harness = try BlockHarness()
        #expect(try harness.request(type: 0, sector: 2047, readLength: 512).status == Self.ok)
    }

    @Test("unknown request types are unsupported", arguments: [2, 3, 14, 99, 0x8000_0001] as [UInt32])
    func unknownType(type: UInt32) throws {
        let harness = try BlockHarness()
        #expect(try harness.request(type: type, sector: 0).status == Self.unsupported)
    }

    @Test("a chain without a writable byte is returned with used length 0; a short header is an I/O error")
    func shortStatus() throws {
        let harness = try BlockHarness()
        let noStatus = try harness.submit(readable: [BlockHarness.header(type: 4, sector: 0)], writableLengths: [])
        #expect(noStatus.usedLength == 0)
        #expect(try harness.rings.usedIndex() == 1)
        let shortHeader = try harness.submit(readable: [[1, 0, 0, 0]], writableLengths: [1])
        #expect(shortHeader.status == Self.ioError)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
        // The device still works afterwards.
        #expect(try harness.request(type: 4, sector: 0).status == Self.ok)
    }

    @Test("a malformed chain marks the device needing reset; a reset brings it back")
    func brokenChain() throws {
        let harness = try BlockHarness()
        try harness.rings.setDescriptor(0, address: 0x40000, length: 16, flags: DescriptorFlag.next, next: 0)
        try harness.rings.makeAvailable(0)
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        #expect(harness.transport.queueError == .chainTooLong(limit: 16))
        #expect(harness.mmio.acknowledgeInterrupts() == 2)

        harness.mmio.write(VirtioMMIORegister.status, 0)
        let fresh = TestDriver(memory: harness.memory, size: 16)
        try fresh.setAvailableIndex(0)
        try harness.memory.store(UInt16(0), at: GuestAddress(fresh.deviceRing.rawValue + 2))
        harness.mmio.negotiate(features: harness.device.deviceFeatures)
        harness.mmio.setUpQueue(0, size: 16, rings: fresh)
        harness.mmio.driverOK()
        #expect(harness.mmio.status == 0b1111)
        let status = fresh.allocate(1)
        let header = try fresh.buffer(BlockHarness.header(type: 4, sector: 0))
        try fresh.writeChain([
            TestBuffer(address: header, length: 16, writable: false),
            TestBuffer(address: status, length: 1, writable: true),
        ])
        try fresh.makeAvailable(0)
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(try fresh.usedIndex() == 1)
    }

    @Test("with EVENT_IDX, used_event far ahead suppresses the interrupt and avail_event is published")
    func eventIndexSuppression() throws {
        let harness = try BlockHarness()
        try harness.rings.setUsedEvent(5)
        #expect(try harness.request(type: 4, sector: 0).status == Self.ok)
        #expect(harness.interrupts.history.isEmpty)
        #expect(try harness.rings.availableEvent() == 1)
    }
}
