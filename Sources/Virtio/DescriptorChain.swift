import GuestMemory

/// One request the driver made available: the head descriptor index (returned in the used ring) and the
/// buffers of its chain, device-readable ones first (virtio 1.2 §2.7.4.2, §2.7.5).
///
/// Every segment was checked to lie inside guest RAM when `SplitVirtqueue.popAvailable` walked the chain,
/// and the total is at most 4 GiB. Offsets below count bytes across the readable (or writable) segments
/// as if they were one buffer.
public struct DescriptorChain: Equatable, Sendable {
    /// Index of the head descriptor in the descriptor table.
    public let headIndex: UInt16
    /// The chain's buffers in order, readable then writable.
    public let segments: [DescriptorSegment]
    /// Bytes the device may read.
    public let readableLength: UInt64
    /// Bytes the device may write.
    public let writableLength: UInt64

    /// Builds a chain; readable segments must come before writable ones (the walker guarantees it).
    public init(headIndex: UInt16, segments: [DescriptorSegment]) {
        self.headIndex = headIndex
        self.segments = segments
        var readable: UInt64 = 0
        var writable: UInt64 = 0
        for segment in segments {
            if segment.isWritable {
                writable &+= UInt64(segment.length)
            } else {
                readable &+= UInt64(segment.length)
            }
        }
        readableLength = readable
        writableLength = writable
    }

    /// Calls `body` with host buffers covering [offset, offset+length) of the readable (or writable) bytes,
    /// in order, one call per segment piece. Throws `DescriptorChainError` when the range does not fit, and
    /// whatever `body` throws. The buffers must not escape.
    public func withBuffers(
        writable: Bool, offset: UInt64, length: UInt64, memory: GuestMemory,
        _ body: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws {
        try checkRange(writable: writable, offset: offset, length: length)
        var skip = offset
        var remaining = length
        for segment in segments where segment.isWritable == writable {
            guard remaining > 0 else { break }
            let segmentLength = UInt64(segment.length)
            if skip >= segmentLength {
                skip -= segmentLength
                continue
            }
            let count = min(segmentLength - skip, remaining)
            guard let address = segment.address.checkedAdding(skip) else {
                throw DescriptorChainError.memory(.outOfRange(address: segment.address, length: segmentLength))
            }
            skip = 0
            remaining -= count
            do {
                try memory.withBytes(at: address, length: Int(count), body)
            } catch let error as GuestMemoryError {
                throw DescriptorChainError.memory(error)
            }
        }
    }

    /// Copies readable bytes starting at `offset` into `buffer`, filling it completely.
    public func read(into buffer: UnsafeMutableRawBufferPointer, from offset: UInt64, memory: GuestMemory)
        throws(DescriptorChainError)
    {
        var copied = 0
        try copy(writable: false, offset: offset, length: UInt64(buffer.count), memory: memory) { guest in
            UnsafeMutableRawBufferPointer(rebasing: buffer[copied..<(copied + guest.count)])
                .copyMemory(from: UnsafeRawBufferPointer(guest))
            copied += guest.count
        }
    }

    /// Returns `count` readable bytes starting at `offset`.
    public func readBytes(count: Int, from offset: UInt64 = 0, memory: GuestMemory) throws(DescriptorChainError)
        -> [UInt8]
    {
        guard count >= 0 else {
            throw .outOfBounds(offset: offset, length: 0, available: readableLength, writable: false)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        try copy(writable: false, offset: offset, length: UInt64(count), memory: memory) { guest in
            bytes.append(contentsOf: guest)
        }
        return bytes
    }

    /// Copies `bytes` into the writable bytes starting at `offset`.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64, memory: GuestMemory)
        throws(DescriptorChainError)
    {
        var copied = 0
        try copy(writable: true, offset: offset, length: UInt64(bytes.count), memory: memory) { guest in
            guest.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[copied..<(copied + guest.count)]))
            copied += guest.count
        }
    }

    /// Copies `bytes` into the writable bytes starting at `offset`.
    public func write(_ bytes: [UInt8], at offset: UInt64, memory: GuestMemory) throws(DescriptorChainError) {
        var copied = 0
        try copy(writable: true, offset: offset, length: UInt64(bytes.count), memory: memory) { guest in
            bytes.withUnsafeBytes { source in
                guest.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[copied..<(copied + guest.count)]))
            }
            copied += guest.count
        }
    }

    private func checkRange(writable: Bool, offset: UInt64, length: UInt64) throws(DescriptorChainError) {
        let available = writable ? writableLength : readableLength
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= available else {
            throw .outOfBounds(offset: offset, length: length, available: available, writable: writable)
        }
    }

    /// `withBuffers` for a body that cannot fail, with a typed error.
    private func copy(
        writable: Bool, offset: UInt64, length: UInt64, memory: GuestMemory,
        _ body: (UnsafeMutableRawBufferPointer) -> Void
    ) throws(DescriptorChainError) {
        do {
            try withBuffers(writable: writable, offset: offset, length: length, memory: memory, body)
        } catch let error as DescriptorChainError {
            throw error
        } catch {
            throw .outOfBounds(offset: offset, length: length, available: 0, writable: writable)
        }
    }
}
