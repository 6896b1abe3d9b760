import GuestMemory
import KVM

/// The outcome of `InstructionCompleter.complete`.
public enum Completion: Equatable, Sendable {
    /// The instruction's effect (or the exception it raises, which is then queued) is applied: run on.
    case completed(mnemonic: String)
    /// Not an instruction this module completes, or its memory operand is unreachable: stop the VM and
    /// show the report.
    case unhandled(FaultReport)
}

/// Completes an instruction that KVM's emulator gave up on (KVM_EXIT_INTERNAL_ERROR, suberror 1, RIP at
/// the instruction): int3, fwait, fnclex/fclex, fninit/finit, ldmxcsr, stmxcsr and the SSE2 moves and
/// XORs a stock kernel runs with interrupts off, and xsave/xsaveopt/xrstor (a kernel's FPU context switch).
/// On hardware KVM this is never reached.
///
/// Faults the instruction would raise are injected as the CPU would (SDM Vol. 2 "Exceptions" sections):
/// RIP stays on the instruction for a fault, moves past it for int3 (a trap).
public struct InstructionCompleter: Sendable {
    /// Where xsave/xrstor find each state component.
    public let xsaveLayout: XSaveLayout

    public init(xsaveLayout: XSaveLayout = .legacyOnly) {
        self.xsaveLayout = xsaveLayout
    }

    public func complete(context: some CPUContext, memory: GuestMemory) throws -> Completion {
        let registers = try context.registers()
        let special = try context.specialRegisters()
        func unhandled(_ reason: String, _ bytes: FaultReport.InstructionBytes) -> Completion {
            .unhandled(
                FaultReport(reason: reason, registers: registers, specialRegisters: special, instruction: bytes))
        }

        // Accesses from ring 3 must find user pages (SDM Vol. 3A §4.6).
        let linear = LinearMemory(context: context, memory: memory, userAccess: special.cs.selector & 3 == 3)
        let fetchAddress = InstructionFetch.address(registers: registers, specialRegisters: special)
        let bytes: [UInt8]
        do {
            bytes = try linear.readPrefix(at: fetchAddress, upTo: X86.maximumInstructionLength)
        } catch {
            return unhandled("cannot fetch the instruction", .unreadable(error.description))
        }
        guard let mode = InstructionFetch.mode(special) else {
            return unhandled("real mode and 16-bit code are left to KVM's emulator", .bytes(bytes))
        }
        let instruction: DecodedInstruction
        do {
            instruction = try InstructionDecoder.decode(bytes, mode: mode)
        } catch {
            return unhandled(error.description, .bytes(bytes))
        }

        let shown = Array(bytes.prefix(instruction.length))
        var execution = Execution(
            context: context, linear: linear, registers: registers, special: special, mode: mode,
            instruction: instruction, xsaveLayout: xsaveLayout)
        switch try execution.run() {
        case .done:
            return .completed(mnemonic: instruction.mnemonic)
        case .raised(let name):
            return .completed(mnemonic: "\(instruction.mnemonic) (\(name) injected)")
        case .memoryFault(let error, let write):
            // What the CPU raises for the operand (SDM Vol. 3A §4.7, §6.15): #PF for a page the tables do not
            // map or do not permit, #GP(0) for a non-canonical address. Anything else (a mapping onto MMIO,
            // a failed ioctl) stops the VM with the report.
            if let raised = try execution.raiseFault(for: error, write: write) {
                return .completed(mnemonic: "\(instruction.mnemonic) (\(raised) injected)")
            }
            return unhandled("\(instruction.mnemonic): memory operand: \(error)", .bytes(shown))
        case .malformed:
            return unhandled("\(instruction.mnemonic): decoded without its operand", .bytes(shown))
        }
    }
}

/// Carries out one decoded instruction against a vCPU.
struct Execution<Context: CPUContext> {
    enum Outcome {
        case done
        /// An exception was injected instead of the instruction's effect; the name is for the log.
        case raised(String)
        /// The memory operand faulted (`write`: the access was a store).
        case memoryFault(LinearMemoryError, write: Bool)
        /// The decoder returned an instruction without the operand its kind needs (a decoder bug).
        case malformed
    }

    let context: Context
    let linear: LinearMemory<Context>
    var registers: Registers
    let special: SpecialRegisters
    let mode: ExecutionMode
    let instruction: DecodedInstruction
    let xsaveLayout: XSaveLayout

    /// RIP just past the instruction (32-bit modes wrap EIP).
    var nextRIP: UInt64 {
        let next = registers.rip &+ UInt64(instruction.length)
        return mode == .long64 ? next : next & 0xFFFF_FFFF
    }

    mutating func run() throws -> Outcome {
        switch instruction.kind {
        case .int3:
            // A trap: the saved RIP is the next instruction (SDM Vol. 3A §6.5), as the guest's iretq expects.
            registers.rip = nextRIP
            try context.setRegisters(registers)
            try context.injectException(vector: X86.Vector.breakpoint, errorCode: nil)
            return .done
        case .fwait:
            if let raised = try waitForX87() { return raised }
            return try advance()
        case .fnclex:
            if instruction.waits, let raised = try waitForX87() { return raised }
            if let raised = try x87Available() { return raised }
            var fpu = try context.fpu()
            // FSW bits 0–7 (IE DE ZE OE UE PE SF ES) and 15 (B) (SDM Vol. 1 §8.1.3).
            fpu.fsw &= ~0x80FF
            try context.setFPU(fpu)
            return try advance()
        case .fninit:
            if instruction.waits, let raised = try waitForX87() { return raised }
            if let raised = try x87Available() { return raised }
            var fpu = try context.fpu()
            // SDM Vol. 1 §8.1.10 / FINIT: FCW 037FH, FSW 0, all tags empty, pointers and opcode 0.
            fpu.fcw = 0x37F
            fpu.fsw = 0
            fpu.ftwx = 0  // abridged (FXSAVE) tag word: 0 = every register empty
            fpu.lastOpcode = 0
            fpu.lastIP = 0
            fpu.lastDP = 0
            try context.setFPU(fpu)
            return try advance()
        case .ldmxcsr:
            if let raised = try sseAvailable() { return raised }
            guard let address = memoryAddress() else { return .malformed }
            let value: UInt32
            do { value = try load32(address) } catch { return .memoryFault(error, write: false) }
            // Reserved MXCSR bits (above MXCSR_MASK 0xFFFF) raise #GP(0) (SDM Vol. 1 §10.2.3.1).
            guard value & 0xFFFF_0000 == 0 else { return try raise(X86.Vector.generalProtection, "#GP(0)", 0) }
            var fpu = try context.fpu()
            fpu.mxcsr = value
            try context.setFPU(fpu)
            return try advance()
        case .stmxcsr:
            if let raised = try sseAvailable() { return raised }
            guard let address = memoryAddress() else { return .malformed }
            let fpu = try context.fpu()
            do { try linear.write(littleEndian(UInt64(fpu.mxcsr), count: 4), at: address) } catch {
                return .memoryFault(error, write: true)
            }
            return try advance()
        case .moveToXMM:
            if let raised = try sseAvailable() { return raised }
            let width = instruction.wide ? 8 : 4
            var source: UInt64
            switch instruction.rm {
            case .register(let index)?: source = registers[encoding: index]
            case .memory(let operand)?:
                do {
                    let bytes = try linear.read(at: address(of: operand), count: width)
                    source = bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
                } catch { return .memoryFault(error, write: false) }
            case nil: return .malformed
            }
            if width == 4 { source &= 0xFFFF_FFFF }
            var fpu = try context.fpu()
            let lane = littleEndian(source, count: 8) + [UInt8](repeating: 0, count: 8)
            setXMM(&fpu, instruction.reg, lane)
            try context.setFPU(fpu)
            return try advance()
        case .moveFromXMM:
            if let raised = try sseAvailable() { return raised }
            let width = instruction.wide ? 8 : 4
            let fpu = try context.fpu()
            let low = Array(xmm(fpu, instruction.reg).prefix(width))
            switch instruction.rm {
            case .register(let index)?:
                // A 32-bit GPR write zero-extends to 64 bits (SDM Vol. 1 §3.4.1.1).
                registers[encoding: index] = low.reversed().reduce(0) { $0 << 8 | UInt64($1) }
            case .memory(let operand)?:
                do { try linear.write(low, at: address(of: operand)) } catch {
                    return .memoryFault(error, write: true)
                }
            case nil: return .malformed
            }
            return try advance()
        case .xorXMM:
            if let raised = try sseAvailable() { return raised }
            var fpu = try context.fpu()
            let other: [UInt8]
            switch instruction.rm {
            case .register(let index)?: other = xmm(fpu, index)
            case .memory(let operand)?:
                let address = address(of: operand)
                // Legacy-SSE 128-bit memory operands must be 16-byte aligned (SDM Vol. 1 §10.4.1).
                guard address & 15 == 0 else { return try raise(X86.Vector.generalProtection, "#GP(0)", 0) }
                do { other = try linear.read(at: address, count: 16) } catch {
                    return .memoryFault(error, write: false)
                }
            case nil: return .malformed
            }
            let result = zip(xmm(fpu, instruction.reg), other).map { $0 ^ $1 }
            setXMM(&fpu, instruction.reg, result)
            try context.setFPU(fpu)
            return try advance()
        case .xsave:
            return try saveExtendedState()
        case .xrstor:
            return try restoreExtendedState()
        }
    }

    // MARK: Steps shared by several instructions

    /// Injects the fault the CPU would raise for a memory operand that failed with `error`; the
    /// exception's name, or nil when the error is not one the CPU would raise (the VM then stops).
    func raiseFault(for error: LinearMemoryError, write: Bool) throws -> String? {
        let fiveLevel = special.cr4 & X86.Control.cr4FiveLevelPaging != 0
        let user: UInt32 = linear.userAccess ? 4 : 0
        let store: UInt32 = write ? 2 : 0
        let present: UInt32 = 1
        switch error {
        case .notMapped(let address) where mode == .long64 && !PageTableWalk.isCanonical(address, fiveLevel: fiveLevel):
            try context.injectException(vector: X86.Vector.generalProtection, errorCode: 0)
            return "#GP(0)"
        case .addressOverflow:
            try context.injectException(vector: X86.Vector.generalProtection, errorCode: 0)
            return "#GP(0)"
        case .notMapped(let address):
            try context.injectPageFault(linearAddress: address, errorCode: user | store)
            return "#PF"
        case .notWritable(let address):
            try context.injectPageFault(linearAddress: address, errorCode: present | store | user)
            return "#PF"
        case .notUserAccessible(let address):
            try context.injectPageFault(linearAddress: address, errorCode: present | store | user)
            return "#PF"
        case .outsideRAM, .invalidLength, .translationFailed:
            return nil
        }
    }

    mutating func advance() throws -> Outcome {
        registers.rip = nextRIP
        try context.setRegisters(registers)
        return .done
    }

    /// Queues a fault; RIP stays on the instruction so the guest sees where it happened.
    func raise(_ vector: UInt8, _ name: String, _ errorCode: UInt32? = nil) throws -> Outcome {
        try context.injectException(vector: vector, errorCode: errorCode)
        return .raised(name)
    }

    /// FWAIT: #NM when CR0.MP and CR0.TS are set; #MF for a pending unmasked x87 exception (FSW.ES) when
    /// CR0.NE selects native error reporting (SDM Vol. 2A "FWAIT", Vol. 1 §8.7).
    private func waitForX87() throws -> Outcome? {
        let cr0 = special.cr0
        if cr0 & X86.Control.cr0MonitorCoprocessor != 0 && cr0 & X86.Control.cr0TaskSwitched != 0 {
            return try raise(X86.Vector.deviceNotAvailable, "#NM")
        }
        if cr0 & X86.Control.cr0NumericError != 0, try context.fpu().fsw & 0x80 != 0 {
            return try raise(X86.Vector.floatingPointError, "#MF")
        }
        return nil
    }

    /// x87 instructions raise #NM when CR0.EM or CR0.TS is set (SDM Vol. 3A §2.5, Table 2-2).
    private func x87Available() throws -> Outcome? {
        if special.cr0 & (X86.Control.cr0Emulation | X86.Control.cr0TaskSwitched) != 0 {
            return try raise(X86.Vector.deviceNotAvailable, "#NM")
        }
        return nil
    }

    /// SSE instructions raise #UD when CR0.EM is set or CR4.OSFXSR is clear, #NM when CR0.TS is set
    /// (SDM Vol. 3A §13.1.4, Table 13-1 / Vol. 1 §10.4).
    private func sseAvailable() throws -> Outcome? {
        if special.cr0 & X86.Control.cr0Emulation != 0 || special.cr4 & X86.Control.cr4OSFXSR == 0 {
            return try raise(X86.Vector.invalidOpcode, "#UD")
        }
        if special.cr0 & X86.Control.cr0TaskSwitched != 0 { return try raise(X86.Vector.deviceNotAvailable, "#NM") }
        return nil
    }

    func memoryAddress() -> UInt64? {
        guard case .memory(let operand)? = instruction.rm else { return nil }
        return address(of: operand)
    }

    private func address(of operand: MemoryOperand) -> UInt64 {
        operand.linearAddress(registers: registers, specialRegisters: special, mode: mode, nextInstruction: nextRIP)
    }

    private func load32(_ address: UInt64) throws(LinearMemoryError) -> UInt32 {
        try linear.read(at: address, count: 4).littleEndian(UInt32.self, at: 0) ?? 0
    }

    private func littleEndian(_ value: UInt64, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    /// XMM register `index` from the FXSAVE-layout xmm area (16 bytes each).
    private func xmm(_ fpu: FPUState, _ index: Int) -> [UInt8] {
        let start = (index & 15) * 16
        guard fpu.xmm.count >= start + 16 else { return [UInt8](repeating: 0, count: 16) }
        return Array(fpu.xmm[start..<start + 16])
    }

    private func setXMM(_ fpu: inout FPUState, _ index: Int, _ value: [UInt8]) {
        let start = (index & 15) * 16
        if fpu.xmm.count < 256 { fpu.xmm += [UInt8](repeating: 0, count: 256 - fpu.xmm.count) }
        fpu.xmm.replaceSubrange(start..<start + 16, with: value.prefix(16))
    }
}
