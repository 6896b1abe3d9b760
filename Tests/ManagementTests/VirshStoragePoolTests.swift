import Foundation
import Testing

@testable import Management

/// Stock virsh (and python3-libvirt) driving directory storage pools on the real `swiftvirtd` binary.
@Suite("virsh storage pools and volumes against the swiftvirtd binary")
struct VirshStoragePoolTests {
    /// Runs `virsh` and expects it to succeed, returning its output.
    @discardableResult
    static func ok(_ daemon: DaemonProcess, _ arguments: String...) async throws -> String {
        let result = try await daemon.virsh(arguments)
        #expect(result.status == 0, "virsh \(arguments.joined(separator: " ")): \(result)")
        return result.output
    }

    @Test("pool-define-as, build, start, autostart, vol-create-as qcow2 and raw, vol-*, restart, destroy, undefine")
    func poolAndVolumes() async throws {
        try await withDaemonProcess { daemon in
            let directory = daemon.fixture.directory + "/images"
            #expect(
                try await Self.ok(daemon, "pool-define-as", "p1", "dir", "--target", directory).contains(
                    "Pool p1 defined"))
            try await Self.ok(daemon, "pool-build", "p1")
            try await Self.ok(daemon, "pool-start", "p1")
            try await Self.ok(daemon, "pool-autostart", "p1")
            let list = try await Self.ok(daemon, "pool-list", "--all")
            #expect(list.contains(" p1     active   yes"), "\(list)")
            let info = try await Self.ok(daemon, "pool-info", "p1")
            for line in ["Name:           p1", "State:          running", "Persistent:     yes", "Autostart:      yes"]
            {
                #expect(info.contains(line), "missing \(line) in \(info)")
            }
            let poolXML = try await Self.ok(daemon, "pool-dumpxml", "p1")
            #expect(poolXML.hasPrefix("<pool type='dir'>"), "\(poolXML)")
            #expect(poolXML.contains("<path>\(directory)</path>"), "\(poolXML)")

            try await Self.ok(daemon, "vol-create-as", "p1", "a.qcow2", "1G", "--format", "qcow2")
            try await Self.ok(daemon, "vol-create-as", "p1", "b.img", "16M", "--format", "raw")
            let details = try await Self.ok(daemon, "vol-list", "p1", "--details")
            #expect(details.contains("a.qcow2   \(directory)/a.qcow2   file   1.00 GiB"), "\(details)")
            #expect(details.contains("b.img     \(directory)/b.img     file   16.00 MiB"), "\(details)")
            let volumeInfo = try await Self.ok(daemon, "vol-info", "--pool", "p1", "a.qcow2")
            #expect(volumeInfo.contains("Capacity:       1.00 GiB"), "\(volumeInfo)")
            let volumeXML = try await Self.ok(daemon, "vol-dumpxml", "--pool", "p1", "a.qcow2")
            #expect(volumeXML.contains("<format type='qcow2'/>"), "\(volumeXML)")
            #expect(volumeXML.contains("<capacity unit='bytes'>1073741824</capacity>"), "\(volumeXML)")
            #expect(try await Self.ok(daemon, "vol-path", "--pool", "p1", "b.img").hasPrefix(directory + "/b.img\n"))
            #expect(try await Self.ok(daemon, "vol-key", "--pool", "p1", "b.img").hasPrefix(directory + "/b.img\n"))
            // By path, without naming the pool.
            #expect(try await Self.ok(daemon, "vol-info", directory + "/b.img").contains("16.00 MiB"))
            try await Self.ok(daemon, "vol-resize", "--pool", "p1", "a.qcow2", "2G")
            let check = try await run(
                "/usr/bin/qemu-img", ["check", directory + "/a.qcow2"], environment: ["LC_ALL": "C"])
            #expect(check.status == 0 && check.output.contains("No errors were found"), "\(check)")
            let qemuInfo = try await run(
                "/usr/bin/qemu-img", ["info", directory + "/a.qcow2"], environment: ["LC_ALL": "C"])
            #expect(qemuInfo.output.contains("virtual size: 2 GiB (2147483648 bytes)"), "\(qemuInfo)")

            // Hostile names: refused, nothing made outside the directory.
            let escape = try await daemon.virsh("vol-create-as", "p1", "../escape", "1M")
            #expect(escape.status == 1 && escape.error.contains("is not allowed"), "\(escape)")
            #expect(!daemon.fixture.exists(daemon.fixture.directory + "/escape"))
            let outside = try await daemon.virsh("vol-info", "/etc/passwd")
            #expect(outside.error.contains("no storage vol with matching path '/etc/passwd'"), "\(outside)")

            // A restart keeps the pool, active and autostarted, with its volumes.
            try await daemon.stop()
            try await daemon.start()
            #expect(try await Self.ok(daemon, "pool-list", "--all").contains(" p1     active   yes"))
            #expect(try await Self.ok(daemon, "vol-list", "p1").contains("b.img"))

            try await Self.ok(daemon, "vol-delete", "--pool", "p1", "b.img")
            #expect(!daemon.fixture.exists(directory + "/b.img"))
            try await Self.ok(daemon, "pool-refresh", "p1")
            let stillActive = try await daemon.virsh("pool-undefine", "p1")
            #expect(stillActive.error.contains("storage pool 'p1' is still active"), "\(stillActive)")
            try await Self.ok(daemon, "pool-destroy", "p1")
            #expect(try await Self.ok(daemon, "pool-list", "--all").contains(" p1     inactive   yes"))
            try await Self.ok(daemon, "pool-undefine", "p1")
            #expect(!daemon.fixture.exists(daemon.fixture.paths.storagePoolFile("p1")))
            #expect(daemon.fixture.exists(directory + "/a.qcow2"), "undefining a pool keeps its volumes")
        }
    }

    @Test("pool-define from a file, pool-create (transient), vol-create from XML, vol-clone; fs pools refused")
    func fromFiles() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let poolFile = fixture.directory + "/pool.xml"
            try """
            <pool type='dir'>
              <name>files</name>
              <target><path>\(fixture.directory)/files</path><permissions><mode>0750</mode></permissions></target>
            </pool>
            """.write(toFile: poolFile, atomically: true, encoding: .utf8)
            try await Self.ok(daemon, "pool-define", poolFile)
            try await Self.ok(daemon, "pool-start", "files", "--build")
            let volumeFile = fixture.directory + "/vol.xml"
            try """
            <volume><name>v.qcow2</name><capacity unit='M'>64</capacity>
              <target><format type='qcow2'/></target></volume>
            """.write(toFile: volumeFile, atomically: true, encoding: .utf8)
            try await Self.ok(daemon, "vol-create", "files", volumeFile)
            try await Self.ok(daemon, "vol-clone", "--pool", "files", "v.qcow2", "w.qcow2")
            #expect(try await Self.ok(daemon, "vol-list", "files").contains("w.qcow2"))

            try await Self.ok(daemon, "pool-create-as", "t", "dir", "--target", fixture.directory + "/t", "--build")
            #expect(try await Self.ok(daemon, "pool-list", "--transient").contains(" t      active   no"))
            try await Self.ok(daemon, "pool-destroy", "t")
            #expect(!(try await Self.ok(daemon, "pool-list", "--all")).contains(" t "))

            try "<pool type='fs'><name>f</name><target><path>/mnt</path></target></pool>".write(
                toFile: poolFile, atomically: true, encoding: .utf8)
            let fs = try await daemon.virsh("pool-define", poolFile)
            #expect(fs.status == 1 && fs.error.contains("storage pool type 'fs' is not supported"), "\(fs)")

            // A read-only connection reads but changes nothing.
            let readOnly = try await daemon.virsh(["-r", "vol-delete", "--pool", "files", "w.qcow2"])
            #expect(readOnly.error.contains("read only access prevents virStorageVolDelete"), "\(readOnly)")
            #expect(try await daemon.virsh(["-r", "vol-list", "files"]).status == 0)
        }
    }

    @Test("python3-libvirt: the same objects through the API")
    func python() async throws {
        try await withDaemonProcess { daemon in
            let directory = daemon.fixture.directory + "/py"
            let script = """
                import libvirt, sys
                conn = libvirt.open(sys.argv[1])
                pool = conn.storagePoolDefineXML(
                    "<pool type='dir'><name>py</name><target><path>%s</path></target></pool>" % sys.argv[2], 0)
                pool.build(0)
                pool.create(0)
                vol = pool.createXML("<volume><name>d.qcow2</name><capacity unit='M'>8</capacity>"
                                     "<target><format type='qcow2'/></target></volume>", 0)
                print("vol", vol.name(), vol.path(), vol.info())
                print("bypath", conn.storageVolLookupByPath(vol.path()).name(), vol.storagePoolLookupByVolume().name())
                print("pools", [p.name() for p in conn.listAllStoragePools(0)], pool.isActive(), pool.isPersistent())
                try:
                    pool.storageVolLookupByName("../d.qcow2")
                except libvirt.libvirtError as e:
                    print("error", e.get_error_code())
                vol.delete(0)
                print("after", pool.listVolumes())
                pool.destroy()
                pool.undefine()
                """
            let result = try await daemon.python(script, daemon.uri, directory)
            #expect(result.status == 0, "\(result)")
            for line in [
                "vol d.qcow2 \(directory)/d.qcow2 [0, 8388608,", "bypath d.qcow2 py", "pools ['py'] 1 1", "error 50",
                "after []",
            ] {
                #expect(result.output.contains(line), "missing \(line) in \(result)")
            }
        }
    }
}
