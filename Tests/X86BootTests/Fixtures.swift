import GuestMemory

/// Builders for the synthetic kernels the tests parse. Each writes only the fields the loader reads,
/// at the offsets the specs give (System V gABI ELF-64; Linux boot.rst setup header).

/// Little-endian stores into a byte array, for building fixtures.
extension Array where Element == UInt8 {
    mutating func store<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for index in 0..<MemoryLayout<T>.size {
            self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index))
        }
    }

    func load<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size { value |= T(self[offset + index]) << (8 * index) }
        return value
    }
}

/// An ELF64 x86-64 executable: PT_LOAD segments, and optionally a PT_NOTE with a few unrelated notes
/// followed by XEN_ELFNOTE_PHYS32_ENTRY.
struct SyntheticELF {
    struct Load {
        var physicalAddress: UInt64
        var data: [UInt8]
        var memorySize: UInt64
    }

    var loads: [Load] = [
        Load(physicalAddress: 0x100_0000, data: Array(repeating: 0xC3, count: 0x3000), memorySize: 0x5000),
        Load(physicalAddress: 0x100_8000, data: Array(1...255), memorySize: 0x2000),
    ]
    var pvhEntry: UInt64? = 0x100_0040
    /// 8 on x86-64 Linux (_ASM_PTR), 4 elsewhere.
    var pvhDescriptorSize = 8
    var machine: UInt16 = 62
    var elfClass: UInt8 = 2

    static func note(name: String, type: UInt32, descriptor: [UInt8]) -> [UInt8] {
        let name = Array(name.utf8) + [0]
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes.store(UInt32(name.count), at: 0)
        bytes.store(UInt32(descriptor.count), at: 4)
        bytes.store(type, at: 8)
        bytes += name + [UInt8](repeating: 0, count: (4 - name.count % 4) % 4)
        bytes += descriptor + [UInt8](repeating: 0, count: (4 - descriptor.count % 4) % 4)
        return bytes
    }

    var notes: [UInt8] {
        var notes = Self.note(name: "Linux", type: 6, descriptor: Array("6.1.0".utf8))
        notes += Self.note(name: "Xen", type: 17, descriptor: [1, 0, 0, 0])  // another Xen note
        if let pvhEntry {
            var descriptor = [UInt8](repeating: 0, count: pvhDescriptorSize)
            for index in 0..<pvhDescriptorSize {
                descriptor[index] = UInt8(truncatingIfNeeded: pvhEntry >> (8 * index))
            }
            notes += Self.note(name: "Xen", type: 18, descriptor: descriptor)
        }
        return notes
    }

    /// Offset of the program header table and of each header in it.
    static let programHeaderOffset = 64
    static func programHeaderOffset(_ index: Int) -> Int { programHeaderOffset + index * 56 }

    var bytes: [UInt8] {
        let headerCount = loads.count + 1
        var file = [UInt8](repeating: 0, count: Self.programHeaderOffset + headerCount * 56)
        file.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
        file[4] = elfClass
        file[5] = 1  // little-endian
        file[6] = 1  // EV_CURRENT
        file.store(UInt16(2), at: 0x10)  // ET_EXEC
        file.store(machine, at: 0x12)
        file.store(UInt32(1), at: 0x14)
        file.store(UInt64(0xFFFF_FFFF_8100_0000), at: 0x18)  // e_entry (virtual; unused by PVH)
        file.store(UInt64(Self.programHeaderOffset), at: 0x20)
        file.store(UInt16(64), at: 0x34)
        file.store(UInt16(56), at: 0x36)
        file.store(UInt16(headerCount), at: 0x38)

        // PT_NOTE first; the loader does not depend on program header order.
        let notes = self.notes
        let notesOffset = file.count
        file += notes
        var header = Self.programHeaderOffset(0)
        file.store(UInt32(4), at: header)
        file.store(UInt64(notesOffset), at: header + 8)
        file.store(UInt64(notes.count), at: header + 32)
        file.store(UInt64(notes.count), at: header + 40)
        for (index, load) in loads.enumerated() {
            while file.count % 16 != 0 { file.append(0) }
            let offset = file.count
            file += load.data
            header = Self.programHeaderOffset(index + 1)
            file.store(UInt32(1), at: header)
            file.store(UInt32(7), at: header + 4)
            file.store(UInt64(offset), at: header + 8)
            file.store(UInt64(0xFFFF_FFFF_0000_0000) | load.physicalAddress, at: header + 16)
            file.store(load.physicalAddress, at: header + 24)
            file.store(UInt64(load.data.count), at: header + 32)
            file.store(load.memorySize, at: header + 40)
            file.store(UInt64(0x1000), at: header + 48)
        }
        return file
    }
}

/// A bzImage: boot sector + setup sectors with a protocol-2.15 setup header, then a payload.
struct SyntheticBzImage {
    var setupSects: UInt8 = 3
    var version: UInt16 = 0x020F
    var loadflags: UInt8 = 0x01
    var xloadflags: UInt16 = 0x0001
    var initrdAddrMax: UInt32 = 0x7FFF_FFFF
    var kernelAlignment: UInt32 = 0x20_0000
    var relocatable: UInt8 = 1
    var cmdlineSize: UInt32 = 2047
    var prefAddress: UInt64 = 0x100_0000
    var initSize: UInt32 = 0x40_0000
    var payload: [UInt8] = Array(repeating: 0x90, count: 0x2000)
    var bootFlag: UInt16 = 0xAA55
    var magic: UInt32 = 0x5372_6448
    /// Header end − 0x202 (the jump's displacement byte at 0x201); 0x6A ends the 2.15 header at 0x26C.
    var jumpDisplacement: UInt8 = 0x6A
    /// syssize in 16-byte paragraphs; nil: the payload's true size, as the kernel's build tool writes it.
    var syssize: UInt32?

    var kernelOffset: Int { (Int(setupSects == 0 ? 4 : setupSects) + 1) * 512 }

    var bytes: [UInt8] {
        var file = [UInt8](repeating: 0, count: kernelOffset)
        file[0x1F1] = setupSects
        file.store(syssize ?? UInt32((payload.count + 15) / 16), at: 0x1F4)
        file.store(bootFlag, at: 0x1FE)
        file[0x200] = 0xEB
        file[0x201] = jumpDisplacement
        file.store(magic, at: 0x202)
        file.store(version, at: 0x206)
        file[0x211] = loadflags
        file.store(UInt32(0x1234_5678), at: 0x214)  // code32_start: copied through untouched
        file.store(initrdAddrMax, at: 0x22C)
        file.store(kernelAlignment, at: 0x230)
        file[0x234] = relocatable
        file.store(xloadflags, at: 0x236)
        file.store(cmdlineSize, at: 0x238)
        file.store(prefAddress, at: 0x258)
        file.store(initSize, at: 0x260)
        return file + payload
    }
}

extension GuestMemory {
    func bytes(_ address: UInt64, _ length: Int) throws -> [UInt8] {
        try read(at: GuestAddress(address), length: length)
    }
}
