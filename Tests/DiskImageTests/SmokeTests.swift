import DiskImage
import Foundation
import Testing

@Suite struct SmokeTests {
    @Test func readsImageWrittenByQemu() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("a.qcow2")
        try QemuTool.image("create", "-f", "qcow2", path, "4M")
        try QemuTool.io(path, ["write -P 0x11 0 64k", "write -P 0x22 100k 5000", "write -z 1M 128k"])
        let image = try DiskImages.open(path: path, readOnly: true)
        #expect(try ImageBytes.read(image) == QemuTool.rawContents(of: path, in: directory))
    }

    @Test func writesImageQemuAccepts() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("b.qcow2")
        try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 4 << 20))
        let image = try Qcow2Image(path: path)
        try ImageBytes.write(image, at: 1000, ImageBytes.pattern(0x33, 70000))
        try image.close()
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        var expected = [UInt8](repeating: 0, count: 4 << 20)
        expected.replaceSubrange(1000..<71000, with: ImageBytes.pattern(0x33, 70000))
        #expect(try QemuTool.rawContents(of: path, in: directory) == expected)
    }
}
