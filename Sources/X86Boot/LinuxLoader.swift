import GuestMemory
import KVM

/// A kernel placed in guest memory with everything its boot protocol needs, ready for the boot vCPU.
public struct LoadedKernel: Sendable {
    public enum BootProtocol: Sendable, Equatable {
        /// vmlinux entered at its Xen PVH note in 32-bit protected mode, with hvm_start_info.
        case pvh
        /// bzImage entered at its 64-bit entry in long mode, with boot_params.
        case linux64
    }

    public let bootProtocol: BootProtocol
    /// The first instruction: the PVH entry or load address + 0x200.
    public let entry: UInt64
    /// Guest-physical memory the kernel occupies (for a bzImage: through init_size).
    public let kernelRange: Range<UInt64>
    public let initrdRange: Range<UInt64>?
    /// hvm_start_info (PVH) or boot_params (linux64).
    public let bootParameters: GuestAddress

    /// The boot vCPU's registers at the entry, starting from the special registers read from it.
    public func bootState(from current: SpecialRegisters) -> (Registers, SpecialRegisters) {
        switch bootProtocol {
        case .pvh:
            BootCPUState.pvh(entry: UInt32(truncatingIfNeeded: entry), startInfo: bootParameters, from: current)
        case .linux64:
            BootCPUState.linux64(entry: entry, bootParams: bootParameters, from: current)
        }
    }
}

/// Loads a Linux kernel for direct boot: an ELF vmlinux with a PVH note, or a 64-bit bzImage. Validates
/// everything before writing anything, then writes the kernel, initrd, command line, the protocol's
/// parameter block and the GDT (and, for the 64-bit entry, identity page tables) — see `BootLayout`.
/// ACPI tables are written beforehand by `ACPITables.write`, which returns `rsdpAddress`.
public enum LinuxLoader {
    /// x86 COMMAND_LINE_SIZE (arch/x86/include/asm/setup.h) minus the NUL. The PVH path has no header
    /// to tell us the limit, and a longer line would be cut short silently by the guest.
    static let pvhCommandLineLimit = 2047

    /// Reads only headers from `kernel` and `initrd`; their payloads are copied by the sources straight
    /// into guest RAM, so a `BootFile` source never puts a copy of the file in the VMM's memory.
    ///
    /// `randomSeed`, when not empty, reaches a bzImage as a SETUP_RNG_SEED setup_data node (as QEMU
    /// passes one), so the guest's random pool is seeded before anything asks it for bytes; without
    /// one, a kernel with no other entropy source gathers it from timer jitter, which is slow where
    /// interrupts are expensive. The PVH entry has no setup_data: a virtio-rng device seeds those.
    public static func load(
        kernel: any BootFileSource, initrd: (any BootFileSource)?, commandLine: String, rsdpAddress: GuestAddress,
        randomSeed: [UInt8] = [], into memory: GuestMemory
    ) throws -> LoadedKernel {
        let initrd = initrd.flatMap { $0.size == 0 ? nil : $0 }
        // Enough of the file to tell an ELF from a bzImage (whose signature sits at 0x202).
        let prefix = try kernel.read(at: 0, count: Int(min(kernel.size, UInt64(BzImage.Header.maximumEnd))))
        if prefix.starts(with: ELFKernel.magic) {
            return try loadPVH(
                ELFKernel(parsing: kernel), initrd: initrd, commandLine: commandLine, rsdp: rsdpAddress,
                memory: memory)
        }
        if BzImage.looksLikeBzImage(prefix) {
            return try loadBzImage(
                BzImage(parsing: kernel), initrd: initrd, commandLine: commandLine, rsdp: rsdpAddress,
                randomSeed: randomSeed, memory: memory)
        }
        throw BootError.notAKernel(fileSize: kernel.size)
    }

    static func loadPVH(
        _ elf: ELFKernel, initrd: (any BootFileSource)?, commandLine: String, rsdp: GuestAddress, memory: GuestMemory
    ) throws -> LoadedKernel {
        guard let entry = elf.pvhEntry else { throw BootError.noPVHEntry }
        let lowEnd = try memory.lowRAMEnd()
        let memoryMap = try E820Map.entries(for: memory)
        guard memoryMap.count <= BootLayout.pvhMemoryMapCapacity else {
            throw BootError.invalidMemoryLayout("\(memoryMap.count) memory-map entries do not fit the PVH area")
        }
        let commandLineBytes = try terminatedCommandLine(commandLine, limit: pvhCommandLineLimit)
        guard elf.physicalRange.upperBound <= lowEnd else {
            throw BootError.insufficientMemory(
                what: "the kernel", needed: elf.physicalRange.upperBound, available: lowEnd)
        }
        // Linux reads the module address into the 32-bit ramdisk_image, so the initrd stays below 4 GiB.
        let initrdRange = try initrd.map {
            try placeInitrd(
                size: $0.size, kernelEnd: elf.physicalRange.upperBound,
                limit: min(lowEnd, BootLayout.fourGiB))
        }

        let kernelRange = try elf.load(into: memory)
        if let initrd, let initrdRange {
            try memory.copy(
                from: initrd, offset: 0, length: initrd.size, to: GuestAddress(initrdRange.lowerBound),
                what: "the initrd")
        }
        try memory.write(commandLineBytes, at: BootLayout.commandLine, what: "the command line")
        let startInfo = PVHStartInfo(
            commandLine: BootLayout.commandLine.rawValue, rsdp: rsdp.rawValue,
            initrd: initrdRange.map { ($0.lowerBound, UInt64($0.count)) }, memoryMap: memoryMap)
        try memory.write(
            startInfo.startInfoBytes(
                moduleList: BootLayout.pvhModuleList.rawValue, memoryMapAddress: BootLayout.pvhMemoryMap.rawValue),
            at: BootLayout.pvhStartInfo, what: "hvm_start_info")
        try memory.write(startInfo.moduleListBytes(), at: BootLayout.pvhModuleList, what: "the PVH module list")
        try memory.write(startInfo.memoryMapBytes(), at: BootLayout.pvhMemoryMap, what: "the PVH memory map")
        try memory.write(GDT.bytes, at: BootLayout.gdt, what: "the GDT")
        return LoadedKernel(
            bootProtocol: .pvh, entry: UInt64(entry), kernelRange: kernelRange, initrdRange: initrdRange,
            bootParameters: BootLayout.pvhStartInfo)
    }

    static func loadBzImage(
        _ image: BzImage, initrd: (any BootFileSource)?, commandLine: String, rsdp: GuestAddress,
        randomSeed: [UInt8] = [], memory: GuestMemory
    ) throws -> LoadedKernel {
        let lowEnd = try memory.lowRAMEnd()
        let memoryMap = try E820Map.entries(for: memory)
        let limit = min(Int(clamping: image.commandLineSize), BootLayout.commandLineCapacity - 1)
        let commandLineBytes = try terminatedCommandLine(commandLine, limit: limit)
        let kernelRange = try image.kernelRange(lowRAMEnd: lowEnd)
        // initrd_addr_max is the highest byte the initrd may occupy (boot.rst "initrd_addr_max").
        let initrdLimit = min(UInt64(image.initrdAddressMax) + 1, lowEnd, BootLayout.fourGiB)
        let initrdRange = try initrd.map {
            try placeInitrd(size: $0.size, kernelEnd: kernelRange.upperBound, limit: initrdLimit)
        }

        try image.load(into: memory)
        var bootParams = BootParams(setupHeader: image.setupHeader)
        bootParams.setCommandLine(BootLayout.commandLine.rawValue)
        bootParams.setRamdisk(
            address: initrdRange?.lowerBound ?? 0, size: initrdRange.map { UInt64($0.count) } ?? 0)
        bootParams.setACPIRoot(rsdp.rawValue)
        try bootParams.setMemoryMap(memoryMap)
        if let initrd, let initrdRange {
            try memory.copy(
                from: initrd, offset: 0, length: initrd.size, to: GuestAddress(initrdRange.lowerBound),
                what: "the initrd")
        }
        try memory.write(commandLineBytes, at: BootLayout.commandLine, what: "the command line")
        if !randomSeed.isEmpty {
            try memory.write(SetupData.rngSeed(randomSeed).bytes, at: BootLayout.setupData, what: "the RNG seed")
            bootParams.setSetupData(BootLayout.setupData.rawValue)
        }
        try memory.write(bootParams.bytes, at: BootLayout.bootParams, what: "boot_params")
        try memory.write(PageTables.bytes, at: BootLayout.pml4, what: "the page tables")
        try memory.write(GDT.bytes, at: BootLayout.gdt, what: "the GDT")
        return LoadedKernel(
            bootProtocol: .linux64, entry: kernelRange.lowerBound + 0x200, kernelRange: kernelRange,
            initrdRange: initrdRange, bootParameters: BootLayout.bootParams)
    }

    /// The command line as UTF-8 plus its NUL, after checking it against `limit` (bytes without NUL).
    static func terminatedCommandLine(_ commandLine: String, limit: Int) throws -> [UInt8] {
        let bytes = Array(commandLine.utf8)
        guard !bytes.contains(0) else { throw BootError.commandLineContainsNUL }
        guard bytes.count <= limit else { throw BootError.commandLineTooLong(length: bytes.count, limit: limit) }
        return bytes + [0]
    }

    /// The initrd goes as high as allowed — page aligned, ending at or below `limit` — so the kernel's
    /// decompression and early allocations below it have room; it must not overlap the kernel.
    static func placeInitrd(size: UInt64, kernelEnd: UInt64, limit: UInt64) throws -> Range<UInt64> {
        let floor = kernelEnd.alignedUp(to: BootLayout.initrdAlignment) ?? UInt64.max
        let needed = floor.addingReportingOverflow(size.alignedUp(to: BootLayout.initrdAlignment) ?? UInt64.max)
        guard size <= limit, (limit - size).alignedDown(to: BootLayout.initrdAlignment) >= floor else {
            throw BootError.insufficientMemory(
                what: "the kernel and a \(size)-byte initrd",
                needed: needed.overflow ? UInt64.max : needed.partialValue,
                available: limit)
        }
        let start = (limit - size).alignedDown(to: BootLayout.initrdAlignment)
        return start..<(start + size)
    }
}
