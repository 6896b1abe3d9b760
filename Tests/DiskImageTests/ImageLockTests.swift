import DiskImage
import Foundation
import Testing

/// QEMU's image locks (block/file-posix.c): this library and QEMU 7.2 see each other's. QEMU holds
/// images in a paused emulator; qemu-img and qemu-io are refused images this library writes.
@Suite(.enabled(if: QemuTool.isAvailable)) struct ImageLockTests {
    static let writeRefused = "Failed to get \"write\" lock"
    static let sharedWriteRefused = "Failed to get shared \"write\" lock"

    @Test func refusesAnImageQemuWrites() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("busy.qcow2")
        try QemuTool.image("create", "-f", "qcow2", path, "4M")
        let holder = try QemuImageHolder(path: path)

        #expect(throws: DiskImageError.locked(path: path, reason: Self.sharedWriteRefused)) {
            try Qcow2Image(path: path, readOnly: true)
        }
        #expect(throws: DiskImageError.locked(path: path, reason: Self.writeRefused)) {
            try Qcow2Image(path: path)
        }
        #expect(throws: DiskImageError.locked(path: path, reason: Self.writeRefused)) {
            try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 1 << 20))
        }
        // Force-share reads it anyway; it may not write.
        #expect(try Qcow2Image(path: path, readOnly: true, sharing: .forceShare).virtualSize == 4 << 20)
        #expect(throws: DiskImageError.self) { try Qcow2Image(path: path, sharing: .forceShare) }
        holder.stop()
        try Qcow2Image(path: path).close()
    }

    @Test func refusesAnOverlayWhoseBackingFileQemuWrites() throws {
        let directory = try ScratchDirectory()
        let base = directory.file("base.qcow2")
        let overlay = directory.file("overlay.qcow2")
        try QemuTool.image("create", "-f", "qcow2", base, "4M")
        try QemuTool.image("create", "-f", "qcow2", "-b", base, "-F", "qcow2", overlay)
        let holder = try QemuImageHolder(path: base)
        #expect(throws: DiskImageError.locked(path: base, reason: Self.sharedWriteRefused)) {
            try DiskImages.open(path: overlay, readOnly: false)
        }
        // Creating an overlay only reads the backing file's size, sharing it (as qemu-img create does).
        let second = directory.file("second.qcow2")
        try Qcow2Image.create(
            path: second, options: Qcow2CreateOptions(size: nil, backingFile: base, backingFormat: .qcow2))
        holder.stop()
    }

    @Test func qemuIsRefusedImagesThisLibraryWrites() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("ours.qcow2")
        try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 4 << 20, lazyRefcounts: true))
        // A writer with work in flight: qemu-img must not look at its half-written metadata.
        let image = try Qcow2Image(path: path)
        try image.writeZeroes(at: 0, length: 1 << 20)

        let info = try QemuTool.imageStatus("info", path)
        #expect(info.status == 1)
        #expect(info.output.contains("Could not open '\(path)': \(Self.sharedWriteRefused)"), "\(info.output)")
        #expect(info.output.contains("Is another process using the image [\(path)]?"))
        let write = try QemuTool.run(QemuTool.ioPath, ["-c", "write 0 512", path])
        #expect(write.output.contains(Self.writeRefused), "\(write.output)")
        #expect(try QemuTool.imageStatus("info", "-U", path).status == 0)
        // Closing releases the locks even while the object lives on.
        try image.close()
        #expect(try QemuTool.imageStatus("info", path).status == 0)
    }

    @Test func readersShareWithReadersButNotWithWriters() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("shared.qcow2")
        try QemuTool.image("create", "-f", "qcow2", path, "4M")
        let holder = try QemuImageHolder(path: path, readOnly: true)
        let reader = try Qcow2Image(path: path, readOnly: true)
        #expect(reader.virtualSize == 4 << 20)
        #expect(throws: DiskImageError.locked(path: path, reason: Self.writeRefused)) { try Qcow2Image(path: path) }
        holder.stop()
        // Our reader in turn keeps qemu-io from writing, and qemu-img reads alongside it.
        let write = try QemuTool.run(QemuTool.ioPath, ["-c", "write 0 512", path])
        #expect(write.output.contains(Self.writeRefused), "\(write.output)")
        #expect(try QemuTool.imageStatus("info", path).status == 0)
        try reader.close()
    }

    @Test func rawImagesShareWritesExceptAsGuestDisks() throws {
        let directory = try ScratchDirectory()
        let path = directory.file("disk.raw")
        try QemuTool.image("create", "-f", "raw", path, "1M")
        // qemu-img and qemu-io share raw images with other writers; a guest disk does not.
        try withExtendedLifetime(try RawImage(path: path)) {
            try QemuTool.io(path, format: "raw", ["write 0 512"])
        }
        let lease = try ImageLease(path: path, format: .raw, readOnly: false, sharing: .device)
        let write = try QemuTool.run(QemuTool.ioPath, ["-f", "raw", "-c", "write 0 512", path])
        #expect(write.output.contains(Self.writeRefused), "\(write.output)")
        withExtendedLifetime(lease) {}
        // Our guest disk is refused a raw image QEMU writes.
        let vmDisk = directory.file("vm.raw")
        try QemuTool.image("create", "-f", "raw", vmDisk, "1M")
        let holder = try QemuImageHolder(path: vmDisk, format: "raw")
        #expect(throws: DiskImageError.self) {
            try ImageLease(path: vmDisk, format: .raw, readOnly: false, sharing: .device)
        }
        holder.stop()
    }
}
