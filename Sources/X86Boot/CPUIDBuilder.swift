import KVM

/// Builds each vCPU's CPUID table from KVM_GET_SUPPORTED_CPUID: a single package of `vcpuCount` cores
/// with one thread each, APIC id = vCPU index, the hypervisor bit set, and power-management and PMU
/// leaves hidden (we emulate neither). Leaves we do not touch — including KVM's 0x4000_0000 signature
/// ("KVMKVMKVM\0\0\0") and feature leaves — pass through as KVM reported them.
public struct CPUIDBuilder: Sendable {
    public let supported: [CPUIDEntry]
    public let vcpuCount: Int
    /// Advertise the TSC-deadline timer (leaf 1 ECX[24]); only when the in-kernel LAPIC implements it
    /// (KVM_CAP_TSC_DEADLINE_TIMER).
    public let tscDeadlineTimer: Bool
    /// Feature bits cleared in every vCPU's table, after everything else.
    public let hiddenFeatures: [CPUIDFeature]

    enum Vendor { case intel, amd, other }

    // Leaf numbers (Intel SDM Vol. 2A Table 3-8; AMD APM Vol. 3 Appendix E).
    static let leafFeatures: UInt32 = 0x1
    static let leafCacheParameters: UInt32 = 0x4
    static let leafPowerManagement: UInt32 = 0x6
    static let leafPerformanceMonitoring: UInt32 = 0xA
    static let leafExtendedTopology: UInt32 = 0xB
    static let leafExtendedTopologyV2: UInt32 = 0x1F
    static let leafExtendedFeatures: UInt32 = 0x8000_0001
    static let leafAddressSizes: UInt32 = 0x8000_0008
    static let leafAMDTopology: UInt32 = 0x8000_001E

    // Leaf 1 bits.
    static let htt: UInt32 = 1 << 28
    static let hypervisorBit: UInt32 = 1 << 31
    static let tscDeadlineBit: UInt32 = 1 << 24
    /// Leaf 0x8000_0001 ECX[1] CmpLegacy: HTT/logical count describe cores, not threads (AMD).
    static let cmpLegacy: UInt32 = 1 << 1
    /// Leaf 0xB/0x1F ECX[15:8] level types.
    static let levelSMT: UInt32 = 1
    static let levelCore: UInt32 = 2

    public init(
        supported: [CPUIDEntry], vcpuCount: Int, tscDeadlineTimer: Bool = false, hiddenFeatures: [CPUIDFeature] = []
    ) throws {
        guard (1...BootLayout.maxVCPUCount).contains(vcpuCount) else {
            throw BootError.invalidVCPUCount(vcpuCount, maximum: BootLayout.maxVCPUCount)
        }
        self.supported = supported
        self.vcpuCount = vcpuCount
        self.tscDeadlineTimer = tscDeadlineTimer
        self.hiddenFeatures = hiddenFeatures
    }

    /// Vendor from leaf 0's EBX/EDX/ECX ("GenuineIntel", "AuthenticAMD", "HygonGenuine").
    var vendor: Vendor {
        guard let leaf0 = supported.first(where: { $0.function == 0 }) else { return .other }
        switch (leaf0.ebx, leaf0.edx, leaf0.ecx) {
        case (0x756E_6547, 0x4965_6E69, 0x6C65_746E): return .intel
        case (0x6874_7541, 0x6974_6E65, 0x444D_4163), (0x6F67_7948, 0x6E65_476E, 0x656E_6975): return .amd
        default: return .other
        }
    }

    /// Bits needed to number `vcpuCount` cores: ceil(log2(n)).
    var coreIDBits: UInt32 {
        var bits: UInt32 = 0
        while (1 << bits) < vcpuCount { bits += 1 }
        return bits
    }

    /// The table for vCPU `index` (its APIC id).
    public func entries(forVCPU index: Int) throws -> [CPUIDEntry] {
        guard (0..<vcpuCount).contains(index) else {
            throw BootError.invalidVCPUCount(index + 1, maximum: vcpuCount)
        }
        let apicID = UInt32(index)
        let count = UInt32(vcpuCount)
        let vendor = self.vendor
        var result: [CPUIDEntry] = []
        result.reserveCapacity(supported.count + 6)
        var emittedTopology: Set<UInt32> = []
        for var entry in supported {
            switch entry.function {
            case Self.leafFeatures:
                entry.ebx = (entry.ebx & 0x0000_FFFF) | (min(count, 255) << 16) | (apicID << 24)
                entry.ecx |= Self.hypervisorBit
                entry.ecx = tscDeadlineTimer ? entry.ecx | Self.tscDeadlineBit : entry.ecx & ~Self.tscDeadlineBit
                entry.edx = count > 1 ? entry.edx | Self.htt : entry.edx & ~Self.htt
            case Self.leafCacheParameters where vendor == .intel:
                // EAX[4:0] cache type 0 means "no more caches": leave that subleaf alone.
                if entry.eax & 0x1F != 0 {
                    let level = (entry.eax >> 5) & 0x7
                    let sharing = level >= 3 ? min(count - 1, 0xFFF) : 0
                    entry.eax = (entry.eax & 0x3FFF) | (min(count - 1, 63) << 26) | (sharing << 14)
                }
            case Self.leafPowerManagement, Self.leafPerformanceMonitoring:
                entry.eax = 0
                entry.ebx = 0
                entry.ecx = 0
                entry.edx = 0
            case Self.leafExtendedTopology, Self.leafExtendedTopologyV2:
                if emittedTopology.insert(entry.function).inserted {
                    result += topologyLeaf(entry.function, apicID: apicID)
                }
                continue
            case Self.leafExtendedFeatures where vendor == .amd:
                entry.ecx = count > 1 ? entry.ecx | Self.cmpLegacy : entry.ecx & ~Self.cmpLegacy
            case Self.leafAddressSizes where vendor == .amd:
                // ECX[7:0] NC = cores − 1, ECX[15:12] ApicIdCoreIdSize.
                entry.ecx = (entry.ecx & ~0xF0FF) | (count - 1) | (coreIDBits << 12)
            case Self.leafAMDTopology where vendor == .amd:
                entry.eax = apicID  // extended APIC id
                entry.ebx = apicID & 0xFF  // core (compute unit) id; one thread per core
                entry.ecx = 0  // node 0 of one node
                entry.edx = 0
            default:
                break
            }
            result.append(hidingFeatures(entry))
        }
        return result
    }

    /// Leaf 0xB or 0x1F (Intel SDM "Extended Topology Enumeration"): SMT level of one thread, core level
    /// of `vcpuCount` cores, then the invalid level that ends the list. EDX is the x2APIC id.
    func topologyLeaf(_ function: UInt32, apicID: UInt32) -> [CPUIDEntry] {
        let flags = CPUIDEntry.significantIndex
        return [
            CPUIDEntry(
                function: function, index: 0, flags: flags, eax: 0, ebx: 1, ecx: Self.levelSMT << 8, edx: apicID),
            CPUIDEntry(
                function: function, index: 1, flags: flags, eax: coreIDBits, ebx: UInt32(vcpuCount),
                ecx: (Self.levelCore << 8) | 1, edx: apicID),
            CPUIDEntry(function: function, index: 2, flags: flags, eax: 0, ebx: 0, ecx: 2, edx: apicID),
        ]
    }

    func hidingFeatures(_ entry: CPUIDEntry) -> CPUIDEntry {
        var entry = entry
        for feature in hiddenFeatures where feature.function == entry.function {
            let indexed = entry.flags & CPUIDEntry.significantIndex != 0
            guard !indexed || entry.index == feature.index else { continue }
            let mask = ~(UInt32(1) << feature.bit)
            switch feature.register {
            case .eax: entry.eax &= mask
            case .ebx: entry.ebx &= mask
            case .ecx: entry.ecx &= mask
            case .edx: entry.edx &= mask
            }
        }
        return entry
    }
}
