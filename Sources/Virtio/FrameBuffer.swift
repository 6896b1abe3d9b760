/// Host memory for one network frame with its virtio-net header, allocated once per device so the data
/// path does not allocate. Not synchronized: each buffer belongs to one lock, and only code holding that
/// lock touches `bytes`.
final class FrameBuffer: @unchecked Sendable {
    let bytes: UnsafeMutableRawBufferPointer

    init(capacity: Int) {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        bytes.deallocate()
    }
}
