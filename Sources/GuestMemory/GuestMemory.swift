#if canImport(Glibc)
    import Glibc
#endif

/// One contiguous range of guest RAM backed by an anonymous host mapping.
public struct MemoryRegion: @unchecked Sendable {
    public let start: GuestAddress
    public let size: UInt64
    /// Host address of the first byte. Only KVM memory-slot setup needs it.
    public let hostAddress: UnsafeMutableRawPointer

    public var end: UInt64 { start.rawValue + size }

    /// The host pointer for [address, address+length), or nil when it is not entirely inside.
    @inline(__always)
    func pointer(_ address: GuestAddress, _ length: UInt64) -> UnsafeMutableRawPointer? {
        guard address.rawValue >= start.rawValue else { return nil }
        let offset = address.rawValue - start.rawValue
        let (last, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, last <= size else { return nil }
        return hostAddress + Int(offset)
    }
}

/// Guest RAM: the only place that turns a guest-physical address into a host pointer. Every access is
/// bounds- and overflow-checked; an address outside RAM is a thrown error, never a crash.
///
/// RAM above `mmioHoleStart` is moved above 4 GiB, leaving [mmioHoleStart, 4 GiB) for devices.
public final class GuestMemory: @unchecked Sendable {
    public let regions: [MemoryRegion]
    /// Bytes of RAM in all regions.
    public let totalSize: UInt64

    /// Start of the device hole below 4 GiB (LAPIC, IOAPIC, PCI windows live there).
    public static let mmioHoleStart: UInt64 = 0xC000_0000
    public static let fourGiB: UInt64 = 0x1_0000_0000

    /// Allocates `size` bytes of RAM laid out around the MMIO hole.
    public convenience init(size: UInt64) throws {
        guard size >= 1 << 20 else { throw GuestMemoryError.invalidLayout("guest RAM must be at least 1 MiB") }
        guard size <= 1 << 46 else { throw GuestMemoryError.invalidLayout("guest RAM above 64 TiB") }
        if size <= Self.mmioHoleStart {
            try self.init(ranges: [(GuestAddress(0), size)])
        } else {
            try self.init(ranges: [
                (GuestAddress(0), Self.mmioHoleStart),
                (GuestAddress(Self.fourGiB), size - Self.mmioHoleStart),
            ])
        }
    }

    /// Allocates one anonymous private mapping per range. Ranges must be page-aligned and disjoint.
    public init(ranges: [(start: GuestAddress, size: UInt64)]) throws {
        let sorted = ranges.sorted { $0.start < $1.start }
        var regions: [MemoryRegion] = []
        var previousEnd: UInt64 = 0
        for range in sorted {
            guard range.size > 0, range.size % 4096 == 0, range.start.rawValue % 4096 == 0 else {
                throw GuestMemoryError.invalidLayout("region \(range.start)+\(range.size) is not page aligned")
            }
            guard range.start.rawValue >= previousEnd, range.start.checkedAdding(range.size) != nil else {
                throw GuestMemoryError.invalidLayout("region \(range.start) overlaps or overflows")
            }
            previousEnd = range.start.rawValue + range.size
            let mapping = mmap(
                nil, Int(range.size), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
            guard let mapping, mapping != MAP_FAILED else {
                let code = errno
                for region in regions { munmap(region.hostAddress, Int(region.size)) }
                throw GuestMemoryError.allocationFailed(bytes: range.size, errno: code)
            }
            regions.append(MemoryRegion(start: range.start, size: range.size, hostAddress: mapping))
        }
        self.regions = regions
        totalSize = regions.reduce(0) { $0 + $1.size }
    }

    deinit {
        for region in regions { munmap(region.hostAddress, Int(region.size)) }
    }

    /// The highest guest-physical address of RAM plus one.
    public var end: UInt64 { regions.last?.end ?? 0 }

    /// True when all of [address, address+length) is RAM in one region.
    public func contains(_ address: GuestAddress, length: UInt64 = 1) -> Bool {
        region(address, length) != nil
    }

    @inline(__always)
    private func region(_ address: GuestAddress, _ length: UInt64) -> UnsafeMutableRawPointer? {
        for region in regions {
            if let pointer = region.pointer(address, length) { return pointer }
        }
        return nil
    }

    /// Runs `body` with a host buffer over [address, address+length). The buffer must not escape.
    @inline(__always)
    public func withBytes<R>(
        at address: GuestAddress, length: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) throws -> R {
        guard length >= 0, let pointer = region(address, UInt64(length)) else {
            throw GuestMemoryError.outOfRange(address: address, length: UInt64(max(length, 0)))
        }
        return try body(UnsafeMutableRawBufferPointer(start: pointer, count: length))
    }

    /// Copies `bytes` into guest RAM at `address`.
    public func write<C: Collection>(_ bytes: C, at address: GuestAddress) throws where C.Element == UInt8 {
        try withBytes(at: address, length: bytes.count) { $0.copyBytes(from: bytes) }
    }

    /// Copies `length` bytes out of guest RAM.
    public func read(at address: GuestAddress, length: Int) throws -> [UInt8] {
        try withBytes(at: address, length: length) { Array($0) }
    }

    /// Reads a little-endian integer.
    @inline(__always)
    public func load<T: FixedWidthInteger>(_: T.Type = T.self, at address: GuestAddress) throws -> T {
        try withBytes(at: address, length: MemoryLayout<T>.size) { T(littleEndian: $0.loadUnaligned(as: T.self)) }
    }

    /// Writes a little-endian integer.
    @inline(__always)
    public func store<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws {
        try withBytes(at: address, length: MemoryLayout<T>.size) {
            $0.storeBytes(of: value.littleEndian, as: T.self)
        }
    }

    /// Fills [address, address+length) with `byte`.
    public func fill(_ byte: UInt8, at address: GuestAddress, length: Int) throws {
        try withBytes(at: address, length: length) { buffer in
            if let base = buffer.baseAddress { memset(base, Int32(byte), length) }
        }
    }
}
