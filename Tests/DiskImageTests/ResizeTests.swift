import DiskImage
import Foundation
import Testing

@Suite struct ResizeTests {
    @Test(arguments: [Qcow2CreateOptions.Compatibility.v2, .v3])
    func growsAndKeepsTheNewSpaceZero(_ compatibility: Qcow2CreateOptions.Compatibility) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("grow.qcow2")
        // 512-byte clusters: 1 MiB → 40 MiB moves the L1 table.
        try Qcow2Image.create(
            path: path,
            options: Qcow2CreateOptions(size: (1 << 20) + 512, clusterSize: 512, compatibility: compatibility))
        let image = try Qcow2Image(path: path)
        try ImageBytes.write(image, at: 0, ImageBytes.pattern(0x61, (1 << 20) + 512))
        try image.resize(to: 40 << 20)
        #expect(image.virtualSize == 40 << 20)
        try ImageBytes.write(image, at: 39 << 20, ImageBytes.pattern(0x62, 4096))
        try image.close()
        var model = [UInt8](repeating: 0, count: 40 << 20)
        model.replaceSubrange(0..<(1 << 20) + 512, with: ImageBytes.pattern(0x61, (1 << 20) + 512))
        model.replaceSubrange(39 << 20..<(39 << 20) + 4096, with: ImageBytes.pattern(0x62, 4096))
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        #expect(try QemuTool.image("info", path).contains("virtual size: 40 MiB"))
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
    }

    @Test func hidesALargerBackingFileWhenGrowing() throws {
        let directory = try ScratchDirectory()
        try ImageBytes.writeFile(directory.file("base.raw"), ImageBytes.pattern(0x71, 4 << 20))
        let path = directory.file("overlay.qcow2")
        try Qcow2Image.create(
            path: path, options: Qcow2CreateOptions(size: 1 << 20, backingFile: "base.raw", backingFormat: .raw))
        let image = try Qcow2Image(path: path)
        try image.resize(to: 3 << 20)
        var model = ImageBytes.pattern(0x71, 1 << 20) + ImageBytes.pattern(0, 2 << 20)
        #expect(try ImageBytes.read(image) == model)
        try ImageBytes.write(image, at: 2 << 20, [1, 2, 3])
        model.replaceSubrange(2 << 20..<(2 << 20) + 3, with: [1, 2, 3])
        try image.close()
        #expect(try QemuTool.imageStatus("check", path).status == 0)
        #expect(try QemuTool.rawContents(of: path, in: directory) == model)
    }

    @Test func shrinksOnlyWithoutDataBeyondTheNewEnd() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("shrink.qcow2")
        try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 8 << 20))
        let image = try Qcow2Image(path: path)
        try ImageBytes.write(image, at: 5 << 20, [9])
        #expect(throws: DiskImageError.self) { try image.resize(to: 4 << 20) }
        try image.writeZeroes(at: 5 << 20, length: 65536)
        try image.resize(to: 4 << 20)
        #expect(image.virtualSize == 4 << 20)
        #expect(throws: DiskImageError.self) { try image.resize(to: 1000) }
        try image.close()
        #expect(try QemuTool.imageStatus("check", path).status == 0)
        #expect(try QemuTool.image("info", path).contains("virtual size: 4 MiB"))
    }
}
