import GuestMemory
import Testing

@testable import X86Boot

/// Offsets checked against struct boot_params in linux asm/bootparam.h (offsetof, x86_64 headers of
/// Debian 12); the file's own comments give the same numbers.
@Suite struct BootParamsTests {
    @Test func offsetsMatchBootparamH() {
        #expect(BootParams.Offset.acpiRsdpAddr == 0x070)
        #expect(BootParams.Offset.extRamdiskImage == 0x0C0)
        #expect(BootParams.Offset.extRamdiskSize == 0x0C4)
        #expect(BootParams.Offset.extCmdLinePtr == 0x0C8)
        #expect(BootParams.Offset.e820Entries == 0x1E8)
        #expect(BootParams.Offset.hdr == 0x1F1)
        #expect(BootParams.Offset.typeOfLoader == 0x210)
        #expect(BootParams.Offset.loadflags == 0x211)
        #expect(BootParams.Offset.ramdiskImage == 0x218)
        #expect(BootParams.Offset.ramdiskSize == 0x21C)
        #expect(BootParams.Offset.heapEndPtr == 0x224)
        #expect(BootParams.Offset.cmdLinePtr == 0x228)
        #expect(BootParams.Offset.e820Table == 0x2D0)
        #expect(BootParams.size == 4096)
        #expect(BootParams.e820EntrySize == 20)
        // 128 entries end where _pad8 starts (0xCD0).
        #expect(BootParams.Offset.e820Table + E820Map.maxEntries * BootParams.e820EntrySize == 0xCD0)
        #expect(BzImage.Header.initrdAddrMax == 0x22C)
        #expect(BzImage.Header.kernelAlignment == 0x230)
        #expect(BzImage.Header.relocatableKernel == 0x234)
        #expect(BzImage.Header.xloadflags == 0x236)
        #expect(BzImage.Header.cmdlineSize == 0x238)
        #expect(BzImage.Header.prefAddress == 0x258)
        #expect(BzImage.Header.initSize == 0x260)
    }

    @Test func copiesHeaderAndSetsLoaderFields() throws {
        let image = try BzImage(parsing: SyntheticBzImage().bytes)
        var params = BootParams(setupHeader: image.setupHeader)
        params.setCommandLine(0x1_2002_0000)
        params.setRamdisk(address: 0x1_0F00_0000, size: 0x1_0000_1234)
        params.setACPIRoot(0xE0000)
        let memory = try GuestMemory(size: 256 << 20)
        try params.setMemoryMap(try E820Map.entries(for: memory))
        let bytes = params.bytes

        #expect(bytes.count == 4096)
        #expect(bytes[0x1F1] == 3)  // setup_sects copied
        #expect(bytes.load(UInt16.self, at: 0x1FE) == 0xAA55)
        #expect(bytes.load(UInt32.self, at: 0x202) == 0x5372_6448)
        #expect(bytes.load(UInt16.self, at: 0x206) == 0x020F)
        #expect(bytes.load(UInt32.self, at: 0x214) == 0x1234_5678)  // code32_start passed through
        #expect(bytes.load(UInt64.self, at: 0x258) == 0x100_0000)  // pref_address passed through
        #expect(bytes[0x26C] == 0)  // nothing past the header end
        #expect(bytes[0x210] == 0xFF)
        #expect(bytes[0x211] == 0x81)
        #expect(bytes.load(UInt16.self, at: 0x224) == 0xFE00)
        #expect(bytes.load(UInt32.self, at: 0x228) == 0x2002_0000)
        #expect(bytes.load(UInt32.self, at: 0x0C8) == 0x1)
        #expect(bytes.load(UInt32.self, at: 0x218) == 0x0F00_0000)
        #expect(bytes.load(UInt32.self, at: 0x0C0) == 0x1)
        #expect(bytes.load(UInt32.self, at: 0x21C) == 0x0000_1234)
        #expect(bytes.load(UInt32.self, at: 0x0C4) == 0x1)
        #expect(bytes.load(UInt64.self, at: 0x070) == 0xE0000)
        #expect(bytes[0x1E8] == 3)
        #expect(bytes.load(UInt64.self, at: 0x2D0) == 0)
        #expect(bytes.load(UInt64.self, at: 0x2D8) == 0x9FC00)
        #expect(bytes.load(UInt32.self, at: 0x2E0) == 1)
        #expect(bytes.load(UInt64.self, at: 0x2E4) == 0x9FC00)
        #expect(bytes.load(UInt32.self, at: 0x2F4) == 2)
        #expect(bytes.load(UInt64.self, at: 0x2F8) == 0x10_0000)
        #expect(bytes.load(UInt64.self, at: 0x300) == (256 << 20) - 0x10_0000)
        #expect(bytes.load(UInt32.self, at: 0x308) == 1)
        #expect(bytes[0x1EF] == 0)  // sentinel stays clear: we copied only the header
    }

    @Test func rejectsTooManyE820Entries() {
        var params = BootParams(setupHeader: [])
        let entries = Array(repeating: E820Entry(address: 0, size: 0x1000, kind: .ram), count: 129)
        #expect(throws: BootError.self) { try params.setMemoryMap(entries) }
    }
}
