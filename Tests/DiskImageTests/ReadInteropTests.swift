import DiskImage
import Foundation
import Testing

/// Images written by qemu-io, read by this library: contents must equal `qemu-img convert -O raw`,
/// and our check must agree with `qemu-img check`.
@Suite struct ReadInteropTests {
    struct Configuration: CustomTestStringConvertible, Sendable {
        let options: String
        var size: String = "8M"
        var testDescription: String { options }
    }

    static let configurations: [Configuration] = [
        Configuration(options: "compat=0.10"),
        Configuration(options: "compat=1.1"),
        Configuration(options: "cluster_size=512"),
        Configuration(options: "cluster_size=4096,compat=0.10"),
        Configuration(options: "cluster_size=65536"),
        Configuration(options: "cluster_size=2M", size: "16M"),
        Configuration(options: "refcount_bits=1"),
        Configuration(options: "refcount_bits=8,cluster_size=1024"),
        Configuration(options: "refcount_bits=64,cluster_size=4096"),
        Configuration(options: "extended_l2=on"),
        Configuration(options: "extended_l2=on,cluster_size=32768"),
        Configuration(options: "lazy_refcounts=on"),
        Configuration(options: "preallocation=metadata,cluster_size=16384"),
    ]

    /// A mix of aligned, unaligned, cluster-spanning, zeroing and discarding requests.
    static let commands = [
        "write -P 0x11 0 64k",
        "write -P 0x22 3000 10000",
        "write -P 0x33 1M 300k",
        "write -z 1100k 64k",
        "write -P 0x44 2047k 2k",
        "discard 1M 64k",
        "write -P 0x55 4M 4k",
        "write -z -u 5M 1M",
        "write -P 0x66 7M 1M",
        "discard 7M 128k",
        "write -P 0x77 7300k 17",
    ]

    @Test(arguments: configurations) func readsWhatQemuWrote(_ configuration: Configuration) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("image.qcow2")
        try QemuTool.image("create", "-f", "qcow2", "-o", configuration.options, path, configuration.size)
        try QemuTool.io(path, Self.commands)
        let expected = try QemuTool.rawContents(of: path, in: directory)

        let image = try Qcow2Image(path: path, readOnly: true)
        #expect(try ImageBytes.read(image) == expected)

        let ours = try image.check()
        let theirs = try QemuCheckJSON.run(path)
        #expect(ours.isClean, "\(ours.messages)")
        #expect(ours.imageEndOffset == theirs.imageEndOffset)
        #expect(ours.totalClusters == theirs.totalClusters)
        #expect(ours.allocatedClusters == theirs.allocatedClusters ?? 0)
        #expect(ours.fragmentedClusters == theirs.fragmentedClusters ?? 0)
        #expect(ours.compressedClusters == theirs.compressedClusters ?? 0)
        try image.close()

        // Then write into it ourselves and let QEMU judge.
        let writable = try Qcow2Image(path: path)
        var model = expected
        for (offset, count, byte) in [(500, 70000, 0x88), (1 << 20 + 4096, 4096, 0x99), (6 << 20 - 100, 200, 0xAA)] {
            try ImageBytes.write(writable, at: UInt64(offset), ImageBytes.pattern(UInt8(byte), count))
            model.replaceSubrange(offset..<offset + count, with: ImageBytes.pattern(UInt8(byte), count))
        }
        try writable.close()
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
    }
}
