import DiskImage

/// Reading and writing a `DiskImage` from Swift buffers with its typed errors.
enum ImageIO {
    static func read(_ image: any DiskImage, at offset: UInt64, into bytes: inout [UInt8]) throws(DiskImageError) {
        do {
            try bytes.withUnsafeMutableBytes { buffer in try image.read(at: offset, into: buffer) }
        } catch {
            throw error as? DiskImageError ?? .invalidArgument("\(error)")
        }
    }

    static func write(_ image: any DiskImage, at offset: UInt64, _ bytes: [UInt8]) throws(DiskImageError) {
        do {
            try bytes.withUnsafeBytes { buffer in try image.write(at: offset, from: buffer) }
        } catch {
            throw error as? DiskImageError ?? .invalidArgument("\(error)")
        }
    }
}
