import DiskImage
import Foundation
import Testing

/// A daemon opening images in a directory others can write to asks DiskImage not to follow symbolic
/// links, and to create an image only into the file it made itself: a name swapped meanwhile must be
/// refused and the file it points to left as it was.
@Suite struct SymlinkRefusalTests {
    static let secret = [UInt8]("root:secret\n".utf8)

    /// A file outside the directory and a symbolic link to it at `name`.
    static func plant(_ directory: ScratchDirectory, _ name: String) throws -> (link: String, target: String) {
        let target = directory.file("target")
        try Data(secret).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: directory.file(name), withDestinationPath: target)
        return (directory.file(name), target)
    }

    static func identity(_ path: String) throws -> FileIdentity {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value ?? 0
        let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0
        return FileIdentity(device: device, inode: inode)
    }

    static func contents(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test("opening without following symbolic links refuses a link and a FIFO, and follows by default")
    func opensRefuseLinks() throws {
        let directory = try ScratchDirectory()
        let (link, target) = try Self.plant(directory, "disk.img")
        #expect(throws: DiskImageError.open(path: link, errno: ELOOP)) {
            try RawImage(path: link, followSymlinks: false)
        }
        #expect(throws: DiskImageError.open(path: link, errno: ELOOP)) {
            try Qcow2Image(path: link, followSymlinks: false)
        }
        #expect(throws: DiskImageError.open(path: link, errno: ELOOP)) {
            try DiskImages.open(path: link, readOnly: false, followSymlinks: false)
        }
        #expect(throws: DiskImageError.open(path: link, errno: ELOOP)) {
            try DiskImages.probeFormat(path: link, followSymlinks: false)
        }
        #expect(throws: DiskImageError.open(path: link, errno: ELOOP)) {
            try Qcow2Image.openIgnoringBacking(path: link, followSymlinks: false)
        }
        #expect(try Self.contents(target) == Self.secret)
        // The default, for qemu-img-like use, still follows the link.
        #expect(try RawImage(path: link, readOnly: true).virtualSize == UInt64(Self.secret.count))

        // A FIFO would block a read-only open until a writer came; it is refused at once.
        let fifo = directory.file("fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(throws: DiskImageError.open(path: fifo, errno: EINVAL)) {
            try DiskImages.probeFormat(path: fifo, followSymlinks: false)
        }
    }

    @Test("creating into an existing file refuses a name swapped for a link or another file", arguments: [false, true])
    func createRefusesSwappedName(_ qcow2: Bool) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("new.img")
        // What the daemon does: create the file exclusively and remember which file it is.
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let created = try Self.identity(path)
        let create = { () throws(DiskImageError) in
            if qcow2 {
                try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 1 << 20), existingFile: created)
            } else {
                try RawImage.create(path: path, size: 1 << 20, existingFile: created)
            }
        }

        // Someone who can write to the directory swaps the name for a link to a file outside. (The
        // created file is moved aside, not removed, so its inode number is not reused for the target.)
        try FileManager.default.moveItem(atPath: path, toPath: directory.file("moved"))
        let target = directory.file("target")
        try Data(Self.secret).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
        #expect(throws: DiskImageError.open(path: path, errno: ELOOP)) { try create() }
        #expect(try Self.contents(target) == Self.secret)

        // ... or for another file (a hard link, where the host allows one).
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.linkItem(atPath: target, toPath: path)
        #expect(throws: DiskImageError.self) { try create() }
        #expect(try Self.contents(target) == Self.secret)

        // The file it made is written into.
        try FileManager.default.removeItem(atPath: path)
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let fresh = try Self.identity(path)
        if qcow2 {
            try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 1 << 20), existingFile: fresh)
        } else {
            try RawImage.create(path: path, size: 1 << 20, existingFile: fresh)
        }
        let image = try DiskImages.open(path: path, readOnly: true, followSymlinks: false)
        #expect(image.format == (qcow2 ? .qcow2 : .raw) && image.virtualSize == 1 << 20)
        #expect(try Self.identity(path) == fresh)
    }
}
