import KVM

/// What the host's KVM can and cannot do, detected once per process. On hardware KVM every workaround is
/// off and costs nothing; on the software `kvm_pvm` module (see docs/decisions/0001-software-kvm.md) the
/// VMM completes instructions KVM's emulator gives up on, converts the broken `syscall` entry, and hides
/// CPU features from the guest kernel with command-line arguments because CPUID filtering does not reach
/// the guest there.
public struct HostProfile: Sendable, Equatable {
    /// /dev/kvm is kvm_pvm (software virtualization, no VT-x/AMD-V).
    public var isSoftwareKVM: Bool

    public init(isSoftwareKVM: Bool) {
        self.isSoftwareKVM = isSoftwareKVM
    }

    public static func detect() -> HostProfile {
        HostProfile(isSoftwareKVM: Hypervisor.isSoftwareKVM())
    }

    /// Complete instructions that fail emulation (int3, fnclex, ldmxcsr, …) in user space.
    public var completesInstructions: Bool { isSoftwareKVM }
    /// Trap LSTAR writes and patch the #PF entry so ring-3 `syscall` reaches the kernel.
    public var convertsSyscalls: Bool { isSoftwareKVM }

    /// Kernel arguments that keep a guest kernel off features this host cannot run.
    public var guestKernelArguments: [String] {
        guard isSoftwareKVM else { return [] }
        // XSAVE stays on: user space sees the host's AVX state in CPUID and XCR0 whatever the kernel is told,
        // so the kernel must switch that state between tasks. Its xsave/xrstor with interrupts off are
        // completed by the VMM in the standard form; xsavec/xsaves (the compacted form) are hidden.
        return [
            "nofsgsbase", "mitigations=off",
            "clearcpuid=cx16,popcnt,rdrand,rdseed,invpcid,rdpid,rdtscp,smap,xsavec,xsaves",
            "tsc=reliable",
        ]
    }
}
