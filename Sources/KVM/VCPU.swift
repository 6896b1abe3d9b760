import CKVM
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The mmapped kvm_run region of one vCPU; unmapped when dropped.
struct RunPage: ~Copyable {
    let pointer: UnsafeMutablePointer<kvm_run>
    let size: Int

    init(fd: Int32, size: Int) throws {
        let address = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        guard let address, address != MAP_FAILED else { throw KVMError.mmap(errno: Errno(rawValue: errno)) }
        pointer = address.assumingMemoryBound(to: kvm_run.self)
        self.size = size
    }

    deinit { munmap(pointer, size) }
}

/// One virtual CPU. Driven by a single thread at a time; only `requestImmediateExit` may be called from
/// another thread (it writes one byte KVM polls).
public final class VCPU: @unchecked Sendable {
    public let fd: Int32
    public let id: UInt32
    private let runPage: RunPage

    init(fd: Int32, id: UInt32, mmapSize: Int) throws {
        self.fd = fd
        self.id = id
        runPage = try RunPage(fd: fd, size: mmapSize)
    }

    deinit { close(fd) }

    // MARK: Running

    /// KVM_RUN until the next exit that needs user space.
    public func run() throws -> VCPUExit {
        let page = runPage.pointer
        let result = ckvm_ioctl_value(fd, CKVM_KVM_RUN(), 0)
        if result < 0 {
            let code = Errno(rawValue: errno)
            if code == .interrupted || code == .resourceTemporarilyUnavailable { return .interrupted }
            throw KVMError.ioctl(name: "KVM_RUN", errno: code)
        }
        let reason = Int32(page.pointee.exit_reason)
        switch reason {
        case KVM_EXIT_IO:
            let io = page.pointee.io
            let data = ckvm_run_io_data(page)!
            var value: UInt64 = 0
            withUnsafeMutableBytes(of: &value) { dst in
                dst.copyMemory(from: UnsafeRawBufferPointer(start: data, count: min(Int(io.size), 8)))
            }
            if io.direction == KVM_EXIT_IO_OUT {
                return .ioOut(port: io.port, size: Int(io.size), count: Int(io.count), value: value)
            }
            return .ioIn(port: io.port, size: Int(io.size), count: Int(io.count))
        case KVM_EXIT_MMIO:
            let mmio = page.pointee.mmio
            let length = min(Int(mmio.len), 8)
            if mmio.is_write != 0 {
                var value: UInt64 = 0
                var data = mmio.data
                withUnsafeMutableBytes(of: &value) { dst in
                    withUnsafeBytes(of: &data) {
                        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<length]))
                    }
                }
                return .mmioWrite(address: mmio.phys_addr, size: length, value: value)
            }
            return .mmioRead(address: mmio.phys_addr, size: length)
        case KVM_EXIT_HLT: return .halt
        case KVM_EXIT_SHUTDOWN: return .shutdown
        case KVM_EXIT_SYSTEM_EVENT: return .systemEvent(type: page.pointee.system_event.type)
        case KVM_EXIT_INTERNAL_ERROR:
            var failure = page.pointee.`internal`
            let count = min(Int(failure.ndata), 16)
            let data = withUnsafeBytes(of: &failure.data) { Array($0.bindMemory(to: UInt64.self).prefix(count)) }
            return .internalError(suberror: failure.suberror, data: data)
        case KVM_EXIT_FAIL_ENTRY:
            return .failEntry(reason: page.pointee.fail_entry.hardware_entry_failure_reason)
        case KVM_EXIT_X86_WRMSR:
            return .msrWrite(index: page.pointee.msr.index, value: page.pointee.msr.data)
        case KVM_EXIT_X86_RDMSR:
            return .msrRead(index: page.pointee.msr.index)
        case KVM_EXIT_INTR: return .interrupted
        case KVM_EXIT_DEBUG: return .debug
        default: return .unknown(reason: UInt32(reason))
        }
    }

    /// Supplies the bytes an `in`/`ins` exit reads (little-endian, `size × count` bytes).
    public func completeIOIn(_ value: UInt64) {
        let page = runPage.pointer
        let io = page.pointee.io
        let data = ckvm_run_io_data(page)!
        var value = value
        withUnsafeBytes(of: &value) { src in
            let total = Int(io.size) * Int(io.count)
            for offset in stride(from: 0, to: total, by: Int(io.size)) {
                UnsafeMutableRawBufferPointer(start: data + offset, count: Int(io.size))
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0..<min(Int(io.size), 8)]))
            }
        }
    }

    /// Supplies the value an MMIO read returns.
    public func completeMMIORead(_ value: UInt64) {
        var value = value
        withUnsafeBytes(of: &value) { src in
            withUnsafeMutableBytes(of: &runPage.pointer.pointee.mmio.data) { $0.copyMemory(from: src) }
        }
    }

    /// Answers a trapped MSR access: `failed` injects #GP; a read returns `value`.
    public func completeMSR(failed: Bool, value: UInt64 = 0) {
        runPage.pointer.pointee.msr.error = failed ? 1 : 0
        runPage.pointer.pointee.msr.data = value
    }

    /// Sets kvm_run.immediate_exit: the next (or current, after a signal) KVM_RUN returns EINTR at once.
    public func requestImmediateExit(_ flag: Bool) {
        withUnsafeMutablePointer(to: &runPage.pointer.pointee.immediate_exit) { pointer in
            UnsafeMutableRawPointer(pointer).storeBytes(of: flag ? 1 : 0, as: UInt8.self)
        }
    }

    // MARK: State

    /// KVM_GET_REGS.
    public func registers() throws -> Registers {
        var r = kvm_regs()
        try kvmIoctl(fd, CKVM_KVM_GET_REGS(), "KVM_GET_REGS", &r)
        return Registers(r)
    }

    /// KVM_SET_REGS.
    public func setRegisters(_ registers: Registers) throws {
        var r = registers.kvm
        try kvmIoctl(fd, CKVM_KVM_SET_REGS(), "KVM_SET_REGS", &r)
    }

    /// KVM_GET_SREGS.
    public func specialRegisters() throws -> SpecialRegisters {
        var s = kvm_sregs()
        try kvmIoctl(fd, CKVM_KVM_GET_SREGS(), "KVM_GET_SREGS", &s)
        return SpecialRegisters(s)
    }

    /// KVM_SET_SREGS.
    public func setSpecialRegisters(_ registers: SpecialRegisters) throws {
        var s = registers.kvm
        try kvmIoctl(fd, CKVM_KVM_SET_SREGS(), "KVM_SET_SREGS", &s)
    }

    /// KVM_GET_FPU.
    public func fpu() throws -> FPUState {
        var f = kvm_fpu()
        try kvmIoctl(fd, CKVM_KVM_GET_FPU(), "KVM_GET_FPU", &f)
        return FPUState(f)
    }

    /// KVM_SET_FPU.
    public func setFPU(_ state: FPUState) throws {
        var f = state.kvm
        try kvmIoctl(fd, CKVM_KVM_SET_FPU(), "KVM_SET_FPU", &f)
    }

    /// KVM_GET_XSAVE: the vCPU's x87, SSE and extended state in the standard (non-compacted) XSAVE
    /// layout, 4 KiB: the legacy region, the XSAVE header (XSTATE_BV at byte 512) and each component at its
    /// CPUID leaf 0xD offset. Components the guest may not enable are absent. (AMX tile data would need
    /// KVM_GET_XSAVE2; the VMM never grants it.)
    public func xsaveArea() throws -> [UInt8] {
        var area = kvm_xsave()
        try kvmIoctl(fd, CKVM_KVM_GET_XSAVE(), "KVM_GET_XSAVE", &area)
        return withUnsafeBytes(of: &area.region) { Array($0) }
    }

    /// KVM_SET_XSAVE with an area laid out as `xsaveArea` returns it (shorter input is zero-padded).
    public func setXSaveArea(_ bytes: [UInt8]) throws {
        var area = kvm_xsave()
        withUnsafeMutableBytes(of: &area.region) { $0.copyBytes(from: bytes.prefix($0.count)) }
        try kvmIoctl(fd, CKVM_KVM_SET_XSAVE(), "KVM_SET_XSAVE", &area)
    }

    /// KVM_GET_XCRS: the extended control registers by index (XCR0 is the XSAVE feature mask).
    public func extendedControlRegisters() throws -> [UInt32: UInt64] {
        var xcrs = kvm_xcrs()
        try kvmIoctl(fd, CKVM_KVM_GET_XCRS(), "KVM_GET_XCRS", &xcrs)
        let count = min(Int(xcrs.nr_xcrs), Int(KVM_MAX_XCRS))
        return withUnsafeBytes(of: &xcrs.xcrs) { raw in
            var result: [UInt32: UInt64] = [:]
            for entry in raw.bindMemory(to: kvm_xcr.self).prefix(count) { result[entry.xcr] = entry.value }
            return result
        }
    }

    /// KVM_SET_CPUID2.
    public func setCPUID(_ entries: [CPUIDEntry]) throws {
        _ = try CPUIDBuffer.withBuffer(entries) { raw in
            try kvmIoctl(fd, CKVM_KVM_SET_CPUID2(), "KVM_SET_CPUID2", raw)
        }
    }

    /// KVM_GET_MSRS for the given indices; MSRs KVM does not know are left out of the result.
    public func msrs(_ indices: [UInt32]) throws -> [UInt32: UInt64] {
        try withMSRBuffer(indices.map { ($0, 0) }) { raw, entries in
            let read = try kvmIoctl(fd, CKVM_KVM_GET_MSRS(), "KVM_GET_MSRS", raw)
            var result: [UInt32: UInt64] = [:]
            for i in 0..<Int(read) { result[entries[i].index] = entries[i].data }
            return result
        }
    }

    /// KVM_SET_MSRS; throws if KVM rejects any of them.
    public func setMSRs(_ values: [(index: UInt32, value: UInt64)]) throws {
        try withMSRBuffer(values) { raw, entries in
            let written = try kvmIoctl(fd, CKVM_KVM_SET_MSRS(), "KVM_SET_MSRS", raw)
            if Int(written) != values.count {
                let index = values[Int(written)].index
                throw KVMError.ioctl(
                    name: "KVM_SET_MSRS(0x\(String(index, radix: 16)))", errno: .invalidArgument)
            }
        }
    }

    private func withMSRBuffer<R>(
        _ values: [(index: UInt32, value: UInt64)],
        _ body: (UnsafeMutableRawPointer, UnsafeMutablePointer<kvm_msr_entry>) throws -> R
    ) throws -> R {
        let size = ckvm_msrs_size(UInt32(values.count))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        raw.assumingMemoryBound(to: kvm_msrs.self).pointee.nmsrs = UInt32(values.count)
        let entries = (raw + MemoryLayout<kvm_msrs>.size).assumingMemoryBound(to: kvm_msr_entry.self)
        for (i, entry) in values.enumerated() {
            entries[i].index = entry.index
            entries[i].data = entry.value
        }
        return try body(raw, entries)
    }

    /// KVM_GET_LAPIC: the 1 KiB local APIC register page.
    public func localAPIC() throws -> [UInt8] {
        var state = kvm_lapic_state()
        try kvmIoctl(fd, CKVM_KVM_GET_LAPIC(), "KVM_GET_LAPIC", &state)
        return withUnsafeBytes(of: &state.regs) { Array($0) }
    }

    /// KVM_SET_LAPIC.
    public func setLocalAPIC(_ registers: [UInt8]) throws {
        var state = kvm_lapic_state()
        withUnsafeMutableBytes(of: &state.regs) { $0.copyBytes(from: registers.prefix($0.count)) }
        try kvmIoctl(fd, CKVM_KVM_SET_LAPIC(), "KVM_SET_LAPIC", &state)
    }

    /// Injects exception `vector` (with `errorCode` if given) through KVM_GET/SET_VCPU_EVENTS; it is
    /// delivered through the guest IDT at the next KVM_RUN.
    public func injectException(vector: UInt8, errorCode: UInt32? = nil) throws {
        var events = kvm_vcpu_events()
        try kvmIoctl(fd, CKVM_KVM_GET_VCPU_EVENTS(), "KVM_GET_VCPU_EVENTS", &events)
        events.exception.injected = 1
        events.exception.nr = vector
        events.exception.has_error_code = errorCode == nil ? 0 : 1
        events.exception.error_code = errorCode ?? 0
        events.exception.pending = 0
        events.flags = 0
        try kvmIoctl(fd, CKVM_KVM_SET_VCPU_EVENTS(), "KVM_SET_VCPU_EVENTS", &events)
    }

    /// Queues a page fault with `errorCode`, CR2 = `address`. With KVM_CAP_EXCEPTION_PAYLOAD enabled on the
    /// VM (`payloadEnabled`), KVM sets CR2 when it delivers the fault (KVM_VCPUEVENT_VALID_PAYLOAD);
    /// otherwise CR2 is written first with KVM_SET_SREGS.
    public func injectPageFault(address: UInt64, errorCode: UInt32, payloadEnabled: Bool) throws {
        guard payloadEnabled else {
            var special = try specialRegisters()
            special.cr2 = address
            try setSpecialRegisters(special)
            try injectException(vector: X86.Vector.pageFault, errorCode: errorCode)
            return
        }
        var events = kvm_vcpu_events()
        try kvmIoctl(fd, CKVM_KVM_GET_VCPU_EVENTS(), "KVM_GET_VCPU_EVENTS", &events)
        // A pending (not yet delivered) exception carries its payload to delivery.
        events.exception.pending = 1
        events.exception.injected = 0
        events.exception.nr = X86.Vector.pageFault
        events.exception.has_error_code = 1
        events.exception.error_code = errorCode
        events.exception_has_payload = 1
        events.exception_payload = address
        events.flags = UInt32(KVM_VCPUEVENT_VALID_PAYLOAD)
        try kvmIoctl(fd, CKVM_KVM_SET_VCPU_EVENTS(), "KVM_SET_VCPU_EVENTS", &events)
    }

    /// KVM_GET_MP_STATE.
    public func mpState() throws -> MPState {
        var state = kvm_mp_state()
        try kvmIoctl(fd, CKVM_KVM_GET_MP_STATE(), "KVM_GET_MP_STATE", &state)
        return MPState(rawValue: state.mp_state) ?? .runnable
    }

    /// KVM_SET_MP_STATE.
    public func setMPState(_ state: MPState) throws {
        var value = kvm_mp_state(mp_state: state.rawValue)
        try kvmIoctl(fd, CKVM_KVM_SET_MP_STATE(), "KVM_SET_MP_STATE", &value)
    }

    /// KVM_TRANSLATE: walks the guest's current page tables for a linear address.
    public func translate(_ linearAddress: UInt64) throws -> Translation {
        var t = kvm_translation()
        t.linear_address = linearAddress
        try kvmIoctl(fd, CKVM_KVM_TRANSLATE(), "KVM_TRANSLATE", &t)
        return Translation(
            physicalAddress: t.physical_address, valid: t.valid != 0, writeable: t.writeable != 0,
            usermode: t.usermode != 0)
    }
}
