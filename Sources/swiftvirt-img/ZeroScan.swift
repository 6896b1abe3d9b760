/// Finding zeroes in buffers, eight bytes at a time (hot path of convert, compare and rebase).
enum ZeroScan {
    /// All bytes of `buffer` are zero.
    static func isZero(_ buffer: UnsafeRawBufferPointer) -> Bool {
        firstNonZero(buffer) == nil
    }

    /// Index of the first non-zero byte.
    static func firstNonZero(_ buffer: UnsafeRawBufferPointer) -> Int? {
        guard let base = buffer.baseAddress else { return nil }
        let count = buffer.count
        var index = 0
        let wordSize = MemoryLayout<UInt64>.size
        while index + 4 * wordSize <= count {
            let a = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let b = base.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
            let c = base.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
            let d = base.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)
            if a | b | c | d != 0 { break }
            index += 4 * wordSize
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) != 0 { return index }
            index += 1
        }
        return nil
    }

    /// Index of the first byte where `a` and `b` differ (they have the same length).
    static func firstDifference(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int? {
        guard let left = a.baseAddress, let right = b.baseAddress else { return nil }
        let count = min(a.count, b.count)
        var index = 0
        while index + 8 <= count {
            if left.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                != right.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            {
                break
            }
            index += 8
        }
        while index < count {
            if left.load(fromByteOffset: index, as: UInt8.self) != right.load(fromByteOffset: index, as: UInt8.self) {
                return index
            }
            index += 1
        }
        return nil
    }

    /// QEMU's is_allocated_sectors_min over 512-byte sectors: the length of the run at the start of
    /// `buffer` and whether it must be written (true) or may stay a hole (false). Zero runs shorter than
    /// `minimumSectors` inside data are written; runs are aligned to `alignment` sectors where that
    /// saves read-modify-write (`sector` is the run's position on the disk, in sectors).
    static func allocatedRun(
        _ buffer: UnsafeRawBufferPointer, minimumSectors: Int, sector: UInt64, alignment: Int
    ) -> (sectors: Int, isData: Bool) {
        let sectors = buffer.count / 512
        guard sectors > 0 else { return (0, false) }
        let minimum = min(minimumSectors, sectors)
        let first = run(buffer, from: 0, sector: sector, alignment: alignment)
        guard first.isData else { return first }
        var used = first.sectors
        var checked = used
        while checked < sectors {
            let next = run(buffer, from: checked, sector: sector + UInt64(checked), alignment: alignment)
            checked += next.sectors
            if next.isData {
                used = checked
            } else if next.sectors >= minimum {
                break
            }
        }
        return (used, true)
    }

    /// QEMU's is_allocated_sectors from sector `start` of `buffer`.
    private static func run(
        _ buffer: UnsafeRawBufferPointer, from start: Int, sector: UInt64, alignment: Int
    ) -> (sectors: Int, isData: Bool) {
        let sectors = buffer.count / 512
        func sectorIsZero(_ index: Int) -> Bool {
            isZero(UnsafeRawBufferPointer(rebasing: buffer[index * 512..<(index + 1) * 512]))
        }
        let zero = sectorIsZero(start)
        var index = start + 1
        while index < sectors && sectorIsZero(index) == zero { index += 1 }
        var count = index - start
        if index == sectors { return (count, !zero) }
        let tail = Int((sector + UInt64(count)) % UInt64(alignment))
        if tail > 0 {
            if zero && count <= tail { return (count, true) }
            if !zero {
                count = min(count + alignment - tail, sectors - start)
            } else {
                count -= tail
            }
        }
        return (count, !zero)
    }
}
