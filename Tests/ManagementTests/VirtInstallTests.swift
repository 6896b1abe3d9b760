import Foundation
import Testing

@testable import Management

/// Debian 12's virt-install 4.1 (package virtinst, installed by scripts/setup.sh) against the real
/// `swiftvirtd` binary with the fake VMM: the calls it makes, the domain XML it writes.
@Suite("virt-install against the swiftvirtd binary")
struct VirtInstallTests {
    static let virtInstall = "/usr/bin/virt-install"

    /// virt-install defines a storage pool for a disk's directory unless the path is under /dev, so the
    /// image lives on /dev/shm and the test stays about the domain.
    static func diskImage() throws -> String {
        let path = "/dev/shm/swiftvirt-vi-\(UUID().uuidString).img"
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: 64 << 20)
        return path
    }

    @Test("--import --boot kernel=,initrd= defines and starts the domain; dumpxml shows kernel and disk")
    func importWithKernel() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let disk = try Self.diskImage()
            defer { try? FileManager.default.removeItem(atPath: disk) }
            let initrd = fixture.directory + "/initrd.img"
            try "initrd".write(toFile: initrd, atomically: true, encoding: .utf8)
            let result = try await run(
                Self.virtInstall,
                [
                    "--connect", "qemu+unix:///system?socket=\(daemon.socketPath)", "--name", "vi1", "--memory", "256",
                    "--vcpus", "1", "--import", "--disk", "path=\(disk),bus=virtio,format=raw",
                    "--boot", "kernel=\(fixture.kernel),initrd=\(initrd),kernel_args=console=ttyS0",
                    "--network", "none", "--graphics", "none", "--noautoconsole", "--osinfo", "detect=on,require=off",
                ],
                environment: ["LC_ALL": "C", "HOME": fixture.directory, "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "\(result)")
            #expect(result.output.contains("Domain creation completed."), "\(result)")

            let list = try await daemon.virsh("list", "--all")
            #expect(list.output.contains(" 1    vi1    running"), "\(list)")
            #expect(try await daemon.virsh("dominfo", "vi1").output.contains("Persistent:     yes"))
            #expect(fixture.exists(fixture.paths.definitionFile("vi1")))
            let dump = try await daemon.virsh("dumpxml", "vi1")
            for fragment in [
                "<kernel>\(fixture.kernel)</kernel>", "<initrd>\(initrd)</initrd>", "<cmdline>console=ttyS0</cmdline>",
                "<source file='\(disk)'/>", "<target dev='vda' bus='virtio'/>",
                "<emulator>\(fixture.fakeVMM)</emulator>",
                "<type arch='x86_64' machine='pc'>hvm</type>",
            ] {
                #expect(dump.output.contains(fragment), "missing \(fragment) in \(dump)")
            }
            // The VMM was started with what virt-install asked for.
            let log = try String(contentsOfFile: fixture.paths.runFiles("vi1").log, encoding: .utf8)
            for argument in ["\"--kernel\", \"\(fixture.kernel)\"", "\"--initrd\", \"\(initrd)\"", "path=\(disk)"] {
                #expect(log.contains(argument), "missing \(argument) in \(log)")
            }
            #expect(try await daemon.virsh("destroy", "vi1").status == 0)
        }
    }

    @Test("--disk pool=NAME,size=1,format=qcow2 creates its volume in the pool with DiskImage")
    func diskInPool() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let directory = fixture.directory + "/pool"
            for arguments in [
                ["pool-define-as", "vip", "dir", "--target", directory], ["pool-start", "vip", "--build"],
            ] {
                let result = try await daemon.virsh(arguments)
                #expect(result.status == 0, "\(result)")
            }
            let result = try await run(
                Self.virtInstall,
                [
                    "--connect", "qemu+unix:///system?socket=\(daemon.socketPath)", "--name", "vi2", "--memory", "256",
                    "--vcpus", "1", "--import", "--disk", "pool=vip,size=1,format=qcow2,bus=virtio",
                    "--boot", "kernel=\(fixture.kernel),kernel_args=console=ttyS0", "--network", "none",
                    "--graphics", "none", "--noautoconsole", "--osinfo", "detect=on,require=off",
                ],
                environment: ["LC_ALL": "C", "HOME": fixture.directory, "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "\(result)")
            let volumes = try await daemon.virsh("vol-list", "vip", "--details")
            #expect(volumes.output.contains("vi2.qcow2   \(directory)/vi2.qcow2   file   1.00 GiB"), "\(volumes)")
            let check = try await run(
                "/usr/bin/qemu-img", ["check", directory + "/vi2.qcow2"], environment: ["LC_ALL": "C"])
            #expect(check.output.contains("No errors were found"), "\(check)")
            let dump = try await daemon.virsh("dumpxml", "vi2")
            #expect(dump.output.contains("<source file='\(directory)/vi2.qcow2'/>"), "\(dump)")
            #expect(try await daemon.virsh("destroy", "vi2").status == 0)
        }
    }
}
