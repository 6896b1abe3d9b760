import GuestMemory

/// Why a kernel, initrd or boot table could not be set up. Messages are written for the person who
/// started the VM and say what to do.
public enum BootError: Error, Equatable, CustomStringConvertible {
    /// The file ends before a structure it declares.
    case truncated(what: String, needed: UInt64, fileSize: UInt64)
    /// Neither an ELF vmlinux nor a bzImage.
    case notAKernel(fileSize: UInt64)
    /// An ELF file that is not a loadable x86-64 kernel.
    case invalidELF(String)
    /// An ELF vmlinux without XEN_ELFNOTE_PHYS32_ENTRY: it cannot be started directly.
    case noPVHEntry
    /// A bzImage whose setup header is inconsistent.
    case invalidBzImage(String)
    /// The bzImage's boot protocol is older than the one we implement.
    case unsupportedBootProtocol(version: UInt16)
    /// A bzImage without XLF_KERNEL_64: a 32-bit kernel.
    case kernelNot64Bit
    /// Guest RAM below the device hole is too small for what must be loaded there.
    case insufficientMemory(what: String, needed: UInt64, available: UInt64)
    /// The command line (without its NUL) is longer than the kernel or the layout allows.
    case commandLineTooLong(length: Int, limit: Int)
    /// The command line contains a NUL byte, which would silently cut it short.
    case commandLineContainsNUL
    /// The guest memory layout cannot hold the boot structures (region 0 must start at 0 and reach 1 MiB).
    case invalidMemoryLayout(String)
    /// vCPU count outside what the APIC tables and CPUID can describe.
    case invalidVCPUCount(Int, maximum: Int)
    /// A bounds-checked guest-memory write failed (a layout bug: every address is checked beforehand).
    case guestMemory(what: String, GuestMemoryError)

    public var description: String {
        switch self {
        case .truncated(let what, let needed, let fileSize):
            return "kernel file is truncated: \(what) needs \(needed) bytes but the file has \(fileSize)"
        case .notAKernel(let fileSize):
            return "not a Linux kernel (\(fileSize) bytes): expected an ELF vmlinux with a PVH note or a bzImage"
        case .invalidELF(let reason):
            return "invalid ELF kernel: \(reason)"
        case .noPVHEntry:
            return "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): use a bzImage or a kernel "
                + "built with CONFIG_PVH"
        case .invalidBzImage(let reason):
            return "invalid bzImage: \(reason)"
        case .unsupportedBootProtocol(let version):
            return "bzImage uses boot protocol \(version >> 8).\(String(format2: version & 0xFF)); "
                + "2.12 or newer is required (Linux 3.8+)"
        case .kernelNot64Bit:
            return "bzImage is a 32-bit kernel (no XLF_KERNEL_64): build the guest kernel with CONFIG_64BIT"
        case .insufficientMemory(let what, let needed, let available):
            return "not enough guest RAM for \(what): needs \(mebibytes(needed)) of low RAM, "
                + "have \(mebibytes(available)): raise --memory"
        case .commandLineTooLong(let length, let limit):
            return "kernel command line is \(length) bytes; the kernel accepts at most \(limit)"
        case .commandLineContainsNUL:
            return "kernel command line contains a NUL byte"
        case .invalidMemoryLayout(let reason):
            return "guest memory layout cannot boot Linux: \(reason)"
        case .invalidVCPUCount(let count, let maximum):
            return "\(count) vCPUs requested; between 1 and \(maximum) are supported"
        case .guestMemory(let what, let error):
            return "writing \(what) into guest memory failed: \(error)"
        }
    }
}

/// "N MiB", rounded up so that "needs" never understates.
private func mebibytes(_ bytes: UInt64) -> String {
    let mib = bytes / (1 << 20) + (bytes % (1 << 20) == 0 ? 0 : 1)
    return "\(mib) MiB"
}

extension String {
    /// Two-digit decimal, for minor protocol versions ("2.05").
    fileprivate init(format2 value: UInt16) {
        self = value < 10 ? "0\(value)" : "\(value)"
    }
}

extension GuestMemory {
    /// `write` with the failure named after what was being written.
    func write(_ bytes: some Collection<UInt8>, at address: GuestAddress, what: String) throws {
        do {
            try write(bytes, at: address)
        } catch let error as GuestMemoryError {
            throw BootError.guestMemory(what: what, error)
        }
    }

    /// Copies `length` bytes of `source` from `offset` into guest RAM at `address`, with the failure named
    /// after what was being written. The source writes into the guest's pages itself: for a `BootFile`
    /// that is one pread from the page cache, with no copy of the file in the VMM.
    func copy(
        from source: any BootFileSource, offset: UInt64, length: UInt64, to address: GuestAddress, what: String
    ) throws {
        guard length <= UInt64(Int.max) else {
            throw BootError.guestMemory(what: what, .outOfRange(address: address, length: length))
        }
        do {
            try withBytes(at: address, length: Int(length)) { try source.read(at: offset, into: $0) }
        } catch let error as GuestMemoryError {
            throw BootError.guestMemory(what: what, error)
        }
    }

    /// `fill` with the failure named after what was being written.
    func zero(at address: GuestAddress, length: UInt64, what: String) throws {
        guard length <= UInt64(Int.max) else {
            throw BootError.guestMemory(what: what, .outOfRange(address: address, length: length))
        }
        do {
            try fill(0, at: address, length: Int(length))
        } catch let error as GuestMemoryError {
            throw BootError.guestMemory(what: what, error)
        }
    }

    /// The end of the RAM region that starts at guest-physical 0 ("low RAM"), where every boot structure,
    /// the kernel and the initrd must go.
    func lowRAMEnd() throws -> UInt64 {
        guard let first = regions.first, first.start.rawValue == 0 else {
            throw BootError.invalidMemoryLayout("no RAM at guest-physical address 0")
        }
        guard first.size >= BootLayout.highMemoryStart else {
            throw BootError.invalidMemoryLayout("the first RAM region is smaller than 1 MiB")
        }
        return first.end
    }
}
