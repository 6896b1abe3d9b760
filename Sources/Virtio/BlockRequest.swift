import GuestMemory

/// One virtio-blk request (virtio 1.2 §5.2.6): a 16-byte header { type u32, reserved u32, sector u64 } at
/// the start of the device-readable bytes, then data (readable for writes, discard and write-zeroes
/// ranges; writable for reads and GET_ID), and a status byte in the last device-writable byte.
///
/// Everything in it comes from the guest: lengths must be whole sectors, ranges must lie inside the disk
/// (overflow-checked), and any failure becomes a status byte, never a trap.
struct BlockRequest {
    static let headerSize: UInt64 = 16
    static let sectorSize: UInt64 = 512
    static let sectorShift: UInt64 = 9
    /// VIRTIO_BLK_ID_BYTES.
    static let idLength = 20
    /// struct virtio_blk_discard_write_zeroes: sector u64, num_sectors u32, flags u32.
    static let rangeSegmentSize: UInt64 = 16
    /// VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, the only flag defined for ranges.
    static let rangeFlagUnmap: UInt32 = 1

    let chain: DescriptorChain
    let type: UInt32
    let sector: UInt64

    /// Completes `chain` as a block request: performs it, writes the status byte and returns the used
    /// length (bytes written into the chain: data plus status). A chain without a writable byte cannot
    /// carry a status; it is returned with used length 0 and nothing done.
    static func complete(
        _ chain: DescriptorChain, memory: GuestMemory, backend: any BlockBackend, limits: BlockRequestLimits
    ) -> UInt32 {
        guard chain.writableLength > 0 else { return 0 }
        var status = BlockRequestStatus.ioError
        var dataWritten: UInt64 = 0
        if let request = try? BlockRequest(chain: chain, memory: memory) {
            let outcome = request.execute(memory: memory, backend: backend, limits: limits)
            status = outcome.status
            dataWritten = outcome.dataWritten
        }
        do {
            try chain.write([status.rawValue], at: chain.writableLength - 1, memory: memory)
        } catch {
            return 0
        }
        return UInt32(clamping: dataWritten + 1)
    }

    /// Reads the header; throws when the readable bytes are shorter than it.
    init(chain: DescriptorChain, memory: GuestMemory) throws(DescriptorChainError) {
        let header = try chain.readBytes(count: Int(Self.headerSize), from: 0, memory: memory)
        self.chain = chain
        type = Self.little(header, 0, UInt32.self)
        sector = Self.little(header, 8, UInt64.self)
    }

    /// Readable bytes after the header: write data or range segments.
    private var readableDataLength: UInt64 { chain.readableLength - Self.headerSize }
    /// Writable bytes before the status byte: read data or the ID.
    private var writableDataLength: UInt64 { chain.writableLength - 1 }

    /// Performs the request; returns its status and how many data bytes went into the chain.
    private func execute(memory: GuestMemory, backend: any BlockBackend, limits: BlockRequestLimits)
        -> (status: BlockRequestStatus, dataWritten: UInt64)
    {
        switch BlockRequestType(rawValue: type) {
        case .read:
            let length = writableDataLength
            guard let offset = diskOffset(sector: sector, length: length, limits: limits) else { return (.ioError, 0) }
            var position = offset
            do {
                try chain.withBuffers(writable: true, offset: 0, length: length, memory: memory) { buffer in
                    try backend.read(at: position, into: buffer)
                    position += UInt64(buffer.count)
                }
            } catch {
                return (.ioError, 0)
            }
            return (.ok, length)
        case .write:
            let length = readableDataLength
            guard !backend.isReadOnly,
                let offset = diskOffset(sector: sector, length: length, limits: limits)
            else { return (.ioError, 0) }
            var position = offset
            do {
                try chain.withBuffers(writable: false, offset: Self.headerSize, length: length, memory: memory) {
                    try backend.write(at: position, from: UnsafeRawBufferPointer($0))
                    position += UInt64($0.count)
                }
            } catch {
                return (.ioError, 0)
            }
            return (.ok, 0)
        case .flush:
            do {
                try backend.flush()
            } catch {
                return (.ioError, 0)
            }
            return (.ok, 0)
        case .getID:
            let count = Int(min(UInt64(Self.idLength), writableDataLength))
            var id = limits.serial
            id.removeLast(max(id.count - count, 0))
            do {
                try chain.write(id, at: 0, memory: memory)
            } catch {
                return (.ioError, 0)
            }
            return (.ok, UInt64(id.count))
        case .discard:
            guard limits.discardEnabled else { return (.unsupported, 0) }
            return (executeRanges(discard: true, memory: memory, backend: backend, limits: limits), 0)
        case .writeZeroes:
            guard limits.writeZeroesEnabled else { return (.unsupported, 0) }
            return (executeRanges(discard: false, memory: memory, backend: backend, limits: limits), 0)
        case nil:
            return (.unsupported, 0)
        }
    }

    /// DISCARD / WRITE_ZEROES: checks every range segment first, then performs them (§5.2.6.2).
    private func executeRanges(
        discard: Bool, memory: GuestMemory, backend: any BlockBackend, limits: BlockRequestLimits
    ) -> BlockRequestStatus {
        let maximumSegments = discard ? limits.maximumDiscardSegments : limits.maximumWriteZeroesSegments
        let maximumSectors = discard ? limits.maximumDiscardSectors : limits.maximumWriteZeroesSectors
        let length = readableDataLength
        guard !backend.isReadOnly, length > 0, length % Self.rangeSegmentSize == 0,
            length / Self.rangeSegmentSize <= UInt64(maximumSegments)
        else { return .ioError }
        let count = Int(length / Self.rangeSegmentSize)

        var ranges: [(offset: UInt64, length: UInt64)] = []
        ranges.reserveCapacity(count)
        for index in 0..<count {
            let at = Self.headerSize + UInt64(index) * Self.rangeSegmentSize
            guard let bytes = try? chain.readBytes(count: Int(Self.rangeSegmentSize), from: at, memory: memory) else {
                return .ioError
            }
            let sector = Self.little(bytes, 0, UInt64.self)
            let sectors = Self.little(bytes, 8, UInt32.self)
            let flags = Self.little(bytes, 12, UInt32.self)
            // Discard defines no flags; write-zeroes only UNMAP, which we may ignore (we never unmap).
            let allowedFlags = discard ? 0 : Self.rangeFlagUnmap
            guard flags & ~allowedFlags == 0 else { return .unsupported }
            let byteLength = UInt64(sectors) << Self.sectorShift
            guard sectors <= maximumSectors,
                let offset = diskOffset(sector: sector, length: byteLength, limits: limits)
            else { return .ioError }
            ranges.append((offset, byteLength))
        }
        do {
            for range in ranges {
                if discard {
                    try backend.discard(at: range.offset, length: range.length)
                } else {
                    try backend.writeZeroes(at: range.offset, length: range.length)
                }
            }
        } catch {
            return .ioError
        }
        return .ok
    }

    /// The byte offset of `sector` when [sector, sector + length/512) is whole sectors inside the disk.
    private func diskOffset(sector: UInt64, length: UInt64, limits: BlockRequestLimits) -> UInt64? {
        guard length % Self.sectorSize == 0 else { return nil }
        let (end, overflow) = sector.addingReportingOverflow(length >> Self.sectorShift)
        guard !overflow, end <= limits.capacity else { return nil }
        // No overflow: sector <= capacity, which is the disk size / 512.
        return sector << Self.sectorShift
    }

    private static func little<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int, _: T.Type) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size where offset + index < bytes.count {
            value |= T(bytes[offset + index]) << (8 * index)
        }
        return value
    }
}
