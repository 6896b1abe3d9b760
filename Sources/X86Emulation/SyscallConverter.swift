import GuestMemory
import KVM
import Synchronization

/// Makes user-mode `syscall` work on a host whose `syscall` jumps to LSTAR without switching to CPL 0
/// (see HOST.md, kvm_pvm). The VMM alone does the conversion; the guest kernel file is untouched:
///
/// 1. When the guest writes IA32_LSTAR, `lstarWritten` remembers the entry (which must begin with
///    `swapgs`) and replaces the `cld` at the start of the guest's #PF handler with `int3`.
/// 2. The broken syscall's ring-3 fetch of the supervisor-only entry page-faults; the #PF handler runs with
///    interrupts off, so the `int3` there stops KVM's emulator with an emulation failure at that address.
/// 3. `handleBreakpoint` reads the CPU-pushed #PF frame. If the fault was the fetch of the syscall entry
///    from user mode, it finishes the `syscall` as the CPU should have (SDM Vol. 2B "SYSCALL"): CPL-0
///    CS/SS from IA32_STAR, the user RSP, and the entry's `swapgs`, resuming just past it. Otherwise it
///    performs the replaced `cld` and the guest's #PF handler runs on.
///
/// One instance serves all vCPUs of a VM.
public final class SyscallConverter: Sendable {
    /// What the converter knows about the guest; save it with a snapshot, the patch lives in guest RAM.
    public struct State: Equatable, Sendable, Codable {
        /// The LSTAR value: `entry_SYSCALL_64`.
        public var syscallEntry: UInt64?
        /// Bytes from the entry to just past its `swapgs` (3, or 7 after `endbr64`).
        public var resumeOffset: UInt64
        /// Linear address of the `int3` written over the #PF handler's `cld`.
        public var patchAddress: UInt64?

        public init(syscallEntry: UInt64? = nil, resumeOffset: UInt64 = 3, patchAddress: UInt64? = nil) {
            self.syscallEntry = syscallEntry
            self.resumeOffset = resumeOffset
            self.patchAddress = patchAddress
        }
    }

    private let state: Mutex<State>

    public init(state: State = State()) {
        self.state = Mutex(state)
    }

    public func save() -> State { state.withLock { $0 } }

    /// The linear address whose emulation failure `handleBreakpoint` owns, once patched.
    public var patchAddress: UInt64? { state.withLock { $0.patchAddress } }

    /// The remembered syscall entry (LSTAR), once verified.
    public var syscallEntry: UInt64? { state.withLock { $0.syscallEntry } }

    // MARK: Setup

    private static let endbr64: [UInt8] = [0xF3, 0x0F, 0x1E, 0xFA]
    private static let swapgs: [UInt8] = [0x0F, 0x01, 0xF8]
    /// What Linux's ASM_CLAC site holds: the alternatives' raw padding, the 3-byte NOP it is optimised to,
    /// or `clac` itself (arch/x86/include/asm/smap.h, idtentry in arch/x86/entry/entry_64.S).
    private static let clacSites: [[UInt8]] = [[0x90, 0x90, 0x90], [0x0F, 0x1F, 0x00], [0x0F, 0x01, 0xCA]]
    private static let cld: UInt8 = 0xFC
    private static let int3: UInt8 = 0xCC

    /// Call after the guest's write of IA32_LSTAR (0xC0000082) has been trapped; the VMM writes the MSR
    /// itself (KVM_SET_MSRS). Verifies the entry and patches the #PF handler; repeated calls (every vCPU
    /// writes LSTAR) verify again and patch only if the `cld` is back (e.g. after a guest reboot).
    /// Throws `SyscallConversionError`: the guest then runs on without user-mode syscalls.
    public func lstarWritten(_ value: UInt64, context: some CPUContext, memory: GuestMemory) throws {
        let linear = LinearMemory(context: context, memory: memory)
        let special = try context.specialRegisters()
        try state.withLock { state in
            do {
                state.resumeOffset = try Self.resumeOffset(entry: value, linear)
                state.syscallEntry = value
            } catch {
                state.syscallEntry = nil
                throw error
            }
            let handler = try Self.pageFaultHandler(special.idt, linear)
            let (site, alreadyPatched) = try Self.cldSite(handler: handler, linear)
            if alreadyPatched {
                // Our own int3; anything else there is the guest's and must not be taken over.
                guard state.patchAddress == site else { throw SyscallConversionError.foreignBreakpoint(address: site) }
                return
            }
            do throws(LinearMemoryError) { try linear.write([Self.int3], at: site, requireWritable: false) } catch {
                throw SyscallConversionError.patchFailed(address: site, error)
            }
            state.patchAddress = site
        }
    }

    /// The entry must be [endbr64] swapgs; returns the offset just past `swapgs`.
    private static func resumeOffset(entry: UInt64, _ linear: LinearMemory<some CPUContext>) throws -> UInt64 {
        let bytes: [UInt8]
        do { bytes = try linear.readPrefix(at: entry, upTo: endbr64.count + swapgs.count) } catch {
            throw SyscallConversionError.entryUnreadable(entry: entry, error)
        }
        var offset = 0
        if bytes.starts(with: endbr64) { offset = endbr64.count }
        guard bytes.dropFirst(offset).starts(with: swapgs) else {
            throw SyscallConversionError.entryWithoutSwapgs(entry: entry, bytes: bytes)
        }
        return UInt64(offset + swapgs.count)
    }

    /// The handler address in IDT gate 14 (SDM Vol. 3A §6.14.1, Figure 6-8: offset 15:0 at +0, 31:16 at
    /// +6, 63:32 at +8; P and type in the byte at +5).
    private static func pageFaultHandler(_ idt: DescriptorTable, _ linear: LinearMemory<some CPUContext>) throws
        -> UInt64
    {
        let gateSize = 16
        let gateOffset = Int(X86.Vector.pageFault) * gateSize
        guard Int(idt.limit) >= gateOffset + gateSize - 1 else {
            throw SyscallConversionError.idtTooSmall(limit: idt.limit)
        }
        let (address, overflow) = idt.base.addingReportingOverflow(UInt64(gateOffset))
        guard !overflow else {
            throw SyscallConversionError.idtUnreadable(
                base: idt.base, .addressOverflow(linearAddress: idt.base, length: gateOffset + gateSize))
        }
        let gate: [UInt8]
        do { gate = try linear.read(at: address, count: gateSize) } catch {
            throw SyscallConversionError.idtUnreadable(base: idt.base, error)
        }
        // Present (bit 7), 64-bit interrupt gate (type 0xE): the handler starts with IF = 0, so it is emulated.
        let attributes = gate[5]
        guard attributes & 0x80 != 0, attributes & 0x1F == 0x0E else {
            throw SyscallConversionError.pageFaultGateUnusable(attributes: attributes)
        }
        let low = UInt64(gate.littleEndian(UInt16.self, at: 0) ?? 0)
        let middle = UInt64(gate.littleEndian(UInt16.self, at: 6) ?? 0)
        let high = UInt64(gate.littleEndian(UInt32.self, at: 8) ?? 0)
        return low | middle << 16 | high << 32
    }

    /// The linear address of the handler's `cld`, and whether an `int3` is there already.
    private static func cldSite(handler: UInt64, _ linear: LinearMemory<some CPUContext>) throws
        -> (address: UInt64, patched: Bool)
    {
        let bytes: [UInt8]
        do { bytes = try linear.readPrefix(at: handler, upTo: endbr64.count + 3 + 1) } catch {
            throw SyscallConversionError.handlerUnreadable(handler: handler, error)
        }
        var offset = 0
        if bytes.starts(with: endbr64) { offset += endbr64.count }
        if clacSites.contains(where: { bytes.dropFirst(offset).starts(with: $0) }) { offset += 3 }
        guard offset < bytes.count, bytes[offset] == cld || bytes[offset] == int3 else {
            throw SyscallConversionError.handlerWithoutCld(handler: handler, bytes: bytes)
        }
        return (handler &+ UInt64(offset), bytes[offset] == int3)
    }

    // MARK: Conversion

    /// What `handleBreakpoint` did.
    public enum Breakpoint: Equatable, Sendable {
        /// RIP is not the patch address: complete the instruction as usual.
        case notOurs
        /// A user-mode `syscall` was finished; the vCPU runs on in the kernel's syscall entry.
        case convertedSyscall
        /// An ordinary page fault: the replaced `cld` was performed and the guest's handler runs on.
        case pageFault
    }

    /// Call on an emulation failure before the instruction completer. Unless the breakpoint is
    /// `.notOurs`, the vCPU state has been updated and the vCPU can run on.
    public func handleBreakpoint(context: some CPUContext, memory: GuestMemory) throws -> Breakpoint {
        let known = save()
        guard let patch = known.patchAddress else { return .notOurs }
        var registers = try context.registers()
        guard registers.rip == patch else { return .notOurs }

        // The frame the CPU pushed for #PF (SDM Vol. 3A §6.14.2, Figure 6-9): error code, RIP, CS, RFLAGS,
        // RSP, SS — six quadwords at RSP.
        let linear = LinearMemory(context: context, memory: memory)
        if let entry = known.syscallEntry, let bytes = try? linear.read(at: registers.rsp, count: 48) {
            let frame = (0..<6).map { slot in bytes.littleEndian(UInt64.self, at: slot * 8) ?? 0 }
            if frame[1] == entry && frame[2] & 3 == 3 {
                try finishSyscall(
                    registers: &registers, userRSP: frame[4], flags: frame[3], resume: entry &+ known.resumeOffset,
                    context: context)
                return .convertedSyscall
            }
        }
        // An ordinary page fault: do the `cld` the int3 replaced and let the guest's handler continue.
        registers.rflags &= ~X86.Flags.direction
        registers.rip = patch &+ 1
        try context.setRegisters(registers)
        return .pageFault
    }

    /// What SYSCALL should have done besides RCX/R11 (which hold the user RIP and RFLAGS already), plus the
    /// entry's `swapgs`. The vCPU is already at CPL 0 with the kernel CS (the #PF was delivered through an
    /// interrupt gate), and a null SS is what 64-bit mode leaves after such a privilege change, which Linux's
    /// entry code does not depend on; so no segment register is written. The `swapgs` goes through the two
    /// GS-base MSRs: KVM_SET_SREGS would rewrite every segment through a software KVM's lazily loaded
    /// segment state for the sake of one base.
    private func finishSyscall(
        registers: inout Registers, userRSP: UInt64, flags: UInt64, resume: UInt64, context: some CPUContext
    ) throws {
        let msrs = try context.msrs([X86.MSR.star, X86.MSR.kernelGSBase, X86.MSR.gsBase])
        guard msrs[X86.MSR.star] != nil else { throw SyscallConversionError.msrUnavailable(X86.MSR.star) }
        guard let kernelGSBase = msrs[X86.MSR.kernelGSBase] else {
            throw SyscallConversionError.msrUnavailable(X86.MSR.kernelGSBase)
        }
        guard let userGSBase = msrs[X86.MSR.gsBase] else {
            throw SyscallConversionError.msrUnavailable(X86.MSR.gsBase)
        }
        registers.rsp = userRSP
        registers.rflags = (flags & ~(X86.Flags.interrupt | X86.Flags.resume)) | X86.Flags.reserved1
        registers.rip = resume

        try context.setMSRs([
            (index: X86.MSR.gsBase, value: kernelGSBase), (index: X86.MSR.kernelGSBase, value: userGSBase),
        ])
        try context.setRegisters(registers)
    }
}
