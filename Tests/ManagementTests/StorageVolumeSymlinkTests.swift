import DiskImage
import Foundation
import LibvirtProtocol
import Testing

@testable import Management

/// A pool directory can belong to an unprivileged user (`<permissions><owner>`), who can put a
/// symbolic link where the root daemon expects a volume. No volume call may write through it.
@Suite("Storage volumes: a symbolic link in the pool directory is never written through")
struct StorageVolumeSymlinkTests {
    static let secret = Data("root:secret\n".utf8)

    /// An active pool "s" in `<fixture>/vols` and a file outside it holding `secret`.
    func withPool(
        _ body: (StoragePools, StoragePoolStatus, _ directory: String, _ outside: String) async throws -> Void
    ) async throws {
        try await withFixture { fixture in
            let directory = fixture.directory + "/vols"
            let outside = fixture.directory + "/shadow"
            try Self.secret.write(to: URL(fileURLWithPath: outside))
            let pools = await StoragePools.open(paths: fixture.paths)
            let pool = try await pools.createTransient(
                xml: StoragePoolsTests.poolXML("s", directory), flags: .withBuild)
            try await body(pools, pool, directory, outside)
        }
    }

    @Test("create, resize, clone and delete refuse a volume name that is a link to a file outside the pool")
    func linkToOutsideFile() async throws {
        try await withPool { pools, pool, directory, target in
            try FileManager.default.createSymbolicLink(atPath: directory + "/link.img", withDestinationPath: target)
            let link = RemoteStorageVolume(pool: "s", name: "link.img", key: directory + "/link.img")

            for format in ["raw", "qcow2"] {
                await #expect {
                    try await pools.createVolume(
                        in: pool.uuid, xml: StoragePoolsTests.volumeXML("link.img", format: format), flags: [])
                } throws: { ($0 as? LibvirtError)?.code == .storageVolumeExists }
            }
            await #expect {
                try await pools.resizeVolume(link, capacity: 1 << 20, flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .noStorageVolume }
            await #expect {
                try await pools.cloneVolume(
                    in: pool.uuid, xml: StoragePoolsTests.volumeXML("copy.img", format: "raw"), source: link,
                    flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .noStorageVolume }
            await #expect {
                try await pools.deleteVolume(link, flags: 0)
            } throws: { ($0 as? LibvirtError)?.code == .noStorageVolume }
            #expect(try await pools.volumes(in: pool.uuid).isEmpty)

            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Self.secret)
            #expect((try HostFiles.status(directory + "/link.img")).kind == .symbolicLink)
        }
    }

    /// The race itself (a regular volume swapped for a link after the daemon looked at it) is shown
    /// at the DiskImage level (SymlinkRefusalTests); here the opens the daemon uses are checked to
    /// refuse the link the swap would leave.
    @Test("the opens resize, clone and probe use refuse a link that replaced a volume")
    func swappedVolume() async throws {
        try await withPool { pools, pool, _, target in
            let volume = try await pools.createVolume(
                in: pool.uuid, xml: StoragePoolsTests.volumeXML("disk.img", format: "qcow2"), flags: [])
            try FileManager.default.removeItem(atPath: volume.path)
            try FileManager.default.createSymbolicLink(atPath: volume.path, withDestinationPath: target)

            #expect(throws: SystemCallError.self) {
                try StorageVolume.read(pool: "s", name: "disk.img", path: volume.path)
            }
            #expect(throws: DiskImageError.open(path: volume.path, errno: ELOOP)) {
                try Qcow2Image(path: volume.path, followSymlinks: false)
            }
            #expect(throws: DiskImageError.open(path: volume.path, errno: ELOOP)) {
                try DiskImages.open(path: volume.path, format: .raw, readOnly: false, followSymlinks: false)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Self.secret)
        }
    }
}
