import DiskImage
import Foundation
import Testing

@Suite struct RawImageTests {
    @Test(arguments: [ImagePreallocation.off, .falloc, .full])
    func createsReadsAndWrites(_ preallocation: ImagePreallocation) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("disk.raw")
        try RawImage.create(path: path, size: 3 << 20, preallocation: preallocation)
        let image = try DiskImages.open(path: path, readOnly: false)
        #expect(image.format == .raw && image.virtualSize == 3 << 20)
        try ImageBytes.write(image, at: 1 << 20, ImageBytes.pattern(7, 8192))
        try image.writeZeroes(at: (1 << 20) + 4096, length: 100)
        try image.flush()
        var model = [UInt8](repeating: 0, count: 3 << 20)
        model.replaceSubrange(1 << 20..<(1 << 20) + 8192, with: ImageBytes.pattern(7, 8192))
        model.replaceSubrange((1 << 20) + 4096..<(1 << 20) + 4196, with: ImageBytes.pattern(0, 100))
        #expect(try ImageBytes.read(image) == model)
        #expect(throws: DiskImageError.self) { try ImageBytes.write(image, at: 3 << 20 - 1, [1, 2]) }
        let info = try QemuTool.image("info", path)
        #expect(info.contains("file format: raw"))
        if preallocation == .off {
            let status = try image.blockStatus(at: 0, length: 3 << 20)
            #expect(status.kind == .zero && status.length == 1 << 20)
            let data = try image.blockStatus(at: 1 << 20, length: 2 << 20)
            #expect(data.kind == .data && data.hostOffset == 1 << 20)
        }
        #expect(throws: DiskImageError.self) { try RawImage.create(path: path, size: 1, preallocation: .metadata) }
    }

    @Test func refusesWritesWhenReadOnly() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("disk.raw")
        try RawImage.create(path: path, size: 4096)
        let image = try DiskImages.open(path: path, format: .raw, readOnly: true)
        #expect(throws: DiskImageError.readOnly) { try ImageBytes.write(image, at: 0, [1]) }
        #expect(try DiskImages.probeFormat(path: path) == .raw)
    }
}

@Suite struct Qcow2BehaviourTests {
    @Test func headerInfoAgreesWithQemuImgInfo() throws {
        let directory = try ScratchDirectory()
        try ImageBytes.writeFile(directory.file("base.raw"), [UInt8](repeating: 0, count: 1 << 20))
        let path = directory.file("info.qcow2")
        try QemuTool.image(
            "create", "-f", "qcow2", "-o",
            "lazy_refcounts=on,refcount_bits=8,compression_type=zstd,extended_l2=on,cluster_size=128k",
            "-b", "base.raw", "-F", "raw", path, "3M")
        let info = try Qcow2Image(path: path, readOnly: true).headerInfo
        #expect(info.compat == "1.1" && info.version == 3)
        #expect(info.clusterSize == 128 << 10 && info.refcountBits == 8)
        #expect(info.lazyRefcounts && info.extendedL2 && !info.corrupt && !info.dirty)
        #expect(info.compressionType == .zstd)
        #expect(info.backingFile == "base.raw" && info.backingFormat == "raw")
        #expect(info.virtualSize == 3 << 20)
        #expect(info.featureNames.contains("lazy refcounts"))
        #expect(try DiskImages.probeFormat(path: path) == .qcow2)
    }

    @Test func blockStatusDescribesZeroDataAndUnallocatedRanges() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("map.qcow2")
        try QemuTool.image("create", "-f", "qcow2", path, "4M")
        try QemuTool.io(path, ["write -P 1 0 128k", "write -z 1M 64k", "write -P 2 2M 64k"])
        let image = try Qcow2Image(path: path, readOnly: true)
        #expect(try QemuMapExtent.firstDisagreement(image, QemuMapExtent.run(path)) == nil)
        let first = try image.blockStatus(at: 0, length: 4 << 20)
        #expect(first.kind == .data && first.length == 128 << 10 && first.hostOffset == 0x50000)
    }

    @Test func servesConcurrentReadersAndWriters() async throws {
        let directory = try ScratchDirectory()
        let path = directory.file("threads.qcow2")
        try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 16 << 20, clusterSize: 4096))
        let image = try Qcow2Image(path: path)
        let chunk = 256 << 10
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for step in 0..<16 {
                        let offset = UInt64(worker * 2 << 20 + step * (chunk / 2))
                        try ImageBytes.write(image, at: offset, ImageBytes.pattern(UInt8(worker + 1), chunk / 2))
                        var readBack = [UInt8](repeating: 0, count: 5000)
                        try readBack.withUnsafeMutableBytes { try image.read(at: offset + 100, into: $0) }
                        #expect(readBack.allSatisfy { $0 == UInt8(worker + 1) })
                    }
                }
            }
            try await group.waitForAll()
        }
        try image.close()
        var model = [UInt8](repeating: 0, count: 16 << 20)
        for worker in 0..<8 {
            model.replaceSubrange(
                worker * 2 << 20..<(worker * 2 << 20) + 16 * chunk / 2,
                with: ImageBytes.pattern(UInt8(worker + 1), 16 * chunk / 2))
        }
        #expect(try QemuTool.imageStatus("check", path).status == 0)
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
    }

    @Test func validatesCreateOptionsLikeQemuImg() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("bad.qcow2")
        let bad: [Qcow2CreateOptions] = [
            Qcow2CreateOptions(size: 1 << 20, clusterSize: 1000),
            Qcow2CreateOptions(size: 1 << 20, clusterSize: 4 << 20),
            Qcow2CreateOptions(size: 1000),
            Qcow2CreateOptions(size: 1 << 20, compatibility: .v2, lazyRefcounts: true),
            Qcow2CreateOptions(size: 1 << 20, compatibility: .v2, refcountBits: 8),
            Qcow2CreateOptions(size: 1 << 20, refcountBits: 3),
            Qcow2CreateOptions(size: 1 << 20, compatibility: .v2, compressionType: .zstd),
            Qcow2CreateOptions(size: 1 << 20, clusterSize: 8192, extendedL2: true),
            Qcow2CreateOptions(size: 1 << 20, backingFile: "x", preallocation: .metadata),
            Qcow2CreateOptions(size: nil),
            Qcow2CreateOptions(size: 1 << 50, clusterSize: 512),
        ]
        for options in bad {
            #expect(throws: DiskImageError.self, "\(options)") { try Qcow2Image.create(path: path, options: options) }
        }
    }

    @Test func closedImagesRefuseWork() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("closed.qcow2")
        try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 1 << 20))
        let image = try Qcow2Image(path: path)
        try image.close()
        #expect(throws: DiskImageError.closed) { try ImageBytes.read(image) }
        let readOnly = try Qcow2Image(path: path, readOnly: true)
        #expect(throws: DiskImageError.readOnly) { try ImageBytes.write(readOnly, at: 0, [1]) }
        #expect(throws: DiskImageError.readOnly) { try readOnly.check(repair: .leaks) }
    }
}
