import GuestMemory

/// An ELF64 x86-64 executable (`vmlinux`) as the PVH boot path loads it: its PT_LOAD segments by
/// physical address and the 32-bit entry from the Xen PVH ELF note. (System V gABI "ELF-64 Object File
/// Format"; Xen public/elfnote.h XEN_ELFNOTE_PHYS32_ENTRY.)
struct ELFKernel: Sendable {
    /// One PT_LOAD program header.
    struct LoadSegment: Equatable, Sendable {
        /// Where the segment goes in guest-physical memory (p_paddr).
        var physicalAddress: UInt64
        /// Where its bytes start in the file (p_offset).
        var fileOffset: UInt64
        /// Bytes copied from the file (p_filesz).
        var fileSize: UInt64
        /// Bytes occupied in memory; the tail past `fileSize` is zero-filled (p_memsz).
        var memorySize: UInt64
    }

    let segments: [LoadSegment]
    /// XEN_ELFNOTE_PHYS32_ENTRY, or nil when the kernel was built without CONFIG_PVH.
    let pvhEntry: UInt32?
    /// [lowest p_paddr, highest p_paddr + p_memsz) over all PT_LOAD segments.
    let physicalRange: Range<UInt64>
    /// The file the segments are copied from.
    private let file: any BootFileSource

    // ELF constants (gABI): identification, header fields, program header types.
    static let magic: [UInt8] = [0x7F, 0x45, 0x4C, 0x46]
    static let elfClass64: UInt8 = 2
    static let elfDataLittleEndian: UInt8 = 1
    static let elfTypeExecutable: UInt16 = 2
    static let machineX86_64: UInt16 = 62
    static let headerSize = 64
    static let programHeaderSize = 56
    static let programTypeLoad: UInt32 = 1
    static let programTypeNote: UInt32 = 4
    /// Xen's note name and the note type of the 32-bit PVH entry point.
    static let xenNoteName: [UInt8] = Array("Xen".utf8) + [0]
    static let xenNotePhys32Entry: UInt32 = 18
    /// Program headers we are willing to walk; vmlinux has about five. PN_XNUM (0xFFFF) extended
    /// numbering is refused by this bound too.
    static let maxProgramHeaders = 128
    /// Notes walked per PT_NOTE segment; vmlinux has a dozen or so.
    static let maxNotesPerSegment = 1024

    /// Parses and validates the headers of `file`, reading only the ELF header, the program headers and
    /// the PT_NOTE contents. Does not look at guest memory; `load(into:)` checks that the segments fit.
    init(parsing file: any BootFileSource) throws {
        let fileSize = file.size
        guard fileSize >= UInt64(Self.headerSize) else {
            throw BootError.truncated(what: "the ELF header", needed: UInt64(Self.headerSize), fileSize: fileSize)
        }
        let header = try file.read(at: 0, count: Self.headerSize)
        guard Array(header[0..<4]) == Self.magic else { throw BootError.invalidELF("bad magic") }
        guard header[4] == Self.elfClass64 else {
            throw BootError.invalidELF("not a 64-bit ELF (EI_CLASS \(header[4]))")
        }
        guard header[5] == Self.elfDataLittleEndian else { throw BootError.invalidELF("not little-endian") }
        // `header` holds 64 bytes, so these reads cannot fail.
        let type = header.littleEndian(UInt16.self, at: 0x10) ?? 0
        let machine = header.littleEndian(UInt16.self, at: 0x12) ?? 0
        let programHeaderOffset = header.littleEndian(UInt64.self, at: 0x20) ?? 0
        let programHeaderEntrySize = header.littleEndian(UInt16.self, at: 0x36) ?? 0
        let programHeaderCount = header.littleEndian(UInt16.self, at: 0x38) ?? 0
        guard machine == Self.machineX86_64 else {
            throw BootError.invalidELF("not an x86-64 ELF (e_machine \(machine))")
        }
        guard type == Self.elfTypeExecutable else {
            throw BootError.invalidELF("not an executable (e_type \(type)); pass the vmlinux, not a module or object")
        }
        guard Int(programHeaderEntrySize) >= Self.programHeaderSize else {
            throw BootError.invalidELF("program header entry size \(programHeaderEntrySize) is below 56")
        }
        guard programHeaderCount > 0 else { throw BootError.invalidELF("no program headers") }
        guard Int(programHeaderCount) <= Self.maxProgramHeaders else {
            throw BootError.invalidELF("\(programHeaderCount) program headers (at most \(Self.maxProgramHeaders))")
        }
        // phnum ≤ 128 and phentsize ≤ 0xFFFF, so the table size cannot overflow; its end can.
        let tableSize = UInt64(programHeaderCount) * UInt64(programHeaderEntrySize)
        let (tableEnd, tableOverflow) = programHeaderOffset.addingReportingOverflow(tableSize)
        guard !tableOverflow, tableEnd <= fileSize else {
            throw BootError.truncated(
                what: "the program header table", needed: tableOverflow ? UInt64.max : tableEnd, fileSize: fileSize)
        }

        var segments: [LoadSegment] = []
        var pvhEntry: UInt32?
        for index in 0..<Int(programHeaderCount) {
            // Inside the table, whose end was checked above: no overflow, and the 56 bytes are in the file.
            let base = programHeaderOffset + UInt64(index) * UInt64(programHeaderEntrySize)
            let entry = try file.read(at: base, count: Self.programHeaderSize)
            guard let type = entry.littleEndian(UInt32.self, at: 0),
                let offset = entry.littleEndian(UInt64.self, at: 8),
                let physicalAddress = entry.littleEndian(UInt64.self, at: 24),
                let fileSizeField = entry.littleEndian(UInt64.self, at: 32),
                let memorySize = entry.littleEndian(UInt64.self, at: 40)
            else {
                throw BootError.truncated(
                    what: "program header \(index)", needed: base + UInt64(Self.programHeaderSize),
                    fileSize: fileSize)
            }
            let (dataEnd, dataOverflow) = offset.addingReportingOverflow(fileSizeField)
            switch type {
            case Self.programTypeLoad:
                guard !dataOverflow, dataEnd <= fileSize else {
                    throw BootError.truncated(
                        what: "PT_LOAD segment \(index)", needed: dataOverflow ? UInt64.max : dataEnd,
                        fileSize: fileSize)
                }
                guard fileSizeField <= memorySize else {
                    throw BootError.invalidELF("segment \(index): p_filesz \(fileSizeField) > p_memsz \(memorySize)")
                }
                guard physicalAddress.addingReportingOverflow(memorySize).overflow == false else {
                    throw BootError.invalidELF("segment \(index): p_paddr + p_memsz overflows")
                }
                if memorySize > 0 {
                    segments.append(
                        LoadSegment(
                            physicalAddress: physicalAddress, fileOffset: offset, fileSize: fileSizeField,
                            memorySize: memorySize))
                }
            case Self.programTypeNote:
                guard !dataOverflow, dataEnd <= fileSize else {
                    throw BootError.truncated(
                        what: "PT_NOTE segment \(index)", needed: dataOverflow ? UInt64.max : dataEnd,
                        fileSize: fileSize)
                }
                if pvhEntry == nil {
                    pvhEntry = try Self.pvhEntry(in: file, notes: offset..<dataEnd)
                }
            default:
                continue
            }
        }
        guard let first = segments.first else { throw BootError.invalidELF("no PT_LOAD segment") }
        var low = first.physicalAddress
        var high = first.physicalAddress + first.memorySize
        for segment in segments.dropFirst() {
            low = min(low, segment.physicalAddress)
            high = max(high, segment.physicalAddress + segment.memorySize)
        }
        if let entry = pvhEntry {
            let inside = segments.contains {
                UInt64(entry) >= $0.physicalAddress && UInt64(entry) < $0.physicalAddress + $0.memorySize
            }
            guard inside else {
                throw BootError.invalidELF("PVH entry 0x\(String(entry, radix: 16)) is outside every PT_LOAD segment")
            }
        }
        self.segments = segments
        self.pvhEntry = pvhEntry
        self.physicalRange = low..<high
        self.file = file
    }

    /// Walks the notes of one PT_NOTE segment — `notes` is its byte range in `file` — and returns
    /// XEN_ELFNOTE_PHYS32_ENTRY if present (gABI "Note Section": namesz, descsz, type, then name and
    /// descriptor each padded to 4 bytes). Reads each 12-byte note header and only the name and value of
    /// a candidate note, so a huge PT_NOTE costs nothing.
    static func pvhEntry(in file: any BootFileSource, notes: Range<UInt64>) throws -> UInt32? {
        var offset: UInt64 = 0
        let end = notes.upperBound - notes.lowerBound
        for _ in 0..<maxNotesPerSegment {
            guard end - offset >= 12 else { return nil }
            // notes lies inside the file (checked by the caller), so every absolute offset below does too.
            let header = try file.read(at: notes.lowerBound + offset, count: 12)
            guard let nameSize = header.littleEndian(UInt32.self, at: 0),
                let descriptorSize = header.littleEndian(UInt32.self, at: 4),
                let type = header.littleEndian(UInt32.self, at: 8)
            else { return nil }
            // 32-bit sizes padded to 4 cannot overflow a UInt64 sum.
            let nameStart = offset + 12
            let descriptorStart = nameStart + (UInt64(nameSize) + 3) / 4 * 4
            let next = descriptorStart + (UInt64(descriptorSize) + 3) / 4 * 4
            guard nameStart + UInt64(nameSize) <= end, descriptorStart + UInt64(descriptorSize) <= end else {
                throw BootError.invalidELF("ELF note at offset \(offset) runs past its PT_NOTE segment")
            }
            var isPVHEntry = false
            if type == xenNotePhys32Entry && Int(nameSize) == xenNoteName.count {
                isPVHEntry = try file.read(at: notes.lowerBound + nameStart, count: Int(nameSize)) == xenNoteName
            }
            if isPVHEntry {
                let descriptor = notes.lowerBound + descriptorStart
                let value: UInt64
                switch descriptorSize {
                case 4: value = UInt64(try file.read(at: descriptor, count: 4).littleEndian(UInt32.self, at: 0) ?? 0)
                case 8: value = try file.read(at: descriptor, count: 8).littleEndian(UInt64.self, at: 0) ?? 0
                default:
                    throw BootError.invalidELF("XEN_ELFNOTE_PHYS32_ENTRY has a \(descriptorSize)-byte value")
                }
                guard value <= UInt64(UInt32.max) else {
                    throw BootError.invalidELF("PVH entry 0x\(String(value, radix: 16)) is above 4 GiB")
                }
                return UInt32(value)
            }
            guard next < end else { return nil }
            offset = next
        }
        return nil
    }

    /// Copies every PT_LOAD segment to its physical address and zero-fills p_memsz − p_filesz. Segments
    /// must lie in low RAM above 1 MiB, where the boot structures below cannot be overwritten.
    /// Returns the guest-physical range the kernel occupies.
    @discardableResult
    func load(into memory: GuestMemory) throws -> Range<UInt64> {
        let lowEnd = try memory.lowRAMEnd()
        guard physicalRange.lowerBound >= BootLayout.highMemoryStart else {
            throw BootError.invalidELF(
                "a segment starts at 0x\(String(physicalRange.lowerBound, radix: 16)), below 1 MiB where the "
                    + "boot tables live")
        }
        guard physicalRange.upperBound <= lowEnd else {
            throw BootError.insufficientMemory(
                what: "the kernel", needed: physicalRange.upperBound, available: lowEnd)
        }
        for segment in segments {
            let address = GuestAddress(segment.physicalAddress)
            let (dataEnd, overflow) = segment.fileOffset.addingReportingOverflow(segment.fileSize)
            guard !overflow, dataEnd <= file.size else {
                throw BootError.truncated(
                    what: "a PT_LOAD segment", needed: overflow ? UInt64.max : dataEnd, fileSize: file.size)
            }
            // Straight from the file into the segment's guest pages.
            try memory.copy(
                from: file, offset: segment.fileOffset, length: segment.fileSize, to: address, what: "kernel segment")
            let tail = segment.memorySize - segment.fileSize
            if tail > 0 {
                try memory.zero(
                    at: GuestAddress(segment.physicalAddress + segment.fileSize), length: tail, what: "kernel bss")
            }
        }
        return physicalRange
    }
}

extension ELFKernel: CustomStringConvertible {
    var description: String {
        let entry = pvhEntry.map { "0x" + String($0, radix: 16) } ?? "none"
        return "ELF kernel: \(segments.count) PT_LOAD segments at [0x\(String(physicalRange.lowerBound, radix: 16)), "
            + "0x\(String(physicalRange.upperBound, radix: 16))), PVH entry \(entry)"
    }
}
