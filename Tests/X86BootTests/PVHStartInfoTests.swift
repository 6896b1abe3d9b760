import GuestMemory
import Testing

@testable import X86Boot

/// Layout from xen/include/public/arch-x86/hvm/start_info.h (also Linux
/// include/xen/interface/hvm/start_info.h): magic, version, flags, nr_modules (u32), modlist_paddr,
/// cmdline_paddr, rsdp_paddr, memmap_paddr (u64), memmap_entries, reserved (u32) = 56 bytes.
@Suite struct PVHStartInfoTests {
    let memoryMap = [
        E820Entry(address: 0, size: 0x9FC00, kind: .ram),
        E820Entry(address: 0x9FC00, size: 0x60400, kind: .reserved),
    ]

    @Test func startInfoLayout() {
        let info = PVHStartInfo(
            commandLine: 0x20000, rsdp: 0xE0000, initrd: (0x0FF0_0000, 0x1234), memoryMap: memoryMap)
        let bytes = info.startInfoBytes(moduleList: 0x6040, memoryMapAddress: 0x6080)
        #expect(bytes.count == 56)
        #expect(bytes.load(UInt32.self, at: 0) == 0x336E_C578)
        #expect(bytes.load(UInt32.self, at: 4) == 1)
        #expect(bytes.load(UInt32.self, at: 8) == 0)
        #expect(bytes.load(UInt32.self, at: 12) == 1)
        #expect(bytes.load(UInt64.self, at: 16) == 0x6040)
        #expect(bytes.load(UInt64.self, at: 24) == 0x20000)
        #expect(bytes.load(UInt64.self, at: 32) == 0xE0000)
        #expect(bytes.load(UInt64.self, at: 40) == 0x6080)
        #expect(bytes.load(UInt32.self, at: 48) == 2)
        #expect(bytes.load(UInt32.self, at: 52) == 0)
    }

    @Test func moduleAndMemoryMapEntries() {
        let info = PVHStartInfo(
            commandLine: 0x20000, rsdp: 0xE0000, initrd: (0x0FF0_0000, 0x1234), memoryMap: memoryMap)
        let module = info.moduleListBytes()
        #expect(module.count == 32)
        #expect(module.load(UInt64.self, at: 0) == 0x0FF0_0000)
        #expect(module.load(UInt64.self, at: 8) == 0x1234)
        #expect(module.load(UInt64.self, at: 16) == 0)  // no module command line
        #expect(module.load(UInt64.self, at: 24) == 0)
        let map = info.memoryMapBytes()
        #expect(map.count == 48)
        #expect(map.load(UInt64.self, at: 24) == 0x9FC00)
        #expect(map.load(UInt64.self, at: 32) == 0x60400)
        #expect(map.load(UInt32.self, at: 40) == 2)
        #expect(map.load(UInt32.self, at: 44) == 0)
    }

    @Test func withoutInitrdThereAreNoModules() {
        let info = PVHStartInfo(commandLine: 0x20000, rsdp: 0xE0000, initrd: nil, memoryMap: memoryMap)
        let bytes = info.startInfoBytes(moduleList: 0x6040, memoryMapAddress: 0x6080)
        #expect(bytes.load(UInt32.self, at: 12) == 0)
        #expect(bytes.load(UInt64.self, at: 16) == 0)
        #expect(info.moduleListBytes().isEmpty)
    }

    @Test func layoutAreasDoNotOverlap() {
        #expect(BootLayout.pvhStartInfo.rawValue + UInt64(PVHStartInfo.size) <= BootLayout.pvhModuleList.rawValue)
        #expect(
            BootLayout.pvhModuleList.rawValue + UInt64(PVHStartInfo.moduleEntrySize) <= BootLayout.pvhMemoryMap.rawValue
        )
        #expect(
            BootLayout.pvhMemoryMap.rawValue + UInt64(BootLayout.pvhMemoryMapCapacity * PVHStartInfo.memoryMapEntrySize)
                <= BootLayout.bootParams.rawValue)
    }
}
