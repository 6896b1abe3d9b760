import DiskImage
import Foundation
import Testing

/// Chains of raw and qcow2 images with relative backing names, written by QEMU and by us.
@Suite struct BackingChainTests {
    /// base.raw (4 MiB) ← v2 64K ← v3 4K ← extended-L2 32K (each 6 MiB, so reads past the base are zeroes).
    static func makeChain(in directory: ScratchDirectory) throws -> String {
        let base = directory.file("base.raw")
        try QemuTool.image("create", "-f", "raw", base, "4M")
        try QemuTool.io(base, format: "raw", ["write -P 0x01 0 1M", "write -P 0x02 3M 512k"])
        try QemuTool.image(
            "create", "-f", "qcow2", "-o", "compat=0.10", "-b", "base.raw", "-F", "raw", directory.file("one.qcow2"),
            "6M")
        try QemuTool.io(directory.file("one.qcow2"), ["write -P 0x03 200k 70k", "write -P 0x04 3900k 200k"])
        try QemuTool.image(
            "create", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "one.qcow2", "-F", "qcow2",
            directory.file("two.qcow2"), "6M")
        try QemuTool.io(
            directory.file("two.qcow2"), ["write -z 64k 64k", "write -P 0x05 5M 4k", "write -P 0x06 250k 1k"])
        let top = directory.file("three.qcow2")
        try QemuTool.image(
            "create", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=32k", "-b", "two.qcow2", "-F", "qcow2", top)
        try QemuTool.io(top, ["write -P 0x07 100k 3k", "write -P 0x08 1000000 5000"])
        return top
    }

    @Test func readsAChainOfFourLayers() throws {
        let directory = try ScratchDirectory()
        let top = try Self.makeChain(in: directory)
        let image = try DiskImages.open(path: top, readOnly: true)
        #expect(image.virtualSize == 6 << 20)
        #expect(try ImageBytes.read(image) == QemuTool.rawContents(of: top, in: directory))
        #expect(try QemuMapExtent.firstDisagreement(image, QemuMapExtent.run(top)) == nil)
    }

    @Test func writesIntoTheTopCopyOnWrite() throws {
        let directory = try ScratchDirectory()
        let top = try Self.makeChain(in: directory)
        var model = try QemuTool.rawContents(of: top, in: directory)
        let image = try Qcow2Image(path: top)
        for (offset, count, byte) in [
            (1000, 100, 0xA1), (260_000, 9000, 0xA2), (3_999_000, 3000, 0xA3), (5 << 20 + 100, 10, 0xA4),
            (6 << 20 - 7, 7, 0xA5),
        ] {
            try ImageBytes.write(image, at: UInt64(offset), ImageBytes.pattern(UInt8(byte), count))
            model.replaceSubrange(offset..<offset + count, with: ImageBytes.pattern(UInt8(byte), count))
        }
        try image.writeZeroes(at: 3 << 20, length: 100_000)
        model.replaceSubrange(3 << 20..<(3 << 20) + 100_000, with: ImageBytes.pattern(0, 100_000))
        #expect(try ImageBytes.read(image) == model)
        try image.close()
        #expect(try QemuTool.imageStatus("check", top).status == 0)
        #expect(try QemuTool.rawContents(of: top, in: directory) == model)
        // The lower layers are untouched.
        #expect(try QemuTool.imageStatus("check", directory.file("two.qcow2")).status == 0)
    }

    @Test func createsOverlaysWithRelativeBackingNames() throws {
        let directory = try ScratchDirectory()
        let base = directory.file("base.raw")
        try ImageBytes.writeFile(base, ImageBytes.noise(seed: 7, count: 3 << 20))
        try Qcow2Image.create(
            path: directory.file("mid.qcow2"),
            options: Qcow2CreateOptions(size: nil, compatibility: .v2, backingFile: "base.raw"))
        try Qcow2Image.create(
            path: directory.file("top.qcow2"),
            options: Qcow2CreateOptions(
                size: 4 << 20, clusterSize: 4096, backingFile: "mid.qcow2", backingFormat: .qcow2))
        let mid = try Qcow2Image(path: directory.file("mid.qcow2"))
        #expect(mid.virtualSize == 3 << 20)
        #expect(mid.headerInfo.backingFormat == "raw")
        try ImageBytes.write(mid, at: 70000, ImageBytes.pattern(0x42, 100))
        try mid.close()
        let top = try Qcow2Image(path: directory.file("top.qcow2"))
        try ImageBytes.write(top, at: 69000, ImageBytes.pattern(0x43, 5000))
        try top.close()
        let info = try QemuTool.image("info", "--backing-chain", directory.file("top.qcow2"))
        #expect(info.contains("backing file: mid.qcow2"))
        #expect(info.contains("backing file format: raw"))
        #expect(try QemuTool.imageStatus("check", directory.file("top.qcow2")).status == 0)
        let reopened = try DiskImages.open(path: directory.file("top.qcow2"), readOnly: true)
        #expect(try ImageBytes.read(reopened) == QemuTool.rawContents(of: directory.file("top.qcow2"), in: directory))
    }

    @Test func refusesChainsDeeperThanTheLimitAndLoops() throws {
        let directory = try ScratchDirectory()
        let top = try Self.makeChain(in: directory)
        #expect(throws: DiskImageError.self) { try DiskImages.open(path: top, readOnly: true, backingChainLimit: 2) }
        #expect(throws: Never.self) { try DiskImages.open(path: top, readOnly: true, backingChainLimit: 3) }
        // a.qcow2 → b.qcow2 → a.qcow2
        try QemuTool.image("create", "-f", "qcow2", directory.file("a.qcow2"), "1M")
        try QemuTool.image("create", "-f", "qcow2", "-b", "a.qcow2", "-F", "qcow2", directory.file("b.qcow2"), "1M")
        try QemuTool.image("rebase", "-u", "-f", "qcow2", "-b", "b.qcow2", "-F", "qcow2", directory.file("a.qcow2"))
        #expect(throws: DiskImageError.self) { try DiskImages.open(path: directory.file("a.qcow2"), readOnly: true) }
    }
}
