import DiskImage
import Foundation
import Testing

/// Compressed clusters both ways: `qemu-img convert -c` read by us, our compressed writes read by QEMU.
@Suite struct CompressionTests {
    /// Compressible runs, incompressible noise and zeroes, not cluster aligned.
    static func sourceBytes(_ count: Int) -> [UInt8] {
        var bytes = ImageBytes.noise(seed: 3, count: count, compressible: true)
        bytes.replaceSubrange(200_000..<300_000, with: ImageBytes.noise(seed: 9, count: 100_000))
        bytes.replaceSubrange(500_000..<700_000, with: ImageBytes.pattern(0, 200_000))
        return bytes
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let clusterSize: Int
        let type: Qcow2CompressionType
        var compatibility: Qcow2CreateOptions.Compatibility = .v3
        var testDescription: String { "\(clusterSize) \(type) \(compatibility.rawValue)" }
    }

    static let cases: [Case] = [
        Case(clusterSize: 65536, type: .zlib), Case(clusterSize: 65536, type: .zstd),
        Case(clusterSize: 512, type: .zlib), Case(clusterSize: 4096, type: .zstd),
        Case(clusterSize: 2 << 20, type: .zlib), Case(clusterSize: 16384, type: .zlib, compatibility: .v2),
    ]

    @Test(arguments: cases) func readsQemuCompressedImages(_ testCase: Case) throws {
        let directory = try ScratchDirectory()
        let source = directory.file("source.raw")
        let bytes = Self.sourceBytes(3 << 20)
        try ImageBytes.writeFile(source, bytes)
        let path = directory.file("compressed.qcow2")
        try QemuTool.image(
            "convert", "-c", "-O", "qcow2", "-o",
            "cluster_size=\(testCase.clusterSize),compression_type=\(testCase.type),compat=\(testCase.compatibility.rawValue)",
            source, path)
        let image = try Qcow2Image(path: path, readOnly: true)
        #expect(try ImageBytes.read(image) == bytes)
        let ours = try image.check()
        let theirs = try QemuCheckJSON.run(path)
        #expect(ours.isClean, "\(ours.messages)")
        #expect(ours.compressedClusters == theirs.compressedClusters ?? 0)
        #expect(ours.compressedClusters > 0)
        #expect(ours.imageEndOffset == theirs.imageEndOffset)
    }

    @Test(arguments: cases) func writesCompressedImagesQemuReads(_ testCase: Case) throws {
        let directory = try ScratchDirectory()
        let bytes = Self.sourceBytes(3 << 20 - 1536)
        let path = directory.file("ours.qcow2")
        try Qcow2Image.create(
            path: path,
            options: Qcow2CreateOptions(
                size: UInt64(bytes.count), clusterSize: testCase.clusterSize, compatibility: testCase.compatibility,
                compressionType: testCase.type))
        let image = try Qcow2Image(path: path)
        var offset = 0
        while offset < bytes.count {
            let count = min(testCase.clusterSize, bytes.count - offset)
            let chunk = Array(bytes[offset..<offset + count])
            if chunk.contains(where: { $0 != 0 }) {
                try chunk.withUnsafeBytes { try image.writeCompressed(at: UInt64(offset), from: $0) }
            }
            offset += count
        }
        #expect(try ImageBytes.read(image) == bytes)
        try image.close()
        #expect(try QemuTool.imageStatus("check", path).status == 0)
        let expected = directory.file("expected.raw")
        try ImageBytes.writeFile(expected, bytes)
        #expect(try QemuTool.imageStatus("compare", "-f", "qcow2", "-F", "raw", path, expected).status == 0)
        let theirs = try QemuCheckJSON.run(path)
        let ours = try Qcow2Image(path: path, readOnly: true).check()
        #expect(ours.compressedClusters == theirs.compressedClusters ?? 0)
        #expect((theirs.compressedClusters ?? 0) > 0)
    }

    @Test(arguments: [Qcow2CompressionType.zlib, .zstd]) func overwritesCompressedClusters(_ type: Qcow2CompressionType)
        throws
    {
        let directory = try ScratchDirectory()
        let source = directory.file("source.raw")
        var model = Self.sourceBytes(1 << 20)
        try ImageBytes.writeFile(source, model)
        let path = directory.file("compressed.qcow2")
        try QemuTool.image("convert", "-c", "-O", "qcow2", "-o", "compression_type=\(type)", source, path)
        let image = try Qcow2Image(path: path)
        for (offset, count, byte) in [(10, 100, 0xB1), (65536 * 3 - 50, 100, 0xB2), (200_100, 65536, 0xB3)] {
            try ImageBytes.write(image, at: UInt64(offset), ImageBytes.pattern(UInt8(byte), count))
            model.replaceSubrange(offset..<offset + count, with: ImageBytes.pattern(UInt8(byte), count))
        }
        try image.writeZeroes(at: 65536 * 5, length: 65536)
        model.replaceSubrange(65536 * 5..<65536 * 6, with: ImageBytes.pattern(0, 65536))
        // Recompress a cluster in place of a compressed one.
        let chunk = ImageBytes.noise(seed: 5, count: 65536, compressible: true)
        try chunk.withUnsafeBytes { try image.writeCompressed(at: 65536 * 8, from: $0) }
        model.replaceSubrange(65536 * 8..<65536 * 9, with: chunk)
        try image.close()
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
        try QemuTool.io(path, ["write -P 0xc1 700k 3k"])
        model.replaceSubrange(700 << 10..<703 << 10, with: ImageBytes.pattern(0xC1, 3072))
        let reopened = try Qcow2Image(path: path, readOnly: true)
        #expect(try ImageBytes.read(reopened) == model)
        #expect(try reopened.check().isClean)
    }
}
