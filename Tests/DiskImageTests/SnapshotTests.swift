import DiskImage
import Foundation
import Testing

/// Images with internal snapshots made by qemu-img: the active layer reads right, the check counts the
/// snapshots' references, and writes copy shared clusters instead of changing the snapshot.
@Suite struct SnapshotTests {
    static func makeImage(_ directory: ScratchDirectory, options: String) throws -> (path: String, snapshot: [UInt8]) {
        let path = directory.file("snap.qcow2")
        try QemuTool.image("create", "-f", "qcow2", "-o", options, path, "4M")
        try QemuTool.io(path, ["write -P 0x41 0 200k", "write -P 0x42 1M 64k", "write -z 2M 64k"])
        let snapshot = try QemuTool.rawContents(of: path, in: directory)
        try QemuTool.image("snapshot", "-c", "first", path)
        try QemuTool.io(path, ["write -P 0x43 64k 10k", "write -P 0x44 3M 4k"])
        try QemuTool.image("snapshot", "-c", "second", path)
        try QemuTool.io(path, ["write -P 0x45 150k 100k"])
        return (path, snapshot)
    }

    @Test(arguments: ["compat=1.1", "compat=0.10,cluster_size=4096", "extended_l2=on"])
    func readsChecksAndWritesAroundSnapshots(_ options: String) throws {
        let directory = try ScratchDirectory()
        let (path, snapshot) = try Self.makeImage(directory, options: options)
        var model = try QemuTool.rawContents(of: path, in: directory)

        let image = try Qcow2Image(path: path)
        #expect(image.snapshotList.map(\.name) == ["first", "second"])
        #expect(image.snapshotList.first?.diskSize == 4 << 20)
        #expect(try ImageBytes.read(image) == model)
        let ours = try image.check()
        let theirs = try QemuCheckJSON.run(path)
        #expect(ours.isClean, "\(ours.messages)")
        #expect(ours.allocatedClusters == theirs.allocatedClusters)
        #expect(ours.imageEndOffset == theirs.imageEndOffset)

        for (offset, count, byte) in [(0, 100, 0x51), (66000, 70000, 0x52), (3 << 20, 4096, 0x53)] {
            try ImageBytes.write(image, at: UInt64(offset), ImageBytes.pattern(UInt8(byte), count))
            model.replaceSubrange(offset..<offset + count, with: ImageBytes.pattern(UInt8(byte), count))
        }
        try image.writeZeroes(at: 1 << 20, length: 65536)
        model.replaceSubrange(1 << 20..<(1 << 20) + 65536, with: ImageBytes.pattern(0, 65536))
        try image.discard(at: 0, length: 1 << 20)
        let cluster = image.headerInfo.clusterSize
        model.replaceSubrange(
            0..<(1 << 20) / cluster * cluster, with: ImageBytes.pattern(0, (1 << 20) / cluster * cluster))
        try image.close()

        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
        // The first snapshot still holds what it held.
        try QemuTool.image("snapshot", "-a", "first", path)
        #expect(try QemuTool.rawContents(of: path, in: directory) == snapshot)
        #expect(try Qcow2Image(path: path, readOnly: true).check().isClean)
    }
}

/// Snapshots made, applied and deleted by this library, judged by qemu-img.
@Suite struct SnapshotOperationTests {
    @Test(arguments: ["compat=1.1", "compat=0.10,cluster_size=4096", "extended_l2=on", "refcount_bits=4"])
    func createsAppliesAndDeletesSnapshots(_ options: String) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("ops.qcow2")
        try QemuTool.image("create", "-f", "qcow2", "-o", options, path, "4M")
        try QemuTool.io(path, ["write -P 0x11 0 300k", "write -P 0x12 2M 64k"])
        let image = try Qcow2Image(path: path)
        let first = try ImageBytes.read(image)
        let info = try image.createSnapshot(name: "before")
        #expect(info.id == "1" && info.diskSize == 4 << 20)
        #expect(throws: DiskImageError.self) { try image.createSnapshot(name: "before") }
        try ImageBytes.write(image, at: 100, ImageBytes.pattern(0x21, 200_000))
        try image.writeZeroes(at: 2 << 20, length: 65536)
        try image.discard(at: 3 << 20, length: 1 << 20)
        let second = try ImageBytes.read(image)
        try image.createSnapshot(name: "after")
        try ImageBytes.write(image, at: 1 << 20, ImageBytes.pattern(0x22, 5000))
        let third = try ImageBytes.read(image)
        #expect(try image.check().isClean)
        try image.close()

        var check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        let list = try QemuTool.image("snapshot", "-l", path)
        #expect(list.contains("before") && list.contains("after"))
        #expect(try QemuTool.rawContents(of: path, in: directory) == third)

        let reopened = try Qcow2Image(path: path)
        try reopened.applySnapshot("before")
        #expect(try ImageBytes.read(reopened) == first)
        #expect(try reopened.check().isClean)
        try ImageBytes.write(reopened, at: 0, [9, 9, 9])
        try reopened.applySnapshot("2")
        #expect(try ImageBytes.read(reopened) == second)
        try reopened.deleteSnapshot("before")
        #expect(reopened.snapshotList.map(\.name) == ["after"])
        #expect(try reopened.check().isClean)
        try reopened.close()

        check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.rawContents(of: path, in: directory) == second)
        // QEMU can still go back to the remaining snapshot and delete it.
        try QemuTool.image("snapshot", "-a", "after", path)
        #expect(try QemuTool.rawContents(of: path, in: directory) == second)
        try QemuTool.image("snapshot", "-d", "after", path)
        let last = try Qcow2Image(path: path)
        #expect(last.snapshotList.isEmpty)
        #expect(throws: DiskImageError.self) { try last.deleteSnapshot("after") }
        #expect(try last.check().isClean)
    }
}
