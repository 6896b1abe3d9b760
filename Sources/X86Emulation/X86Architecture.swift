/// Architectural numbers the completer and the syscall converter use (Intel SDM Vol. 3A and 4).
enum X86 {
    /// Exception vectors (SDM Vol. 3A §6.3.1, Table 6-1).
    enum Vector {
        static let deviceNotAvailable: UInt8 = 7  // #NM
        static let breakpoint: UInt8 = 3  // #BP
        static let invalidOpcode: UInt8 = 6  // #UD
        static let generalProtection: UInt8 = 13  // #GP
        static let pageFault: UInt8 = 14  // #PF
        static let floatingPointError: UInt8 = 16  // #MF
    }

    /// Model-specific registers (SDM Vol. 4 Table 2-2).
    enum MSR {
        /// IA32_STAR: SYSCALL CS in bits 47:32, SYSRET CS in 63:48.
        static let star: UInt32 = 0xC000_0081
        /// IA32_LSTAR: the 64-bit SYSCALL entry point.
        static let lstar: UInt32 = 0xC000_0082
        /// IA32_KERNEL_GS_BASE: the value SWAPGS exchanges with the GS base.
        static let kernelGSBase: UInt32 = 0xC000_0102
        /// IA32_FS_BASE and IA32_GS_BASE: the live segment bases.
        static let fsBase: UInt32 = 0xC000_0100
        static let gsBase: UInt32 = 0xC000_0101
    }

    /// RFLAGS bits (SDM Vol. 1 §3.4.3).
    enum Flags {
        static let carry: UInt64 = 1 << 0
        static let reserved1: UInt64 = 1 << 1
        static let trap: UInt64 = 1 << 8
        static let interrupt: UInt64 = 1 << 9
        static let direction: UInt64 = 1 << 10
        static let resume: UInt64 = 1 << 16
    }

    /// Control-register and EFER bits (SDM Vol. 3A §2.5, §2.2.1).
    enum Control {
        static let cr0ProtectionEnable: UInt64 = 1 << 0
        static let cr0MonitorCoprocessor: UInt64 = 1 << 1
        static let cr0Emulation: UInt64 = 1 << 2
        static let cr0TaskSwitched: UInt64 = 1 << 3
        static let cr0NumericError: UInt64 = 1 << 5
        static let cr4OSFXSR: UInt64 = 1 << 9
        static let eferLongModeActive: UInt64 = 1 << 10
    }

    /// The longest legal instruction (SDM Vol. 2A §2.3.11).
    static let maximumInstructionLength = 15
}
