import CKVM

/// General-purpose registers (struct kvm_regs).
public struct Registers: Equatable, Sendable {
    public var rax: UInt64 = 0, rbx: UInt64 = 0, rcx: UInt64 = 0, rdx: UInt64 = 0
    public var rsi: UInt64 = 0, rdi: UInt64 = 0, rsp: UInt64 = 0, rbp: UInt64 = 0
    public var r8: UInt64 = 0, r9: UInt64 = 0, r10: UInt64 = 0, r11: UInt64 = 0
    public var r12: UInt64 = 0, r13: UInt64 = 0, r14: UInt64 = 0, r15: UInt64 = 0
    public var rip: UInt64 = 0
    /// Bit 1 is reserved and always set.
    public var rflags: UInt64 = 0x2

    public init() {}

    /// The 16 general-purpose registers in encoding order (rax=0 … r15=15), as ModRM/SIB name them.
    public subscript(encoding index: Int) -> UInt64 {
        get {
            switch index & 15 {
            case 0: rax
            case 1: rcx
            case 2: rdx
            case 3: rbx
            case 4: rsp
            case 5: rbp
            case 6: rsi
            case 7: rdi
            case 8: r8
            case 9: r9
            case 10: r10
            case 11: r11
            case 12: r12
            case 13: r13
            case 14: r14
            default: r15
            }
        }
        set {
            switch index & 15 {
            case 0: rax = newValue
            case 1: rcx = newValue
            case 2: rdx = newValue
            case 3: rbx = newValue
            case 4: rsp = newValue
            case 5: rbp = newValue
            case 6: rsi = newValue
            case 7: rdi = newValue
            case 8: r8 = newValue
            case 9: r9 = newValue
            case 10: r10 = newValue
            case 11: r11 = newValue
            case 12: r12 = newValue
            case 13: r13 = newValue
            case 14: r14 = newValue
            default: r15 = newValue
            }
        }
    }

    init(_ r: kvm_regs) {
        rax = r.rax
        rbx = r.rbx
        rcx = r.rcx
        rdx = r.rdx
        rsi = r.rsi
        rdi = r.rdi
        rsp = r.rsp
        rbp = r.rbp
        r8 = r.r8
        r9 = r.r9
        r10 = r.r10
        r11 = r.r11
        r12 = r.r12
        r13 = r.r13
        r14 = r.r14
        r15 = r.r15
        rip = r.rip
        rflags = r.rflags
    }

    var kvm: kvm_regs {
        kvm_regs(
            rax: rax, rbx: rbx, rcx: rcx, rdx: rdx, rsi: rsi, rdi: rdi, rsp: rsp, rbp: rbp, r8: r8, r9: r9,
            r10: r10, r11: r11, r12: r12, r13: r13, r14: r14, r15: r15, rip: rip, rflags: rflags)
    }
}

/// A segment register's hidden descriptor cache (struct kvm_segment).
public struct Segment: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt32 = 0xFFFF
    public var selector: UInt16 = 0
    /// Descriptor type nibble (e.g. 0xB: execute/read accessed code, 0x3: read/write accessed data).
    public var type: UInt8 = 0
    public var present: Bool = true
    public var dpl: UInt8 = 0
    /// Default operation size (1 = 32-bit).
    public var db: Bool = false
    /// Code or data (not system).
    public var s: Bool = true
    /// 64-bit code segment.
    public var l: Bool = false
    /// Granularity (limit in 4 KiB units).
    public var g: Bool = false
    public var avl: Bool = false
    public var unusable: Bool = false

    public init() {}

    public init(
        base: UInt64, limit: UInt32, selector: UInt16, type: UInt8, present: Bool = true, dpl: UInt8 = 0,
        db: Bool = false, s: Bool = true, l: Bool = false, g: Bool = false
    ) {
        self.base = base
        self.limit = limit
        self.selector = selector
        self.type = type
        self.present = present
        self.dpl = dpl
        self.db = db
        self.s = s
        self.l = l
        self.g = g
    }

    init(_ k: kvm_segment) {
        base = k.base
        limit = k.limit
        selector = k.selector
        type = k.type
        present = k.present != 0
        dpl = k.dpl
        db = k.db != 0
        s = k.s != 0
        l = k.l != 0
        g = k.g != 0
        avl = k.avl != 0
        unusable = k.unusable != 0
    }

    var kvm: kvm_segment {
        var k = kvm_segment()
        k.base = base
        k.limit = limit
        k.selector = selector
        k.type = type
        k.present = present ? 1 : 0
        k.dpl = dpl
        k.db = db ? 1 : 0
        k.s = s ? 1 : 0
        k.l = l ? 1 : 0
        k.g = g ? 1 : 0
        k.avl = avl ? 1 : 0
        k.unusable = unusable ? 1 : 0
        return k
    }
}

/// GDTR/IDTR (struct kvm_dtable).
public struct DescriptorTable: Equatable, Sendable {
    public var base: UInt64 = 0
    public var limit: UInt16 = 0
    public init(base: UInt64 = 0, limit: UInt16 = 0) {
        self.base = base
        self.limit = limit
    }
}

/// Segment, control and descriptor-table registers (struct kvm_sregs).
public struct SpecialRegisters: Equatable, Sendable {
    public var cs = Segment(), ds = Segment(), es = Segment(), fs = Segment(), gs = Segment(), ss = Segment()
    public var tr = Segment(), ldt = Segment()
    public var gdt = DescriptorTable(), idt = DescriptorTable()
    public var cr0: UInt64 = 0, cr2: UInt64 = 0, cr3: UInt64 = 0, cr4: UInt64 = 0, cr8: UInt64 = 0
    public var efer: UInt64 = 0
    public var apicBase: UInt64 = 0
    /// Pending external interrupt bitmap; preserved as KVM returned it.
    var interruptBitmap: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    init(_ k: kvm_sregs) {
        cs = Segment(k.cs)
        ds = Segment(k.ds)
        es = Segment(k.es)
        fs = Segment(k.fs)
        gs = Segment(k.gs)
        ss = Segment(k.ss)
        tr = Segment(k.tr)
        ldt = Segment(k.ldt)
        gdt = DescriptorTable(base: k.gdt.base, limit: k.gdt.limit)
        idt = DescriptorTable(base: k.idt.base, limit: k.idt.limit)
        cr0 = k.cr0
        cr2 = k.cr2
        cr3 = k.cr3
        cr4 = k.cr4
        cr8 = k.cr8
        efer = k.efer
        apicBase = k.apic_base
        interruptBitmap = k.interrupt_bitmap
    }

    var kvm: kvm_sregs {
        var k = kvm_sregs()
        k.cs = cs.kvm
        k.ds = ds.kvm
        k.es = es.kvm
        k.fs = fs.kvm
        k.gs = gs.kvm
        k.ss = ss.kvm
        k.tr = tr.kvm
        k.ldt = ldt.kvm
        k.gdt.base = gdt.base
        k.gdt.limit = gdt.limit
        k.idt.base = idt.base
        k.idt.limit = idt.limit
        k.cr0 = cr0
        k.cr2 = cr2
        k.cr3 = cr3
        k.cr4 = cr4
        k.cr8 = cr8
        k.efer = efer
        k.apic_base = apicBase
        k.interrupt_bitmap = interruptBitmap
        return k
    }

    public static func == (a: SpecialRegisters, b: SpecialRegisters) -> Bool {
        a.cs == b.cs && a.ds == b.ds && a.es == b.es && a.fs == b.fs && a.gs == b.gs && a.ss == b.ss
            && a.tr == b.tr && a.ldt == b.ldt && a.gdt == b.gdt && a.idt == b.idt && a.cr0 == b.cr0
            && a.cr2 == b.cr2 && a.cr3 == b.cr3 && a.cr4 == b.cr4 && a.cr8 == b.cr8 && a.efer == b.efer
            && a.apicBase == b.apicBase
    }
}

/// x87/SSE state (struct kvm_fpu).
public struct FPUState: Equatable, Sendable {
    /// ST0–ST7, 16 bytes each (80-bit values, padded).
    public var fpr: [UInt8] = Array(repeating: 0, count: 128)
    /// x87 control word (0x37F after FNINIT).
    public var fcw: UInt16 = 0x37F
    /// x87 status word.
    public var fsw: UInt16 = 0
    /// Abridged tag word.
    public var ftwx: UInt8 = 0
    public var lastOpcode: UInt16 = 0
    public var lastIP: UInt64 = 0
    public var lastDP: UInt64 = 0
    /// XMM0–XMM15, 16 bytes each.
    public var xmm: [UInt8] = Array(repeating: 0, count: 256)
    /// SSE control/status (0x1F80 at reset).
    public var mxcsr: UInt32 = 0x1F80

    public init() {}

    init(_ k: kvm_fpu) {
        var k = k
        fpr = withUnsafeBytes(of: &k.fpr) { Array($0) }
        xmm = withUnsafeBytes(of: &k.xmm) { Array($0) }
        fcw = k.fcw
        fsw = k.fsw
        ftwx = k.ftwx
        lastOpcode = k.last_opcode
        lastIP = k.last_ip
        lastDP = k.last_dp
        mxcsr = k.mxcsr
    }

    var kvm: kvm_fpu {
        var k = kvm_fpu()
        withUnsafeMutableBytes(of: &k.fpr) { $0.copyBytes(from: fpr.prefix(128)) }
        withUnsafeMutableBytes(of: &k.xmm) { $0.copyBytes(from: xmm.prefix(256)) }
        k.fcw = fcw
        k.fsw = fsw
        k.ftwx = ftwx
        k.last_opcode = lastOpcode
        k.last_ip = lastIP
        k.last_dp = lastDP
        k.mxcsr = mxcsr
        return k
    }
}

/// Result of KVM_TRANSLATE for one linear address.
public struct Translation: Equatable, Sendable {
    public var physicalAddress: UInt64
    public var valid: Bool
    public var writeable: Bool
    public var usermode: Bool

    public init(physicalAddress: UInt64, valid: Bool, writeable: Bool, usermode: Bool) {
        self.physicalAddress = physicalAddress
        self.valid = valid
        self.writeable = writeable
        self.usermode = usermode
    }
}

/// A vCPU's run state (KVM_GET/SET_MP_STATE).
public enum MPState: UInt32, Sendable {
    case runnable = 0
    case uninitialized = 1
    case initReceived = 2
    case halted = 3
    case sipiReceived = 4
}
