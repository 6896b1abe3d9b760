/// Bytes on their way to a host socket that it has not taken yet. Consumed from the front through an
/// offset, so a partial write does not shift the rest; storage is released once everything is written.
struct VsockHostBuffer {
    private var storage: [UInt8] = []
    private var start = 0

    var count: Int { storage.count - start }
    var isEmpty: Bool { start == storage.count }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        storage.append(contentsOf: bytes)
    }

    mutating func append(_ bytes: [UInt8]) {
        storage.append(contentsOf: bytes)
    }

    /// Offers the buffered bytes to `write` until it takes less than offered or everything is gone.
    /// Returns the bytes written, or the errno of a failed write.
    mutating func flush(to write: (UnsafeRawBufferPointer) -> HostTransfer) -> Result<Int, HostTransferFailure> {
        var written = 0
        while !isEmpty {
            let result = storage.withUnsafeBytes { bytes in
                write(UnsafeRawBufferPointer(rebasing: bytes[start...]))
            }
            switch result {
            case .transferred(let count):
                start += count
                written += count
                if isEmpty {
                    storage = []
                    start = 0
                } else if start >= storage.count / 2 {
                    storage.removeFirst(start)
                    start = 0
                }
            case .wouldBlock, .endOfFile:
                return .success(written)
            case .failed(let code):
                return .failure(.failed(code))
            }
        }
        return .success(written)
    }
}
