import DiskImage

/// Writing an array to a `DiskImage` with its typed errors.
enum ImageIO {
    static func write(_ image: any DiskImage, at offset: UInt64, _ bytes: [UInt8]) throws(DiskImageError) {
        do {
            try bytes.withUnsafeBytes { buffer in try image.write(at: offset, from: buffer) }
        } catch {
            throw error as? DiskImageError ?? .invalidArgument("\(error)")
        }
    }
}
