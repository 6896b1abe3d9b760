import Foundation
import Testing

@testable import Virtio

@Suite("Raw file backend")
struct RawFileBackendTests {
    @Test("size, read and write at offsets, flush")
    func readWrite() throws {
        let image = try TemporaryDiskImage(size: 8192)
        let backend = try RawFileBackend(path: image.path)
        #expect(backend.size == 8192)
        #expect(!backend.isReadOnly)
        let data: [UInt8] = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        try data.withUnsafeBytes { try backend.write(at: 3000, from: $0) }
        try backend.flush()
        var back = [UInt8](repeating: 0, count: 1000)
        try back.withUnsafeMutableBytes { try backend.read(at: 3000, into: $0) }
        #expect(back == data)
        #expect(Array(try image.contents()[3000..<4000]) == data)
    }

    @Test("accesses past the end are refused, including offsets that overflow")
    func bounds() throws {
        let image = try TemporaryDiskImage(size: 4096)
        let backend = try RawFileBackend(path: image.path)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(throws: BlockBackendError.outOfRange(offset: 4090, length: 16, size: 4096)) {
            try buffer.withUnsafeMutableBytes { try backend.read(at: 4090, into: $0) }
        }
        #expect(throws: BlockBackendError.self) {
            try buffer.withUnsafeBytes { try backend.write(at: UInt64.max - 4, from: $0) }
        }
        #expect(throws: BlockBackendError.self) { try backend.writeZeroes(at: 4000, length: 200) }
        #expect(try image.contents().count == 4096)
    }

    @Test("a read-only backend refuses writes, discards and write-zeroes")
    func readOnly() throws {
        let image = try TemporaryDiskImage(size: 4096)
        let backend = try RawFileBackend(path: image.path, readOnly: true)
        #expect(backend.isReadOnly)
        #expect(throws: BlockBackendError.readOnly) {
            try [UInt8](repeating: 1, count: 4).withUnsafeBytes { try backend.write(at: 0, from: $0) }
        }
        #expect(throws: BlockBackendError.readOnly) { try backend.discard(at: 0, length: 512) }
        #expect(throws: BlockBackendError.readOnly) { try backend.writeZeroes(at: 0, length: 512) }
        try backend.flush()
    }

    @Test("write-zeroes and discard keep the file size; write-zeroes reads back zero")
    func zeroAndDiscard() throws {
        let image = try TemporaryDiskImage(size: 1 << 20, contents: [UInt8](repeating: 0xAB, count: 1 << 20))
        let backend = try RawFileBackend(path: image.path)
        try backend.writeZeroes(at: 4096, length: 200_000)
        try backend.discard(at: 512 * 1024, length: 64 * 1024)
        let contents = try image.contents()
        #expect(contents.count == 1 << 20)
        #expect(contents[4095] == 0xAB)
        #expect(contents[4096..<204_096].allSatisfy { $0 == 0 })
        #expect(contents[204_096] == 0xAB)
    }

    @Test("fallocate is found in the C library, so discard and write-zeroes need not write zeroes")
    func fallocateAvailable() {
        #expect(RawFileBackend.fallocateAddress != 0)
    }

    @Test("opening a missing file reports open with ENOENT")
    func missing() {
        #expect(throws: BlockBackendError.open(path: "/nonexistent/disk.img", errno: ENOENT)) {
            try RawFileBackend(path: "/nonexistent/disk.img")
        }
    }
}
