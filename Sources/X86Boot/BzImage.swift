import GuestMemory

/// A bzImage as the Linux 64-bit boot protocol loads it (Documentation/arch/x86/boot.rst, protocol 2.15):
/// the real-mode setup sectors, whose setup header we copy into boot_params, followed by the
/// protected-mode kernel that goes to `loadAddress`.
struct BzImage: Sendable {
    /// Offsets of `struct setup_header` fields in the file — the same as in `struct boot_params`
    /// (boot.rst "The Real-Mode Kernel Header").
    enum Header {
        static let setupSects = 0x1F1
        static let bootFlag = 0x1FE
        static let jump = 0x200
        static let header = 0x202
        static let version = 0x206
        static let typeOfLoader = 0x210
        static let loadflags = 0x211
        static let ramdiskImage = 0x218
        static let ramdiskSize = 0x21C
        static let heapEndPtr = 0x224
        /// syssize: the protected-mode code's size in 16-byte paragraphs (32 bits since protocol 2.04).
        static let syssize = 0x1F4
        static let cmdLinePtr = 0x228
        static let initrdAddrMax = 0x22C
        static let kernelAlignment = 0x230
        static let relocatableKernel = 0x234
        static let xloadflags = 0x236
        static let cmdlineSize = 0x238
        static let prefAddress = 0x258
        static let initSize = 0x260
        /// The end of the last field we read (init_size, protocol 2.10+).
        static let minimumEnd = 0x264
        /// boot_params places edd_mbr_sig_buffer here: a header can never extend past it.
        static let maximumEnd = 0x290
    }

    static let bootFlagMagic: UInt16 = 0xAA55
    /// "HdrS" read little-endian.
    static let headerMagic: UInt32 = 0x5372_6448
    /// Protocol 2.12 introduced xloadflags (XLF_KERNEL_64), which the 64-bit entry needs.
    static let minimumVersion: UInt16 = 0x020C
    /// loadflags LOADED_HIGH: the protected-mode code is loaded at 0x100000 (a bzImage, not a zImage).
    static let loadedHigh: UInt8 = 0x01
    /// xloadflags XLF_KERNEL_64: has the 64-bit entry at load address + 0x200.
    static let xlfKernel64: UInt16 = 0x0001
    static let sectorSize = 512

    /// Boot protocol version (e.g. 0x020F for 2.15).
    let version: UInt16
    /// Setup sectors after the boot sector (0 in the file means 4).
    let setupSectors: Int
    let loadflags: UInt8
    let xloadflags: UInt16
    /// Highest address the initrd may occupy (inclusive).
    let initrdAddressMax: UInt32
    /// Maximum command-line length without its NUL.
    let commandLineSize: UInt32
    let kernelAlignment: UInt32
    let relocatable: Bool
    let preferredAddress: UInt64
    /// Memory the kernel needs from its runtime start before it reads the memory map.
    let initSize: UInt32
    /// File offset of the protected-mode kernel: (setup_sects + 1) * 512.
    let kernelOffset: Int
    /// The setup header bytes [0x1F1, 0x202 + file[0x201]) to copy into boot_params.
    let setupHeader: ArraySlice<UInt8>
    /// The file the protected-mode kernel is copied from.
    private let file: any BootFileSource

    /// True when `prefix` (the file's first bytes) carries the boot-protocol header signature; says
    /// nothing about validity.
    static func looksLikeBzImage(_ prefix: [UInt8]) -> Bool {
        prefix.littleEndian(UInt32.self, at: Header.header) == headerMagic
    }

    /// Parses and validates the setup header, reading only the file's first `Header.maximumEnd` bytes.
    init(parsing file: any BootFileSource) throws {
        let fileSize = file.size
        // Every field we read ends before Header.maximumEnd; the checks below compare against fileSize.
        let header = try file.read(at: 0, count: Int(min(fileSize, UInt64(Header.maximumEnd))))
        guard fileSize >= UInt64(Header.version + 2) else {
            throw BootError.truncated(
                what: "the boot sector", needed: UInt64(Header.version + 2), fileSize: fileSize)
        }
        guard header.littleEndian(UInt16.self, at: Header.bootFlag) == Self.bootFlagMagic else {
            throw BootError.invalidBzImage("boot_flag is not 0xAA55")
        }
        guard header.littleEndian(UInt32.self, at: Header.header) == Self.headerMagic else {
            throw BootError.invalidBzImage("no \"HdrS\" signature at 0x202")
        }
        let version = header.littleEndian(UInt16.self, at: Header.version) ?? 0
        guard version >= Self.minimumVersion else { throw BootError.unsupportedBootProtocol(version: version) }

        // boot.rst "64-bit BOOT PROTOCOL": the header ends at 0x0202 + the byte at 0x0201.
        let headerEnd = Header.header + Int(header[Header.jump + 1])
        guard headerEnd >= Header.minimumEnd, headerEnd <= Header.maximumEnd else {
            throw BootError.invalidBzImage(
                "setup header ends at 0x\(String(headerEnd, radix: 16)), outside [0x264, 0x290]")
        }
        guard UInt64(headerEnd) <= fileSize else {
            throw BootError.truncated(what: "the setup header", needed: UInt64(headerEnd), fileSize: fileSize)
        }
        let rawSetupSectors = Int(header[Header.setupSects])
        let setupSectors = rawSetupSectors == 0 ? 4 : rawSetupSectors
        let kernelOffset = (setupSectors + 1) * Self.sectorSize
        guard headerEnd <= kernelOffset else {
            throw BootError.invalidBzImage("setup_sects \(rawSetupSectors) is smaller than the setup header")
        }
        guard UInt64(kernelOffset) < fileSize else {
            throw BootError.truncated(
                what: "setup_sects \(rawSetupSectors) (the protected-mode kernel)", needed: UInt64(kernelOffset) + 1,
                fileSize: fileSize)
        }
        // All fields below end before `headerEnd`, which is inside the file and so inside `header`: the
        // reads cannot fail.
        // syssize says how much protected-mode code follows the setup sectors; a file shorter than that is
        // truncated, or its setup_sects lies (the kernel would be loaded from the wrong offset).
        let paragraphs = UInt64(header.littleEndian(UInt32.self, at: Header.syssize) ?? 0)
        guard paragraphs > 0 else { throw BootError.invalidBzImage("syssize is 0: no protected-mode kernel") }
        let kernelEnd = UInt64(kernelOffset) + paragraphs * 16
        guard kernelEnd <= fileSize else {
            throw BootError.truncated(
                what: "the protected-mode kernel (setup_sects \(rawSetupSectors), syssize \(paragraphs) paragraphs)",
                needed: kernelEnd, fileSize: fileSize)
        }
        let loadflags = header[Header.loadflags]
        let xloadflags = header.littleEndian(UInt16.self, at: Header.xloadflags) ?? 0
        guard loadflags & Self.loadedHigh != 0 else {
            throw BootError.invalidBzImage("a zImage (LOADED_HIGH clear) is not supported")
        }
        guard xloadflags & Self.xlfKernel64 != 0 else { throw BootError.kernelNot64Bit }
        let alignment = header.littleEndian(UInt32.self, at: Header.kernelAlignment) ?? 0
        let relocatable = header[Header.relocatableKernel] != 0
        if relocatable {
            guard alignment != 0, alignment & (alignment - 1) == 0 else {
                throw BootError.invalidBzImage(
                    "kernel_alignment 0x\(String(alignment, radix: 16)) is not a power of two")
            }
        }

        self.version = version
        self.setupSectors = setupSectors
        self.loadflags = loadflags
        self.xloadflags = xloadflags
        self.initrdAddressMax = header.littleEndian(UInt32.self, at: Header.initrdAddrMax) ?? 0
        self.commandLineSize = header.littleEndian(UInt32.self, at: Header.cmdlineSize) ?? 0
        self.kernelAlignment = alignment
        self.relocatable = relocatable
        self.preferredAddress = header.littleEndian(UInt64.self, at: Header.prefAddress) ?? 0
        self.initSize = header.littleEndian(UInt32.self, at: Header.initSize) ?? 0
        self.kernelOffset = kernelOffset
        self.setupHeader = header[Header.setupSects..<headerEnd]
        self.file = file
    }

    /// Bytes of the protected-mode kernel in the file.
    var payloadSize: UInt64 { file.size - UInt64(kernelOffset) }

    /// Where the protected-mode kernel is loaded: pref_address (never below 1 MiB), aligned up to
    /// kernel_alignment when relocatable. Then the decompressor runs in place (boot.rst "init_size":
    /// runtime_start = align_up(load_address, kernel_alignment) if relocatable, else pref_address).
    var loadAddress: UInt64? {
        let base = max(preferredAddress, BootLayout.highMemoryStart)
        guard relocatable else { return base }
        return base.alignedUp(to: UInt64(kernelAlignment))
    }

    /// Memory the kernel occupies from `loadAddress`: the larger of the payload and init_size.
    var footprint: UInt64 { max(payloadSize, UInt64(initSize)) }

    /// The range [loadAddress, loadAddress + footprint) after checking that it lies in low RAM.
    func kernelRange(lowRAMEnd: UInt64) throws -> Range<UInt64> {
        guard let start = loadAddress else {
            throw BootError.invalidBzImage("pref_address 0x\(String(preferredAddress, radix: 16)) cannot be aligned")
        }
        let (end, overflow) = start.addingReportingOverflow(footprint)
        guard !overflow, end <= lowRAMEnd else {
            throw BootError.insufficientMemory(
                what: "the kernel (loaded at 0x\(String(start, radix: 16)), init_size \(initSize >> 20) MiB)",
                needed: overflow ? UInt64.max : end, available: lowRAMEnd)
        }
        return start..<end
    }

    /// Copies the protected-mode kernel to `loadAddress` after checking that it and init_size fit in low
    /// RAM. Returns the range the kernel may use.
    @discardableResult
    func load(into memory: GuestMemory) throws -> Range<UInt64> {
        let range = try kernelRange(lowRAMEnd: try memory.lowRAMEnd())
        // Straight from the file into guest RAM; `kernelRange` checked that payload and init_size fit.
        try memory.copy(
            from: file, offset: UInt64(kernelOffset), length: payloadSize, to: GuestAddress(range.lowerBound),
            what: "the kernel")
        return range
    }
}

extension BzImage: CustomStringConvertible {
    var description: String {
        "bzImage: boot protocol \(version >> 8).\(version & 0xFF), \(payloadSize) bytes of kernel at file offset "
            + "\(kernelOffset), init_size \(initSize), pref_address 0x\(String(preferredAddress, radix: 16))"
    }
}
