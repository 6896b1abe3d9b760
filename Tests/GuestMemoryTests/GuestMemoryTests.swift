import Testing

@testable import GuestMemory

@Suite struct GuestMemoryTests {
    @Test func smallMemoryIsOneRegionFromZero() throws {
        let memory = try GuestMemory(size: 16 << 20)
        #expect(memory.regions.count == 1)
        #expect(memory.regions[0].start == GuestAddress(0))
        #expect(memory.totalSize == 16 << 20)
        #expect(memory.end == 16 << 20)
    }

    @Test func largeMemorySkipsTheHoleBelowFourGiB() throws {
        let memory = try GuestMemory(size: 4 << 30)
        #expect(memory.regions.count == 2)
        #expect(memory.regions[0].size == GuestMemory.mmioHoleStart)
        #expect(memory.regions[1].start == GuestAddress(GuestMemory.fourGiB))
        #expect(memory.totalSize == 4 << 30)
        #expect(!memory.contains(GuestAddress(GuestMemory.mmioHoleStart)))
        #expect(memory.contains(GuestAddress(GuestMemory.fourGiB)))
    }

    @Test func readsBackWhatWasWritten() throws {
        let memory = try GuestMemory(size: 1 << 20)
        try memory.write([1, 2, 3, 4], at: GuestAddress(0x1000))
        #expect(try memory.read(at: GuestAddress(0x1000), length: 4) == [1, 2, 3, 4])
        try memory.store(UInt32(0xDEAD_BEEF), at: GuestAddress(0x2000))
        #expect(try memory.load(UInt32.self, at: GuestAddress(0x2000)) == 0xDEAD_BEEF)
        #expect(try memory.read(at: GuestAddress(0x2000), length: 4) == [0xEF, 0xBE, 0xAD, 0xDE])
    }

    @Test func lastByteIsAccessibleAndOneMoreIsNot() throws {
        let memory = try GuestMemory(size: 1 << 20)
        try memory.write([0xAA], at: GuestAddress((1 << 20) - 1))
        #expect(throws: GuestMemoryError.self) { try memory.write([0, 0], at: GuestAddress((1 << 20) - 1)) }
        #expect(throws: GuestMemoryError.self) { try memory.read(at: GuestAddress(1 << 20), length: 1) }
    }

    @Test func addressArithmeticThatOverflowsIsAnError() throws {
        let memory = try GuestMemory(size: 1 << 20)
        #expect(throws: GuestMemoryError.self) { try memory.read(at: GuestAddress(UInt64.max), length: 2) }
        #expect(throws: GuestMemoryError.self) { try memory.load(UInt64.self, at: GuestAddress(UInt64.max - 3)) }
        #expect(GuestAddress(UInt64.max).checkedAdding(1) == nil)
        #expect(throws: GuestMemoryError.self) { try memory.read(at: GuestAddress(0), length: -1) }
    }

    @Test func anAccessCannotSpanTwoRegions() throws {
        let memory = try GuestMemory(ranges: [(GuestAddress(0), 0x1000), (GuestAddress(0x1000), 0x1000)])
        #expect(memory.contains(GuestAddress(0xFFF)))
        #expect(!memory.contains(GuestAddress(0xFFF), length: 2))
    }

    @Test func rejectsBadLayouts() {
        #expect(throws: GuestMemoryError.self) { try GuestMemory(size: 4096) }
        #expect(throws: GuestMemoryError.self) {
            try GuestMemory(ranges: [(GuestAddress(0), 0x2000), (GuestAddress(0x1000), 0x1000)])
        }
        #expect(throws: GuestMemoryError.self) { try GuestMemory(ranges: [(GuestAddress(0x10), 0x1000)]) }
        #expect(throws: GuestMemoryError.self) { try GuestMemory(ranges: [(GuestAddress(UInt64.max - 0xFFF), 0x2000)]) }
    }

    @Test func fillWritesEveryByte() throws {
        let memory = try GuestMemory(size: 1 << 20)
        try memory.fill(0x5A, at: GuestAddress(0x3000), length: 16)
        #expect(try memory.read(at: GuestAddress(0x3000), length: 16) == Array(repeating: 0x5A, count: 16))
    }
}
