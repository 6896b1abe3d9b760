import GuestMemory
import KVM
import X86Emulation

/// A vCPU made of plain values: registers as set, a small page map (or identity translation), recorded
/// exceptions and MSR writes.
final class FakeCPU: CPUContext {
    var regs = Registers()
    var sregs = SpecialRegisters()
    var specialRegisterWrites = 0
    var fpuState = FPUState()
    var msrValues: [UInt32: UInt64] = [:]
    /// Linear page → physical page. nil: identity mapping of everything.
    var pages: [UInt64: UInt64]?
    var readOnlyPages: Set<UInt64> = []
    var supervisorPages: Set<UInt64> = []
    var translateFails = false
    var injected: [Injection] = []
    var msrWrites: [UInt32: UInt64] = [:]

    struct Injection: Equatable {
        var vector: UInt8
        var errorCode: UInt32?
    }

    struct TranslateFailure: Error, CustomStringConvertible {
        var description: String { "KVM_TRANSLATE failed: Invalid argument" }
    }

    /// 64-bit long mode, CPL 0, paging on, OSFXSR set, interrupts off.
    init() {
        sregs.cr0 = 0x8000_0033  // PG NE ET MP PE
        sregs.cr4 = 0x0000_06A0  // OSXMMEXCPT OSFXSR PGE PAE
        sregs.efer = 0x0000_0D01  // NX LMA LME SCE
        sregs.cs = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x10, type: 0xB, l: true, g: true)
        sregs.ss = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x18, type: 0x3, db: true, g: true)
        sregs.ds = Segment(base: 0, limit: 0xFFFF_FFFF, selector: 0x18, type: 0x3, db: true, g: true)
    }

    func map(linear: UInt64, physical: UInt64) {
        if pages == nil { pages = [:] }
        pages?[linear & ~0xFFF] = physical & ~0xFFF
    }

    func registers() throws -> Registers { regs }
    func setRegisters(_ registers: Registers) throws { regs = registers }
    func specialRegisters() throws -> SpecialRegisters { sregs }
    func setSpecialRegisters(_ registers: SpecialRegisters) throws {
        sregs = registers
        specialRegisterWrites += 1
    }
    /// KVM_GET/SET_XSAVE's 4 KiB area and XCR0, as plain values.
    var xsaveState = [UInt8](repeating: 0, count: 4096)
    var xcr0: UInt64 = 0b11
    func xsaveArea() throws -> [UInt8] { xsaveState }
    func setXSaveArea(_ bytes: [UInt8]) throws { xsaveState = bytes }
    func extendedControlRegisters() throws -> [UInt32: UInt64] { [0: xcr0] }
    func fpu() throws -> FPUState { fpuState }
    func setFPU(_ state: FPUState) throws { fpuState = state }

    /// As in KVM, IA32_FS_BASE and IA32_GS_BASE are the FS and GS segment bases.
    func msrs(_ indices: [UInt32]) throws -> [UInt32: UInt64] {
        var values = msrValues.filter { indices.contains($0.key) }
        if indices.contains(0xC000_0100) { values[0xC000_0100] = sregs.fs.base }
        if indices.contains(0xC000_0101) { values[0xC000_0101] = sregs.gs.base }
        return values
    }

    func setMSRs(_ values: [(index: UInt32, value: UInt64)]) throws {
        for (index, value) in values {
            switch index {
            case 0xC000_0100: sregs.fs.base = value
            case 0xC000_0101: sregs.gs.base = value
            default: msrValues[index] = value
            }
            msrWrites[index] = value
        }
    }

    func translate(_ linearAddress: UInt64) throws -> Translation {
        if translateFails { throw TranslateFailure() }
        guard let pages else {
            return Translation(physicalAddress: linearAddress, valid: true, writeable: true, usermode: false)
        }
        let page = linearAddress & ~0xFFF
        guard let physical = pages[page] else {
            return Translation(physicalAddress: 0, valid: false, writeable: false, usermode: false)
        }
        return Translation(
            physicalAddress: physical | (linearAddress & 0xFFF), valid: true,
            writeable: !readOnlyPages.contains(page), usermode: !supervisorPages.contains(page))
    }

    func injectException(vector: UInt8, errorCode: UInt32?) throws {
        injected.append(Injection(vector: vector, errorCode: errorCode))
    }

    /// Recorded as an injection of vector 14, with CR2 set as KVM would at delivery.
    func injectPageFault(linearAddress: UInt64, errorCode: UInt32) throws {
        sregs.cr2 = linearAddress
        injected.append(Injection(vector: 14, errorCode: errorCode))
    }
}

/// 2 MiB of guest RAM at physical 0.
func makeMemory() throws -> GuestMemory {
    try GuestMemory(ranges: [(GuestAddress(0), 2 << 20)])
}

/// Little-endian bytes of `value`.
func bytes(_ value: UInt64, count: Int = 8) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}
