import DiskImage
import Virtio

/// Serves a virtio-blk device from a `DiskImage` (raw or qcow2 with its backing chain).
final class DiskImageBlockBackend: BlockBackend {
    let image: any DiskImage

    init(image: any DiskImage) {
        self.image = image
    }

    var size: UInt64 { image.virtualSize }
    var isReadOnly: Bool { image.isReadOnly }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try image.read(at: offset, into: buffer)
    }

    func write(at offset: UInt64, from buffer: UnsafeRawBufferPointer) throws {
        try image.write(at: offset, from: buffer)
    }

    func flush() throws {
        try image.flush()
    }

    func discard(at offset: UInt64, length: UInt64) throws {
        try image.discard(at: offset, length: length)
    }

    func writeZeroes(at offset: UInt64, length: UInt64) throws {
        try image.writeZeroes(at: offset, length: length)
    }

    /// Writes back cached metadata and clears the dirty bit (qcow2), as a clean shutdown must.
    func close() throws {
        try image.flush()
        if let qcow2 = image as? Qcow2Image { try qcow2.close() }
    }
}
