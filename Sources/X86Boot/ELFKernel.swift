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
    private let file: [UInt8]

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

    /// Parses and validates the headers of `file`. Does not look at guest memory; `load(into:)` checks
    /// that the segments fit.
    init(parsing file: [UInt8]) throws {
        let fileSize = UInt64(file.count)
        guard file.count >= Self.headerSize else {
            throw BootError.truncated(what: "the ELF header", needed: UInt64(Self.headerSize), fileSize: fileSize)
        }
        guard Array(file[0..<4]) == Self.magic else { throw BootError.invalidELF("bad magic") }
        guard file[4] == Self.elfClass64 else { throw BootError.invalidELF("not a 64-bit ELF (EI_CLASS \(file[4]))") }
        guard file[5] == Self.elfDataLittleEndian else { throw BootError.invalidELF("not little-endian") }
        // The header is 64 bytes and we checked the file holds them, so these reads cannot fail.
        let type = file.littleEndian(UInt16.self, at: 0x10) ?? 0
        let machine = file.littleEndian(UInt16.self, at: 0x12) ?? 0
        let programHeaderOffset = file.littleEndian(UInt64.self, at: 0x20) ?? 0
        let programHeaderEntrySize = file.littleEndian(UInt16.self, at: 0x36) ?? 0
        let programHeaderCount = file.littleEndian(UInt16.self, at: 0x38) ?? 0
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
            let base = Int(programHeaderOffset) + index * Int(programHeaderEntrySize)
            guard let type = file.littleEndian(UInt32.self, at: base),
                let offset = file.littleEndian(UInt64.self, at: base + 8),
                let physicalAddress = file.littleEndian(UInt64.self, at: base + 24),
                let fileSizeField = file.littleEndian(UInt64.self, at: base + 32),
                let memorySize = file.littleEndian(UInt64.self, at: base + 40)
            else {
                throw BootError.truncated(
                    what: "program header \(index)", needed: UInt64(base + Self.programHeaderSize), fileSize: fileSize)
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
                    pvhEntry = try Self.pvhEntry(inNotes: file[Int(offset)..<Int(dataEnd)])
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

    /// Walks the notes of one PT_NOTE segment (gABI "Note Section": namesz, descsz, type, then name and
    /// descriptor each padded to 4 bytes) and returns XEN_ELFNOTE_PHYS32_ENTRY if present.
    static func pvhEntry(inNotes notes: ArraySlice<UInt8>) throws -> UInt32? {
        let bytes = Array(notes)
        var offset: UInt64 = 0
        let end = UInt64(bytes.count)
        for _ in 0..<maxNotesPerSegment {
            guard end - offset >= 12,
                let nameSize = bytes.littleEndian(UInt32.self, at: Int(offset)),
                let descriptorSize = bytes.littleEndian(UInt32.self, at: Int(offset) + 4),
                let type = bytes.littleEndian(UInt32.self, at: Int(offset) + 8)
            else { return nil }
            // 32-bit sizes padded to 4 cannot overflow a UInt64 sum.
            let nameStart = offset + 12
            let descriptorStart = nameStart + (UInt64(nameSize) + 3) / 4 * 4
            let next = descriptorStart + (UInt64(descriptorSize) + 3) / 4 * 4
            guard let name = bytes.slice(at: nameStart, count: UInt64(nameSize)),
                let descriptor = bytes.slice(at: descriptorStart, count: UInt64(descriptorSize))
            else {
                throw BootError.invalidELF("ELF note at offset \(offset) runs past its PT_NOTE segment")
            }
            if type == xenNotePhys32Entry && Array(name) == xenNoteName {
                let value: UInt64
                switch descriptor.count {
                case 4: value = UInt64(Array(descriptor).littleEndian(UInt32.self, at: 0) ?? 0)
                case 8: value = Array(descriptor).littleEndian(UInt64.self, at: 0) ?? 0
                default:
                    throw BootError.invalidELF("XEN_ELFNOTE_PHYS32_ENTRY has a \(descriptor.count)-byte value")
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
            guard let data = file.slice(at: segment.fileOffset, count: segment.fileSize) else {
                throw BootError.truncated(
                    what: "a PT_LOAD segment", needed: segment.fileOffset &+ segment.fileSize,
                    fileSize: UInt64(file.count))
            }
            try memory.write(data, at: address, what: "kernel segment")
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
