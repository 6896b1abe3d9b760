/// One CPUID feature bit, by leaf, subleaf, register and bit (Intel SDM Vol. 2A "CPUID", AMD APM Vol. 3
/// Appendix E). Named so a user can hide features the host cannot run (e.g. `xsave` where KVM's emulator
/// lacks XSAVE), mirroring Linux's `clearcpuid=` names.
public struct CPUIDFeature: Hashable, Sendable, CustomStringConvertible {
    public enum Register: Hashable, Sendable { case eax, ebx, ecx, edx }

    public let name: String
    public let function: UInt32
    public let index: UInt32
    public let register: Register
    public let bit: UInt8

    public init(name: String, function: UInt32, index: UInt32 = 0, register: Register, bit: UInt8) {
        self.name = name
        self.function = function
        self.index = index
        self.register = register
        self.bit = bit & 31
    }

    public var description: String { name }

    public static let cx16 = CPUIDFeature(name: "cx16", function: 1, register: .ecx, bit: 13)
    public static let x2apic = CPUIDFeature(name: "x2apic", function: 1, register: .ecx, bit: 21)
    public static let popcnt = CPUIDFeature(name: "popcnt", function: 1, register: .ecx, bit: 23)
    public static let tscDeadline = CPUIDFeature(name: "tsc_deadline_timer", function: 1, register: .ecx, bit: 24)
    public static let xsave = CPUIDFeature(name: "xsave", function: 1, register: .ecx, bit: 26)
    public static let osxsave = CPUIDFeature(name: "osxsave", function: 1, register: .ecx, bit: 27)
    public static let avx = CPUIDFeature(name: "avx", function: 1, register: .ecx, bit: 28)
    public static let rdrand = CPUIDFeature(name: "rdrand", function: 1, register: .ecx, bit: 30)
    public static let hypervisor = CPUIDFeature(name: "hypervisor", function: 1, register: .ecx, bit: 31)
    public static let fsgsbase = CPUIDFeature(name: "fsgsbase", function: 7, register: .ebx, bit: 0)
    public static let avx2 = CPUIDFeature(name: "avx2", function: 7, register: .ebx, bit: 5)
    public static let smep = CPUIDFeature(name: "smep", function: 7, register: .ebx, bit: 7)
    public static let invpcid = CPUIDFeature(name: "invpcid", function: 7, register: .ebx, bit: 10)
    public static let rdseed = CPUIDFeature(name: "rdseed", function: 7, register: .ebx, bit: 18)
    public static let smap = CPUIDFeature(name: "smap", function: 7, register: .ebx, bit: 20)
    public static let rdpid = CPUIDFeature(name: "rdpid", function: 7, register: .ecx, bit: 22)
    public static let rdtscp = CPUIDFeature(name: "rdtscp", function: 0x8000_0001, register: .edx, bit: 27)

    /// Every feature with a name, for command-line parsing.
    public static let known: [CPUIDFeature] = [
        cx16, x2apic, popcnt, tscDeadline, xsave, osxsave, avx, rdrand, hypervisor, fsgsbase, avx2, smep,
        invpcid, rdseed, smap, rdpid, rdtscp,
    ]

    /// The feature called `name` (case-insensitive), or nil.
    public static func named(_ name: String) -> CPUIDFeature? {
        let wanted = name.lowercased()
        return known.first { $0.name == wanted }
    }
}
