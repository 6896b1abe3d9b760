/// Architectural numbers shared by the boot code, the instruction completer and the VMM (Intel SDM Vol. 3A
/// and 4): one definition of each bit.
public enum X86 {
    /// Exception vectors (SDM Vol. 3A §6.3.1, Table 6-1).
    public enum Vector {
        public static let deviceNotAvailable: UInt8 = 7  // #NM
        public static let breakpoint: UInt8 = 3  // #BP
        public static let invalidOpcode: UInt8 = 6  // #UD
        public static let generalProtection: UInt8 = 13  // #GP
        public static let pageFault: UInt8 = 14  // #PF
        public static let floatingPointError: UInt8 = 16  // #MF
    }

    /// Model-specific registers (SDM Vol. 4 Table 2-2).
    public enum MSR {
        /// IA32_STAR: SYSCALL CS in bits 47:32, SYSRET CS in 63:48.
        public static let star: UInt32 = 0xC000_0081
        /// IA32_LSTAR: the 64-bit SYSCALL entry point.
        public static let lstar: UInt32 = 0xC000_0082
        /// IA32_KERNEL_GS_BASE: the value SWAPGS exchanges with the GS base.
        public static let kernelGSBase: UInt32 = 0xC000_0102
        /// IA32_SYSCALL_MASK: RFLAGS bits SYSCALL clears.
        public static let syscallMask: UInt32 = 0xC000_0084
        /// IA32_FS_BASE and IA32_GS_BASE: the live segment bases.
        public static let fsBase: UInt32 = 0xC000_0100
        public static let gsBase: UInt32 = 0xC000_0101
    }

    /// RFLAGS bits (SDM Vol. 1 §3.4.3).
    public enum Flags {
        public static let carry: UInt64 = 1 << 0
        public static let reserved1: UInt64 = 1 << 1
        public static let trap: UInt64 = 1 << 8
        public static let interrupt: UInt64 = 1 << 9
        public static let direction: UInt64 = 1 << 10
        public static let resume: UInt64 = 1 << 16
    }

    /// Control-register and EFER bits (SDM Vol. 3A §2.5, §2.2.1).
    public enum Control {
        public static let cr0ProtectionEnable: UInt64 = 1 << 0
        public static let cr0MonitorCoprocessor: UInt64 = 1 << 1
        public static let cr0Emulation: UInt64 = 1 << 2
        public static let cr0TaskSwitched: UInt64 = 1 << 3
        public static let cr0ExtensionType: UInt64 = 1 << 4
        public static let cr0NumericError: UInt64 = 1 << 5
        public static let cr0WriteProtect: UInt64 = 1 << 16
        public static let cr0Paging: UInt64 = 1 << 31
        public static let cr4PhysicalAddressExtension: UInt64 = 1 << 5
        public static let cr4OSFXSR: UInt64 = 1 << 9
        public static let cr4OSXSAVE: UInt64 = 1 << 18
        public static let cr4FiveLevelPaging: UInt64 = 1 << 12
        public static let eferLongModeEnable: UInt64 = 1 << 8
        public static let eferLongModeActive: UInt64 = 1 << 10
    }

    /// The longest legal instruction (SDM Vol. 2A §2.3.11).
    public static let maximumInstructionLength = 15
}
