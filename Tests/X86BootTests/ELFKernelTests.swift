import GuestMemory
import Testing

@testable import X86Boot

@Suite struct ELFKernelTests {
    @Test func parsesSegmentsAndPVHNote() throws {
        let elf = try ELFKernel(parsing: SyntheticELF().bytes)
        #expect(elf.pvhEntry == 0x100_0040)
        #expect(elf.segments.count == 2)
        #expect(elf.segments[0].physicalAddress == 0x100_0000)
        #expect(elf.segments[0].fileSize == 0x3000)
        #expect(elf.segments[0].memorySize == 0x5000)
        #expect(elf.physicalRange == 0x100_0000..<0x100_A000)
    }

    @Test func acceptsFourBytePVHDescriptor() throws {
        var fixture = SyntheticELF()
        fixture.pvhDescriptorSize = 4
        #expect(try ELFKernel(parsing: fixture.bytes).pvhEntry == 0x100_0040)
    }

    @Test func withoutNoteHasNoPVHEntry() throws {
        var fixture = SyntheticELF()
        fixture.pvhEntry = nil
        #expect(try ELFKernel(parsing: fixture.bytes).pvhEntry == nil)
    }

    @Test func loaderRejectsELFWithoutNoteWithAdvice() throws {
        var fixture = SyntheticELF()
        fixture.pvhEntry = nil
        let memory = try GuestMemory(size: 64 << 20)
        let error = #expect(throws: BootError.self) {
            try LinuxLoader.load(
                kernel: fixture.bytes, initrd: nil, commandLine: "", rsdpAddress: GuestAddress(0xE0000), into: memory)
        }
        #expect(error == .noPVHEntry)
        #expect(
            error?.description
                == "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): use a bzImage or a kernel built "
                + "with CONFIG_PVH")
    }

    @Test func rejectsEntryOutsideSegments() {
        var fixture = SyntheticELF()
        fixture.pvhEntry = 0x50_0000
        #expect(throws: BootError.self) { try ELFKernel(parsing: fixture.bytes) }
    }

    @Test func rejectsEntryAbove4GiB() {
        var fixture = SyntheticELF()
        fixture.pvhEntry = 0x1_0000_0000
        #expect(throws: BootError.invalidELF("PVH entry 0x100000000 is above 4 GiB")) {
            try ELFKernel(parsing: fixture.bytes)
        }
    }

    @Test(arguments: [0, 3, 4, 20, 63, 64, 100, 64 + 56 * 3 - 1, 200, 400, 0x3000])
    func truncatedFilesAreRejected(length: Int) {
        let bytes = SyntheticELF().bytes
        #expect(length < bytes.count)
        #expect(throws: BootError.self) { try ELFKernel(parsing: Array(bytes.prefix(length))) }
    }

    @Test func everyTruncationIsRejectedOrStillConsistent() {
        // A prefix either fails cleanly or (never, here) parses; no prefix may trap.
        let bytes = SyntheticELF().bytes
        for length in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: BootError.self) { try ELFKernel(parsing: Array(bytes.prefix(length))) }
        }
    }

    @Test func rejectsBadIdentification() {
        var bytes = SyntheticELF().bytes
        bytes[1] = 0x46
        #expect(throws: BootError.invalidELF("bad magic")) { try ELFKernel(parsing: bytes) }
        var fixture = SyntheticELF()
        fixture.elfClass = 1
        #expect(throws: BootError.self) { try ELFKernel(parsing: fixture.bytes) }
        fixture = SyntheticELF()
        fixture.machine = 3  // EM_386
        #expect(throws: BootError.invalidELF("not an x86-64 ELF (e_machine 3)")) {
            try ELFKernel(parsing: fixture.bytes)
        }
    }

    @Test func rejectsHugeProgramHeaderCount() {
        var bytes = SyntheticELF().bytes
        bytes.store(UInt16(0xFFFF), at: 0x38)
        #expect(throws: BootError.invalidELF("65535 program headers (at most 128)")) { try ELFKernel(parsing: bytes) }
        bytes.store(UInt16(3), at: 0x38)
        bytes.store(UInt64(bytes.count - 100), at: 0x20)  // the table runs past the end of the file
        #expect(throws: BootError.self) { try ELFKernel(parsing: bytes) }
    }

    @Test func rejectsProgramHeaderOffsetOverflow() {
        var bytes = SyntheticELF().bytes
        bytes.store(UInt64.max - 8, at: 0x20)
        #expect(throws: BootError.self) { try ELFKernel(parsing: bytes) }
    }

    @Test func rejectsSegmentPastEndOfFile() {
        var bytes = SyntheticELF().bytes
        let header = SyntheticELF.programHeaderOffset(1)
        bytes.store(UInt64(bytes.count), at: header + 32)  // p_filesz larger than what follows p_offset
        #expect(throws: BootError.self) { try ELFKernel(parsing: bytes) }
        bytes = SyntheticELF().bytes
        bytes.store(UInt64.max, at: header + 8)  // p_offset + p_filesz overflows
        #expect(throws: BootError.self) { try ELFKernel(parsing: bytes) }
    }

    @Test func rejectsFileSizeAboveMemorySize() {
        var bytes = SyntheticELF().bytes
        bytes.store(UInt64(0x10), at: SyntheticELF.programHeaderOffset(1) + 40)
        #expect(throws: BootError.self) { try ELFKernel(parsing: bytes) }
    }

    @Test func rejectsPhysicalAddressOverflow() {
        var bytes = SyntheticELF().bytes
        bytes.store(UInt64.max - 0x1000, at: SyntheticELF.programHeaderOffset(1) + 24)
        #expect(throws: BootError.invalidELF("segment 1: p_paddr + p_memsz overflows")) {
            try ELFKernel(parsing: bytes)
        }
    }

    @Test func rejectsNoLoadSegment() {
        var fixture = SyntheticELF()
        fixture.loads = []
        fixture.pvhEntry = nil
        #expect(throws: BootError.invalidELF("no PT_LOAD segment")) { try ELFKernel(parsing: fixture.bytes) }
    }

    @Test func rejectsNoteRunningPastSegment() {
        var bytes = SyntheticELF().bytes
        let notesOffset = SyntheticELF.programHeaderOffset(3)
        bytes.store(UInt32(0x7FFF_FFFF), at: notesOffset + 4)  // first note's descsz
        #expect(throws: BootError.self) { try ELFKernel(parsing: bytes) }
    }

    @Test func loadCopiesSegmentsAndZeroFillsTheRest() throws {
        let fixture = SyntheticELF()
        let elf = try ELFKernel(parsing: fixture.bytes)
        let memory = try GuestMemory(size: 64 << 20)
        try memory.fill(0xAA, at: GuestAddress(0x100_0000), length: 0x20000)
        let range = try elf.load(into: memory)
        #expect(range == 0x100_0000..<0x100_A000)
        #expect(try memory.bytes(0x100_0000, 0x3000) == fixture.loads[0].data)
        #expect(try memory.bytes(0x100_3000, 0x2000).allSatisfy { $0 == 0 })
        #expect(try memory.bytes(0x100_5000, 4) == [0xAA, 0xAA, 0xAA, 0xAA])  // between segments: untouched
        #expect(try memory.bytes(0x100_8000, 255) == fixture.loads[1].data)
        #expect(try memory.bytes(0x100_80FF, 0x2000 - 255).allSatisfy { $0 == 0 })
    }

    @Test func loadRejectsSegmentsOutsideRAM() throws {
        let elf = try ELFKernel(parsing: SyntheticELF().bytes)
        let memory = try GuestMemory(size: 16 << 20)
        #expect(throws: BootError.insufficientMemory(what: "the kernel", needed: 0x100_A000, available: 16 << 20)) {
            try elf.load(into: memory)
        }
        var fixture = SyntheticELF()
        fixture.loads[0].physicalAddress = 0x8000
        fixture.pvhEntry = 0x100_8000
        let low = try ELFKernel(parsing: fixture.bytes)
        #expect(throws: BootError.self) { try low.load(into: try GuestMemory(size: 64 << 20)) }
    }
}
