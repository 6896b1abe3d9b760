import GuestMemory

/// GuestMemory accesses with a typed error, so virtqueue code can throw `VirtqueueError` precisely.
/// GuestMemory's own methods throw only `GuestMemoryError` when the body cannot throw.
extension GuestMemory {
    @inline(__always)
    func typedLoad<T: FixedWidthInteger>(_: T.Type, at address: GuestAddress) throws(GuestMemoryError) -> T {
        do {
            return try load(T.self, at: address)
        } catch let error as GuestMemoryError {
            throw error
        } catch {
            throw .outOfRange(address: address, length: UInt64(MemoryLayout<T>.size))
        }
    }

    @inline(__always)
    func typedStore<T: FixedWidthInteger>(_ value: T, at address: GuestAddress) throws(GuestMemoryError) {
        do {
            try store(value, at: address)
        } catch let error as GuestMemoryError {
            throw error
        } catch {
            throw .outOfRange(address: address, length: UInt64(MemoryLayout<T>.size))
        }
    }

    @inline(__always)
    func typedWithBytes<R>(
        at address: GuestAddress, length: Int, _ body: (UnsafeMutableRawBufferPointer) -> R
    ) throws(GuestMemoryError) -> R {
        do {
            return try withBytes(at: address, length: length, body)
        } catch let error as GuestMemoryError {
            throw error
        } catch {
            throw .outOfRange(address: address, length: UInt64(max(length, 0)))
        }
    }
}
