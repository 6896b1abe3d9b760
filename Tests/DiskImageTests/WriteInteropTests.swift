import DiskImage
import Foundation
import Testing

/// Images created and written by this library: `qemu-img check` must be clean and `qemu-img compare`
/// must match a model of the expected bytes; then qemu-io writes into them and our check stays clean.
@Suite struct WriteInteropTests {
    struct Configuration: CustomTestStringConvertible, Sendable {
        let name: String
        let options: Qcow2CreateOptions
        var testDescription: String { name }
    }

    static let size: UInt64 = 8 << 20

    static let configurations: [Configuration] = [
        Configuration(name: "compat 0.10", options: Qcow2CreateOptions(size: size, compatibility: .v2)),
        Configuration(name: "compat 1.1", options: Qcow2CreateOptions(size: size)),
        Configuration(name: "512-byte clusters", options: Qcow2CreateOptions(size: size, clusterSize: 512)),
        Configuration(
            name: "4K clusters v2", options: Qcow2CreateOptions(size: size, clusterSize: 4096, compatibility: .v2)),
        Configuration(name: "2M clusters", options: Qcow2CreateOptions(size: 16 << 20, clusterSize: 2 << 20)),
        Configuration(name: "refcount_bits=1", options: Qcow2CreateOptions(size: size, refcountBits: 1)),
        Configuration(
            name: "refcount_bits=2, 4K", options: Qcow2CreateOptions(size: size, clusterSize: 4096, refcountBits: 2)),
        Configuration(
            name: "refcount_bits=64, 512", options: Qcow2CreateOptions(size: size, clusterSize: 512, refcountBits: 64)),
        Configuration(name: "extended L2", options: Qcow2CreateOptions(size: size, extendedL2: true)),
        Configuration(
            name: "extended L2 16K", options: Qcow2CreateOptions(size: size, clusterSize: 16384, extendedL2: true)),
        Configuration(name: "lazy refcounts", options: Qcow2CreateOptions(size: size, lazyRefcounts: true)),
        Configuration(name: "zstd", options: Qcow2CreateOptions(size: size, compressionType: .zstd)),
        Configuration(
            name: "preallocation metadata", options: Qcow2CreateOptions(size: size, preallocation: .metadata)),
        Configuration(
            name: "preallocation falloc 4K",
            options: Qcow2CreateOptions(size: size, clusterSize: 4096, preallocation: .falloc)),
        Configuration(name: "preallocation full", options: Qcow2CreateOptions(size: size, preallocation: .full)),
    ]

    /// Applies the same operations to the image and to a byte model.
    static func exercise(_ image: Qcow2Image, model: inout [UInt8]) throws {
        func write(_ offset: Int, _ count: Int, _ byte: UInt8) throws {
            try ImageBytes.write(image, at: UInt64(offset), ImageBytes.pattern(byte, count))
            model.replaceSubrange(offset..<offset + count, with: ImageBytes.pattern(byte, count))
        }
        func zero(_ offset: Int, _ count: Int) throws {
            try image.writeZeroes(at: UInt64(offset), length: UInt64(count))
            model.replaceSubrange(offset..<offset + count, with: ImageBytes.pattern(0, count))
        }
        try write(0, 65536, 0x11)
        try write(3000, 10000, 0x22)
        try write(1 << 20, 300 << 10, 0x33)
        try zero(1100 << 10, 64 << 10)
        try write(2047 << 10, 2048, 0x44)
        try zero(1 << 20 + 10, 100)
        try write(4 << 20, 4096, 0x55)
        try zero(5 << 20, 1 << 20)
        try write(7 << 20, 1 << 20, 0x66)
        try zero(7 << 20 + 12345, 200_000)
        try write(7300 << 10, 17, 0x77)
        try image.flush()
        try write(100, 1, 0x78)
        // Discard on a layer without backing makes whole clusters read as zeroes.
        let cluster = image.headerInfo.clusterSize
        let start = 6 << 20
        try image.discard(at: UInt64(start + 1), length: UInt64(2 * cluster + 10))
        model.replaceSubrange(start + cluster..<start + 2 * cluster, with: ImageBytes.pattern(0, cluster))
    }

    @Test(arguments: configurations) func qemuAcceptsWhatWeWrote(_ configuration: Configuration) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("image.qcow2")
        try Qcow2Image.create(path: path, options: configuration.options)
        let image = try Qcow2Image(path: path)
        var model = [UInt8](repeating: 0, count: Int(image.virtualSize))
        try Self.exercise(image, model: &model)
        #expect(try ImageBytes.read(image) == model)
        let report = try image.check()
        #expect(report.isClean, "\(report.messages)")
        try image.close()

        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        let expectedPath = directory.file("expected.raw")
        try ImageBytes.writeFile(expectedPath, model)
        let compare = try QemuTool.imageStatus("compare", "-f", "qcow2", "-F", "raw", path, expectedPath)
        #expect(compare.status == 0, "\(compare.output)")
        let info = try QemuTool.image("info", path)
        #expect(info.contains("compat: \(configuration.options.compatibility.rawValue)"))
        #expect(!info.contains("dirty flag: true"))

        // QEMU writes into our image; we check and read.
        try QemuTool.io(
            path, ["write -P 0xbb 12345 100000", "write -z 3M 64k", "discard 4M 1M", "write -P 0xcc 8388000 100"])
        let reopened = try Qcow2Image(path: path, readOnly: true)
        let ours = try reopened.check()
        #expect(ours.isClean, "\(ours.messages)")
        #expect(try ImageBytes.read(reopened) == QemuTool.rawContents(of: path, in: directory))
    }
}
