import GuestMemory

/// Moves bytes between a descriptor chain's buffers and a host descriptor with no bounce buffer: each
/// guest segment is handed to the host call directly (the segments were checked when the chain was walked).
enum ChainHostTransfer {
    /// Reads from the host into the chain's writable bytes [offset, offset+length), segment by segment,
    /// stopping at the first read that does not fill its segment. Returns `.transferred(total)` when any
    /// byte came, otherwise how the first read ended.
    static func fill(
        _ chain: DescriptorChain, offset: UInt64, length: UInt64, memory: GuestMemory,
        from read: (UnsafeMutableRawBufferPointer) -> HostTransfer
    ) throws(DescriptorChainError) -> HostTransfer {
        guard length > 0 else { return .transferred(0) }
        var total = 0
        var ending: HostTransfer?
        do {
            try chain.withBuffers(writable: true, offset: offset, length: length, memory: memory) { buffer in
                guard ending == nil else { return }
                let result = read(buffer)
                guard case .transferred(let count) = result else {
                    ending = result
                    return
                }
                total += count
                if count < buffer.count { ending = .wouldBlock }
            }
        } catch let error as DescriptorChainError {
            throw error
        } catch {
            throw .outOfBounds(offset: offset, length: length, available: chain.writableLength, writable: true)
        }
        if total > 0 { return .transferred(total) }
        return ending ?? .transferred(0)
    }

    /// Offers the chain's readable bytes [offset, offset+length) to `write` until it takes less than
    /// offered, then hands the rest to `keep` (to be written later). Returns the bytes written, or the
    /// errno of a failed write (nothing is kept after a failure).
    static func drain(
        _ chain: DescriptorChain, offset: UInt64, length: UInt64, memory: GuestMemory,
        to write: (UnsafeRawBufferPointer) -> HostTransfer, keep: (UnsafeRawBufferPointer) -> Void
    ) throws(DescriptorChainError) -> Result<Int, HostTransferFailure> {
        guard length > 0 else { return .success(0) }
        var written = 0
        var blocked = false
        var failure: Int32?
        do {
            try chain.withBuffers(writable: false, offset: offset, length: length, memory: memory) { buffer in
                guard failure == nil else { return }
                let piece = UnsafeRawBufferPointer(buffer)
                guard !blocked else {
                    keep(piece)
                    return
                }
                switch write(piece) {
                case .transferred(let count):
                    written += count
                    if count < piece.count {
                        blocked = true
                        keep(UnsafeRawBufferPointer(rebasing: piece[count...]))
                    }
                case .wouldBlock, .endOfFile:
                    blocked = true
                    keep(piece)
                case .failed(let code):
                    failure = code
                }
            }
        } catch let error as DescriptorChainError {
            throw error
        } catch {
            throw .outOfBounds(offset: offset, length: length, available: chain.readableLength, writable: false)
        }
        if let failure { return .failure(.failed(failure)) }
        return .success(written)
    }
}
