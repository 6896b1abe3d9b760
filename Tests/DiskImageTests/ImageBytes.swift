import DiskImage
import Foundation

/// Helpers reading and writing whole images through the library in tests.
enum ImageBytes {
    /// Every byte of the virtual disk.
    static func read(_ image: any DiskImage) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0xEE, count: Int(image.virtualSize))
        try bytes.withUnsafeMutableBytes { try image.read(at: 0, into: $0) }
        return bytes
    }

    static func write(_ image: any DiskImage, at offset: UInt64, _ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try image.write(at: offset, from: $0) }
    }

    static func pattern(_ byte: UInt8, _ count: Int) -> [UInt8] { [UInt8](repeating: byte, count: count) }

    /// Deterministic pseudo-random bytes (xorshift), so compressed tests have realistic data.
    static func noise(seed: UInt64, count: Int, compressible: Bool = false) -> [UInt8] {
        var state = seed | 1
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            bytes[index] = compressible ? UInt8(truncatingIfNeeded: state % 7) + 0x41 : UInt8(truncatingIfNeeded: state)
        }
        return bytes
    }

    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
