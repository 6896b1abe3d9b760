import CKVM
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// The /dev/kvm system handle: API version, capabilities, supported CPUID, VM creation.
public final class Hypervisor: @unchecked Sendable {
    public let fd: Int32
    /// Size of each vCPU's mmapped kvm_run region (KVM_GET_VCPU_MMAP_SIZE).
    public let vcpuMmapSize: Int

    public init(path: String = "/dev/kvm") throws {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw KVMError.deviceUnavailable(path: path, errno: Errno(rawValue: errno)) }
        self.fd = fd
        do {
            let version = try kvmIoctl(fd, CKVM_KVM_GET_API_VERSION(), "KVM_GET_API_VERSION", value: 0)
            guard version == KVM_API_VERSION else { throw KVMError.unsupportedAPIVersion(version) }
            vcpuMmapSize = Int(try kvmIoctl(fd, CKVM_KVM_GET_VCPU_MMAP_SIZE(), "KVM_GET_VCPU_MMAP_SIZE", value: 0))
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    /// KVM_CHECK_EXTENSION on the system fd: 0 when absent, otherwise a capability-specific value.
    public func check(_ capability: Capability) -> Int32 {
        (try? kvmIoctl(fd, CKVM_KVM_CHECK_EXTENSION(), "KVM_CHECK_EXTENSION", value: UInt(capability.rawValue))) ?? 0
    }

    /// KVM_GET_SUPPORTED_CPUID: the leaves KVM can expose to a guest.
    public func supportedCPUID() throws -> [CPUIDEntry] {
        try CPUIDBuffer.fetch(fd: fd, request: CKVM_KVM_GET_SUPPORTED_CPUID(), name: "KVM_GET_SUPPORTED_CPUID")
    }

    /// KVM_CREATE_VM with the default machine type.
    public func createVirtualMachine() throws -> VirtualMachine {
        let vmfd = try kvmIoctl(fd, CKVM_KVM_CREATE_VM(), "KVM_CREATE_VM", value: 0)
        return VirtualMachine(fd: vmfd, hypervisor: self)
    }

    /// True when /dev/kvm is the software `kvm_pvm` module, which needs the instruction fallbacks and
    /// syscall conversion; hardware KVM never does.
    public static func isSoftwareKVM(sysModules: String = "/sys/module") -> Bool {
        access(sysModules + "/kvm_pvm", F_OK) == 0
    }
}

/// The variable-length kvm_cpuid2 argument.
enum CPUIDBuffer {
    static let maxEntries: UInt32 = 256

    static func fetch(fd: Int32, request: UInt, name: String) throws -> [CPUIDEntry] {
        let size = ckvm_cpuid2_size(maxEntries)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let header = raw.assumingMemoryBound(to: kvm_cpuid2.self)
        header.pointee.nent = maxEntries
        try kvmIoctl(fd, request, name, raw)
        let entries = (raw + MemoryLayout<kvm_cpuid2>.size).assumingMemoryBound(to: kvm_cpuid_entry2.self)
        return (0..<Int(header.pointee.nent)).map { index in
            let e = entries[index]
            return CPUIDEntry(
                function: e.function, index: e.index, flags: e.flags, eax: e.eax, ebx: e.ebx, ecx: e.ecx, edx: e.edx)
        }
    }

    static func withBuffer<R>(_ entries: [CPUIDEntry], _ body: (UnsafeMutableRawPointer) throws -> R) rethrows -> R {
        let size = ckvm_cpuid2_size(UInt32(entries.count))
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        raw.assumingMemoryBound(to: kvm_cpuid2.self).pointee.nent = UInt32(entries.count)
        let slots = (raw + MemoryLayout<kvm_cpuid2>.size).assumingMemoryBound(to: kvm_cpuid_entry2.self)
        for (index, entry) in entries.enumerated() {
            var e = kvm_cpuid_entry2()
            e.function = entry.function
            e.index = entry.index
            e.flags = entry.flags
            e.eax = entry.eax
            e.ebx = entry.ebx
            e.ecx = entry.ecx
            e.edx = entry.edx
            slots[index] = e
        }
        return try body(raw)
    }
}
