import KVM
import Testing

@testable import X86Boot

@Suite struct CPUIDBuilderTests {
    static let significant = CPUIDEntry.significantIndex

    /// A KVM_GET_SUPPORTED_CPUID-like list for an AMD host ("AuthenticAMD").
    static let amd: [CPUIDEntry] = [
        CPUIDEntry(function: 0, eax: 0x10, ebx: 0x6874_7541, ecx: 0x444D_4163, edx: 0x6974_6E65),
        CPUIDEntry(function: 1, eax: 0x00A0_0F11, ebx: 0x0000_0800, ecx: 0x7ED8_320B, edx: 0x178B_FBFF),
        CPUIDEntry(function: 6, eax: 0x4, ecx: 0x1),
        CPUIDEntry(function: 7, index: 0, flags: significant, ebx: 0x219C_97A9 | (1 << 20), ecx: 1 << 22),
        CPUIDEntry(function: 0xA, eax: 0x0703_0002),
        CPUIDEntry(function: 0xB, index: 0, flags: significant, eax: 1, ebx: 2, ecx: 0x100, edx: 0),
        CPUIDEntry(function: 0xB, index: 1, flags: significant, eax: 7, ebx: 64, ecx: 0x201, edx: 0),
        CPUIDEntry(function: 0xD, index: 0, flags: significant, eax: 0x7, ebx: 0x340, ecx: 0x340),
        CPUIDEntry(function: 0x4000_0000, eax: 0x4000_0001, ebx: 0x4B4D_564B, ecx: 0x564B_4D56, edx: 0x4D),
        CPUIDEntry(function: 0x4000_0001, eax: 0x0100_7AFB),
        CPUIDEntry(function: 0x8000_0000, eax: 0x8000_0021, ebx: 0x6874_7541, ecx: 0x444D_4163, edx: 0x6974_6E65),
        CPUIDEntry(function: 0x8000_0001, ecx: 0x75C2_37FF, edx: 0x2FD3_FBFF),
        CPUIDEntry(function: 0x8000_0008, eax: 0x3030, ecx: 0x0001_703F),
        CPUIDEntry(function: 0x8000_001E, eax: 0x7, ebx: 0x0000_0103, ecx: 0x0000_0000),
    ]

    /// The same idea for an Intel host ("GenuineIntel"), with deterministic cache parameters in leaf 4.
    static let intel: [CPUIDEntry] = [
        CPUIDEntry(function: 0, eax: 0x1F, ebx: 0x756E_6547, ecx: 0x6C65_746E, edx: 0x4965_6E69),
        CPUIDEntry(function: 1, eax: 0x0009_06EA, ebx: 0x0010_0800, ecx: 0xF7FA_3223, edx: 0x0F8B_FBFF),
        CPUIDEntry(function: 4, index: 0, flags: significant, eax: 0x1C00_4121, ebx: 0x01C0_003F),  // L1d
        CPUIDEntry(function: 4, index: 1, flags: significant, eax: 0x1C00_4122),  // L1i
        CPUIDEntry(function: 4, index: 2, flags: significant, eax: 0x1C00_4143),  // L2
        CPUIDEntry(function: 4, index: 3, flags: significant, eax: 0x1C03_C163),  // L3, shared
        CPUIDEntry(function: 4, index: 4, flags: significant, eax: 0),  // no more caches
        CPUIDEntry(function: 0xB, index: 0, flags: significant, eax: 1, ebx: 2, ecx: 0x100),
        CPUIDEntry(function: 0x1F, index: 0, flags: significant, eax: 1, ebx: 2, ecx: 0x100),
        CPUIDEntry(function: 0x8000_0001, ecx: 0x121, edx: 0x2C10_0800),
        CPUIDEntry(function: 0x8000_0008, eax: 0x3027, ecx: 0),
    ]

    static func leaf(_ entries: [CPUIDEntry], _ function: UInt32, _ index: UInt32 = 0) -> CPUIDEntry? {
        entries.first { $0.function == function && $0.index == index }
    }

    @Test func singleVCPU() throws {
        let builder = try CPUIDBuilder(supported: Self.amd, vcpuCount: 1)
        let entries = try builder.entries(forVCPU: 0)
        let leaf1 = try #require(Self.leaf(entries, 1))
        #expect(leaf1.ebx >> 24 == 0)
        #expect((leaf1.ebx >> 16) & 0xFF == 1)
        #expect(leaf1.ebx & 0xFFFF == 0x0800)  // CLFLUSH size kept
        #expect(leaf1.ecx & (1 << 31) != 0)  // hypervisor
        #expect(leaf1.ecx & (1 << 24) == 0)  // no TSC deadline unless asked
        #expect(leaf1.edx & (1 << 28) == 0)  // HTT off for one CPU
        let core = try #require(Self.leaf(entries, 0xB, 1))
        #expect(core.eax == 0 && core.ebx == 1 && core.ecx == 0x201)
        #expect(try #require(Self.leaf(entries, 0x8000_0008)).ecx & 0xF0FF == 0)
        #expect(try #require(Self.leaf(entries, 0x8000_0001)).ecx & 0x2 == 0)  // CmpLegacy off
    }

    @Test func twoVCPUTopology() throws {
        let builder = try CPUIDBuilder(supported: Self.amd, vcpuCount: 2, tscDeadlineTimer: true)
        for index in 0..<2 {
            let entries = try builder.entries(forVCPU: index)
            let leaf1 = try #require(Self.leaf(entries, 1))
            #expect(leaf1.ebx >> 24 == UInt32(index))
            #expect((leaf1.ebx >> 16) & 0xFF == 2)
            #expect(leaf1.ecx & (1 << 24) != 0)
            #expect(leaf1.edx & (1 << 28) != 0)

            let topology = entries.filter { $0.function == 0xB }
            #expect(topology.map(\.index) == [0, 1, 2])
            #expect(topology.allSatisfy { $0.flags == CPUIDEntry.significantIndex && $0.edx == UInt32(index) })
            #expect(topology[0].eax == 0 && topology[0].ebx == 1 && topology[0].ecx == 0x100)  // SMT: 1 thread
            #expect(topology[1].eax == 1 && topology[1].ebx == 2 && topology[1].ecx == 0x201)  // core: 2 cores
            #expect(topology[2].eax == 0 && topology[2].ebx == 0 && topology[2].ecx == 2)  // end of levels

            #expect(try #require(Self.leaf(entries, 0x8000_0001)).ecx & 0x2 != 0)  // CmpLegacy
            let sizes = try #require(Self.leaf(entries, 0x8000_0008))
            #expect(sizes.ecx & 0xFF == 1)  // NC = 2 − 1
            #expect((sizes.ecx >> 12) & 0xF == 1)
            #expect(sizes.ecx & 0xFFFF_0000 == 0x0001_0000)  // other bits kept
            let amdTopology = try #require(Self.leaf(entries, 0x8000_001E))
            #expect(amdTopology.eax == UInt32(index) && amdTopology.ebx == UInt32(index) && amdTopology.ecx == 0)
        }
    }

    @Test func hidesPowerManagementAndPMUAndKeepsKVMLeaves() throws {
        let entries = try CPUIDBuilder(supported: Self.amd, vcpuCount: 2).entries(forVCPU: 1)
        for function: UInt32 in [6, 0xA] {
            let leaf = try #require(Self.leaf(entries, function))
            #expect(leaf.eax == 0 && leaf.ebx == 0 && leaf.ecx == 0 && leaf.edx == 0)
        }
        #expect(Self.leaf(entries, 0x4000_0000) == Self.leaf(Self.amd, 0x4000_0000))
        #expect(Self.leaf(entries, 0x4000_0001) == Self.leaf(Self.amd, 0x4000_0001))
        #expect(Self.leaf(entries, 0xD) == Self.leaf(Self.amd, 0xD))
        // "KVMKVMKVM\0\0\0" survives.
        let kvm = try #require(Self.leaf(entries, 0x4000_0000))
        var signature: [UInt8] = []
        for register in [kvm.ebx, kvm.ecx, kvm.edx] {
            for shift in stride(from: 0, to: 32, by: 8) {
                signature.append(UInt8(truncatingIfNeeded: register >> shift))
            }
        }
        #expect(signature == Array("KVMKVMKVM".utf8) + [0, 0, 0])
        #expect(entries.count == Self.amd.count + 1)  // leaf 0xB grew from two subleaves to three
    }

    @Test func intelCacheLeafAndTopology() throws {
        let builder = try CPUIDBuilder(supported: Self.intel, vcpuCount: 2)
        let entries = try builder.entries(forVCPU: 1)
        for subleaf: UInt32 in 0..<4 {
            let leaf = try #require(Self.leaf(entries, 4, subleaf))
            #expect(leaf.eax >> 26 == 1, "cores − 1 in subleaf \(subleaf)")
            let sharing = (leaf.eax >> 14) & 0xFFF
            #expect(sharing == (subleaf == 3 ? 1 : 0))
            #expect(leaf.eax & 0x3FFF == Self.leaf(Self.intel, 4, subleaf).map { $0.eax & 0x3FFF })
        }
        #expect(try #require(Self.leaf(entries, 4, 4)).eax == 0)
        #expect(try #require(Self.leaf(entries, 4, 0)).ebx == 0x01C0_003F)
        #expect(entries.filter { $0.function == 0x1F }.count == 3)
        #expect(entries.filter { $0.function == 0xB }.count == 3)
        // AMD-only leaves are left alone on Intel.
        #expect(Self.leaf(entries, 0x8000_0001) == Self.leaf(Self.intel, 0x8000_0001))
        #expect(Self.leaf(entries, 0x8000_0008) == Self.leaf(Self.intel, 0x8000_0008))
    }

    @Test func hidesNamedFeatures() throws {
        let hidden = try ["xsave", "OSXSAVE", "smap", "rdpid", "rdtscp"].map { try #require(CPUIDFeature.named($0)) }
        let builder = try CPUIDBuilder(supported: Self.amd, vcpuCount: 1, hiddenFeatures: hidden)
        let entries = try builder.entries(forVCPU: 0)
        let leaf1 = try #require(Self.leaf(entries, 1))
        #expect(leaf1.ecx & (1 << 26) == 0)
        #expect(leaf1.ecx & (1 << 27) == 0)
        #expect(leaf1.ecx & (1 << 31) != 0)
        let leaf7 = try #require(Self.leaf(entries, 7))
        #expect(leaf7.ebx & (1 << 20) == 0)
        #expect(leaf7.ebx & 1 == 1)  // fsgsbase untouched
        #expect(leaf7.ecx & (1 << 22) == 0)
        #expect(try #require(Self.leaf(entries, 0x8000_0001)).edx & (1 << 27) == 0)
        #expect(CPUIDFeature.named("no-such-feature") == nil)
    }

    @Test func rejectsBadCounts() throws {
        #expect(throws: BootError.self) { try CPUIDBuilder(supported: Self.amd, vcpuCount: 0) }
        #expect(throws: BootError.self) { try CPUIDBuilder(supported: Self.amd, vcpuCount: 255) }
        let builder = try CPUIDBuilder(supported: Self.amd, vcpuCount: 2)
        #expect(throws: BootError.self) { try builder.entries(forVCPU: 2) }
        #expect(throws: BootError.self) { try builder.entries(forVCPU: -1) }
    }
}
