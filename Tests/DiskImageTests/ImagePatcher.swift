import Foundation

/// Edits image files in place for hostile-image tests.
enum ImagePatcher {
    static func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    static func patch(_ path: String, at offset: Int, _ bytes: [UInt8]) throws {
        var contents = try Self.bytes(path)
        if contents.count < offset + bytes.count {
            contents += [UInt8](repeating: 0, count: offset + bytes.count - contents.count)
        }
        contents.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        try Data(contents).write(to: URL(fileURLWithPath: path))
    }

    static func be64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
    static func be32(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) }
    }
    static func be16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }

    static func read64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        bytes[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
    }

    static func truncate(_ path: String, to length: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(length))
        try handle.close()
    }
}
