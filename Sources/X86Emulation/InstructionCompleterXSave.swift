import GuestMemory
import KVM

/// xsave, xsaveopt and xrstor in the standard form, carried out on the vCPU's state through
/// KVM_GET/SET_XSAVE (SDM Vol. 1 §13.7–13.8; Vol. 2 "XSAVE", "XRSTOR"). A kernel saves and restores its
/// tasks' FPU state with these while interrupts are off, which on kvm_pvm is the emulator's territory.
///
/// The compacted form (XCOMP_BV bit 63 in the header, written by xsavec/xsaves) is refused with #GP(0):
/// the VMM tells the guest kernel not to use those instructions (see HostProfile).
extension Execution {
    /// What an xsave-family instruction works on once its faults are ruled out: the area, RFBM, and XCR0.
    private enum Operand {
        case area(address: UInt64, requested: UInt64, enabled: UInt64)
        case outcome(Outcome)
    }

    /// #UD without CR4.OSXSAVE, #NM with CR0.TS, #GP(0) for an area not 64-byte aligned; otherwise the
    /// area and RFBM = XCR0 AND EDX:EAX, limited to the components this layout knows.
    private func extendedStateOperand() throws -> Operand {
        if special.cr4 & X86.Control.cr4OSXSAVE == 0 {
            return .outcome(try raise(X86.Vector.invalidOpcode, "#UD"))
        }
        if special.cr0 & X86.Control.cr0TaskSwitched != 0 {
            return .outcome(try raise(X86.Vector.deviceNotAvailable, "#NM"))
        }
        guard let address = memoryAddress() else { return .outcome(.malformed) }
        guard address & 63 == 0 else { return .outcome(try raise(X86.Vector.generalProtection, "#GP(0)", 0)) }
        let enabled = try context.extendedControlRegisters()[0] ?? 1
        let requested = enabled & (registers.rdx << 32 | registers.rax & 0xFFFF_FFFF) & xsaveLayout.components
        return .area(address: address, requested: requested, enabled: enabled)
    }

    private func components(_ mask: UInt64) -> [Int] {
        (0..<64).filter { mask & (1 << UInt64($0)) != 0 }
    }

    /// The vCPU's area, at least as long as the layout needs.
    private func currentState() throws -> [UInt8] {
        var state = try context.xsaveArea()
        let needed = xsaveLayout.span(of: xsaveLayout.components)
        if state.count < needed { state += [UInt8](repeating: 0, count: needed - state.count) }
        return state
    }

    /// xsave / xsaveopt: each requested component goes to memory, and XSTATE_BV's requested bits say which
    /// of them are in use; the rest of the area is left as it was. (xsaveopt may skip unmodified components;
    /// writing them is allowed.)
    mutating func saveExtendedState() throws -> Outcome {
        let (address, requested): (UInt64, UInt64)
        switch try extendedStateOperand() {
        case .outcome(let outcome): return outcome
        case .area(let a, let r, _): (address, requested) = (a, r)
        }
        let state = try currentState()
        // Read for writing: a read-only or absent page faults as the store would, before anything moves.
        var image: [UInt8]
        do {
            image = try linear.read(at: address, count: xsaveLayout.span(of: requested), requireWritable: true)
        } catch { return .memoryFault(error, write: true) }
        var copied = components(requested).flatMap { xsaveLayout.ranges(of: $0) }
        if requested & 0b110 != 0 { copied.append(XSaveLayout.mxcsrRange) }
        for range in copied { image.replaceSubrange(range, with: state[range]) }
        let inUse = state.littleEndian(UInt64.self, at: XSaveLayout.stateBVOffset) ?? 0
        let previous = image.littleEndian(UInt64.self, at: XSaveLayout.stateBVOffset) ?? 0
        image.put((previous & ~requested) | (inUse & requested), at: XSaveLayout.stateBVOffset)
        do { try linear.write(image, at: address) } catch { return .memoryFault(error, write: true) }
        return try advance()
    }

    /// xrstor: each requested component is loaded from memory if XSTATE_BV marks it, or set to its initial
    /// state otherwise; MXCSR is loaded with component 1 or 2. Checked first, as the CPU does, with #GP(0):
    /// a compacted or malformed header, XSTATE_BV bits XCR0 does not enable, reserved MXCSR bits.
    mutating func restoreExtendedState() throws -> Outcome {
        let (address, requested, enabled): (UInt64, UInt64, UInt64)
        switch try extendedStateOperand() {
        case .outcome(let outcome): return outcome
        case .area(let a, let r, let e): (address, requested, enabled) = (a, r, e)
        }
        let image: [UInt8]
        do { image = try linear.read(at: address, count: xsaveLayout.span(of: requested)) } catch {
            return .memoryFault(error, write: false)
        }
        let stateBV = image.littleEndian(UInt64.self, at: XSaveLayout.stateBVOffset) ?? 0
        guard image[XSaveLayout.headerReservedRange].allSatisfy({ $0 == 0 }), stateBV & ~enabled == 0 else {
            return try raise(X86.Vector.generalProtection, "#GP(0)", 0)
        }
        var state = try currentState()
        if requested & 0b110 != 0 {
            let mxcsr = image.littleEndian(UInt32.self, at: XSaveLayout.mxcsrRange.lowerBound) ?? 0
            // MXCSR_MASK as the CPU reports it; 0 means the architectural default 0xFFBF (SDM Vol. 1 §11.6.6).
            let reportedMask = state.littleEndian(UInt32.self, at: XSaveLayout.mxcsrRange.lowerBound + 4) ?? 0
            let mask = reportedMask == 0 ? 0xFFBF : reportedMask
            guard mxcsr & ~mask == 0 else { return try raise(X86.Vector.generalProtection, "#GP(0)", 0) }
            state.put(mxcsr, at: XSaveLayout.mxcsrRange.lowerBound)
        }
        for index in components(requested) {
            for range in xsaveLayout.ranges(of: index) {
                if stateBV & (1 << UInt64(index)) != 0 {
                    state.replaceSubrange(range, with: image[range])
                } else {
                    state.replaceSubrange(range, with: [UInt8](repeating: 0, count: range.count))
                }
            }
            // The x87 initial state has FCW = 037FH; everything else starts at zero (SDM Vol. 1 §13.6).
            if index == 0 && stateBV & 1 == 0 { state.replaceSubrange(0..<2, with: [0x7F, 0x03]) }
        }
        // Every requested component now holds explicit values, so KVM is told all of them are in use.
        let inUse = state.littleEndian(UInt64.self, at: XSaveLayout.stateBVOffset) ?? 0
        state.put(inUse | requested, at: XSaveLayout.stateBVOffset)
        try context.setXSaveArea(state)
        return try advance()
    }
}
