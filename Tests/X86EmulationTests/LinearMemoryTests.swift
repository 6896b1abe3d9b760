import GuestMemory
import Testing

@testable import X86Emulation

@Suite struct LinearMemoryTests {
    @Test func readsAndWritesWithinAPage() throws {
        let cpu = FakeCPU()
        let memory = try makeMemory()
        let linear = LinearMemory(context: cpu, memory: memory)
        try linear.write([1, 2, 3, 4], at: 0x1234)
        #expect(try memory.read(at: GuestAddress(0x1234), length: 4) == [1, 2, 3, 4])
        #expect(try linear.read(at: 0x1234, count: 4) == [1, 2, 3, 4])
    }

    @Test func straddlesPagesMappedApart() throws {
        let cpu = FakeCPU()
        cpu.map(linear: 0xFFFF_8000_0000_1000, physical: 0x5000)
        cpu.map(linear: 0xFFFF_8000_0000_2000, physical: 0x3000)
        let memory = try makeMemory()
        let linear = LinearMemory(context: cpu, memory: memory)
        try linear.write([1, 2, 3, 4, 5, 6, 7, 8], at: 0xFFFF_8000_0000_1FFC)
        #expect(try memory.read(at: GuestAddress(0x5FFC), length: 4) == [1, 2, 3, 4])
        #expect(try memory.read(at: GuestAddress(0x3000), length: 4) == [5, 6, 7, 8])
        #expect(try linear.read(at: 0xFFFF_8000_0000_1FFC, count: 8) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try linear.physicalAddress(of: 0xFFFF_8000_0000_2010) == GuestAddress(0x3010))
    }

    @Test func aFaultOnTheSecondPageWritesNothing() throws {
        let cpu = FakeCPU()
        cpu.map(linear: 0x1000, physical: 0x5000)
        let memory = try makeMemory()
        let linear = LinearMemory(context: cpu, memory: memory)
        #expect(throws: LinearMemoryError.notMapped(linearAddress: 0x2000)) {
            try linear.write([1, 2, 3, 4, 5, 6, 7, 8], at: 0x1FFC)
        }
        #expect(try memory.read(at: GuestAddress(0x5FFC), length: 4) == [0, 0, 0, 0])
    }

    @Test func pagesOutsideRAMAreAnError() throws {
        let cpu = FakeCPU()
        cpu.map(linear: 0x1000, physical: 0xFEE0_0000)
        let linear = LinearMemory(context: cpu, memory: try makeMemory())
        #expect(throws: LinearMemoryError.outsideRAM(linearAddress: 0x1010, physicalAddress: 0xFEE0_0010, length: 4)) {
            try linear.read(at: 0x1010, count: 4)
        }
    }

    @Test func readOnlyPagesRefuseGuestWritesButNotPatches() throws {
        let cpu = FakeCPU()
        cpu.map(linear: 0x1000, physical: 0x7000)
        cpu.readOnlyPages = [0x1000]
        let memory = try makeMemory()
        let linear = LinearMemory(context: cpu, memory: memory)
        #expect(throws: LinearMemoryError.notWritable(linearAddress: 0x1008)) { try linear.write([0xCC], at: 0x1008) }
        try linear.write([0xCC], at: 0x1008, requireWritable: false)
        #expect(try memory.load(UInt8.self, at: GuestAddress(0x7008)) == 0xCC)
    }

    @Test func lengthsAndWrapAroundAreChecked() throws {
        let linear = LinearMemory(context: FakeCPU(), memory: try makeMemory())
        #expect(throws: LinearMemoryError.invalidLength(0)) { try linear.read(at: 0, count: 0) }
        #expect(throws: LinearMemoryError.invalidLength(4097)) { try linear.read(at: 0, count: 4097) }
        #expect(throws: LinearMemoryError.invalidLength(-1)) { try linear.readPrefix(at: 0, upTo: -1) }
        #expect(throws: LinearMemoryError.addressOverflow(linearAddress: UInt64.max - 1, length: 4)) {
            try linear.read(at: UInt64.max - 1, count: 4)
        }
    }

    @Test func translationFailuresAreTyped() throws {
        let cpu = FakeCPU()
        cpu.translateFails = true
        let linear = LinearMemory(context: cpu, memory: try makeMemory())
        #expect(
            throws: LinearMemoryError.translationFailed(
                linearAddress: 0x40, reason: "KVM_TRANSLATE failed: Invalid argument")
        ) {
            try linear.read(at: 0x40, count: 1)
        }
    }

    @Test func readPrefixStopsAtTheFirstUnmappedPage() throws {
        let cpu = FakeCPU()
        cpu.map(linear: 0x1000, physical: 0x4000)
        let memory = try makeMemory()
        try memory.write([0xAA, 0xBB, 0xCC], at: GuestAddress(0x4FFD))
        let linear = LinearMemory(context: cpu, memory: memory)
        #expect(try linear.readPrefix(at: 0x1FFD, upTo: 15) == [0xAA, 0xBB, 0xCC])
        #expect(try linear.readPrefix(at: 0x1FF0, upTo: 15).count == 15)
        #expect(throws: LinearMemoryError.notMapped(linearAddress: 0x2000)) {
            try linear.readPrefix(at: 0x2000, upTo: 15)
        }
        cpu.map(linear: 0x2000, physical: 0x9000)
        try memory.write([0x11, 0x22], at: GuestAddress(0x9000))
        #expect(try linear.readPrefix(at: 0x1FFD, upTo: 5) == [0xAA, 0xBB, 0xCC, 0x11, 0x22])
    }
}
