import Testing

@testable import Devices

@Suite("Bus")
struct BusTests {
    @Test("accesses inside a range reach the device with the offset from its base, at both ends")
    func lookupAtBoundaries() throws {
        let bus = Bus()
        let device = RecordingDevice(readValue: 0x5A)
        try bus.insert(device, base: 0x3F8, length: 8)

        #expect(bus.read(address: 0x3F8, size: 1) == 0x5A)
        #expect(bus.read(address: 0x3FF, size: 1) == 0x5A)
        #expect(bus.read(address: 0x3F7, size: 1) == 0xFF)
        #expect(bus.read(address: 0x400, size: 1) == 0xFF)
        bus.write(address: 0x3FC, size: 1, value: 0x1A)
        #expect(
            device.log == [
                .read(offset: 0, size: 1), .read(offset: 7, size: 1), .write(offset: 4, size: 1, value: 0x1A),
            ])
        #expect(bus.unmappedAccessCount == 2)
    }

    @Test(
        "overlapping ranges are rejected with the range already there",
        arguments: [
            (UInt64(0x100), UInt64(0x10)),  // identical
            (0x0F8, 0x10),  // overlaps the start
            (0x10F, 0x01),  // the last byte
            (0x108, 0x20),  // overlaps the end
            (0x080, 0x100),  // contains it
            (0x104, 0x04),  // inside it
        ])
    func overlapRejected(base: UInt64, length: UInt64) throws {
        let bus = Bus()
        try bus.insert(RecordingDevice(), base: 0x100, length: 0x10)
        #expect(throws: BusError.overlap(base: base, length: length, existingBase: 0x100, existingLength: 0x10)) {
            try bus.insert(RecordingDevice(), base: base, length: length)
        }
    }

    @Test("adjacent ranges on both sides are accepted")
    func adjacentRangesAccepted() throws {
        let bus = Bus()
        let low = RecordingDevice(readValue: 1)
        let middle = RecordingDevice(readValue: 2)
        let high = RecordingDevice(readValue: 3)
        try bus.insert(middle, base: 0x100, length: 0x10)
        try bus.insert(low, base: 0xF0, length: 0x10)
        try bus.insert(high, base: 0x110, length: 0x10)
        #expect(bus.read(address: 0xFF, size: 1) == 1)
        #expect(bus.read(address: 0x100, size: 1) == 2)
        #expect(bus.read(address: 0x10F, size: 1) == 2)
        #expect(bus.read(address: 0x110, size: 1) == 3)
    }

    @Test("zero length and ranges past the end of the address space are rejected")
    func invalidRangesRejected() throws {
        let bus = Bus()
        #expect(throws: BusError.zeroLength(base: 0x60)) {
            try bus.insert(RecordingDevice(), base: 0x60, length: 0)
        }
        #expect(throws: BusError.rangeOverflow(base: UInt64.max, length: 2)) {
            try bus.insert(RecordingDevice(), base: UInt64.max, length: 2)
        }
        #expect(throws: BusError.rangeOverflow(base: 2, length: UInt64.max)) {
            try bus.insert(RecordingDevice(), base: 2, length: UInt64.max)
        }
    }

    @Test("a range may end at the last address")
    func rangeAtTopOfAddressSpace() throws {
        let bus = Bus()
        let device = RecordingDevice(readValue: 7)
        try bus.insert(device, base: UInt64.max - 3, length: 4)
        #expect(bus.read(address: UInt64.max, size: 1) == 7)
        #expect(device.log == [.read(offset: 3, size: 1)])
        #expect(throws: BusError.self) { try bus.insert(RecordingDevice(), base: UInt64.max, length: 1) }
    }

    @Test(
        "unmapped reads are all ones for the access size; unmapped writes are dropped and counted",
        arguments: [(1, UInt64(0xFF)), (2, 0xFFFF), (4, 0xFFFF_FFFF), (8, UInt64.max), (3, 0xFF_FFFF)])
    func unmappedReadsAllOnes(size: Int, expected: UInt64) {
        let bus = Bus()
        #expect(bus.read(address: 0x80, size: size) == expected)
        bus.write(address: 0x80, size: size, value: 0)
        #expect(bus.unmappedAccessCount == 2)
    }

    @Test("sizes outside 1...8 never reach a device")
    func impossibleSizesNotForwarded() throws {
        let bus = Bus()
        let device = RecordingDevice(readValue: 0x12)
        try bus.insert(device, base: 0, length: 0x100)
        #expect(bus.read(address: 0x10, size: 0) == 0)
        #expect(bus.read(address: 0x10, size: -4) == 0)
        #expect(bus.read(address: 0x10, size: 9) == UInt64.max)
        bus.write(address: 0x10, size: 16, value: 1)
        #expect(device.log.isEmpty)
        #expect(bus.unmappedAccessCount == 4)
    }

    @Test("values are masked to the access size in both directions")
    func valuesMaskedToSize() throws {
        let bus = Bus()
        let device = RecordingDevice(readValue: 0x1122_3344_5566_7788)
        try bus.insert(device, base: 0x1000, length: 0x100)
        #expect(bus.read(address: 0x1000, size: 1) == 0x88)
        #expect(bus.read(address: 0x1000, size: 2) == 0x7788)
        #expect(bus.read(address: 0x1000, size: 4) == 0x5566_7788)
        #expect(bus.read(address: 0x1000, size: 8) == 0x1122_3344_5566_7788)
        bus.write(address: 0x1004, size: 2, value: 0xAAAA_BBBB)
        #expect(device.log.last == .write(offset: 4, size: 2, value: 0xBBBB))
    }

    @Test("many devices inserted in any order are each found by binary search, before and after seal")
    func manyDevices() throws {
        let bus = Bus()
        let bases: [UInt64] = (0..<64).map { UInt64($0) * 0x40 }
        var devices: [UInt64: RecordingDevice] = [:]
        // A fixed permutation: multiply by an odd number modulo 64.
        for index in 0..<64 {
            let base = bases[(index * 37) % 64]
            let device = RecordingDevice(readValue: base)
            devices[base] = device
            try bus.insert(device, base: base, length: 0x20)
        }
        for sealed in [false, true] {
            if sealed { bus.seal() }
            for base in bases {
                #expect(bus.read(address: base, size: 8) == base)
                #expect(bus.read(address: base + 0x1F, size: 8) == base)
                #expect(bus.read(address: base + 0x20, size: 8) == UInt64.max)
            }
        }
        #expect(devices[0x40]?.log.contains(.read(offset: 0x1F, size: 8)) == true)
        #expect(bus.unmappedAccessCount == 128)
    }

    @Test("a sealed bus keeps routing and refuses new devices")
    func sealing() throws {
        let bus = Bus()
        try bus.insert(RecordingDevice(readValue: 9), base: 0x600, length: 3)
        #expect(!bus.isSealed)
        bus.seal()
        bus.seal()
        #expect(bus.isSealed)
        #expect(bus.read(address: 0x602, size: 1) == 9)
        #expect(throws: BusError.sealed(base: 0x700, length: 1)) {
            try bus.insert(RecordingDevice(), base: 0x700, length: 1)
        }
    }

    @Test("concurrent vCPU-style access to a sealed bus")
    func concurrentAccess() async throws {
        let bus = Bus()
        let device = RecordingDevice(readValue: 0x42)
        try bus.insert(device, base: 0x3F8, length: 8)
        bus.seal()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for _ in 0..<500 {
                        _ = bus.read(address: 0x3F8, size: 1)
                        _ = bus.read(address: 0x80, size: 1)
                    }
                }
            }
        }
        #expect(device.log.count == 2000)
        #expect(bus.unmappedAccessCount == 2000)
    }

    @Test("errors say what went wrong in hex")
    func errorDescriptions() {
        let overlap = BusError.overlap(base: 0x3F8, length: 8, existingBase: 0x3F8, existingLength: 8)
        #expect(overlap.description.contains("0x3f8"))
        #expect(BusError.sealed(base: 0x10, length: 1).description.contains("seal"))
        #expect(BusError.zeroLength(base: 0x60).description.contains("0x60"))
    }
}
