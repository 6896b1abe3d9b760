import DiskImage
import Foundation
import LibvirtProtocol
import Testing

@testable import Management

@Suite("StoragePools: dir pool lifecycle, persistence and volumes")
struct StoragePoolsTests {
    static func poolXML(_ name: String, _ path: String) -> String {
        "<pool type='dir'><name>\(name)</name><target><path>\(path)</path></target></pool>"
    }

    static func volumeXML(_ name: String, capacity: String = "1048576", format: String = "qcow2") -> String {
        "<volume><name>\(name)</name><capacity>\(capacity)</capacity><target><format type='\(format)'/></target></volume>"
    }

    @Test("define, build, start, autostart; a reopened registry has the pool active; undefine removes its files")
    func lifecycleAndPersistence() async throws {
        try await withFixture { fixture in
            let directory = fixture.directory + "/pool"
            let pools = await StoragePools.open(paths: fixture.paths)
            let defined = try await pools.define(xml: Self.poolXML("p", directory))
            #expect(!defined.isActive && defined.isPersistent && !defined.autostart)
            #expect(fixture.exists(fixture.paths.storagePoolFile("p")))
            await #expect(throws: LibvirtError.self) { try await pools.start(defined.uuid, flags: []) }
            try await pools.build(defined.uuid, flags: [])
            #expect((try HostFiles.status(directory)).mode == 0o711)
            try await pools.start(defined.uuid, flags: [])
            try await pools.setAutostart(defined.uuid, true)
            #expect(try await pools.info(defined.uuid).state == 2)
            await #expect {
                try await pools.start(defined.uuid, flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .operationInvalid }
            await #expect {
                try await pools.undefine(defined.uuid)
            } throws: { ($0 as? LibvirtError)?.code == .operationInvalid }

            // A daemon restart: the pool is active again, with its autostart mark.
            let reopened = await StoragePools.open(paths: fixture.paths)
            #expect(
                await reopened.list() == [
                    StoragePoolStatus(
                        name: "p", uuid: defined.uuid, isActive: true, isPersistent: true, autostart: true)
                ])
            // After a reboot (run directory emptied) autostart starts it.
            try FileManager.default.removeItem(atPath: fixture.paths.activeStoragePoolsDirectory)
            let rebooted = await StoragePools.open(paths: fixture.paths)
            #expect(try await rebooted.lookup(name: "p").isActive)

            try await rebooted.destroy(defined.uuid)
            #expect(!fixture.exists(fixture.paths.activeStoragePoolFile("p")))
            // A daemon restart in the same boot leaves a pool the user stopped stopped.
            let restarted = await StoragePools.open(paths: fixture.paths)
            #expect(try await restarted.lookup(name: "p").isActive == false)
            try await rebooted.undefine(defined.uuid)
            #expect(!fixture.exists(fixture.paths.storagePoolFile("p")))
            #expect(!fixture.exists(fixture.paths.storagePoolAutostartLink("p")))
            #expect(await rebooted.list().isEmpty)
            #expect(fixture.exists(directory), "undefine keeps the directory")
        }
    }

    @Test("duplicate names, uuids and directories are refused as libvirt refuses them; transient pools vanish")
    func duplicatesAndTransient() async throws {
        try await withFixture { fixture in
            let pools = await StoragePools.open(paths: fixture.paths)
            let first = try await pools.define(xml: Self.poolXML("a", fixture.directory + "/a"))
            for xml in [
                Self.poolXML("a", fixture.directory + "/other"),
                Self.poolXML("b", fixture.directory + "/a"),
                "<pool type='dir'><name>c</name><uuid>\(first.uuid)</uuid><target><path>/c</path></target></pool>",
            ] {
                await #expect {
                    try await pools.define(xml: xml)
                } throws: { ($0 as? LibvirtError)?.code == .operationFailed }
            }
            await #expect {
                try await pools.define(xml: Self.poolXML(".hidden", fixture.directory + "/h"))
            } throws: { ($0 as? ManagementError)?.libvirtError.code == .configUnsupported }

            let transient = try await pools.createTransient(
                xml: Self.poolXML("t", fixture.directory + "/t"), flags: .withBuild)
            #expect(transient.isActive && !transient.isPersistent)
            await #expect(throws: LibvirtError.self) { try await pools.setAutostart(transient.uuid, true) }
            try await pools.destroy(transient.uuid)
            await #expect {
                try await pools.lookup(name: "t")
            } throws: { ($0 as? LibvirtError)?.code == .noStoragePool }
        }
    }

    @Test("volumes: qcow2 and raw made by DiskImage, listed, found by path, resized, cloned, deleted")
    func volumes() async throws {
        try await withFixture { fixture in
            let directory = fixture.directory + "/vols"
            let pools = await StoragePools.open(paths: fixture.paths)
            let pool = try await pools.createTransient(xml: Self.poolXML("v", directory), flags: .withBuild)
            let qcow2 = try await pools.createVolume(
                in: pool.uuid, xml: Self.volumeXML("a.qcow2", capacity: "1000"), flags: [])
            #expect(qcow2.format == .qcow2)
            #expect(qcow2.capacity == 1024, "rounded up to a sector")
            #expect(qcow2.key == directory + "/a.qcow2")
            let raw = try await pools.createVolume(
                in: pool.uuid, xml: Self.volumeXML("b.img", format: "raw"), flags: [])
            #expect(raw.format == .raw && raw.capacity == 1 << 20 && raw.allocation == 0)
            #expect((try HostFiles.status(raw.path)).mode == 0o600)
            #expect(try await pools.volumes(in: pool.uuid).map(\.name) == ["a.qcow2", "b.img"])
            #expect(await pools.volume(path: directory + "//a.qcow2")?.name == "a.qcow2")
            #expect(await pools.volume(path: "/etc/passwd") == nil)
            #expect(await pools.volume(path: directory + "/../vols/a.qcow2") == nil)

            await #expect {
                try await pools.createVolume(in: pool.uuid, xml: Self.volumeXML("a.qcow2"), flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .storageVolumeExists }
            for name in ["..", ".", "../escape", "x/y"] {
                await #expect {
                    try await pools.createVolume(in: pool.uuid, xml: Self.volumeXML(name), flags: [])
                } throws: { ($0 as? LibvirtError)?.code == .operationInvalid }
                await #expect {
                    try await pools.volume(named: name, in: pool.uuid)
                } throws: { ($0 as? LibvirtError)?.code == .noStorageVolume }
            }
            #expect(!fixture.exists(fixture.directory + "/escape"))
            // A symbolic link planted in the directory is neither a volume nor overwritten.
            try FileManager.default.createSymbolicLink(
                atPath: directory + "/link", withDestinationPath: "/etc/hostname")
            await #expect(throws: LibvirtError.self) { try await pools.volume(named: "link", in: pool.uuid) }
            await #expect {
                try await pools.createVolume(in: pool.uuid, xml: Self.volumeXML("link"), flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .storageVolumeExists }

            try await pools.resizeVolume(qcow2.remote, capacity: 4 << 20, flags: [])
            #expect(try await pools.volume(named: "a.qcow2", in: pool.uuid).capacity == 4 << 20)
            await #expect {
                try await pools.resizeVolume(qcow2.remote, capacity: 1 << 20, flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .invalidArgument }
            try await pools.resizeVolume(raw.remote, capacity: 1 << 20, flags: .delta)
            #expect(try await pools.volume(raw.remote).capacity == 2 << 20)

            let image = try Qcow2Image(path: qcow2.path)
            let pattern = [UInt8](repeating: 0xA5, count: 4096)
            try pattern.withUnsafeBytes { try image.write(at: 65536, from: $0) }
            try image.flush()
            try image.close()
            let clone = try await pools.cloneVolume(
                in: pool.uuid, xml: Self.volumeXML("c.img", capacity: "0", format: "raw"), source: qcow2.remote,
                flags: [])
            #expect(clone.format == .raw && clone.capacity == 4 << 20)
            let copied = try Data(contentsOf: URL(fileURLWithPath: clone.path))
            #expect(Array(copied[65536..<(65536 + 4096)]) == pattern)

            try await pools.deleteVolume(clone.remote, flags: 0)
            #expect(!fixture.exists(clone.path))
            #expect(fixture.exists(directory + "/link"))
        }
    }

    /// A guest owns the bytes of its raw volume and can make them look like a qcow2 image that names
    /// any host file as its backing file. Cloning or resizing such a volume must not follow it.
    @Test("a volume whose bytes name a backing file is neither cloned through it nor resized")
    func guestWrittenBackingFileIsNotFollowed() async throws {
        try await withFixture { fixture in
            let directory = fixture.directory + "/vols"
            let secret = fixture.directory + "/secret.raw"
            try Data(repeating: 0x5E, count: 65536).write(to: URL(fileURLWithPath: secret))
            let pools = await StoragePools.open(paths: fixture.paths)
            let pool = try await pools.createTransient(xml: Self.poolXML("g", directory), flags: .withBuild)
            let victim = try await pools.createVolume(
                in: pool.uuid, xml: Self.volumeXML("guest.img", format: "raw"), flags: [])
            // What a guest could write to its disk: a qcow2 header naming the host file.
            var options = Qcow2CreateOptions(size: 65536)
            options.backingFile = secret
            options.backingFormat = .raw
            let forged = fixture.directory + "/forged.qcow2"
            try Qcow2Image.create(path: forged, options: options)
            try Data(contentsOf: URL(fileURLWithPath: forged)).write(to: URL(fileURLWithPath: victim.path))

            await #expect {
                try await pools.cloneVolume(
                    in: pool.uuid, xml: Self.volumeXML("copy.img", capacity: "0", format: "raw"),
                    source: victim.remote, flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .operationInvalid }
            #expect(!fixture.exists(directory + "/copy.img"), "the failed clone leaves no file")
            await #expect {
                try await pools.resizeVolume(victim.remote, capacity: 1 << 20, flags: [])
            } throws: { ($0 as? LibvirtError)?.code == .operationInvalid }
        }
    }
}
