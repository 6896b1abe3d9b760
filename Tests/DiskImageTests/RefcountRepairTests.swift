import DiskImage
import Foundation
import Testing

/// Lazy refcounts, the dirty bit, and check/repair agreeing with `qemu-img check`.
@Suite struct RefcountRepairTests {
    static func dirtyBit(_ path: String) throws -> Bool {
        let bytes = try ImagePatcher.bytes(path)
        return ImagePatcher.read64(bytes, 72) & 1 != 0
    }

    @Test func lazyRefcountsMarkTheImageDirtyUntilClosed() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("lazy.qcow2")
        try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 4 << 20, lazyRefcounts: true))
        let image = try Qcow2Image(path: path)
        #expect(try !Self.dirtyBit(path))
        try ImageBytes.write(image, at: 0, ImageBytes.pattern(1, 100_000))
        try image.flush()
        #expect(try Self.dirtyBit(path))
        #expect(image.headerInfo.dirty)
        try image.close()
        #expect(try !Self.dirtyBit(path))
        #expect(try QemuTool.imageStatus("check", path).status == 0)
    }

    @Test func repairsADirtyImageLeftByACrashedQemu() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("crashed.qcow2")
        try QemuTool.image("create", "-f", "qcow2", "-o", "lazy_refcounts=on", path, "8M")
        // qemu-io's abort leaves lazy refcounts unwritten and the dirty bit set.
        _ = try QemuTool.run(
            QemuTool.ioPath, ["-c", "write -P 0x21 0 1M", "-c", "write -P 0x22 4M 64k", "-c", "abort", path])
        #expect(try Self.dirtyBit(path))
        let expected = try QemuTool.rawContents(of: path, in: directory)
        let readOnly = try Qcow2Image(path: path, readOnly: true)
        #expect(try ImageBytes.read(readOnly) == expected)
        #expect(try !readOnly.check().isClean)
        try readOnly.close()
        // Opening for writing repairs first, as QEMU does.
        let image = try Qcow2Image(path: path)
        #expect(!image.headerInfo.dirty)
        try image.close()
        #expect(try !Self.dirtyBit(path))
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.rawContents(of: path, in: directory) == expected)
    }

    /// Refcount block at 0x20000, 16-bit entries; data at 0x50000 (cluster 5).
    static func makeImage(_ directory: ScratchDirectory) throws -> String {
        let path = directory.file("image.qcow2")
        try QemuTool.image("create", "-f", "qcow2", path, "4M")
        try QemuTool.io(path, ["write -P 0x31 0 64k", "write -P 0x32 1M 128k"])
        return path
    }

    @Test func findsAndFixesLeaks() throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        let expected = try QemuTool.rawContents(of: path, in: directory)
        // Two unused clusters appended to the file (8 and 9) are marked used.
        try ImagePatcher.truncate(path, to: 10 << 16)
        try ImagePatcher.patch(path, at: 0x20000 + 8 * 2, ImagePatcher.be16(1) + ImagePatcher.be16(3))
        #expect(try QemuTool.imageStatus("check", path).status == 3)
        let image = try Qcow2Image(path: path)
        let before = try image.check()
        #expect(before.leaks == 2 && before.corruptions == 0, "\(before.messages)")
        let repaired = try image.check(repair: .leaks)
        #expect(repaired.leaksFixed == 2 && repaired.leaks == 0)
        try image.close()
        #expect(try QemuTool.imageStatus("check", path).status == 0)
        #expect(try QemuTool.rawContents(of: path, in: directory) == expected)
    }

    @Test func rebuildsBrokenRefcounts() throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        let expected = try QemuTool.rawContents(of: path, in: directory)
        // Zero the whole refcount block: every cluster looks free.
        try ImagePatcher.patch(path, at: 0x20000, [UInt8](repeating: 0, count: 64))
        #expect(try QemuTool.imageStatus("check", path).status == 2)
        let image = try Qcow2Image(path: path, allowCorrupt: true)
        let before = try image.check()
        #expect(before.corruptions > 0)
        let leaksOnly = try image.check(repair: .leaks)
        #expect(leaksOnly.checkErrors > 0 || leaksOnly.corruptions > 0)
        let repaired = try image.check(repair: .all)
        #expect(repaired.corruptions == 0 && repaired.checkErrors == 0, "\(repaired.messages)")
        #expect(repaired.corruptionsFixed > 0)
        // Writing after the rebuild allocates from the new structure.
        try ImageBytes.write(image, at: 2 << 20, ImageBytes.pattern(0x33, 70000))
        try image.close()
        var model = expected
        model.replaceSubrange(2 << 20..<(2 << 20) + 70000, with: ImageBytes.pattern(0x33, 70000))
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
    }

    @Test func fixesRefcountsThatAreTooLowAndCopiedFlags() throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        // Data cluster 5 referenced once but counted... make L2 entry lose its copied flag, and make the
        // refcount table's own cluster count 0 → too low? Use: copied flag cleared on an L2 entry.
        let bytes = try ImagePatcher.bytes(path)
        let l2 = Int(ImagePatcher.read64(bytes, 0x30000) & 0x00FF_FFFF_FFFF_FE00)
        let entry = ImagePatcher.read64(bytes, l2)
        try ImagePatcher.patch(path, at: l2, ImagePatcher.be64(entry & ~(1 << 63)))
        #expect(try QemuTool.imageStatus("check", path).status == 2)
        let image = try Qcow2Image(path: path)
        #expect(try image.check().corruptions == 1)
        let repaired = try image.check(repair: .all)
        #expect(repaired.corruptionsFixed == 1 && repaired.isClean)
        try image.close()
        #expect(try QemuTool.imageStatus("check", path).status == 0)
    }

    @Test func reportsWhatQemuReports() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("fragmented.qcow2")
        try QemuTool.image("create", "-f", "qcow2", "-o", "cluster_size=4096", path, "16M")
        try QemuTool.io(path, ["write -P 1 1M 64k", "write -P 2 0 8k", "write -P 3 12M 4k", "write -P 4 64k 4k"])
        let ours = try Qcow2Image(path: path, readOnly: true).check()
        let theirs = try QemuCheckJSON.run(path)
        #expect(ours.allocatedClusters == theirs.allocatedClusters)
        #expect(ours.fragmentedClusters == theirs.fragmentedClusters ?? 0)
        #expect(ours.imageEndOffset == theirs.imageEndOffset)
        #expect(ours.totalClusters == theirs.totalClusters)
    }
}

/// Persistent dirty bitmaps (made by `qemu-img bitmap`): counted by our check; opening for writing
/// clears the bitmaps autoclear bit as the spec requires of a writer that does not maintain them.
@Suite struct BitmapTests {
    @Test func countsBitmapClustersAndInvalidatesBitmapsWhenWriting() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("bitmaps.qcow2")
        try QemuTool.image("create", "-f", "qcow2", path, "4M")
        try QemuTool.io(path, ["write -P 1 0 64k"])
        try QemuTool.image("bitmap", "--add", path, "b0")
        try QemuTool.image("bitmap", "--add", "-g", "512k", path, "b1")
        try QemuTool.io(path, ["write -P 2 1M 64k"])
        let readOnly = try Qcow2Image(path: path, readOnly: true)
        let report = try readOnly.check()
        let theirs = try QemuCheckJSON.run(path)
        #expect(report.isClean, "\(report.messages)")
        #expect(report.imageEndOffset == theirs.imageEndOffset)
        try readOnly.close()  // its locks would refuse the writer below

        let image = try Qcow2Image(path: path)
        try ImageBytes.write(image, at: 2 << 20, [7, 7, 7])
        try image.close()
        let bytes = try ImagePatcher.bytes(path)
        #expect(ImagePatcher.read64(bytes, 88) == 0)
        // QEMU now ignores the bitmaps; their clusters are leaks, the data is intact.
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0 || check.status == 3)
        #expect(try QemuTool.rawContents(of: path, in: directory)[(2 << 20)..<(2 << 20) + 3] == [7, 7, 7])
    }
}
