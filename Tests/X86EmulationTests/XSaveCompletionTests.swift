import GuestMemory
import KVM
import TestSupport
import Testing

@testable import X86Emulation

/// xsave/xsaveopt/xrstor completed against a fake vCPU whose KVM_GET_XSAVE area and XCR0 are plain
/// values. The layout is this host's (CPUID leaf 0xD of an AVX-512 CPU): AVX at 0x240, opmask at 0x340,
/// ZMM_Hi256 at 0x380, Hi16_ZMM at 0x580.
@Suite struct XSaveCompletionTests {
    static let leaf0xD: [CPUIDEntry] = [
        CPUIDEntry(function: 0xD, index: 0, flags: 1, eax: 0xE7, ebx: 0x980, ecx: 0x980),
        CPUIDEntry(function: 0xD, index: 1, flags: 1),
        CPUIDEntry(function: 0xD, index: 2, flags: 1, eax: 0x100, ebx: 0x240),
        CPUIDEntry(function: 0xD, index: 5, flags: 1, eax: 0x40, ebx: 0x340),
        CPUIDEntry(function: 0xD, index: 6, flags: 1, eax: 0x200, ebx: 0x380),
        CPUIDEntry(function: 0xD, index: 7, flags: 1, eax: 0x400, ebx: 0x580),
    ]
    static let layout = XSaveLayout(cpuid: leaf0xD)
    static let allComponents: UInt64 = 0xE7

    let cpu = FakeCPU()
    let memory: GuestMemory
    let codeAddress: UInt64 = 0x1000
    /// 64-byte aligned, and the 0x980-byte area crosses into the next page.
    let area: UInt64 = 0x4C00

    static let xsave64: [UInt8] = [0x48, 0x0F, 0xAE, 0x27]  // xsave64 [rdi]
    static let xsaveopt64: [UInt8] = [0x48, 0x0F, 0xAE, 0x37]  // xsaveopt64 [rdi]
    static let xrstor64: [UInt8] = [0x48, 0x0F, 0xAE, 0x2F]  // xrstor64 [rdi]

    init() throws {
        memory = try makeMemory()
        cpu.regs.rip = codeAddress
        cpu.regs.rdi = area
        cpu.regs.rax = 0xFFFF_FFFF
        cpu.regs.rdx = 0xFFFF_FFFF
        cpu.sregs.cr4 |= X86.Control.cr4OSXSAVE
        cpu.xcr0 = Self.allComponents
    }

    func run(_ code: [UInt8]) throws -> Completion {
        try memory.write(code, at: GuestAddress(codeAddress))
        return try InstructionCompleter(xsaveLayout: Self.layout).complete(context: cpu, memory: memory)
    }

    /// A recognisable byte for every position, different per `seed`.
    static func pattern(_ seed: UInt8, count: Int = 4096) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) | 1 }
    }

    func areaBytes(_ range: Range<Int>) throws -> [UInt8] {
        try memory.read(at: GuestAddress(area + UInt64(range.lowerBound)), length: range.count)
    }

    func header() throws -> UInt64 {
        try areaBytes(512..<520).littleEndian(UInt64.self, at: 0) ?? 0
    }

    /// The vCPU's state with valid MXCSR (0x1F80) and MXCSR_MASK, `inUse` as XSTATE_BV.
    func setState(seed: UInt8, inUse: UInt64) {
        var state = Self.pattern(seed)
        state.replaceSubrange(24..<32, with: bytes(0x1F80, count: 4) + bytes(0xFFFF, count: 4))
        state.replaceSubrange(512..<576, with: [UInt8](repeating: 0, count: 64))
        state.put(inUse, at: 512)
        cpu.xsaveState = state
    }

    /// A well-formed standard-form area in memory's terms: pattern bytes, a valid MXCSR, a header with
    /// only XSTATE_BV set.
    static func image(seed: UInt8, stateBV: UInt64, mxcsr: UInt64 = 0x1F80) -> [UInt8] {
        var image = pattern(seed, count: 0x980)
        image.replaceSubrange(24..<28, with: bytes(mxcsr, count: 4))
        image.replaceSubrange(512..<576, with: [UInt8](repeating: 0, count: 64))
        image.put(stateBV, at: 512)
        return image
    }

    // MARK: Layout

    @Test func layoutComesFromCPUIDLeaf0xD() {
        #expect(Self.layout.extended[2] == XSaveLayout.Component(offset: 0x240, size: 0x100))
        #expect(Self.layout.extended[7] == XSaveLayout.Component(offset: 0x580, size: 0x400))
        #expect(Self.layout.extended.count == 4)
        #expect(Self.layout.components == 0xE7)
        #expect(Self.layout.span(of: 0xE7) == 0x980)
        #expect(Self.layout.span(of: 0x3) == 576)
        #expect(XSaveLayout(cpuid: []) == .legacyOnly)
    }

    @Test func layoutLeavesOutSupervisorMissingAndOversizedComponents() {
        let entries = [
            CPUIDEntry(function: 0xD, index: 0, eax: 0x7 | 1 << 9 | 1 << 17, edx: 0),
            CPUIDEntry(function: 0xD, index: 2, eax: 0x100, ebx: 0x240),
            CPUIDEntry(function: 0xD, index: 9, eax: 8, ebx: 0),  // no standard-form offset
            CPUIDEntry(function: 0xD, index: 17, eax: 0x2000, ebx: 0xAC0),  // AMX tile data: past 4 KiB
        ]
        #expect(XSaveLayout(cpuid: entries).extended == [2: XSaveLayout.Component(offset: 0x240, size: 0x100)])
    }

    // MARK: xsave

    @Test func xsaveStoresEveryRequestedComponentAndTheInUseBits() throws {
        setState(seed: 3, inUse: 0b111)  // x87, SSE, AVX in use; the AVX-512 parts in their initial state
        let guestBytes = Self.pattern(200, count: 0x980)
        try memory.write(guestBytes, at: GuestAddress(area))
        #expect(try run(Self.xsave64) == .completed(mnemonic: "xsave64"))
        #expect(cpu.regs.rip == codeAddress + 4)
        let state = cpu.xsaveState
        for range in [0..<24, 24..<32, 32..<160, 160..<416, 0x240..<0x340, 0x340..<0x380, 0x380..<0x980] {
            #expect(try areaBytes(range) == Array(state[range]), "\(range)")
        }
        #expect(try areaBytes(416..<512) == Array(guestBytes[416..<512]))  // the legacy region's free bytes
        #expect(try areaBytes(520..<576) == Array(guestBytes[520..<576]))  // the header past XSTATE_BV
        let previousHeader = guestBytes.littleEndian(UInt64.self, at: 512) ?? 0
        #expect(try header() == (previousHeader & ~Self.allComponents) | 0b111)
    }

    @Test func xsaveLeavesUnrequestedComponentsAndTheirHeaderBits() throws {
        setState(seed: 9, inUse: 0xE7)
        let guestBytes = Self.pattern(100, count: 0x980)
        try memory.write(guestBytes, at: GuestAddress(area))
        let previousHeader = guestBytes.littleEndian(UInt64.self, at: 512) ?? 0
        cpu.regs.rax = 0b100  // AVX only: MXCSR comes along (SDM Vol. 1 §13.7)
        cpu.regs.rdx = 0
        #expect(try run(Self.xsaveopt64) == .completed(mnemonic: "xsaveopt64"))
        #expect(try areaBytes(0x240..<0x340) == Array(cpu.xsaveState[0x240..<0x340]))
        #expect(try areaBytes(24..<32) == Array(cpu.xsaveState[24..<32]))
        #expect(try areaBytes(0..<24) == Array(guestBytes[0..<24]))
        #expect(try areaBytes(160..<416) == Array(guestBytes[160..<416]))
        #expect(try areaBytes(0x380..<0x980) == Array(guestBytes[0x380..<0x980]))
        #expect(try header() == (previousHeader & ~0b100) | 0b100)
    }

    @Test func xsaveRequestsAreLimitedByXCR0() throws {
        setState(seed: 5, inUse: 0xE7)
        cpu.xcr0 = 0b11
        let guestBytes = Self.pattern(50, count: 0x980)
        try memory.write(guestBytes, at: GuestAddress(area))
        #expect(try run(Self.xsave64) == .completed(mnemonic: "xsave64"))
        #expect(try areaBytes(160..<416) == Array(cpu.xsaveState[160..<416]))
        #expect(try areaBytes(0x240..<0x980) == Array(guestBytes[0x240..<0x980]))
        #expect(try header() & 0b11 == 0b11)
    }

    // MARK: xrstor

    @Test func xrstorLoadsMarkedComponentsAndInitialisesTheOthers() throws {
        setState(seed: 1, inUse: 0xE7)
        // x87 and AVX from memory; SSE and the AVX-512 parts initial.
        let image = Self.image(seed: 77, stateBV: 0b101, mxcsr: 0x1FA0)
        try memory.write(image, at: GuestAddress(area))
        #expect(try run(Self.xrstor64) == .completed(mnemonic: "xrstor64"))
        #expect(cpu.regs.rip == codeAddress + 4)
        let state = cpu.xsaveState
        #expect(Array(state[0..<24]) == Array(image[0..<24]))
        #expect(Array(state[32..<160]) == Array(image[32..<160]))
        #expect(Array(state[24..<28]) == bytes(0x1FA0, count: 4))  // MXCSR is loaded with SSE/AVX requested
        #expect(state[160..<416].allSatisfy { $0 == 0 })
        #expect(Array(state[0x240..<0x340]) == Array(image[0x240..<0x340]))
        #expect(state[0x340..<0x980].allSatisfy { $0 == 0 })
        #expect((state.littleEndian(UInt64.self, at: 512) ?? 0) & 0xE7 == 0xE7)
    }

    @Test func xrstorOfAnInitialX87SetsTheControlWord() throws {
        setState(seed: 2, inUse: 0xE7)
        var image = [UInt8](repeating: 0, count: 0x980)
        image.replaceSubrange(24..<28, with: bytes(0x1F80, count: 4))
        try memory.write(image, at: GuestAddress(area))
        cpu.regs.rax = 0b11
        cpu.regs.rdx = 0
        #expect(try run(Self.xrstor64) == .completed(mnemonic: "xrstor64"))
        #expect(Array(cpu.xsaveState[0..<2]) == [0x7F, 0x03])  // FCW 037FH
        #expect(cpu.xsaveState[2..<24].allSatisfy { $0 == 0 })
    }

    @Test func xrstorLeavesUnrequestedComponents() throws {
        setState(seed: 4, inUse: 0xE7)
        let before = cpu.xsaveState
        let image = Self.image(seed: 90, stateBV: 0xE7)
        try memory.write(image, at: GuestAddress(area))
        cpu.regs.rax = 1 << 6  // ZMM_Hi256 only
        cpu.regs.rdx = 0
        #expect(try run(Self.xrstor64) == .completed(mnemonic: "xrstor64"))
        #expect(Array(cpu.xsaveState[0x380..<0x580]) == Array(image[0x380..<0x580]))
        #expect(Array(cpu.xsaveState[0..<0x380]) == Array(before[0..<0x380]).replacingHeader(of: cpu.xsaveState))
        #expect(Array(cpu.xsaveState[0x580..<0x980]) == Array(before[0x580..<0x980]))
    }

    @Test func xsaveThenXrstorRoundTripsTheWholeState() throws {
        setState(seed: 11, inUse: 0xE7)
        let saved = cpu.xsaveState
        #expect(try run(Self.xsave64) == .completed(mnemonic: "xsave64"))
        setState(seed: 60, inUse: 0xE7)  // another task's state
        cpu.regs.rip = codeAddress
        #expect(try run(Self.xrstor64) == .completed(mnemonic: "xrstor64"))
        #expect(Array(cpu.xsaveState[0..<416]) == Array(saved[0..<416]))  // 416..<512 hold no state
        #expect(Array(cpu.xsaveState[576..<0x980]) == Array(saved[576..<0x980]))
    }

    // MARK: Faults

    @Test func faultsComeBeforeAnyEffect() throws {
        setState(seed: 1, inUse: 0xE7)
        let before = cpu.xsaveState
        let image = Self.image(seed: 7, stateBV: 0)

        func expectFault(_ code: [UInt8], _ vector: UInt8, _ errorCode: UInt32?, _ what: Comment) throws {
            cpu.injected = []
            cpu.regs.rip = codeAddress
            let outcome = try run(code)
            guard case .completed(let mnemonic) = outcome, mnemonic.contains("injected") else {
                Issue.record("\(what): \(outcome)")
                return
            }
            #expect(cpu.injected == [FakeCPU.Injection(vector: vector, errorCode: errorCode)], what)
            #expect(cpu.regs.rip == codeAddress, what)
            #expect(cpu.xsaveState == before, what)
        }

        var compacted = image
        compacted.put(UInt64(1) << 63 | 0xE7, at: 520)
        try memory.write(compacted, at: GuestAddress(area))
        try expectFault(Self.xrstor64, 13, 0, "compacted form")

        var stray = image
        stray[530] = 1  // header bytes 23:8 must be zero
        try memory.write(stray, at: GuestAddress(area))
        try expectFault(Self.xrstor64, 13, 0, "reserved header bytes")

        var unknown = image
        unknown.put(UInt64(1) << 9, at: 512)  // PKRU, which XCR0 does not enable
        try memory.write(unknown, at: GuestAddress(area))
        try expectFault(Self.xrstor64, 13, 0, "XSTATE_BV outside XCR0")

        var badMXCSR = image
        badMXCSR.replaceSubrange(24..<28, with: bytes(0x1_0000, count: 4))
        try memory.write(badMXCSR, at: GuestAddress(area))
        try expectFault(Self.xrstor64, 13, 0, "reserved MXCSR bits")

        try memory.write(image, at: GuestAddress(area))
        cpu.regs.rdi = area + 8
        try expectFault(Self.xrstor64, 13, 0, "misaligned area")
        try expectFault(Self.xsave64, 13, 0, "misaligned area")
        cpu.regs.rdi = area

        cpu.sregs.cr0 |= X86.Control.cr0TaskSwitched
        try expectFault(Self.xsave64, 7, nil, "CR0.TS")
        cpu.sregs.cr0 &= ~X86.Control.cr0TaskSwitched

        cpu.sregs.cr4 &= ~X86.Control.cr4OSXSAVE
        try expectFault(Self.xrstor64, 6, nil, "CR4.OSXSAVE clear")
    }

    /// Linux's xsave to a signal frame on the user stack: an absent page, or a copy-on-write page after
    /// fork, must fault as the store would (the kernel's fixup then faults it in), never be written
    /// through its physical address (that would write into the page the parent still shares).
    @Test func areasOnAbsentOrReadOnlyPagesRaisePageFaults() throws {
        setState(seed: 1, inUse: 0xE7)
        cpu.map(linear: codeAddress, physical: codeAddress)
        let firstPage = area & ~0xFFF
        cpu.map(linear: firstPage, physical: firstPage)  // the second page of the area is absent
        #expect(try run(Self.xsave64) == .completed(mnemonic: "xsave64 (#PF injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 14, errorCode: 0b010)])
        #expect(cpu.sregs.cr2 == firstPage + 0x1000)
        #expect(try areaBytes(0..<0x980).allSatisfy { $0 == 0 })  // nothing written, not even the first page

        cpu.injected = []
        cpu.map(linear: firstPage + 0x1000, physical: firstPage + 0x1000)
        cpu.readOnlyPages = [firstPage + 0x1000]
        #expect(try run(Self.xsave64) == .completed(mnemonic: "xsave64 (#PF injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 14, errorCode: 0b011)])
        #expect(try areaBytes(0..<0x980).allSatisfy { $0 == 0 })

        cpu.injected = []
        cpu.pages = [codeAddress: codeAddress]
        let before = cpu.xsaveState
        #expect(try run(Self.xrstor64) == .completed(mnemonic: "xrstor64 (#PF injected)"))
        #expect(cpu.injected == [FakeCPU.Injection(vector: 14, errorCode: 0)])
        #expect(cpu.xsaveState == before)
    }

    @Test func areasPastTheEndOfRAMStopWithAReport() throws {
        setState(seed: 1, inUse: 0xE7)
        cpu.regs.rdi = (2 << 20) - 0x40
        guard case .unhandled(let report) = try run(Self.xsave64) else {
            Issue.record("expected a report")
            return
        }
        #expect("\(report)".contains("outside guest RAM"))
    }

    /// Hostile guests: random headers, masks, addresses and XCR0 never crash the completer, and the
    /// vCPU state it writes always passes the checks KVM_SET_XSAVE applies (MXCSR within the mask,
    /// XSTATE_BV within XCR0 for the requested components).
    @Test func randomInputsNeverCrash() throws {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<400 {
            setState(seed: UInt8.random(in: 0...255, using: &generator), inUse: 0xE7)
            var image = (0..<0x980).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if Bool.random(using: &generator) {
                image.replaceSubrange(520..<536, with: [UInt8](repeating: 0, count: 16))
                image.replaceSubrange(26..<28, with: [0, 0])
                image.put(UInt64.random(in: 0...0xFF, using: &generator) & 0xE7, at: 512)
            }
            try memory.write(image, at: GuestAddress(area))
            cpu.regs.rax = UInt64.random(in: 0...UInt64.max, using: &generator)
            cpu.regs.rdx = UInt64.random(in: 0...UInt64.max, using: &generator)
            cpu.regs.rdi = Bool.random(using: &generator) ? area : UInt64.random(in: 0...UInt64.max, using: &generator)
            cpu.xcr0 = [0x3, 0x7, 0xE7, 0x1].randomElement(using: &generator)!
            cpu.regs.rip = codeAddress
            _ = try run(Bool.random(using: &generator) ? Self.xrstor64 : Self.xsave64)
            let mxcsr = cpu.xsaveState.littleEndian(UInt32.self, at: 24) ?? 0
            #expect(mxcsr & ~0xFFFF == 0)
        }
    }
}

extension Array where Element == UInt8 {
    /// `self` with bytes 512..<520 (XSTATE_BV) taken from `other`, when `self` reaches that far.
    fileprivate func replacingHeader(of other: [UInt8]) -> [UInt8] {
        guard count >= 520 else { return self }
        var copy = self
        copy.replaceSubrange(512..<520, with: other[512..<520])
        return copy
    }
}
