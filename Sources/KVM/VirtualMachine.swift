import CKVM
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// A KVM virtual machine fd: memory slots, in-kernel irqchip and PIT, interrupt lines, MSR filtering.
public final class VirtualMachine: @unchecked Sendable {
    public let fd: Int32
    public let hypervisor: Hypervisor

    init(fd: Int32, hypervisor: Hypervisor) {
        self.fd = fd
        self.hypervisor = hypervisor
    }

    deinit { close(fd) }

    /// KVM_CHECK_EXTENSION on the VM fd (some answers are per-VM).
    public func check(_ capability: Capability) -> Int32 {
        (try? kvmIoctl(fd, CKVM_KVM_CHECK_EXTENSION(), "KVM_CHECK_EXTENSION", value: UInt(capability.rawValue))) ?? 0
    }

    /// KVM_SET_USER_MEMORY_REGION: map `size` bytes at `hostAddress` to guest-physical `guestAddress`.
    public func setUserMemoryRegion(
        slot: UInt32, guestAddress: UInt64, size: UInt64, hostAddress: UnsafeMutableRawPointer, readOnly: Bool = false
    ) throws {
        var region = kvm_userspace_memory_region(
            slot: slot, flags: readOnly ? UInt32(KVM_MEM_READONLY) : 0, guest_phys_addr: guestAddress,
            memory_size: size, userspace_addr: UInt64(UInt(bitPattern: hostAddress)))
        try kvmIoctl(fd, CKVM_KVM_SET_USER_MEMORY_REGION(), "KVM_SET_USER_MEMORY_REGION", &region)
    }

    /// KVM_SET_TSS_ADDR: three pages of guest-physical space KVM needs on Intel VMX.
    public func setTSSAddress(_ address: UInt64) throws {
        try kvmIoctl(fd, CKVM_KVM_SET_TSS_ADDR(), "KVM_SET_TSS_ADDR", value: UInt(address))
    }

    /// KVM_SET_IDENTITY_MAP_ADDR: one page KVM uses for real-mode emulation on VMX.
    public func setIdentityMapAddress(_ address: UInt64) throws {
        var value = address
        try kvmIoctl(fd, CKVM_KVM_SET_IDENTITY_MAP_ADDR(), "KVM_SET_IDENTITY_MAP_ADDR", &value)
    }

    /// KVM_CREATE_IRQCHIP: in-kernel PIC, IOAPIC and per-vCPU local APICs.
    public func createIrqchip() throws {
        try kvmIoctl(fd, CKVM_KVM_CREATE_IRQCHIP(), "KVM_CREATE_IRQCHIP", value: 0)
    }

    /// KVM_CREATE_PIT2: in-kernel i8254 (and port 0x61).
    public func createPIT2() throws {
        var config = kvm_pit_config()
        config.flags = UInt32(KVM_PIT_SPEAKER_DUMMY)
        try kvmIoctl(fd, CKVM_KVM_CREATE_PIT2(), "KVM_CREATE_PIT2", &config)
    }

    /// KVM_IRQ_LINE: drive GSI `irq` of the in-kernel irqchip to `level`.
    public func setIrqLine(_ irq: UInt32, level: Bool) throws {
        var line = kvm_irq_level()
        line.irq = irq
        line.level = level ? 1 : 0
        try kvmIoctl(fd, CKVM_KVM_IRQ_LINE(), "KVM_IRQ_LINE", &line)
    }

    /// KVM_SIGNAL_MSI: delivers one message-signalled interrupt through the in-kernel irqchip, as a PCI
    /// function's write of `data` to `address` would. Returns false when the guest's interrupt
    /// controller blocked it (KVM returns 0: "the guest masked it"), true when it was delivered.
    @discardableResult
    public func signalMSI(address: UInt64, data: UInt32) throws -> Bool {
        var message = kvm_msi()
        message.address_lo = UInt32(truncatingIfNeeded: address)
        message.address_hi = UInt32(truncatingIfNeeded: address >> 32)
        message.data = data
        let result = try kvmIoctl(fd, CKVM_KVM_SIGNAL_MSI(), "KVM_SIGNAL_MSI", &message)
        return result > 0
    }

    /// KVM_ENABLE_CAP on the VM.
    public func enableCapability(_ capability: Capability, arguments: [UInt64] = []) throws {
        var request = kvm_enable_cap()
        request.cap = UInt32(capability.rawValue)
        withUnsafeMutableBytes(of: &request.args) { args in
            for (index, value) in arguments.prefix(4).enumerated() {
                args.storeBytes(of: value, toByteOffset: index * 8, as: UInt64.self)
            }
        }
        try kvmIoctl(fd, CKVM_KVM_ENABLE_CAP(), "KVM_ENABLE_CAP", &request)
    }

    /// Makes guest WRMSR of the given MSRs exit to user space as `.msrWrite` instead of reaching KVM
    /// (KVM_CAP_X86_USER_SPACE_MSR with KVM_MSR_EXIT_REASON_FILTER, then KVM_X86_SET_MSR_FILTER).
    /// Reads and all other MSRs keep KVM's default handling.
    public func trapMSRWrites(_ indices: [UInt32]) throws {
        try enableCapability(.x86UserSpaceMSR, arguments: [UInt64(KVM_MSR_EXIT_REASON_FILTER)])
        var filter = kvm_msr_filter()
        filter.flags = UInt32(KVM_MSR_FILTER_DEFAULT_ALLOW)
        // One range per MSR, each a one-bit bitmap whose 0 bit means "deny" (→ exit to user space).
        guard indices.count <= Int(KVM_MSR_FILTER_MAX_RANGES) else {
            throw KVMError.ioctl(name: "KVM_X86_SET_MSR_FILTER(\(indices.count) ranges)", errno: .invalidArgument)
        }
        var deny: UInt8 = 0
        try withUnsafeMutablePointer(to: &deny) { bitmap in
            withUnsafeMutableBytes(of: &filter.ranges) { ranges in
                let slots = ranges.bindMemory(to: kvm_msr_filter_range.self)
                for (slot, index) in indices.enumerated() {
                    slots[slot] = kvm_msr_filter_range(
                        flags: UInt32(KVM_MSR_FILTER_WRITE), nmsrs: 1, base: index, bitmap: bitmap)
                }
            }
            try kvmIoctl(fd, CKVM_KVM_X86_SET_MSR_FILTER(), "KVM_X86_SET_MSR_FILTER", &filter)
        }
    }

    /// KVM_REGISTER_COALESCED_MMIO with the PIO flag: guest writes to these ports are buffered in the
    /// kernel instead of exiting (for write-only ports whose data nobody needs, like POST port 0x80).
    public func registerCoalescedPIO(port: UInt16, size: UInt32) throws {
        var zone = kvm_coalesced_mmio_zone()
        zone.addr = UInt64(port)
        zone.size = size
        zone.pio = 1
        try kvmIoctl(fd, CKVM_KVM_REGISTER_COALESCED_MMIO(), "KVM_REGISTER_COALESCED_MMIO(pio)", &zone)
    }

    /// KVM_IOEVENTFD: a guest write of `length` bytes to `address` (an I/O port when `isPort`) signals
    /// `notifier` inside KVM instead of exiting to user space; with `datamatch`, only writes of that
    /// value do (virtio's queue-notify register carries the queue index).
    public func attachIOEvent(
        _ notifier: EventNotifier, address: UInt64, length: UInt32, datamatch: UInt64? = nil, isPort: Bool = false
    ) throws {
        var request = ioEventRequest(notifier, address: address, length: length, datamatch: datamatch, isPort: isPort)
        try kvmIoctl(fd, CKVM_KVM_IOEVENTFD(), "KVM_IOEVENTFD(0x\(String(address, radix: 16)))", &request)
    }

    /// Undoes `attachIOEvent` with the same arguments.
    public func detachIOEvent(
        _ notifier: EventNotifier, address: UInt64, length: UInt32, datamatch: UInt64? = nil, isPort: Bool = false
    ) throws {
        var request = ioEventRequest(notifier, address: address, length: length, datamatch: datamatch, isPort: isPort)
        request.flags |= UInt32(1 << kvm_ioeventfd_flag_nr_deassign)
        try kvmIoctl(fd, CKVM_KVM_IOEVENTFD(), "KVM_IOEVENTFD(deassign)", &request)
    }

    private func ioEventRequest(
        _ notifier: EventNotifier, address: UInt64, length: UInt32, datamatch: UInt64?, isPort: Bool
    ) -> kvm_ioeventfd {
        var request = kvm_ioeventfd()
        request.addr = address
        request.len = length
        request.fd = notifier.fd
        if let datamatch {
            request.datamatch = datamatch
            request.flags |= UInt32(1 << kvm_ioeventfd_flag_nr_datamatch)
        }
        if isPort { request.flags |= UInt32(1 << kvm_ioeventfd_flag_nr_pio) }
        return request
    }

    /// KVM_IRQFD: signalling `notifier` pulses GSI `gsi` of the in-kernel irqchip (1 then 0), without a
    /// trip through this process's ioctl path; suits edge-triggered pins.
    public func attachInterruptEvent(_ notifier: EventNotifier, gsi: UInt32) throws {
        var request = kvm_irqfd()
        request.fd = UInt32(bitPattern: notifier.fd)
        request.gsi = gsi
        try kvmIoctl(fd, CKVM_KVM_IRQFD(), "KVM_IRQFD(gsi \(gsi))", &request)
    }

    /// KVM_CREATE_VCPU and mmap of its kvm_run page.
    public func createVCPU(id: UInt32) throws -> VCPU {
        let vcpufd = try kvmIoctl(fd, CKVM_KVM_CREATE_VCPU(), "KVM_CREATE_VCPU", value: UInt(id))
        do {
            return try VCPU(fd: vcpufd, id: id, mmapSize: hypervisor.vcpuMmapSize)
        } catch {
            close(vcpufd)
            throw error
        }
    }
}
